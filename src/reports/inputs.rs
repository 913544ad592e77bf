//! What estimate, classify, gate and seal read besides the weights: the models of the named path,
//! each with the training record that applies to it, the accelerator table, the policy and the
//! licences. Every small file the user names is read by the library's one reader of such files.

use super::Failure;
use crate::artifact::model_card::{self, Suggestions};
use crate::artifact::read::{self, MeteredFile};
use crate::artifact::tree::LocalTree;
use crate::artifact::{Artifact, ModelConfig};
use crate::artifact_set::{self, ArtifactSet};
use crate::compute::{self, AcceleratorTable, Estimate, EstimateInput, TrainingRecord};
use crate::policy::{self, Policy};
use std::path::{Path, PathBuf};

/// `15.6e12`, `15600000000000`, `15.6T`, `300B`, `2M`, `1.5K`: a count of tokens.
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

/// What is known of the model's training, as every command that estimates compute takes it, so
/// that `estimate`, `classify`, `gate` and `seal` reach the same figure from the same inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Training {
    /// A training record (TOML); `None`: `training-record.toml` beside the weights, if any.
    pub record: Option<PathBuf>,
    /// Training tokens, when there is no training record.
    pub tokens: Option<f64>,
    /// An accelerator table (TOML) instead of the built-in one.
    pub accelerators: Option<PathBuf>,
    /// Warn when two methods for one stage differ by more than this factor.
    pub disagreement_factor: f64,
}

/// The CLI's defaults: no record named, no tokens, the built-in accelerators, factor 2.
impl Default for Training {
    fn default() -> Training {
        Training {
            record: None,
            tokens: None,
            accelerators: None,
            disagreement_factor: DEFAULT_DISAGREEMENT_FACTOR,
        }
    }
}

/// The factor between two methods' estimates above which they are said to disagree.
pub const DEFAULT_DISAGREEMENT_FACTOR: f64 = 2.0;

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
/// set ([`artifact_set`]), every model of it read, with the training record that applies to
/// each. Any model that cannot be read fails the whole call: a decision on the others alone
/// would be a decision on less than the user named.
pub fn load(
    path: &Path,
    sel: &artifact_set::Options,
    named_record: Option<&Path>,
) -> Result<(Option<ArtifactSet>, Vec<Loaded>), Failure> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if path.is_file() && name.ends_with(".json") && !name.ends_with(".index.json") {
        let mut f =
            MeteredFile::open(path).map_err(|e| Failure::about(path, e.to_string(), None))?;
        let c = ModelConfig::read(&mut f).map_err(|e| Failure::from(e).with_hint(None))?;
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
    let set = artifact_set::collect(path, sel)?;
    let tree = set.tree();
    let mut models = Vec::new();
    for (m, opened) in set.open_models() {
        if let Some(a) = opened? {
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
        return Err(Failure::about(
            path,
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
    read::read_small_text(path, what, limit as u64)
        .map_err(|e| Failure::about(path, e.to_string(), None))
}

pub fn read_record(path: &Path) -> Result<TrainingRecord, Failure> {
    let text = read_text(path, "training record", compute::record::MAX_RECORD_BYTES)?;
    TrainingRecord::parse(&path.display().to_string(), &text).map_err(|e| {
        Failure::about(
            path,
            e.to_string(),
            Some("the training record format is in docs/training-record.md"),
        )
    })
}

/// A policy: a built-in id, else a path.
pub fn read_policy(spec: &str) -> Result<Policy, Failure> {
    let (origin, text, file) = match policy::builtin(spec) {
        Some(t) => (spec.to_owned(), t.to_owned(), None),
        None => {
            let p = Path::new(spec);
            if !p.exists() {
                return Err(Failure::new(
                    format!("--policy {spec}: not a built-in policy and no such file"),
                    Some("built-in policies: `weightguard policy list`"),
                ));
            }
            (
                spec.to_owned(),
                read_text(p, "policy", policy::format::MAX_POLICY_BYTES)?,
                Some(p),
            )
        }
    };
    Policy::parse(&origin, &text).map_err(|e| Failure {
        file: file.map(Path::to_owned),
        message: e.to_string(),
        hint: Some(
            "the policy format is in docs/policy-format.md; check it with `weightguard policy validate FILE`",
        ),
    })
}

pub fn read_licences(path: &Path) -> Result<Vec<policy::Licence>, Failure> {
    let text = read_text(path, "licences file", policy::licences::MAX_LICENCES_BYTES)?;
    policy::licences::parse(&path.display().to_string(), &text).map_err(|e| {
        Failure::about(
            path,
            e.to_string(),
            Some("the licences file format is in docs/policy-format.md"),
        )
    })
}

/// The accelerator table: the one named, or the built-in one.
pub fn accelerators(training: &Training) -> Result<AcceleratorTable, Failure> {
    match &training.accelerators {
        None => Ok(AcceleratorTable::builtin()),
        Some(p) => {
            let text = read_text(
                p,
                "accelerator table",
                compute::accelerators::MAX_ACCELERATORS_BYTES,
            )?;
            AcceleratorTable::parse(&text).map_err(|e| {
                Failure::about(
                    p,
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
    training: &Training,
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
    .map_err(|e| Failure::about(&m.path, format!("{}: {e}", m.name), None))
}

/// The set (none for a bare config.json) and each of its models with its estimate.
pub type Estimated = (Option<ArtifactSet>, Vec<(Loaded, Estimate)>);

/// Every model of `path`, estimated: (model, estimate) in the set's order, and the set.
pub fn estimate_all(
    path: &Path,
    sel: &artifact_set::Options,
    training: &Training,
    threshold: Option<f64>,
) -> Result<Estimated, Failure> {
    let (set, models) = load(path, sel, training.record.as_deref())?;
    let table = accelerators(training)?;
    let mut out = Vec::with_capacity(models.len());
    for m in models {
        let est = estimate_model(&m, training, &table, threshold)?;
        out.push((m, est));
    }
    Ok((set, out))
}
