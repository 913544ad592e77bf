//! `weightguard gate PATH --destination CC [--holder-hq CC] [--licenses FILE] …`: may these
//! weights go there? Exit 0 allowed, 3 licence required, 4 denied, 5 needs review.

use super::Exit;
use super::classify::{headline, operations, reasons, status_line, suggested, suggested_lines};
use super::inputs::{self, Failure, TrainingArgs, parse_country, parse_date};
use super::output::{out, outln};
use super::render::{self, Style};
use super::selection::{self, SetArgs};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use weightguard::artifact::model_card::Suggestions;
use weightguard::artifact_set::ArtifactSet;
use weightguard::policy::{self, Classification, Date, GateDecision, GateOutcome, Transfer};
use weightguard::schema;

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

#[derive(Serialize)]
struct Output<'a> {
    /// The model's name: `org/name@rev` in a hub cache, else its path.
    name: &'a str,
    path: &'a Path,
    training_record: Option<PathBuf>,
    #[serde(flatten)]
    gate: &'a GateDecision,
    /// What the model card and config suggest (never declared, never decided on).
    #[serde(skip_serializing_if = "Option::is_none")]
    suggested: Option<Suggestions>,
}

/// The suggestions shown beside a model's gate decision: with the review hint when its
/// classification needs review.
fn suggested_for(m: &inputs::Loaded, g: &GateDecision) -> Option<Suggestions> {
    suggested(
        &m.suggested,
        g.classification.decision == Classification::NeedsReview,
    )
}

/// The transfer's decision: the deciding model's, flattened, and every model's own.
#[derive(Serialize)]
struct SetOutput<'a> {
    #[serde(flatten)]
    deciding: &'a Output<'a>,
    models: &'a [Output<'a>],
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
                match set_json(&d).and_then(|v| schema::to_line(&v)) {
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

/// The `gate --json` object of a decision: the deciding model's fields, and `models[]` (also what
/// a sealed manifest records as its `decision`).
pub fn set_json(d: &Decided) -> Result<serde_json::Value, serde_json::Error> {
    let outs: Vec<Output> = d
        .models
        .iter()
        .map(|(m, g)| Output {
            name: &m.name,
            path: &m.path,
            training_record: m.record.clone(),
            gate: g,
            suggested: suggested_for(m, g),
        })
        .collect();
    serde_json::to_value(SetOutput {
        deciding: &outs[d.deciding],
        models: &outs,
    })
}

/// What a gate decision needs (shared with `seal`, which gates before it seals).
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

/// Every model's gate decision, and which one decides the transfer.
pub struct Decided {
    /// The artifact set decided on (`None` for a bare config.json).
    pub set: Option<ArtifactSet>,
    pub models: Vec<(inputs::Loaded, GateDecision)>,
    /// Index into `models` of the decision that decides the transfer.
    pub deciding: usize,
    pub policy: policy::Policy,
}

impl Decided {
    /// The transfer's decision.
    pub fn decision(&self) -> &GateDecision {
        &self.models[self.deciding].1
    }
}

/// Loads the policy, licences and every model of the path, estimates and gates each.
pub fn decide(r: &Request) -> Result<Decided, Failure> {
    let policy = inputs::read_policy(r.policy)?;
    let licences = match r.licenses {
        Some(p) => inputs::read_licences(p)?,
        None => vec![],
    };
    let (set, estimated) = inputs::estimate_all(
        r.path,
        r.set,
        r.training,
        Some(policy.data.threshold.operations),
    )?;
    let as_of = r.as_of.unwrap_or_else(Date::today_utc);
    let mut models = Vec::with_capacity(estimated.len());
    for (m, est) in estimated {
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
        .map_err(|e| (format!("{}: {e}", m.name), None))?;
        models.push((m, g));
    }
    let gates: Vec<GateDecision> = models.iter().map(|(_, g)| g.clone()).collect();
    let deciding = policy::combine::deciding_gate(&gates)
        .ok_or_else(|| ("no models to decide on".to_owned(), None))?;
    Ok(Decided {
        set,
        models,
        deciding,
        policy,
    })
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
