//! Inputs shared by estimate, classify, gate and seal: the model, its training record, the
//! accelerator table, the policy, the date, counts. Each loader returns a [`Failure`] (message, hint) the command renders.

use super::selection::{self, SetArgs};
use std::path::{Path, PathBuf};
use weightguard::artifact::model_card::{self, Suggestions};
use weightguard::artifact::read::{self, MeteredFile};
use weightguard::artifact::tree::LocalTree;
use weightguard::artifact::{Artifact, ModelConfig};
use weightguard::artifact_set::ArtifactSet;
use weightguard::compute::{self, AcceleratorTable, Estimate, EstimateInput, TrainingRecord};
use weightguard::policy::{self, Date, Policy};

/// An error message and what to do about it.
pub type Failure = (String, Option<&'static str>);

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

/// `-o OUT` of `seal` and `open`: a path. `-` is refused rather than taken as a file named `-`:
/// an envelope (or an opened model) is written beside its name and renamed into place when
/// whole, which standard output cannot do.
pub fn parse_output(s: &str) -> Result<std::path::PathBuf, String> {
    if s == "-" {
        return Err(
            "`-` (standard output) is not supported: the output is written beside its name and renamed into place only when complete; name a file or directory"
                .into(),
        );
    }
    Ok(std::path::PathBuf::from(s))
}

/// `--as-of YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<Date, String> {
    Date::parse(s)
}

/// `--destination` / `--holder-hq`: an ISO 3166-1 alpha-2 code (clap turns an error into a
/// usage error, exit 2).
pub fn parse_country(s: &str) -> Result<String, String> {
    policy::countries::parse(s)
}

/// One model of the named path, read and ready to estimate.
pub struct Loaded {
    /// `org/name@rev` in a hub cache, else the model's path.
    pub name: String,
    pub path: PathBuf,
    pub artifact: Option<Artifact>,
    /// A bare config.json named instead of weights.
    pub config: Option<ModelConfig>,
    /// The training record that applies to it.
    pub record: Option<PathBuf>,
    /// What its model card and config suggest about its lineage: shown, never decided on.
    pub suggested: Suggestions,
}

/// The models `path` denotes: a bare config.json is one config; anything else is the artifact
/// set (`weightguard::artifact_set`), every model of it read, with the training record that
/// applies to each. Any model that cannot be read fails the whole call: a decision on the
/// others alone would be a decision on less than the user named.
pub fn load(
    path: &Path,
    sel: &SetArgs,
    named_record: Option<&Path>,
) -> Result<(Option<ArtifactSet>, Vec<Loaded>), Failure> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if path.is_file() && name.ends_with(".json") && !name.ends_with(".index.json") {
        let mut f = MeteredFile::open(path).map_err(|e| (e.to_string(), None))?;
        let c = ModelConfig::read(&mut f).map_err(|e| (e.to_string(), None))?;
        // A config named alone: its `_name_or_path`, no model card (not in what was named).
        let suggested = model_card::suggest(&LocalTree::default(), None, Some((&c, path)));
        let loaded = Loaded {
            name: path.display().to_string(),
            path: path.to_owned(),
            artifact: None,
            config: Some(c),
            record: record_path(path, None, named_record),
            suggested,
        };
        return Ok((None, vec![loaded]));
    }
    let set = selection::collect(path, sel)?;
    let tree = set.tree();
    let mut models = Vec::new();
    for (m, opened) in set.open_models() {
        let a = opened.map_err(|e| {
            (
                e.to_string(),
                Some("the file is malformed; nothing in it was trusted, loaded or executed"),
            )
        })?;
        if let Some(a) = a {
            // The model card in the set, beside the weights (docs/user-guide.md).
            let config = a.config.as_ref().zip(m.files.config.as_deref());
            let suggested = model_card::suggest(&tree, Some(&m.files.dir), config);
            models.push(Loaded {
                suggested,
                name: m.name.clone(),
                path: a.path.clone(),
                record: record_path(path, Some(&m.files.dir), named_record),
                artifact: Some(a),
                config: None,
            });
        }
    }
    drop(tree);
    if models.is_empty() {
        return Err((
            format!(
                "{}: no model weights found (looked for safetensors, GGUF and PyTorch files by content, at any depth)",
                path.display()
            ),
            Some(no_weights_hint(&set)),
        ));
    }
    Ok((Some(set), models))
}

fn no_weights_hint(set: &ArtifactSet) -> &'static str {
    if set.ignored.is_empty() {
        "name a model directory, a weights file, a shard index or a hub cache repository"
    } else {
        "some paths were left out (see `inspect`); --no-default-excludes or fewer --exclude walks them"
    }
}

/// The training record named; else `training-record.toml` in the model's own directory; else
/// the one beside the named path.
pub fn record_path(path: &Path, model_dir: Option<&Path>, named: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = named {
        return Some(p.to_owned());
    }
    if let Some(d) = model_dir {
        let own = d.join("training-record.toml");
        if own.is_file() {
            return Some(own);
        }
    }
    let dir = if path.is_dir() {
        path.to_owned()
    } else {
        path.parent().map(Path::to_owned).unwrap_or_default()
    };
    let beside = dir.join("training-record.toml");
    beside.is_file().then_some(beside)
}

