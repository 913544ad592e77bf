//! `weightguard sign PATH --key EC.pem -o model.sig [--digest sha256|blake3]`: an OpenSSF model
//! signature (the bundle `model_signing sign key` writes) over the model's artifact set.

use super::Exit;
use super::progress::ByteProgress;
use super::render::{self, Style, bytes, escape};
use super::selection::{self, SetArgs};
use std::path::{Path, PathBuf};
use weightguard::signing::{self, HashType};

/// Sign a model directory as OpenSSF model signing does with a key: a Sigstore bundle whose
/// in-toto statement lists every file with its digest, signed with an EC P-256 key.
/// `model_signing verify key` (and `weightguard verify-signature`) check it.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model directory.
    path: PathBuf,
    /// The EC P-256 private key, PEM: SEC1 (`openssl ecparam -genkey -name prime256v1`) or
    /// PKCS#8 (`openssl pkcs8 -topk8 -nocrypt`), unencrypted.
    #[arg(long, value_name = "EC.pem")]
    key: PathBuf,
    /// The bundle to write (never overwritten unless --force). Inside the model directory it is
    /// left out of the signature and recorded among its ignore paths.
    #[arg(short = 'o', long = "output", value_name = "FILE", value_parser = super::inputs::parse_output)]
    output: PathBuf,
    /// Digest of each file: sha256 (model_signing's default; its CLI and library verify it) or
    /// blake3 (the digests `weightguard hash --b3sum` prints; model_signing's library verifies
    /// it, its CLI does not).
    #[arg(long, value_enum, default_value_t = Digest::Sha256)]
    digest: Digest,
    /// Replace the output if it exists.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    set: SetArgs,
}

/// `--digest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Digest {
    Sha256,
    Blake3,
}

impl From<Digest> for HashType {
    fn from(d: Digest) -> HashType {
        match d {
            Digest::Sha256 => HashType::Sha256,
            Digest::Blake3 => HashType::Blake3,
        }
    }
}

pub fn run(args: &Args) -> Exit {
    render::sweep_stale(&args.output, ".weightguard-sign-");
    if args.output.exists() && !args.force {
        render::error(
            &format!("{}: exists; nothing was signed", args.output.display()),
            Some("pass --force to replace it"),
        );
        return Exit::Error;
    }
    let key = match signing::read_private_key(&args.key) {
        Ok(k) => k,
        Err(e) => {
            render::error(&e, None);
            return Exit::Error;
        }
    };
    let set = match selection::collect(&args.path, &args.set) {
        Ok(s) => s,
        Err((msg, hint)) => {
            render::error(&msg, hint);
            return Exit::Error;
        }
    };
    if !set.is_dir {
        render::error(
            &format!(
                "{}: a model signature covers a directory",
                args.path.display()
            ),
            Some("name the model's directory"),
        );
        return Exit::Usage;
    }
    let bar = ByteProgress::start("hashing", set.bytes());
    let signed = signing::sign(&set, &key, args.digest.into(), &args.output, &|n| {
        bar.add(n)
    });
    bar.finish();
    let signed = match signed {
        Ok(s) => s,
        Err(e) => {
            render::error(&e, None);
            return Exit::Error;
        }
    };
    if let Err((msg, hint)) =
        super::output::write_new("sign", &args.output, &signed.bundle, args.force)
    {
        render::error(&msg, hint);
        return Exit::Error;
    }
    let style = Style::stdout();
    let s = &signed.statement;
    let size: u64 = set
        .files
        .iter()
        .filter(|f| s.resources.iter().any(|r| Path::new(&r.name) == f.rel))
        .map(|f| f.id.size)
        .sum();
    println!(
        "{}  {}",
        style.bold(&escape(&args.output.display().to_string())),
        style.dim("signed")
    );
    println!(
        "  {:<13} {}, {} files, {}, {}",
        "model",
        escape(&s.model_name),
        s.resources.len(),
        bytes(size),
        s.hash.as_str()
    );
    println!("  {:<13} {}", "key hint", key.public().hint());
    if let Some(line) = selection::ignored_line(&set.ignored, style) {
        print!("{line}");
    }
    Exit::Ok
}
