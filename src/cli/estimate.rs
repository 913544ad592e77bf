//! `weightguard estimate PATH [--training-record F] [--tokens N] [--json]`: parameters and
//! training operations, with the range and the method trail.

use super::Exit;
use super::inputs::TrainingArgs;
use super::output::{out, outln};
use super::render::{self, Style, count, count_f64, grouped};
use super::selection::SetArgs;
use std::fmt::Write as _;
use std::path::PathBuf;
use weightguard::compute::Range;
use weightguard::policy;
use weightguard::reports::{self, estimate::Output};

/// Estimate training compute: parameters from the weights (or a config.json), tokens, operations
/// and hardware time from a training record, with an honest low / point / high range.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A model directory, a weights file, or a bare config.json.
    path: PathBuf,
    #[command(flatten)]
    training: TrainingArgs,
    #[command(flatten)]
    set: SetArgs,
    /// Policy whose threshold to compare against: a built-in id or a TOML file.
    #[arg(long, default_value = policy::DEFAULT_POLICY, value_name = "ID|FILE")]
    policy: String,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

/// One block (human) or one JSON line (the library's, [`reports::estimate`]) per model of the
/// set.
pub fn run(args: &Args) -> Exit {
    let models = match reports::estimate::estimate(
        &args.path,
        &args.set.options(),
        &args.training.plain(),
        &args.policy,
    ) {
        Ok(m) => m,
        Err(f) => {
            render::error(&f.message, f.hint);
            return Exit::Error;
        }
    };
    if args.json {
        match reports::estimate::json_lines(&models) {
            Ok(lines) => {
                for line in lines {
                    outln!("{line}");
                }
            }
            Err(e) => {
                render::error(&e, None);
                return Exit::Error;
            }
        }
        return Exit::Ok;
    }
    let style = Style::stdout();
    for (i, (m, est)) in models.iter().enumerate() {
        if i > 0 {
            outln!();
        }
        out!("{}", human(&Output::new(m, est), style));
    }
    Exit::Ok
}

/// `3.80e25`.
fn ops(v: f64) -> String {
    if v.is_infinite() {
        "unbounded".into()
    } else {
        format!("{v:.2e}")
    }
}

fn range(r: &Range) -> String {
    format!(
        "{} FLOP (range {} – {})",
        ops(r.point),
        ops(r.low),
        ops(r.high)
    )
}

fn human(out: &Output, style: Style) -> String {
    let e = out.estimate;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}  {}",
        style.bold(out.name),
        style.dim("training-compute estimate")
    );
    let mut row = |label: &str, value: String| {
        let _ = writeln!(s, "  {label:<14} {value}");
    };
    let p = &e.parameters;
    let active = match p.active {
        Some(a) if a != p.total => format!(", {} active per token ({})", count(a), grouped(a)),
        Some(_) => String::new(),
        None => ", active per token unknown".into(),
    };
    row(
        "parameters",
        format!("{} ({}){active}", count(p.total), grouped(p.total)),
    );
    let mut source = format!("counted from {}", p.source);
    if let (Some(c), "tensors") = (&p.from_config, p.source) {
        let _ = write!(
            source,
            "; config.json gives {} ({})",
            count(c.total),
            c.formula
        );
    }
    row("", style.dim(&source));
    if let Some(r) = &out.training_record {
        row("record", r.display().to_string());
    }
    match &e.training_operations {
        Some(r) => row("training ops", style.bold(&range(r))),
        None => row(
            "training ops",
            "unknown (no tokens, operations or hardware time declared)".into(),
        ),
    }
    for st in &e.components.stages {
        row(
            "  stage",
            format!("{}: {} ({})", st.name, ops(st.operations.point), st.method),
        );
    }
    if let Some(b) = &e.components.base_model {
        row(
            "  base model",
            format!(
                "{} ({}): {}",
                b.name,
                if b.published {
                    "published"
                } else {
                    "not published"
                },
                b.operations.map_or("operations not declared".into(), ops)
            ),
        );
    }
    for g in &e.components.synthetic_data {
        row(
            "  synthetic",
            format!(
                "{}: {:.0}% of operations, generator {}",
                g.generator,
                g.share_of_operations * 100.0,
                if g.generator_published {
                    "published"
                } else {
                    "not published"
                }
            ),
        );
    }
    if let Some(t) = &e.threshold {
        row(
            "threshold",
            format!(
                "{} operations would take {} tokens at 6·N·D",
                ops(t.operations),
                count_f64(t.tokens_to_reach)
            ),
        );
    }
    if !e.methods.is_empty() {
        let _ = writeln!(s, "  methods");
        for m in &e.methods {
            let _ = writeln!(s, "    {} [{}]: {}", m.name, m.stage, range(&m.result));
            for (k, v) in &m.inputs {
                let _ = writeln!(s, "      {}", style.dim(&format!("{k} = {v}")));
            }
        }
    }
    for w in &e.warnings {
        let _ = writeln!(s, "  {} {w}", style.warn("warning:"));
    }
    s
}
