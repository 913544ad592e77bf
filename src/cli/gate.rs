//! `weightguard gate PATH --destination CC [--holder-hq CC] [--licenses FILE] …`: may these
//! weights go there? Exit 0 allowed, 3 licence required, 4 denied, 5 needs review.

use super::Exit;
use super::classify::{headline, operations, reasons, status_line, suggested_lines};
use super::inputs::{Failure, TrainingArgs, parse_country, parse_date};
use super::output::{out, outln};
use super::render::{self, Style};
use super::selection::{self, SetArgs};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use weightguard::artifact::model_card::Suggestions;
use weightguard::policy::{self, Date, GateDecision, GateOutcome};
use weightguard::reports;

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
    #[command(flatten)]
    set: SetArgs,
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

pub use weightguard::reports::gate::Decided;
use weightguard::reports::gate::suggested_for;

pub fn exit(d: GateOutcome) -> Exit {
    match d {
        GateOutcome::Allowed => Exit::Ok,
        GateOutcome::LicenseRequired => Exit::LicenseRequired,
        GateOutcome::Denied => Exit::Denied,
        GateOutcome::NeedsReview => Exit::NeedsReview,
    }
}

pub fn run(args: &Args) -> Exit {
    let decided = decide(&Request {
        path: &args.path,
        destination: &args.destination,
        holder_hq: args.holder_hq.as_deref(),
        licenses: args.licenses.as_deref(),
        training: &args.training,
        set: &args.set,
        policy: &args.policy,
        as_of: args.as_of,
    });
    match decided {
        Ok(d) => {
            if args.json {
                match d.json_line() {
                    Ok(s) => outln!("{s}"),
                    Err(e) => {
                        render::error(&e, None);
                        return Exit::Error;
                    }
                }
            } else {
                out!("{}", set_human(&args.path, &d, Style::stdout()));
            }
            exit(d.decision().decision)
        }
        Err((msg, hint)) => {
            render::error(&msg, hint);
            Exit::Error
        }
    }
}

/// The `gate --json` object of a decision (also what a sealed manifest records).
pub fn set_json(d: &Decided) -> Result<serde_json::Value, serde_json::Error> {
    d.json()
}

/// What a gate decision needs, as the commands' flags give it (shared with `seal`, which gates
/// before it seals).
pub struct Request<'a> {
    pub path: &'a Path,
    pub destination: &'a str,
    pub holder_hq: Option<&'a str>,
    pub licenses: Option<&'a Path>,
    pub training: &'a TrainingArgs,
    pub set: &'a SetArgs,
    pub policy: &'a str,
    pub as_of: Option<Date>,
}

/// Every model's gate decision ([`reports::gate::decide`]), or the failure to render.
pub fn decide(r: &Request) -> Result<Decided, Failure> {
    Ok(reports::gate::decide(&reports::gate::Request {
        path: r.path,
        destination: r.destination,
        holder_hq: r.holder_hq,
        licenses: r.licenses,
        training: &r.training.plain(),
        set: &r.set.options(),
        policy: r.policy,
        as_of: r.as_of,
    })?)
}

/// The human report of a set: one model as before; several with a headline naming the model that
/// decides, then each model's report.
pub fn set_human(path: &Path, d: &Decided, style: Style) -> String {
    let mut s = String::new();
    if d.models.len() > 1 {
        let g = d.decision();
        let _ = writeln!(
            s,
            "{}  {} models → {}: {}, decided by {}\n",
            style.bold(&path.display().to_string()),
            d.models.len(),
            g.destination,
            style.warn(&g.decision.as_str().to_uppercase().replace('_', " ")),
            d.models[d.deciding].0.name
        );
    }
    for (k, (m, g)) in d.models.iter().enumerate() {
        if k > 0 {
            s.push('\n');
        }
        let sg = suggested_for(m, g);
        s.push_str(&human(&m.name, m.record.as_deref(), g, sg.as_ref(), style));
    }
    if let Some(set) = &d.set
        && let Some(line) = selection::ignored_line(&set.ignored, style)
    {
        s.push_str(&line);
    }
    s
}

/// The gate's human report of one model.
pub fn human(
    path: &str,
    record: Option<&Path>,
    g: &GateDecision,
    sg: Option<&Suggestions>,
    style: Style,
) -> String {
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
    for c in &g.conditions {
        let _ = writeln!(s, "  {:<14} {}", "conditions", style.warn(c));
    }
    if let Some(scope) = &g.scope {
        let _ = writeln!(s, "  {:<14} {}", "scope", style.dim(scope));
    }
    for d in &c.to_declare {
        let _ = writeln!(s, "  {:<14} {d}", "to declare");
    }
    suggested_lines(&mut s, sg, 14, style);
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
