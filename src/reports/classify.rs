//! `classify`: is each model of the named path export-controlled, and which model decides for
//! the whole set.

use super::Failure;
use super::inputs::{self, Loaded, Training};
use crate::artifact::model_card::Suggestions;
use crate::artifact_set;
use crate::policy::{self, Classification, Classified, Date};
use crate::schema;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The `classify --json` object of one model.
#[derive(Serialize)]
pub struct Output<'a> {
    /// The model's name: `org/name@rev` in a hub cache, else its path.
    pub name: &'a str,
    pub path: &'a Path,
    pub training_record: Option<PathBuf>,
    #[serde(flatten)]
    pub classified: &'a Classified,
    /// What the model card and config suggest (never declared, never decided on); absent when
    /// they suggest nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggested: Option<Suggestions>,
}

/// The suggestions to show beside a decision: none if empty, with the review hint for a
/// decision that needs review.
pub fn suggested(s: &Suggestions, needs_review: bool) -> Option<Suggestions> {
    match (s.is_empty(), needs_review) {
        (true, _) => None,
        (false, true) => Some(s.for_review()),
        (false, false) => Some(s.clone()),
    }
}

/// The set's classification: the deciding model's, flattened, and every model's own.
#[derive(Serialize)]
struct SetOutput<'a> {
    #[serde(flatten)]
    deciding: &'a Output<'a>,
    models: &'a [Output<'a>],
}

/// Every model's classification, and which one decides for the set.
pub struct ClassifiedSet {
    pub models: Vec<(Loaded, Classified)>,
    /// Index into `models` of the classification that decides.
    pub deciding: usize,
}

/// Classifies every model of `path` under `policy` (a built-in id or a TOML file) on `as_of`
/// (default: today, UTC).
pub fn classify(
    path: &Path,
    set: &artifact_set::Options,
    training: &Training,
    policy: &str,
    as_of: Option<Date>,
) -> Result<ClassifiedSet, Failure> {
    let policy = inputs::read_policy(policy)?;
    let (_, models) =
        inputs::estimate_all(path, set, training, Some(policy.data.threshold.operations))?;
    let as_of = as_of.unwrap_or_else(Date::today_utc);
    let models: Vec<(Loaded, Classified)> = models
        .into_iter()
        .map(|(m, est)| {
            let c = policy::classify(&policy, &est, as_of);
            (m, c)
        })
        .collect();
    let cs: Vec<Classified> = models.iter().map(|(_, c)| c.clone()).collect();
    let deciding = policy::combine::deciding_classification(&cs)
        .ok_or_else(|| Failure::about(path, "no models to classify", None))?;
    Ok(ClassifiedSet { models, deciding })
}

impl ClassifiedSet {
    /// The classification that decides for the set.
    pub fn decision(&self) -> &Classified {
        &self.models[self.deciding].1
    }

    /// Each model's output, in the set's order.
    pub fn outputs(&self) -> Vec<Output<'_>> {
        self.models
            .iter()
            .map(|(m, c)| Output {
                name: &m.name,
                path: &m.path,
                training_record: m.record.clone(),
                classified: c,
                suggested: suggested(&m.suggested, c.decision == Classification::NeedsReview),
            })
            .collect()
    }

    /// The `classify --json` line: the deciding model's fields and `models[]`.
    pub fn json_line(&self) -> serde_json::Result<String> {
        let outs = self.outputs();
        schema::to_line(&SetOutput {
            deciding: &outs[self.deciding],
            models: &outs,
        })
    }
}
