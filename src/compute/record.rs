//! The training record: what a lab declares about how a model was trained.
//!
//! TOML, found as `training-record.toml` beside the weights or named with `--training-record`.
//! Every field is a declared fact (weightguard cannot see the training run); the estimator checks
//! the facts against each other and against the weights. Unknown fields are errors: a misspelt
//! `tokens` must not silently become "no tokens declared". The format is specified in
//! `docs/training-record.md`.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// A parsed and validated training record.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingRecord {
    #[serde(default)]
    pub model: ModelFacts,
    #[serde(default, rename = "stage")]
    pub stages: Vec<Stage>,
    pub base_model: Option<BaseModel>,
    #[serde(default)]
    pub synthetic_data: Vec<SyntheticData>,
    /// Free text or URLs backing the record as a whole.
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// Facts about the model itself.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFacts {
    pub name: Option<String>,
    /// Whether this model's weights are published (15 CFR 734.7).
    pub published: Option<bool>,
    /// Where the training ran, as declared (the foreign direct product rule turns on it).
    pub trained_in: Option<String>,
}

/// Kinds of training stage. All of them are training operations under the rule; RL is counted as
/// subsequent training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    Pretraining,
    ContinuedPretraining,
    FineTuning,
    Rl,
    Distillation,
    Other,
}

/// One training stage, declared by tokens, by operations, or by hardware time (or several, to
/// cross-check).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub name: String,
    pub kind: StageKind,
    /// Training tokens processed (all epochs).
    pub tokens: Option<f64>,
    /// Training operations, when the lab counted them.
    pub operations: Option<f64>,
    pub hardware: Option<Hardware>,
    /// Training sequence length, for the attention term of the operation count.
    pub sequence_length: Option<u64>,
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// Accelerator time of one stage.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Hardware {
    /// A name or alias in the accelerator table.
    pub accelerator: String,
    /// Accelerator-hours (chips × wall-clock hours).
    pub hours: f64,
    /// Model FLOP utilization, measured; the range defaults around it.
    pub utilization: Option<f64>,
    pub utilization_low: Option<f64>,
    pub utilization_high: Option<f64>,
    /// Precision of the matrix multiplications (`bf16`, `fp16`, `fp8`, `tf32`); default `bf16`.
    pub precision: Option<String>,
}

/// The model this one was trained from.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BaseModel {
    pub name: String,
    pub published: bool,
    /// The base model's own training operations (its whole lineage).
    pub operations: Option<f64>,
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// Data made by a generator model and trained on.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticData {
    pub generator: String,
    /// Fraction (0–1) of this model's training operations spent on this generator's data.
    pub share_of_operations: f64,
    /// Whether the data itself is published.
    #[serde(default)]
    pub data_published: bool,
    /// Whether the generator's weights are published.
    pub generator_published: bool,
    /// Operations spent generating the data.
    pub generation_operations: Option<f64>,
    /// The generator's own training operations.
    pub training_operations: Option<f64>,
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// Why a training record was refused; the message names the field.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct RecordError {
    pub path: String,
    pub message: String,
}

/// Largest training record accepted.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

impl TrainingRecord {
    /// Parses and validates a record; `origin` names it in errors.
    pub fn parse(origin: &str, text: &str) -> Result<TrainingRecord, RecordError> {
        let err = |message: String| RecordError {
            path: origin.to_owned(),
            message,
        };
        if text.len() > MAX_RECORD_BYTES {
            return Err(err(format!(
                "{} bytes, over the limit of {MAX_RECORD_BYTES}",
                text.len()
            )));
        }
        let record: TrainingRecord =
            toml::from_str(text).map_err(|e| err(e.to_string().trim_end().replace('\n', " ")))?;
        record.validate().map_err(err)?;
        Ok(record)
    }

