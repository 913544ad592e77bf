//! `weightguard open ENVELOPE --identity F --signer PUBKEY --site-country CC [--site ID] -o DIR`:
//! refuse before decrypting unless the envelope belongs here, then decrypt, verify every digest,
//! and only then put the files in place.

use super::Exit;
use super::inputs::{self, parse_country, parse_date};
use super::render::{self, Style, bytes};
use std::path::{Path, PathBuf};
use weightguard::envelope::{self, Claims, SignerKey, Site, TrustedSigner, TrustedSigners, keys};
use weightguard::policy::{self, Classification, Classified, Date, GateOutcome, Reason, Transfer};
use weightguard::schema;

/// Open an envelope at its destination: checks the signer, the destination claims against this
/// site, the expiry and the current policy before decrypting; writes DIR only if every digest
/// matches the signed manifest.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// An envelope file, or s3://bucket/key (read with parallel ranged GETs).
    envelope: PathBuf,
    #[command(flatten)]
    s3: super::remote::S3Args,
    /// Identity file: age (AGE-SECRET-KEY-1…, a plugin's AGE-PLUGIN-…-1…, run through
    /// age-plugin-<name> from PATH) or an unencrypted SSH private key. Repeatable: every identity
    /// is tried. `-`: standard input.
    #[arg(long, short = 'i', value_name = "FILE", required = true)]
    identity: Vec<PathBuf>,
    /// A trusted sealer: `weightguard-signer-v1:…`, an OpenSSH `ssh-ed25519 …` public key, or a
    /// file holding one (`-`: standard input). Repeatable: the envelope's sealer must be one of
    /// them (key rotation); the report says which.
    #[arg(
        long,
        value_name = "PUBKEY",
        required_unless_present = "allow_plain_age"
    )]
    signer: Vec<String>,
    /// The country this site is in, ISO 3166-1 alpha-2.
    #[arg(long, value_name = "CC", value_parser = parse_country)]
    site_country: String,
    /// This site's identifier, when envelopes are sealed for a site.
    #[arg(long, value_name = "ID")]
    site: Option<String>,
    /// The directory to create (it must not exist).
    #[arg(short = 'o', long = "output", value_name = "DIR", value_parser = super::inputs::parse_output)]
    output: PathBuf,
    /// Policy to re-check the destination against: a built-in id or a TOML file.
    #[arg(long, default_value = policy::DEFAULT_POLICY, value_name = "ID|FILE")]
    policy: String,
    /// Licences file, when the envelope was sealed under a licence.
    #[arg(long, value_name = "FILE")]
    licenses: Option<PathBuf>,
    /// Evaluate expiry and policy on this later date instead of today (UTC); a date before today
    /// is taken as today.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    as_of: Option<Date>,
    /// Open a plain age file (no claims, no manifest) as a single payload file, skipping every
    /// destination check.
    #[arg(long)]
    allow_plain_age: bool,
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> Exit {
    match open(args) {
        Ok(opened) => {
            if args.json {
                println!("{}", schema::to_line(&opened).unwrap_or_default());
            } else {
                let r = &opened.report;
                let s = Style::stdout();
                println!(
                    "{}  {}",
                    s.bold(&render::escape(&r.output.display().to_string())),
                    s.dim("opened")
                );
                println!("  {:<14} {} files, {}", "contents", r.files, bytes(r.bytes));
                if r.plain {
                    println!(
                        "  {:<14} a plain age file: no claims, no manifest, nothing verified beyond decryption",
                        "warning"
                    );
                } else if r.tensors_signed_only == 0 {
                    println!(
                        "  {:<14} every file and tensor matched the signed manifest",
                        "verified"
                    );
                } else {
                    println!(
                        "  {:<14} every file matched the signed manifest; {} tensor digests recomputed, {} (GGUF, PyTorch) as signed over whole-file-verified bytes",
                        "verified", r.tensors_verified, r.tensors_signed_only
                    );
                }
                if let Some(root) = &r.root {
                    // From the signed manifest: shown as text from a file is.
                    println!("  {:<14} {}", "model root", render::escape(root));
                }
                if let (Some(sealer), Some(source)) = (&opened.sealer, &opened.trusted_signer) {
                    println!(
                        "  {:<14} {sealer} (trusted: --signer {})",
                        "sealer",
                        render::escape(source)
                    );
                }
            }
            Exit::Ok
        }
        Err((msg, hint)) => {
            render::error(&msg, hint);
            Exit::Error
        }
    }
}

/// What `open --json` prints: the report, and which trusted signer sealed the envelope.
#[derive(serde::Serialize)]
struct Opened {
    #[serde(flatten)]
    report: envelope::OpenReport,
    /// The `--signer` (as given) whose key sealed the envelope; null for a plain age file.
    trusted_signer: Option<String>,
    /// That key as a person recognises it: the SSH fingerprint (`SHA256:…`, as `ssh-keygen -l`
    /// prints it) and comment for an SSH key, the key itself otherwise.
    sealer: Option<String>,
}

