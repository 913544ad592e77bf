//! `weightguard verify ENVELOPE [--signer PUBKEY] [--json]`: who sealed what for where, checked
//! without any decryption key.

use super::Exit;
use super::render::{self, Style, escape};
use std::path::PathBuf;
use weightguard::envelope::{self, SignerKey, TrustedSigners};
use weightguard::schema;

/// Check an envelope's structure and signed claims without the decryption key, and show the
/// sealer, recipients, destination, authorization, policy and expiry.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// An envelope file, or s3://bucket/key (read with ranged GETs: the header and the
    /// payload's first chunk).
    envelope: PathBuf,
    #[command(flatten)]
    s3: super::remote::S3Args,
    /// An expected sealer: `weightguard-signer-v1:…`, an OpenSSH `ssh-ed25519 …` public key, or
    /// a file holding one (`-`: standard input). Repeatable: the sealer must be one of them (key
    /// rotation); the report says which.
    #[arg(long, value_name = "PUBKEY")]
    signer: Vec<String>,
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> Exit {
    let trusted = match TrustedSigners::parse_or_read(&args.signer) {
        Ok(s) => s,
        Err(e) => {
            render::error(&e, None);
            return Exit::Error;
        }
    };
    // Everything is checked without an expected key first (structure, the claims' signature
    // under the key they name), then that key against the trusted set.
    let verified = match super::remote::object_url(&args.envelope) {
        Some(url) => match super::remote::target(url, &args.s3) {
            Ok(t) => t.reader().and_then(|r| envelope::verify_object(&r, None)),
            Err((msg, hint)) => {
                render::error(&msg, hint);
                return Exit::Error;
            }
        },
        None => envelope::verify(&args.envelope, None),
    };
    let verified = verified.and_then(|mut v| {
        if !trusted.is_empty() {
            let sealer: SignerKey = v.sealer.parse()?;
            let matched = trusted.check(&v.path, &sealer)?;
            v.signer_trusted = Some(true);
            v.trusted_signer = Some(matched.source.clone());
        }
        Ok(v)
    });
    match verified {
        Ok(v) => {
            if args.json {
                println!("{}", schema::to_line(&v).unwrap_or_default());
            } else {
                let s = Style::stdout();
                // Claims are refused unless printable (checked when the header was read), and
                // the path is the user's; both are escaped all the same, as all file text is.
                let c = &v.claims;
                let e = |t: &str| escape(t).into_owned();
                let opt = |t: &Option<String>, none: &str| t.as_deref().map_or(none.into(), e);
                println!(
                    "{}  {}",
                    s.bold(&e(&v.path.display().to_string())),
                    s.dim("envelope: structure and signed claims verified (payload not decrypted)")
                );
                let row = |k: &str, val: String| println!("  {k:<14} {val}");
                // An SSH key is shown as `ssh-keygen -l` shows it: by its fingerprint.
                let sealer = match &v.sealer_fingerprint {
                    Some(f) => format!("{} (ssh-ed25519)", e(f)),
                    None => e(&v.sealer),
                };
                row(
                    "sealer",
                    format!(
                        "{sealer}{}",
                        match (v.signer_trusted, &v.trusted_signer) {
                            (Some(true), Some(source)) if args.signer.len() > 1 =>
                                format!(" (a trusted signer: --signer {})", e(source)),
                            (Some(true), _) => " (the expected signer)".to_owned(),
                            _ => " (not checked against an expected signer: pass --signer)"
                                .to_owned(),
                        }
                    ),
                );
                row("recipients", v.recipients.to_string());
                row(
                    "destination",
                    format!(
                        "{}{}",
                        e(&c.destination),
                        c.site
                            .as_deref()
                            .map(|site| format!(", site {}", e(site)))
                            .unwrap_or_default()
                    ),
                );
                row("holder HQ", opt(&c.holder_hq, "-"));
                row(
                    "decision",
                    format!(
                        "{} ({}), authorization {}",
                        e(&c.decision),
                        e(&c.classification),
                        opt(&c.authorization, "none")
                    ),
                );
                row(
                    "policy",
                    format!(
                        "{} {} ({})",
                        e(&c.policy.id),
                        e(&c.policy.version),
                        e(&c.policy.digest)
                    ),
                );
                row("sealed on", e(&c.sealed_on));
                row("expires", opt(&c.expires, "never"));
                row("payload", super::render::bytes(v.payload_bytes));
            }
            Exit::Ok
        }
        Err(e) => {
            render::error(&e, None);
            Exit::Error
        }
    }
}