/// A small text file the user named, through the library's one reader of such files (a regular
/// file only, never a wait on a FIFO, at most `limit` bytes).
pub fn read_text(path: &Path, what: &'static str, limit: usize) -> Result<String, Failure> {
    read::read_small_text(path, what, limit as u64).map_err(|e| (e.to_string(), None))
}

pub fn read_record(path: &Path) -> Result<TrainingRecord, Failure> {
    let text = read_text(path, "training record", compute::record::MAX_RECORD_BYTES)?;
    TrainingRecord::parse(&path.display().to_string(), &text).map_err(|e| {
        (
            e.to_string(),
            Some("the training record format is in docs/training-record.md"),
        )
    })
}

/// `--policy ID|FILE`: a built-in id, else a path.
pub fn read_policy(spec: &str) -> Result<Policy, Failure> {
    let (origin, text) = match policy::builtin(spec) {
        Some(t) => (spec.to_owned(), t.to_owned()),
        None => {
            let p = Path::new(spec);
            if !p.exists() {
                return Err((
                    format!("--policy {spec}: not a built-in policy and no such file"),
                    Some("built-in policies: `weightguard policy list`"),
                ));
            }
            (
                spec.to_owned(),
                read_text(p, "policy", policy::format::MAX_POLICY_BYTES)?,
            )
        }
    };
    Policy::parse(&origin, &text).map_err(|e| {
        (
            e.to_string(),
            Some("the policy format is in docs/policy-format.md; check it with `weightguard policy validate FILE`"),
        )
    })
}

pub fn read_licences(path: &Path) -> Result<Vec<policy::Licence>, Failure> {
    let text = read_text(path, "licences file", policy::licences::MAX_LICENCES_BYTES)?;
    policy::licences::parse(&path.display().to_string(), &text).map_err(|e| {
        (
            e.to_string(),
            Some("the licences file format is in docs/policy-format.md"),
        )
    })
}

/// What is known of the model's training: the options every command that estimates compute
/// takes, so that `estimate`, `classify`, `gate` and `seal` reach the same figure from the same
/// inputs.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainingArgs {
    /// Training record (TOML); default: training-record.toml beside the weights.
    #[arg(long, value_name = "FILE")]
    pub training_record: Option<PathBuf>,
    /// Training tokens (e.g. 15.6e12 or 15.6T), when there is no training record.
    #[arg(long, value_name = "N", value_parser = parse_count)]
    pub tokens: Option<f64>,
    /// Accelerator table (TOML) instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    pub accelerators: Option<PathBuf>,
    /// Warn when two methods for one stage differ by more than this factor.
    #[arg(long, default_value_t = 2.0, value_name = "FACTOR")]
    pub disagreement_factor: f64,
}

/// The accelerator table: `--accelerators` or the built-in one.
pub fn accelerators(training: &TrainingArgs) -> Result<AcceleratorTable, Failure> {
    match &training.accelerators {
        None => Ok(AcceleratorTable::builtin()),
        Some(p) => {
            let text = read_text(
                p,
                "accelerator table",
                compute::accelerators::MAX_ACCELERATORS_BYTES,
            )?;
            AcceleratorTable::parse(&text).map_err(|e| {
                (
                    format!("{}: {e}", p.display()),
                    Some("the accelerator table format is policies/accelerators.toml"),
                )
            })
        }
    }
}

/// Estimates one loaded model with its training record.
pub fn estimate_model(
    m: &Loaded,
    training: &TrainingArgs,
    accelerators: &AcceleratorTable,
    threshold: Option<f64>,
) -> Result<Estimate, Failure> {
    let record = match &m.record {
        Some(p) => Some(read_record(p)?),
        None => None,
    };
    compute::estimate(&EstimateInput {
        artifact: m.artifact.as_ref(),
        config: m.config.as_ref(),
        record: record.as_ref(),
        tokens: training.tokens,
        accelerators,
        disagreement_factor: training.disagreement_factor,
        threshold,
    })
    .map_err(|e| (format!("{}: {e}", m.name), None))
}

/// The set (none for a bare config.json) and each of its models with its estimate.
pub type Estimated = (Option<ArtifactSet>, Vec<(Loaded, Estimate)>);

/// Every model of `path`, estimated: (model, estimate) in the set's order, and the set.
pub fn estimate_all(
    path: &Path,
    sel: &SetArgs,
    training: &TrainingArgs,
    threshold: Option<f64>,
) -> Result<Estimated, Failure> {
    let (set, models) = load(path, sel, training.training_record.as_deref())?;
    let table = accelerators(training)?;
    let mut out = Vec::with_capacity(models.len());
    for m in models {
        let est = estimate_model(&m, training, &table, threshold)?;
        out.push((m, est));
    }
    Ok((set, out))
}
