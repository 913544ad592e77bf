//! `weightguard verify ENVELOPE [--signer PUBKEY] [--json]`: who sealed what for where, checked
//! without any decryption key.

use super::Exit;
use super::render::{self, Style, escape};
use std::path::PathBuf;
use weightguard::envelope::{self, SignerKey};
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
    /// The expected sealer: `weightguard-signer-v1:…` or a file holding it.
    #[arg(long, value_name = "PUBKEY")]
    signer: Option<String>,
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> Exit {
    let signer = match args
        .signer
        .as_deref()
        .map(SignerKey::parse_or_read)
        .transpose()
    {
        Ok(s) => s,
        Err(e) => {
            render::error(&e, None);
            return Exit::Error;
        }
    };
    let verified = match super::remote::object_url(&args.envelope) {
        Some(url) => match super::remote::target(url, &args.s3) {
            Ok(t) => t
                .reader()
                .and_then(|r| envelope::verify_object(&r, signer.as_ref())),
            Err((msg, hint)) => {
                render::error(&msg, hint);
                return Exit::Error;
            }
        },
        None => envelope::verify(&args.envelope, signer.as_ref()),
    };
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
                row(
                    "sealer",
                    format!(
                        "{}{}",
                        e(&v.sealer),
                        match v.signer_trusted {
                            Some(true) => " (the expected signer)",
                            _ => " (not checked against an expected signer: pass --signer)",
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
