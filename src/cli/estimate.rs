//! `weightguard estimate PATH [--training-record F] [--tokens N] [--json]`: parameters and
//! training operations, with the range and the method trail.

use super::Exit;
use super::render::{self, Style, count, grouped};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use weightguard::artifact::{self, Artifact, ModelConfig, read::MeteredFile};
use weightguard::compute::{
    self, AcceleratorTable, Estimate, EstimateInput, Range, TrainingRecord,
};
use weightguard::policy;

/// Estimate training compute: parameters from the weights (or a config.json), tokens, operations
/// and hardware time from a training record, with an honest low / point / high range.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A model directory, a weights file, or a bare config.json.
    path: PathBuf,
    /// Training record (TOML); default: training-record.toml beside the weights.
    #[arg(long, value_name = "FILE")]
    training_record: Option<PathBuf>,
    /// Training tokens (e.g. 15.6e12 or 15.6T), when there is no training record.
    #[arg(long, value_name = "N", value_parser = parse_count)]
    tokens: Option<f64>,
    /// Accelerator table (TOML) instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    accelerators: Option<PathBuf>,
    /// Warn when two methods for one stage differ by more than this factor.
    #[arg(long, default_value_t = 2.0, value_name = "FACTOR")]
    disagreement_factor: f64,
    /// Policy whose threshold to compare against: a built-in id or a TOML file.
    #[arg(long, default_value = policy::DEFAULT_POLICY, value_name = "ID|FILE")]
    policy: String,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

/// `15.6e12`, `15600000000000`, `15.6T`, `300B`, `2M`, `1.5K`.
pub fn parse_count(s: &str) -> Result<f64, String> {
    let s = s.trim().replace('_', "");
    let (num, mult) = match s.chars().last() {
        Some('K' | 'k') => (&s[..s.len() - 1], 1e3),
        Some('M') => (&s[..s.len() - 1], 1e6),
        Some('B' | 'G') => (&s[..s.len() - 1], 1e9),
        Some('T') => (&s[..s.len() - 1], 1e12),
        Some('P') => (&s[..s.len() - 1], 1e15),
        _ => (s.as_str(), 1.0),
    };
    match num.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v * mult),
        _ => Err(format!("`{s}` is not a count; write e.g. 15.6e12 or 15.6T")),
    }
}

#[derive(Serialize)]
struct Output<'a> {
    path: &'a Path,
    training_record: Option<PathBuf>,
    #[serde(flatten)]
    estimate: &'a Estimate,
}

pub fn run(args: &Args) -> Exit {
    match estimate(args) {
        Ok((est, record_path)) => {
            let out = Output {
                path: &args.path,
                training_record: record_path,
                estimate: &est,
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
                print!("{}", human(&out, Style::stdout()));
            }
            Exit::Ok
        }
        Err((msg, hint)) => {
            render::error(&msg, hint);
            Exit::Error
        }
    }
}

type Failure = (String, Option<&'static str>);

fn estimate(args: &Args) -> Result<(Estimate, Option<PathBuf>), Failure> {
    let (artifact, config) = load(&args.path)?;
    let record_path = match &args.training_record {
        Some(p) => Some(p.clone()),
        None => {
            let dir = if args.path.is_dir() {
                args.path.clone()
            } else {
                args.path.parent().map(Path::to_owned).unwrap_or_default()
            };
            let beside = dir.join("training-record.toml");
            beside.is_file().then_some(beside)
        }
    };
    let record = match &record_path {
        Some(p) => Some(read_record(p)?),
        None => None,
    };
    let accelerators = match &args.accelerators {
        None => AcceleratorTable::builtin(),
        Some(p) => {
            let text =
                std::fs::read_to_string(p).map_err(|e| (format!("{}: {e}", p.display()), None))?;
            AcceleratorTable::parse(&text).map_err(|e| (format!("{}: {e}", p.display()), None))?
        }
    };
    let policy_text = match policy::builtin(&args.policy) {
        Some(t) => t.to_owned(),
        None => std::fs::read_to_string(&args.policy).map_err(|e| {
            (
                format!("--policy {}: not a built-in policy, and {e}", args.policy),
                Some("built-in policies: us-ear-4e091"),
            )
        })?,
    };
    let threshold = policy::threshold(&policy_text)
        .map_err(|e| (format!("--policy {}: {e}", args.policy), None))?;
    let est = compute::estimate(&EstimateInput {
        artifact: artifact.as_ref(),
        config: config.as_ref(),
        record: record.as_ref(),
        tokens: args.tokens,
        accelerators: &accelerators,
        disagreement_factor: args.disagreement_factor,
        threshold: Some(threshold.operations),
    })
    .map_err(|e| (e.to_string(), None))?;
    Ok((est, record_path))
}

/// A bare config.json is a config; anything else goes through the artifact stage.
fn load(path: &Path) -> Result<(Option<Artifact>, Option<ModelConfig>), Failure> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if path.is_file() && name.ends_with(".json") && !name.ends_with(".index.json") {
        let mut f = MeteredFile::open(path).map_err(|e| (e.to_string(), None))?;
        let c = ModelConfig::read(&mut f).map_err(|e| (e.to_string(), None))?;
        return Ok((None, Some(c)));
    }
    let a = artifact::open(path).map_err(|e| {
        (
            e.to_string(),
            Some("name a model directory, a weights file or a config.json"),
        )
    })?;
    Ok((Some(a), None))
}

fn read_record(path: &Path) -> Result<TrainingRecord, Failure> {
    let mut f = MeteredFile::open(path).map_err(|e| (e.to_string(), None))?;
    let bytes = f
        .read_all_limited("training record", compute::record::MAX_RECORD_BYTES as u64)
        .map_err(|e| (e.to_string(), None))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| (format!("{}: not UTF-8 text", path.display()), None))?;
    TrainingRecord::parse(&path.display().to_string(), &text).map_err(|e| {
        (
            e.to_string(),
            Some("the training record format is in docs/training-record.md"),
        )
    })
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
        style.bold(&out.path.display().to_string()),
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
                count(t.tokens_to_reach as u64)
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
