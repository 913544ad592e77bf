//! `gate`: may the weights of the named path go to a destination, and under which
//! authorization. Shared with `seal`, which gates before it seals and records the decision.

use super::Failure;
use super::classify::suggested;
use super::inputs::{self, Loaded, Training};
use crate::artifact::model_card::Suggestions;
use crate::artifact_set::{self, ArtifactSet};
use crate::policy::{self, Classification, Date, GateDecision, Transfer};
use crate::schema;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The `gate --json` object of one model.
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
pub fn suggested_for(m: &Loaded, g: &GateDecision) -> Option<Suggestions> {
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

/// What a gate decision needs.
pub struct Request<'a> {
    pub path: &'a Path,
    /// ISO 3166-1 alpha-2, already checked (`policy::countries::parse`).
    pub destination: &'a str,
    /// The receiving holder's headquarters; default: the destination.
    pub holder_hq: Option<&'a str>,
    /// Licences file (TOML) held for this transfer.
    pub licenses: Option<&'a Path>,
    pub training: &'a Training,
    pub set: &'a artifact_set::Options,
    /// A built-in policy id or a TOML file.
    pub policy: &'a str,
    /// Default: today (UTC).
    pub as_of: Option<Date>,
}

/// Every model's gate decision, and which one decides the transfer.
pub struct Decided {
    /// The artifact set decided on (`None` for a bare config.json).
    pub set: Option<ArtifactSet>,
    pub models: Vec<(Loaded, GateDecision)>,
    /// Index into `models` of the decision that decides the transfer.
    pub deciding: usize,
    pub policy: policy::Policy,
}

impl Decided {
    /// The transfer's decision.
    pub fn decision(&self) -> &GateDecision {
        &self.models[self.deciding].1
    }

    /// The `gate --json` object: the deciding model's fields, and `models[]` (also what a
    /// sealed manifest records as its `decision`).
    pub fn json(&self) -> Result<serde_json::Value, serde_json::Error> {
        let outs: Vec<Output> = self
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
            deciding: &outs[self.deciding],
            models: &outs,
        })
    }

    /// The `gate --json` line.
    pub fn json_line(&self) -> serde_json::Result<String> {
        schema::to_line(&self.json()?)
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
        .map_err(|e| Failure::about(&m.path, format!("{}: {e}", m.name), None))?;
        models.push((m, g));
    }
    let gates: Vec<GateDecision> = models.iter().map(|(_, g)| g.clone()).collect();
    let deciding = policy::combine::deciding_gate(&gates)
        .ok_or_else(|| Failure::about(r.path, "no models to decide on", None))?;
    Ok(Decided {
        set,
        models,
        deciding,
        policy,
    })
}