fn open(args: &Args) -> Result<Opened, (String, Option<&'static str>)> {
    super::render::sweep_stale(&args.output, ".weightguard-partial-");
    let plain_err = |e: envelope::EnvelopeError| (e.to_string(), None);
    keys::stdin_at_most_once(
        args.identity
            .iter()
            .map(|i| ("-i", i.as_os_str() == keys::STDIN))
            .chain(args.signer.iter().map(|s| ("--signer", s == keys::STDIN))),
    )
    .map_err(plain_err)?;
    let trusted = TrustedSigners::parse_or_read(&args.signer).map_err(plain_err)?;
    let identities = keys::read_identity_files(&args.identity).map_err(plain_err)?;
    let policy = inputs::read_policy(&args.policy)?;
    let licences = match &args.licenses {
        Some(p) => inputs::read_licences(p)?,
        None => vec![],
    };
    // Opening happens now: `--as-of` may evaluate a later date (will it still open then?), never
    // an earlier one, so an expired envelope cannot be opened by naming a day before it expired.
    let today = match args.as_of {
        Some(d) => d.max(Date::today_utc()),
        None => Date::today_utc(),
    };
    // The current policy, applied to the classification the sealer recorded and signed.
    let check = |c: &Claims| -> Result<(), String> {
        let decision = match c.classification.as_str() {
            "controlled" => Classification::Controlled,
            "not_controlled" => Classification::NotControlled,
            "excluded" => Classification::Excluded,
            _ => Classification::NeedsReview,
        };
        let classified = Classified {
            decision,
            eccn: None,
            policy: policy.reference(today),
            as_of: today,
            model: None,
            training_operations: None,
            to_declare: vec![],
            presumed_max_operations: None,
            reasons: vec![Reason::new(
                "classification",
                "as_sealed",
                format!(
                    "classified {} when sealed on {} (signed claims)",
                    c.classification, c.sealed_on
                ),
                "the envelope's signed claims",
                "declared",
            )],
        };
        let g = policy::gate_classified(
            &policy,
            classified,
            None,
            &Transfer {
                destination: &c.destination,
                holder_hq: c.holder_hq.as_deref(),
                licences: &licences,
                model_ids: &[],
            },
            today,
        )
        .map_err(|e| e.to_string())?;
        if g.decision == GateOutcome::Allowed {
            Ok(())
        } else {
            let last = g
                .reasons
                .last()
                .map(|r| r.detail.clone())
                .unwrap_or_default();
            Err(format!("{} on {today} ({last})", g.decision.as_str()))
        }
    };
    let site = Site {
        country: args.site_country.clone(),
        site: args.site.clone(),
        today: today.to_string(),
        policy: &check,
    };
    // The trusted signer that sealed it (reported).
    let mut matched: Option<TrustedSigner> = None;
    // Progress over the envelope's bytes (the plaintext is a little less: headers and tags).
    let opened = match super::remote::object_url(&args.envelope) {
        Some(url) => {
            let target = super::remote::target(url, &args.s3)?;
            let bar = super::progress::ByteProgress::start("opening", 0);
            let opened = target.reader().and_then(|r| {
                let found = trusted_sealer(&trusted, Path::new(r.url()), || {
                    envelope::inspect::read_object(&r, None).map(|e| e.claims.map(|c| c.signer))
                })?;
                matched = found.cloned();
                let signer = found.map(|t| t.key);
                envelope::open_object_with_progress(
                    &r,
                    &identities,
                    signer.as_ref(),
                    &site,
                    &args.output,
                    args.allow_plain_age,
                    &|n| bar.add(n),
                )
            });
            bar.finish();
            opened
        }
        None => {
            let found = trusted_sealer(&trusted, &args.envelope, || {
                envelope::inspect::read(&args.envelope, None).map(|e| e.claims.map(|c| c.signer))
            })
            .map_err(plain_err)?;
            matched = found.cloned();
            let signer = found.map(|t| &t.key);
            let total = std::fs::metadata(&args.envelope).map_or(0, |m| m.len());
            let bar = super::progress::ByteProgress::start("opening", total);
            let opened = envelope::open_with_progress(
                &args.envelope,
                &identities,
                signer,
                &site,
                &args.output,
                args.allow_plain_age,
                &|n| bar.add(n),
            );
            bar.finish();
            opened
        }
    };
    let report = opened.map_err(|e| {
        let hint = match &e {
            envelope::EnvelopeError::OutputExists { .. } => Some("open into a new directory"),
            envelope::EnvelopeError::NoMatchingIdentity { .. } => {
                Some("use the identity whose recipient the envelope was sealed for")
            }
            _ => Some("nothing was written"),
        };
        (e.to_string(), hint)
    })?;
    // A plain age file was opened without any signer: none is reported.
    let matched = matched.filter(|_| !report.plain);
    Ok(Opened {
        trusted_signer: matched.as_ref().map(|t| t.source.clone()),
        sealer: matched.as_ref().map(TrustedSigner::describe),
        report,
    })
}

/// The one key of the trusted set (`--signer`, repeatable) that sealed the envelope, read from
/// its header by `sealer` before anything is decrypted; `open` then checks the envelope against
/// that key alone. None with no trusted signers (a plain age file, `--allow-plain-age`) or when
/// the envelope has no claims (which `open` refuses or, with `--allow-plain-age`, opens).
fn trusted_sealer<'t>(
    trusted: &'t TrustedSigners,
    path: &Path,
    sealer: impl FnOnce() -> Result<Option<SignerKey>, envelope::EnvelopeError>,
) -> Result<Option<&'t TrustedSigner>, envelope::EnvelopeError> {
    if trusted.is_empty() {
        return Ok(None);
    }
    match sealer()? {
        Some(found) => trusted.check(path, &found).map(Some),
        None => Ok(trusted.0.first()),
    }
}
