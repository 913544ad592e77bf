//! `inspect`: what a model artifact is, from its headers alone; one report per model of the
//! named path.

use super::Failure;
use crate::artifact::{ArtifactError, InspectReport};
use crate::artifact_set::{self, ArtifactSet, Ignored};
use crate::{digest, schema};
use serde::Serialize;
use std::path::Path;

/// The reports of the models of one named path.
pub struct Inspected {
    pub set: ArtifactSet,
    /// The model root digest of the whole set when asked for (`None` inside: it holds no
    /// tensors).
    pub root: Option<Option<String>>,
    /// Each model's report, or why it could not be read, in the set's order.
    pub models: Vec<Result<InspectReport, ArtifactError>>,
}

/// The `--json` object of one model: its report, with what the set's rules left out and the
/// set's root digest when asked for.
#[derive(Serialize)]
struct WithDigest<'a> {
    #[serde(flatten)]
    report: &'a InspectReport,
    /// What the set's rules left out of the named path.
    ignored: &'a [Ignored],
    /// Model root digest (hex) of the whole set, or `null` when it holds no tensors.
    #[serde(skip_serializing_if = "Option::is_none")]
    root: Option<Option<String>>,
}

/// Reads every model of `path` (headers only; with `hash`, every byte too, for the root
/// digest). A model that cannot be read is an `Err` among the others.
pub fn inspect(
    path: &Path,
    options: &artifact_set::Options,
    hash: bool,
) -> Result<Inspected, Failure> {
    let set = artifact_set::collect(path, options)?;
    let root = if hash {
        let h = digest::hash_set(&set, &digest::Options::default(), &|_| {})?;
        Some(h.root.map(|r| r.to_string()))
    } else {
        None
    };
    let models = set
        .open_models()
        .into_iter()
        .filter_map(|(_, opened)| opened.map(|a| a.map(|a| a.report())).transpose())
        .collect();
    Ok(Inspected { set, root, models })
}

impl Inspected {
    /// The `inspect --json` line of one of the models.
    pub fn json_line(&self, report: &InspectReport) -> serde_json::Result<String> {
        schema::to_line(&WithDigest {
            report,
            ignored: &self.set.ignored,
            root: self.root.clone(),
        })
    }

    /// Every model's `--json` line; the first model that could not be read fails the whole
    /// path, and so does a path holding no model weights.
    pub fn json_lines(&self) -> Result<Vec<String>, Failure> {
        let mut lines = Vec::with_capacity(self.models.len());
        for m in &self.models {
            match m {
                Ok(report) => lines.push(
                    self.json_line(report)
                        .map_err(|e| Failure::new(e.to_string(), None))?,
                ),
                Err(e) => return Err(Failure::about(e.path(), e.to_string(), hint(e))),
            }
        }
        if lines.is_empty() {
            return Err(self.no_weights());
        }
        Ok(lines)
    }

    /// The failure of a path in which no model weights were found.
    pub fn no_weights(&self) -> Failure {
        let e = ArtifactError::NoWeights {
            path: self.set.path.clone(),
        };
        Failure::about(
            &self.set.path,
            e.to_string(),
            Some(if self.set.ignored.is_empty() {
                "name a weight file (safetensors, GGUF, PyTorch), a shard index, a model directory or a hub cache repository"
            } else {
                "some paths were left out (shown with --json); --no-default-excludes or fewer --exclude walks them"
            }),
        )
    }
}

/// What to do about a model that could not be read.
pub fn hint(e: &ArtifactError) -> Option<&'static str> {
    match e {
        ArtifactError::Io { .. } | ArtifactError::NoWeights { .. } => Some(
            "name a weight file (safetensors, GGUF, PyTorch), a shard index or a model directory",
        ),
        ArtifactError::Config { .. } => {
            Some("fix or move config.json to inspect the weights alone")
        }
        ArtifactError::Index { .. } => {
            Some("fix the index, or inspect the shards one by one by naming them")
        }
        ArtifactError::UnknownFormat { .. } => Some(
            "weightguard reads safetensors, GGUF and PyTorch checkpoints, recognised by their content",
        ),
        _ => Some(super::failure::MALFORMED),
    }
}
