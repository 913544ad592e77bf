//! `estimate`: parameters and training operations of each model of the named path, with the
//! range and the method trail.

use super::Failure;
use super::inputs::{self, Loaded, Training};
use crate::artifact_set;
use crate::compute::Estimate;
use crate::schema;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The `estimate --json` object of one model.
#[derive(Serialize)]
pub struct Output<'a> {
    /// The model's name: `org/name@rev` in a hub cache, else its path.
    pub name: &'a str,
    pub path: &'a Path,
    pub training_record: Option<PathBuf>,
    #[serde(flatten)]
    pub estimate: &'a Estimate,
}

impl<'a> Output<'a> {
    pub fn new(m: &'a Loaded, estimate: &'a Estimate) -> Output<'a> {
        Output {
            name: &m.name,
            path: &m.path,
            training_record: m.record.clone(),
            estimate,
        }
    }
}

/// Every model of `path` with its estimate, compared with the threshold of `policy` (a built-in
/// id or a TOML file).
pub fn estimate(
    path: &Path,
    set: &artifact_set::Options,
    training: &Training,
    policy: &str,
) -> Result<Vec<(Loaded, Estimate)>, Failure> {
    let policy = inputs::read_policy(policy)?;
    let (_, models) =
        inputs::estimate_all(path, set, training, Some(policy.data.threshold.operations))?;
    Ok(models)
}

/// The `estimate --json` lines: one per model.
pub fn json_lines(models: &[(Loaded, Estimate)]) -> serde_json::Result<Vec<String>> {
    models
        .iter()
        .map(|(m, e)| schema::to_line(&Output::new(m, e)))
        .collect()
}
