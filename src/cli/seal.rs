//! `weightguard seal PATH --recipient R… --destination CC --signing-key F -o OUT …`: gate the
//! transfer, then seal the weights into an envelope bound to the destination.

use super::Exit;
use super::gate::{self, Request};
use super::inputs::{TrainingArgs, parse_country, parse_date};
use super::progress::ByteProgress;
use super::render::{self, Style, bytes};
use super::selection::{self, SetArgs};
use std::path::PathBuf;
use weightguard::envelope::{self, PolicyRef, SealTerms, SigningKey, keys};
use weightguard::policy::{self, Date, GateDecision, GateOutcome, Policy};
use weightguard::schema;

/// Seal weights for one destination: runs the export gate first and refuses unless the transfer
/// is allowed, then writes an age v1 envelope with signed destination claims and a signed
/// manifest of every file's digests.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A model directory or a weights file.
    path: PathBuf,
    /// Recipient: an age1… key (X25519, post-quantum, or a plugin's age1<name>1…, wrapped by
    /// age-plugin-<name> from PATH), an SSH public key, or a file of them (repeatable).
    #[arg(
        long = "recipient",
        short = 'r',
        value_name = "R",
        required_unless_present = "recipients_files"
    )]
    recipients: Vec<String>,
    /// A recipients file, as age reads one: one recipient per line, `#` comments (repeatable;
    /// `-`: standard input).
    #[arg(long = "recipients-file", short = 'R', value_name = "FILE")]
    recipients_files: Vec<PathBuf>,
    /// Destination country, ISO 3166-1 alpha-2.
    #[arg(long, value_name = "CC", value_parser = parse_country)]
    destination: String,
    /// The destination site the envelope may be opened at (printable text: it is signed).
    #[arg(long, value_name = "ID", value_parser = render::Printable)]
    site: Option<String>,
    /// Country of the receiving holder's headquarters; default: the destination.
    #[arg(long, value_name = "CC", value_parser = parse_country)]
    holder_hq: Option<String>,
    /// The sealer's Ed25519 signing key: `signing.key` from `weightguard keygen`, or an
    /// unencrypted OpenSSH Ed25519 private key (`ssh-keygen -t ed25519`); `-`: standard input.
    #[arg(long, value_name = "FILE")]
    signing_key: PathBuf,
    /// The envelope to write (never overwritten unless --force): a file, or s3://bucket/key,
    /// streamed into a multipart upload completed only when the envelope is whole.
    #[arg(short = 'o', long = "output", value_name = "OUT|s3://BUCKET/KEY", value_parser = super::inputs::parse_output)]
    output: PathBuf,
    #[command(flatten)]
    s3: super::remote::S3Args,
    /// Rely on this licence (it must be in --licenses and cover the transfer).
    #[arg(long, value_name = "ID", requires = "licenses", value_parser = render::Printable)]
    license: Option<String>,
    /// Licences file (TOML) held for this transfer.
    #[arg(long, value_name = "FILE")]
    licenses: Option<PathBuf>,
    /// Last day the envelope may be opened (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    expires: Option<Date>,
    #[command(flatten)]
    training: TrainingArgs,
    #[command(flatten)]
    set: SetArgs,
    /// Policy: a built-in id or a TOML file.
    #[arg(long, default_value = policy::DEFAULT_POLICY, value_name = "ID|FILE")]
    policy: String,
    /// Seal only if the files are exactly those the publisher signed in this OpenSSF model
    /// signature (`model_signing sign key`, or `weightguard sign`), each with its signed digest;
    /// the bundle must lie in PATH, so it travels in the envelope (see `verify-signature`).
    #[arg(long, value_name = "BUNDLE", requires = "public_key")]
    require_signature: Option<PathBuf>,
    /// The publisher's EC P-256 public key (PEM) for --require-signature.
    #[arg(long, value_name = "EC.pub", requires = "require_signature")]
    public_key: Option<PathBuf>,
    /// Replace OUT if it exists.
    #[arg(long)]
    force: bool,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> Exit {
    let object = super::remote::object_url(&args.output);
    if object.is_none() {
        render::sweep_stale(&args.output, ".weightguard-seal-");
    }
    // The bucket's client before the gate: a bad URL, endpoint or profile is said at once.
    let target = match object
        .map(|u| super::remote::target(u, &args.s3))
        .transpose()
    {
        Ok(t) => t,
        Err((msg, hint)) => {
            render::error(&msg, hint);
            return Exit::Error;
        }
    };
    let style = Style::stdout();
    let today = Date::today_utc();
    let decided = gate::decide(&Request {
        path: &args.path,
        destination: &args.destination,
        holder_hq: args.holder_hq.as_deref(),
        licenses: args.licenses.as_deref(),
        training: &args.training,
        set: &args.set,
        policy: &args.policy,
        as_of: None,
    });
    let d = match decided {
        Ok(d) => d,
        Err((msg, hint)) => {
            render::error(&msg, hint);
            return Exit::Error;
        }
    };
    let Some(set) = &d.set else {
        render::error(
            &format!(
                "{}: a bare config.json holds no weights to seal",
                args.path.display()
            ),
            Some("name the model directory or weight files"),
        );
        return Exit::Usage;
    };
    let g = d.decision().clone();
    let policy = &d.policy;
    if g.decision != GateOutcome::Allowed {
        eprint!("{}", gate::set_human(&args.path, &d, Style::stderr()));
        let blocking = &d.models[d.deciding].0.name;
        render::error(
            &format!(
                "not sealed: the gate says {} for {} ({})",
                g.decision.as_str(),
                g.destination,
                if d.models.len() > 1 {
                    format!("decided by {blocking}, one of {} models", d.models.len())
                } else {
                    blocking.clone()
                }
            ),
            Some(
                "an envelope is only written for a transfer the policy allows for every model in it",
            ),
        );
        return gate::exit(g.decision);
    }
    if let Some(id) = &args.license
        && g.authorization.as_deref() != Some(&format!("license:{id}"))
    {
        render::error(
            &format!(
                "not sealed: licence {id} does not authorize this transfer (the gate allowed it under {})",
                g.authorization.as_deref().unwrap_or("no authorization")
            ),
            None,
        );
        return Exit::Error;
    }
    if let Some(e) = args.expires
        && e < today
    {
        render::error(&format!("--expires {e} is already past"), None);
        return Exit::Usage;
    }
    // The publisher's signature is checked over exactly the files about to be sealed; their
    // identities are checked again as they are sealed, so nothing changed in between is sealed.
    if let (Some(bundle), Some(public_key)) = (&args.require_signature, &args.public_key) {
        match super::verify_signature::require_for_seal(set, bundle, public_key) {
            Ok(line) => eprintln!("{line}"),
            Err((msg, hint)) => {
                render::error(&msg, hint);
                return Exit::Error;
            }
        }
    }
    let sealed = (|| -> Result<envelope::SealReport, String> {
        let stdin = |p: &std::path::Path| p.as_os_str() == keys::STDIN;
        keys::stdin_at_most_once(
            [("--signing-key", stdin(&args.signing_key))]
                .into_iter()
                .chain(args.recipients.iter().map(|r| ("-r", r == keys::STDIN)))
                .chain(args.recipients_files.iter().map(|r| ("-R", stdin(r)))),
        )
        .map_err(|e| e.to_string())?;
        let key = SigningKey::read(&args.signing_key).map_err(|e| e.to_string())?;
        let mut recipients = Vec::new();
        for r in &args.recipients {
            recipients.extend(keys::parse_recipients(r).map_err(|e| e.to_string())?);
        }
        for f in &args.recipients_files {
            recipients.extend(keys::read_recipients_file(f).map_err(|e| e.to_string())?);
        }
        let mut terms = terms(
            &g,
            policy,
            args.site.clone(),
            args.expires.map(|d| d.to_string()),
            today.to_string(),
        )
        .map_err(|e| e.to_string())?;
        // The manifest keeps every model's decision, not only the one that decided.
        terms.gate = gate::set_json(&d).map_err(|e| e.to_string())?;
        let bar = ByteProgress::start("sealing", set.bytes());
        let sealed = match &target {
            Some(t) => {
                envelope::seal_set_to_object(set, t, &recipients, &key, &terms, args.force, &|n| {
                    bar.add(n)
                })
            }
            None => envelope::seal_set(
                set,
                &args.output,
                &recipients,
                &key,
                &terms,
                args.force,
                &|n| bar.add(n),
            ),
        };
        bar.finish();
        sealed.map_err(|e| e.to_string())
    })();
    match sealed {
        Ok(r) => {
            if args.json {
                println!("{}", schema::to_line(&r).unwrap_or_default());
            } else {
                println!(
                    "{}  {}",
                    style.bold(&r.output.display().to_string()),
                    style.dim("sealed")
                );
                println!(
                    "  {:<14} {} files, {} → {} envelope",
                    "contents",
                    r.files,
                    bytes(r.bytes),
                    bytes(r.envelope_bytes)
                );
                println!(
                    "  {:<14} {}{} ({}, {})",
                    "for",
                    r.claims.destination,
                    r.claims
                        .site
                        .as_ref()
                        .map(|s| format!(" site {s}"))
                        .unwrap_or_default(),
                    r.claims.decision,
                    r.claims
                        .authorization
                        .as_deref()
                        .unwrap_or("no authorization")
                );
                println!("  {:<14} {}", "recipients", r.claims.recipients);
                println!("  {:<14} {}", "sealer", r.claims.sealer);
                if let Some(root) = &r.root {
                    println!("  {:<14} {root}", "model root");
                }
                if d.models.len() > 1 {
                    let names: Vec<&str> = d.models.iter().map(|(m, _)| m.name.as_str()).collect();
                    println!("  {:<14} {} ({})", "models", names.len(), names.join(", "));
                }
                if let Some(line) = selection::ignored_line(&r.ignored, style) {
                    print!(
                        "{}",
                        line.replacen("  ignored      ", "  ignored       ", 1)
                    );
                }
            }
            Exit::Ok
        }
        Err(e) => {
            render::error(&e, None);
            Exit::Error
        }
    }
}

/// What the envelope records of an allowed gate decision under `policy` (shared with `demo`).
pub fn terms(
    g: &GateDecision,
    policy: &Policy,
    site: Option<String>,
    expires: Option<String>,
    sealed_on: String,
) -> Result<SealTerms, serde_json::Error> {
    Ok(SealTerms {
        destination: g.destination.clone(),
        site,
        holder_hq: Some(g.holder_hq.clone()),
        decision: g.decision.as_str().to_owned(),
        authorization: g.authorization.clone(),
        classification: g.classification.decision.as_str().to_owned(),
        policy: PolicyRef {
            id: policy.data.policy.id.clone(),
            version: policy.data.policy.version.clone(),
            digest: policy.digest.clone(),
        },
        expires,
        sealed_on,
        gate: serde_json::to_value(g)?,
    })
}
