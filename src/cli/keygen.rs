//! `weightguard keygen --out DIR`: an age X25519 identity and an Ed25519 signing key.

use super::Exit;
use super::render::{self, Style};
use std::io::Write;
use std::path::{Path, PathBuf};
use weightguard::envelope::{SigningKey, keys};

/// Create an age X25519 identity (to receive envelopes) and an Ed25519 signing key (to seal
/// them): DIR/identity.txt and DIR/signing.key (mode 0600), DIR/recipient.txt, DIR/signing.pub.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory for the four key files (created; existing key files are never overwritten).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

pub fn run(args: &Args) -> Exit {
    match keygen(&args.out) {
        Ok((recipient, signer)) => {
            let s = Style::stdout();
            println!("{}  {}", s.bold("recipient"), recipient);
            println!("{}     {}", s.bold("signer"), signer);
            println!(
                "{}",
                s.dim(&format!(
                    "keys in {}: give recipient.txt to sealers, signing.pub to openers; keep identity.txt and signing.key secret",
                    args.out.display()
                ))
            );
            Exit::Ok
        }
        Err(e) => {
            render::error(&e, None);
            Exit::Error
        }
    }
}

fn keygen(dir: &Path) -> Result<(String, String), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (identity, recipient) = keys::generate_identity();
    let signing = SigningKey::generate().map_err(|e| e.to_string())?;
    let signer = signing.public().to_string();
    write_new(&dir.join("identity.txt"), &identity, true)?;
    write_new(&dir.join("recipient.txt"), &format!("{recipient}\n"), false)?;
    write_new(&dir.join("signing.key"), &signing.to_secret_string(), true)?;
    write_new(&dir.join("signing.pub"), &format!("{signer}\n"), false)?;
    Ok((recipient, signer))
}

/// Creates `path` (never replacing a file), readable only by the owner when `secret`.
fn write_new(path: &Path, text: &str, secret: bool) -> Result<(), String> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if secret { 0o600 } else { 0o644 });
    }
    let mut f = opts
        .open(path)
        .map_err(|e| format!("{}: {e} (key files are never overwritten)", path.display()))?;
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("{}: {e}", path.display()))
}
