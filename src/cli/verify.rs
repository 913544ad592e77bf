//! `weightguard verify ENVELOPE [--signer PUBKEY] [--json]`: who sealed what for where, checked
//! without any decryption key.

use super::Exit;
use super::render::{self, Style};
use std::path::PathBuf;
use weightguard::envelope::{self, SignerKey};

/// Check an envelope's structure and signed claims without the decryption key, and show the
/// sealer, recipients, destination, authorization, policy and expiry.
#[derive(Debug, clap::Args)]
pub struct Args {
    envelope: PathBuf,
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
    match envelope::verify(&args.envelope, signer.as_ref()) {
        Ok(v) => {
            if args.json {
                println!("{}", serde_json::to_string(&v).unwrap_or_default());
            } else {
                let s = Style::stdout();
                let c = &v.claims;
                println!(
                    "{}  {}",
                    s.bold(&v.path.display().to_string()),
                    s.dim("envelope: structure and signed claims verified (payload not decrypted)")
                );
                let row = |k: &str, val: String| println!("  {k:<14} {val}");
                row(
                    "sealer",
                    format!(
                        "{}{}",
                        v.sealer,
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
                        c.destination,
                        c.site
                            .as_ref()
                            .map(|s| format!(", site {s}"))
                            .unwrap_or_default()
                    ),
                );
                row(
                    "holder HQ",
                    c.holder_hq.clone().unwrap_or_else(|| "-".into()),
                );
                row(
                    "decision",
                    format!(
                        "{} ({}), authorization {}",
                        c.decision,
                        c.classification,
                        c.authorization.clone().unwrap_or_else(|| "none".into())
                    ),
                );
                row(
                    "policy",
                    format!("{} {} ({})", c.policy.id, c.policy.version, c.policy.digest),
                );
                row("sealed on", c.sealed_on.clone());
                row(
                    "expires",
                    c.expires.clone().unwrap_or_else(|| "never".into()),
                );
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
