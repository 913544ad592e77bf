//! `weightguard keygen --out DIR [--pq]`: an age identity (X25519, or with `--pq` the
//! post-quantum hybrid ML-KEM-768 + X25519) and an Ed25519 signing key.

use super::Exit;
use super::output::outln;
use super::render::{self, Style};
use std::path::{Path, PathBuf};
use weightguard::envelope::SigningKey;
use weightguard::envelope::keys::{self, KeyFile};

/// Create an age identity (to receive envelopes: X25519, or post-quantum with --pq) and an
/// Ed25519 signing key (to seal them): DIR/identity.txt and DIR/signing.key (mode 0600),
/// DIR/recipient.txt, DIR/signing.pub. All four are written or none: if any exists, nothing is.
/// A new DIR is made mode 0700.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory for the four key files (created mode 0700; existing key files are never
    /// overwritten).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Make a post-quantum hybrid identity (ML-KEM-768 + X25519, age's `mlkem768x25519`):
    /// recipient.txt holds an `age1pq1…` recipient, identity.txt an `AGE-SECRET-KEY-PQ-1…`
    /// identity. Envelopes sealed to it cannot also be sealed to classic recipients.
    #[arg(long)]
    pq: bool,
}

pub fn run(args: &Args) -> Exit {
    match keygen(&args.out, args.pq) {
        Ok((recipient, signer)) => {
            let s = Style::stdout();
            outln!("{}  {}", s.bold("recipient"), recipient);
            outln!("{}     {}", s.bold("signer"), signer);
            outln!(
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

fn keygen(dir: &Path, pq: bool) -> Result<(String, String), String> {
    let (identity, recipient) = if pq {
        keys::generate_pq_identity()
    } else {
        keys::generate_identity()
    };
    let signing = SigningKey::generate().map_err(|e| e.to_string())?;
    let signer = signing.public().to_string();
    let secret = signing.to_secret_string();
    let recipient_line = format!("{recipient}\n");
    let signer_line = format!("{signer}\n");
    let file = |name, text, secret| KeyFile { name, text, secret };
    keys::write_key_files(
        dir,
        &[
            file("identity.txt", &identity, true),
            file("recipient.txt", &recipient_line, false),
            file("signing.key", &secret, true),
            file("signing.pub", &signer_line, false),
        ],
    )
    .map_err(|e| e.to_string())?;
    Ok((recipient, signer))
}
