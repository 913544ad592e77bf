//! `weightguard gate PATH --destination CC [--holder-hq CC] [--licenses FILE] …`: may these
//! weights go there? Exit 0 allowed, 3 licence required, 4 denied, 5 needs review.

use super::Exit;
use super::classify::{headline, operations, reasons, status_line};
use super::inputs::{self, Failure, TrainingArgs, parse_country, parse_date};
use super::render::{self, Style};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use weightguard::policy::{self, Date, GateDecision, GateOutcome, Transfer};

/// Decide whether a transfer of the weights to a destination may go ahead, and under which
/// authorization (NLR, a licence exception such as AIA, or a licence from --licenses).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A model directory, a weights file, or a bare config.json.
    path: PathBuf,
    /// Destination country, ISO 3166-1 alpha-2 (DE, CN, MO, TW…).
    #[arg(long, value_name = "CC", value_parser = parse_country)]
    destination: String,
    /// Country of the receiving holder's headquarters; default: the destination.
    #[arg(long, value_name = "CC", value_parser = parse_country)]
    holder_hq: Option<String>,
    /// Licences file (TOML, `[[license]]` tables) held for this transfer.
    #[arg(long, value_name = "FILE")]
    licenses: Option<PathBuf>,
    #[command(flatten)]
    training: TrainingArgs,
    /// Policy: a built-in id (`weightguard policy list`) or a TOML file.
    #[arg(long, default_value = policy::DEFAULT_POLICY, value_name = "ID|FILE")]
    policy: String,
    /// Evaluate on this date instead of today (UTC).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    as_of: Option<Date>,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Output<'a> {
    path: &'a Path,
    training_record: Option<PathBuf>,
    #[serde(flatten)]
    gate: &'a GateDecision,
}

pub fn exit(d: GateOutcome) -> Exit {
    match d {
        GateOutcome::Allowed => Exit::Ok,
        GateOutcome::LicenseRequired => Exit::LicenseRequired,
        GateOutcome::Denied => Exit::Denied,
        GateOutcome::NeedsReview => Exit::NeedsReview,
    }
}

pub fn run(args: &Args) -> Exit {
    match evaluate(args) {
        Ok((g, record)) => {
            let out = Output {
                path: &args.path,
                training_record: record,
                gate: &g,
            };
            if args.json {
                match serde_json::to_string(&out) {
                    Ok(s) => println!("{s}"),
                    Err(e) => {
                        render::error(&e, None);
                        return Exit::Error;
                    }
                }
            } else {
                print!(
                    "{}",
                    human(
                        &out.path.display().to_string(),
                        out.training_record.as_deref(),
                        &g,
                        Style::stdout()
                    )
                );
            }
            exit(g.decision)
        }
        Err((msg, hint)) => {
            render::error(&msg, hint);
            Exit::Error
        }
    }
}

fn evaluate(args: &Args) -> Result<(GateDecision, Option<PathBuf>), Failure> {
    let (g, record, _) = decide(&Request {
        path: &args.path,
        destination: &args.destination,
        holder_hq: args.holder_hq.as_deref(),
        licenses: args.licenses.as_deref(),
        training: &args.training,
        policy: &args.policy,
        as_of: args.as_of,
    })?;
    Ok((g, record))
}

/// What a gate decision needs (shared with `seal`, which gates before it seals).
pub struct Request<'a> {
    pub path: &'a Path,
    pub destination: &'a str,
    pub holder_hq: Option<&'a str>,
    pub licenses: Option<&'a Path>,
    pub training: &'a TrainingArgs,
    pub policy: &'a str,
    pub as_of: Option<Date>,
}

/// Loads the policy, licences and estimate, and decides; also returns the policy used.
pub fn decide(r: &Request) -> Result<(GateDecision, Option<PathBuf>, policy::Policy), Failure> {
    let policy = inputs::read_policy(r.policy)?;
    let licences = match r.licenses {
        Some(p) => inputs::read_licences(p)?,
        None => vec![],
    };
    let (est, record) =
        inputs::estimate(r.path, r.training, Some(policy.data.threshold.operations))?;
    let as_of = r.as_of.unwrap_or_else(Date::today_utc);
    let g = policy::gate(
        &policy,
        &est,
        &Transfer {
            destination: r.destination,
            holder_hq: r.holder_hq,
            licences: &licences,
            model_ids: &[],
        },
        as_of,
    )
    .map_err(|e| (e.to_string(), None))?;
    Ok((g, record, policy))
}

/// The gate's human report (also used by `demo`).
pub fn human(path: &str, record: Option<&Path>, g: &GateDecision, style: Style) -> String {
    let c = &g.classification;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} → {} ({})  {}",
        style.bold(path),
        g.destination,
        policy::countries::name(&g.destination).unwrap_or("?"),
        style.dim(&format!("export gate as of {}", c.as_of))
    );
    let word = g.decision.as_str().to_uppercase().replace('_', " ");
    let decision = match &g.authorization {
        Some(a) => format!("{word} under {a}"),
        None => word,
    };
    let decision = match g.decision {
        GateOutcome::Allowed => style.bold(&decision),
        _ => style.warn(&decision),
    };
    let _ = writeln!(s, "  {:<14} {decision}", "decision");
    let _ = writeln!(s, "  {:<14} {}", "classification", headline(c, style));
    let _ = writeln!(s, "  {:<14} {}", "policy", status_line(c));
    if let Some(r) = record {
        let _ = writeln!(s, "  {:<14} {} (declared facts)", "record", r.display());
    }
    let _ = writeln!(s, "  {:<14} {}", "operations", operations(c));
    let _ = writeln!(s, "  {:<14} {}", "holder hq", g.holder_hq);
    for d in &c.to_declare {
        let _ = writeln!(s, "  {:<14} {d}", "to declare");
    }
    reasons(&mut s, &g.reasons, style);
    let _ = writeln!(
        s,
        "  {}",
        style.dim(
            "classification reasons: --json .classification.reasons, or `weightguard classify`"
        )
    );
    s
}