    fn validate(&self) -> Result<(), String> {
        let mut names = HashSet::new();
        for (i, s) in self.stages.iter().enumerate() {
            let at = format!("stage[{i}] (`{}`)", s.name);
            if !names.insert(s.name.as_str()) {
                return Err(format!("{at}: a second stage has this name"));
            }
            if s.tokens.is_none() && s.operations.is_none() && s.hardware.is_none() {
                return Err(format!(
                    "{at}: declares none of `tokens`, `operations` or `[stage.hardware]`"
                ));
            }
            positive(&format!("{at}.tokens"), s.tokens)?;
            positive(&format!("{at}.operations"), s.operations)?;
            if s.sequence_length == Some(0) {
                return Err(format!("{at}.sequence_length: must be positive"));
            }
            if let Some(h) = &s.hardware {
                positive(&format!("{at}.hardware.hours"), Some(h.hours))?;
                for (field, u) in [
                    ("utilization", h.utilization),
                    ("utilization_low", h.utilization_low),
                    ("utilization_high", h.utilization_high),
                ] {
                    if let Some(u) = u
                        && !(u > 0.0 && u <= 1.0)
                    {
                        return Err(format!(
                            "{at}.hardware.{field}: a fraction in (0, 1], found {u}"
                        ));
                    }
                }
                let (lo, pt, hi) = (h.utilization_low, h.utilization, h.utilization_high);
                if let (Some(lo), Some(hi)) = (lo, hi)
                    && lo > hi
                {
                    return Err(format!(
                        "{at}.hardware: utilization_low {lo} is above utilization_high {hi}"
                    ));
                }
                if let Some(pt) = pt
                    && (lo.is_some_and(|lo| lo > pt) || hi.is_some_and(|hi| hi < pt))
                {
                    return Err(format!(
                        "{at}.hardware.utilization: {pt} lies outside utilization_low..utilization_high"
                    ));
                }
            }
        }
        if let Some(b) = &self.base_model {
            positive("base_model.operations", b.operations)?;
        }
        let mut total_share = 0.0;
        for (i, g) in self.synthetic_data.iter().enumerate() {
            let at = format!("synthetic_data[{i}] (`{}`)", g.generator);
            if !(0.0..=1.0).contains(&g.share_of_operations) {
                return Err(format!(
                    "{at}.share_of_operations: a fraction in [0, 1], found {}",
                    g.share_of_operations
                ));
            }
            total_share += g.share_of_operations;
            positive(
                &format!("{at}.generation_operations"),
                g.generation_operations,
            )?;
            positive(&format!("{at}.training_operations"), g.training_operations)?;
        }
        if total_share > 1.0 + 1e-9 {
            return Err(format!(
                "synthetic_data: shares of operations add up to {total_share}, more than all of training"
            ));
        }
        if let (Some(b), Some(name)) = (&self.base_model, &self.model.name)
            && &b.name == name
        {
            return Err("base_model.name: a model cannot be its own base".into());
        }
        Ok(())
    }

    /// Whether anything in the record declares how much training happened.
    pub fn declares_training(&self) -> bool {
        !self.stages.is_empty()
    }
}

fn positive(field: &str, v: Option<f64>) -> Result<(), String> {
    match v {
        Some(x) if !(x.is_finite() && x >= 0.0) => Err(format!(
            "{field}: must be a non-negative finite number, found {x}"
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_record_parses() {
        let r = TrainingRecord::parse(
            "r.toml",
            r#"
            evidence = ["run log"]
            [model]
            name = "acme-1"
            published = false
            [[stage]]
            name = "pre-training"
            kind = "pretraining"
            tokens = 15.6e12
            [stage.hardware]
            accelerator = "H100"
            hours = 30.84e6
            [[stage]]
            name = "rl"
            kind = "rl"
            operations = 1e24
            [base_model]
            name = "acme-0"
            published = true
            operations = 3e24
            [[synthetic_data]]
            generator = "acme-teacher"
            share_of_operations = 0.2
            generator_published = false
            generation_operations = 1e23
            training_operations = 5e25
            "#,
        )
        .unwrap();
        assert_eq!(r.stages.len(), 2);
        assert_eq!(r.stages[1].kind, StageKind::Rl);
    }

    #[test]
    fn bad_records_name_the_field() {
        let cases = [
            (
                "[[stage]]\nname='a'\nkind='pretraining'\ntokenz=1",
                "unknown field `tokenz`",
            ),
            (
                "[[stage]]\nname='a'\nkind='pretraining'",
                "declares none of",
            ),
            (
                "[[stage]]\nname='a'\nkind='magic'\ntokens=1",
                "unknown variant `magic`",
            ),
            (
                "[[stage]]\nname='a'\nkind='rl'\ntokens=-5",
                "stage[0] (`a`).tokens",
            ),
            (
                "[[stage]]\nname='a'\nkind='rl'\n[stage.hardware]\naccelerator='H100'\nhours=1\nutilization=1.5",
                "hardware.utilization: a fraction",
            ),
            (
                "[[synthetic_data]]\ngenerator='g'\nshare_of_operations=0.7\ngenerator_published=true\n[[synthetic_data]]\ngenerator='h'\nshare_of_operations=0.6\ngenerator_published=true",
                "add up to",
            ),
            (
                "[[stage]]\nname='a'\nkind='rl'\ntokens=1\n[[stage]]\nname='a'\nkind='rl'\ntokens=1",
                "a second stage has this name",
            ),
            ("surprise = 1", "unknown field `surprise`"),
        ];
        for (text, expected) in cases {
            let e = TrainingRecord::parse("r.toml", text)
                .unwrap_err()
                .to_string();
            assert!(e.contains(expected), "{text}\n→ {e}");
            assert!(e.starts_with("r.toml: "), "{e}");
        }
    }
}
