//! `weightguard classify PATH [--training-record F] [--tokens N] [--policy ID|FILE]
//! [--as-of DATE] [--json]`: is this model's weights export-controlled?

use super::Exit;
use super::inputs::{TrainingArgs, parse_date};
use super::output::{out, outln};
use super::render::{self, Style};
use super::selection::SetArgs;
use std::fmt::Write as _;
use std::path::PathBuf;
use weightguard::artifact::model_card::Suggestions;
use weightguard::policy::{self, Classification, Classified, Date, Reason};
use weightguard::reports;
use weightguard::text::escape;

/// Decide whether the weights are controlled (ECCN 4E091 by default), with the reasons and
/// their citations. Exit 0 when decided, 5 when the facts cannot settle it.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A model directory, a weights file, or a bare config.json.
    path: PathBuf,
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

pub use weightguard::reports::classify::Output;

/// The human lines of suggested facts, labels `width` wide.
pub fn suggested_lines(s: &mut String, sg: Option<&Suggestions>, width: usize, style: Style) {
    let Some(sg) = sg else { return };
    for (i, f) in sg.facts.iter().enumerate() {
        let note = if i == 0 {
            "; suggested, not declared: not used in the decision"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "  {:<width$} {} = {}  {}",
            "suggested",
            f.key,
            escape(&f.value),
            style.dim(&format!("({}{note})", escape(&f.source)))
        );
    }
    for w in &sg.warnings {
        let _ = writeln!(s, "  {:<width$} {}", "card warning", escape(w));
    }
    if let Some(h) = &sg.hint {
        let _ = writeln!(s, "  {:<width$} {}", "suggestion", escape(h));
    }
}

pub fn run(args: &Args) -> Exit {
    let classified = match reports::classify::classify(
        &args.path,
        &args.set.options(),
        &args.training.plain(),
        &args.policy,
        args.as_of,
    ) {
        Ok(c) => c,
        Err(f) => {
            render::error(&f.message, f.hint);
            return Exit::Error;
        }
    };
    if args.json {
        match classified.json_line() {
            Ok(s) => outln!("{s}"),
            Err(e) => {
                render::error(&e, None);
                return Exit::Error;
            }
        }
    } else {
        let style = Style::stdout();
        let outs = classified.outputs();
        let deciding = classified.decision();
        if outs.len() > 1 {
            outln!(
                "{}  {} models: {}, decided by {}\n",
                style.bold(&args.path.display().to_string()),
                outs.len(),
                headline(deciding, style),
                outs[classified.deciding].name
            );
        }
        for (k, out) in outs.iter().enumerate() {
            if k > 0 {
                outln!();
            }
            out!("{}", human(out, style));
        }
    }
    exit(classified.decision().decision)
}

pub fn exit(c: Classification) -> Exit {
    match c {
        Classification::NeedsReview => Exit::NeedsReview,
        _ => Exit::Ok,
    }
}

/// The classification's headline: `CONTROLLED (ECCN 4E091)`.
pub fn headline(c: &Classified, style: Style) -> String {
    let word = c.decision.as_str().to_uppercase().replace('_', " ");
    let eccn = match (&c.eccn, c.decision) {
        (Some(e), Classification::Controlled) => format!(" — ECCN {e}"),
        (Some(e), Classification::NeedsReview) => format!(" — possibly ECCN {e}"),
        _ => String::new(),
    };
    match c.decision {
        Classification::Controlled | Classification::NeedsReview => {
            style.warn(&format!("{word}{eccn}"))
        }
        _ => style.bold(&format!("{word}{eccn}")),
    }
}

/// `codified, NOT ENFORCED since 2025-05-13: the decision follows the codified rule`.
pub fn status_line(c: &Classified) -> String {
    let p = &c.policy;
    let what = format!("{} version {} ({})", p.id, p.version, short(&p.digest));
    if !p.in_effect {
        format!("{what}: not in effect on {}", c.as_of)
    } else if p.enforced {
        format!("{what}: codified and enforced on {}", c.as_of)
    } else {
        format!(
            "{what}: codified, NOT ENFORCED since {} — decided by the codified rule anyway",
            p.not_enforced_since.map_or("—".into(), |d| d.to_string())
        )
    }
}

fn short(digest: &str) -> String {
    digest.chars().take(7 + 12).collect()
}

pub fn reasons(s: &mut String, reasons: &[Reason], style: Style) {
    let _ = writeln!(s, "  reasons");
    for r in reasons {
        let _ = writeln!(s, "    [{}] {}: {}", r.rule, r.outcome, r.detail);
        let _ = writeln!(
            s,
            "      {}",
            style.dim(&format!("{} [{}]", r.citation, r.confidence))
        );
    }
}

pub fn operations(c: &Classified) -> String {
    match (&c.training_operations, c.presumed_max_operations) {
        (Some(r), _) => policy::lineage::range(r),
        (None, Some(max)) => format!(
            "not declared; at most {max:.3e} FLOP presumed for its own training (plausibility bound)"
        ),
        (None, None) => "unknown (no training declared)".into(),
    }
}

pub fn human(out: &Output, style: Style) -> String {
    let c = out.classified;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}  {}",
        style.bold(out.name),
        style.dim(&format!("export classification as of {}", c.as_of))
    );
    let _ = writeln!(s, "  {:<12} {}", "decision", headline(c, style));
    let _ = writeln!(s, "  {:<12} {}", "policy", status_line(c));
    if let Some(r) = &out.training_record {
        let _ = writeln!(s, "  {:<12} {} (declared facts)", "record", r.display());
    }
    let _ = writeln!(s, "  {:<12} {}", "operations", operations(c));
    for d in &c.to_declare {
        let _ = writeln!(s, "  {:<12} {d}", "to declare");
    }
    suggested_lines(&mut s, out.suggested.as_ref(), 12, style);
    reasons(&mut s, &c.reasons, style);
    s
}
