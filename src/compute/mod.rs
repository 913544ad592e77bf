//! Stage 2: how much training went into a model.
//!
//! Combines what the weights establish (parameters, total and active per token) with what a lab
//! declares in a training record (stages, tokens, accelerator time, lineage), applies the
//! methods in [`methods`], checks them against each other and returns an [`Estimate`] with its
//! range and the method trail. It never reads files and never prints.

pub mod accelerators;
pub mod methods;
pub mod params_config;
pub mod params_tensors;
pub mod quantization;
pub mod record;

pub use accelerators::AcceleratorTable;
pub use methods::{Method, Range};
pub use params_config::ConfigCount;
pub use params_tensors::TensorCount;
pub use record::TrainingRecord;

use crate::artifact::{Artifact, Format, ModelConfig};
use methods::ModelShape;
use record::{ModelFacts, Stage, StageKind, SyntheticData};
use serde::Serialize;

/// What the estimator is given.
pub struct EstimateInput<'a> {
    /// The weights, when there are any (else only a config).
    pub artifact: Option<&'a Artifact>,
    /// The config: the artifact's own, or a bare `config.json`.
    pub config: Option<&'a ModelConfig>,
    pub record: Option<&'a TrainingRecord>,
    /// Training tokens given on the command line (a single stage).
    pub tokens: Option<f64>,
    pub accelerators: &'a AcceleratorTable,
    /// Methods disagreeing by more than this factor raise a warning.
    pub disagreement_factor: f64,
    /// The control threshold in operations, to say how many tokens would reach it.
    pub threshold: Option<f64>,
}

/// The estimate: parameters, training operations with their range, and how they were found.
#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    pub parameters: Parameters,
    /// Operations of this model's whole lineage: its stages plus its base model's declared
    /// operations. `null` when nothing declares how much training happened.
    pub training_operations: Option<Range>,
    pub components: Components,
    pub methods: Vec<Method>,
    pub threshold: Option<ThresholdAnswer>,
    pub model: ModelFacts,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Parameters {
    pub total: u64,
    /// Parameters used per token; `null` if experts exist and the config does not say how many
    /// are used.
    pub active: Option<u64>,
    /// `tensors` (counted from the weights) or `config` (config.json alone).
    pub source: &'static str,
    pub embedding: u64,
    pub from_tensors: Option<TensorCount>,
    pub from_config: Option<ConfigCount>,
    /// Why the config could not be counted, when it could not.
    pub config_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Components {
    /// This model's own training stages, summed.
    pub own_training: Option<Range>,
    pub stages: Vec<StageEstimate>,
    pub base_model: Option<BaseEstimate>,
    /// Synthetic-data generators as declared (the policy decides what of them counts).
    pub synthetic_data: Vec<SyntheticData>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StageEstimate {
    pub name: String,
    pub kind: StageKind,
    pub operations: Range,
    /// The method whose result is used for this stage.
    pub method: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct BaseEstimate {
    pub name: String,
    pub published: bool,
    pub operations: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ThresholdAnswer {
    pub operations: f64,
    /// Tokens at which 6·N_active·D reaches the threshold.
    pub tokens_to_reach: f64,
    /// The most operations one training token can cost this model: the estimator's high end
    /// (6·N plus the attention term, or +10%) with N the larger of the tensor and config totals
    /// and every expert counted as active. What a plausibility bound divides by.
    pub max_operations_per_token: f64,
    /// Fewest training tokens that could reach the threshold: `operations` ÷
    /// `max_operations_per_token`.
    pub min_tokens_to_reach: f64,
}

/// Why no estimate could be made.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EstimateError(pub String);

/// Estimates parameters and training operations.
pub fn estimate(input: &EstimateInput) -> Result<Estimate, EstimateError> {
    let mut warnings = Vec::new();
    let parameters = parameters(input, &mut warnings)?;
    // Weights weightguard cannot count (a bare pickle, a container) are not zero weights: a
    // decision on a count of 0 would let any model through. Fail closed.
    if parameters.total == 0
        && let Some(a) = input.artifact
        && matches!(a.format, Format::Pickle | Format::Container)
    {
        return Err(EstimateError(format!(
            "a {} holds no tensors weightguard can count, so no decision can rest on it; if it holds weights, convert them to safetensors, or leave it out (--exclude)",
            a.format.name()
        )));
    }
    let active = match parameters.active {
        Some(a) => a,
        None => {
            warnings.push(
                "experts per token unknown: operations counted with all parameters active (an overestimate)"
                    .into(),
            );
            parameters.total
        }
    };
    let config = input
        .config
        .or(input.artifact.and_then(|a| a.config.as_ref()));
    let shape = ModelShape {
        active,
        embedding: parameters.embedding,
        layers: config.and_then(|c| c.layers.as_ref()).map(|f| f.value),
        attention_width: config.and_then(|c| {
            let heads = c.attention_heads.as_ref()?.value;
            let dim = match &c.head_dim {
                Some(d) => d.value,
                None => c.hidden_size.as_ref()?.value / heads.max(1),
            };
            Some(heads * dim)
        }),
    };

    let mut stages: Vec<Stage> = input.record.map(|r| r.stages.clone()).unwrap_or_default();
    if let Some(tokens) = input.tokens {
        if !stages.is_empty() {
            return Err(EstimateError(
                "--tokens given but the training record already declares stages; drop one".into(),
            ));
        }
        if !(tokens.is_finite() && tokens >= 0.0) {
            return Err(EstimateError(format!(
                "--tokens: not a token count: {tokens}"
            )));
        }
        stages.push(Stage {
            name: "declared on the command line".into(),
            kind: StageKind::Pretraining,
            tokens: Some(tokens),
            operations: None,
            hardware: None,
            sequence_length: None,
            evidence: vec![],
        });
    }

    let mut methods = Vec::new();
    let mut stage_estimates = Vec::new();
    for stage in &stages {
        let mut applied = Vec::new();
        if let Some(ops) = stage.operations {
            applied.push(Method {
                name: "declared_operations",
                stage: stage.name.clone(),
                inputs: [("operations".to_owned(), format!("{ops:.4e}"))].into(),
                result: Range::exact(ops),
                note: "operations as declared in the training record".into(),
            });
        }
        if let Some(tokens) = stage.tokens {
            applied.push(methods::operation_counting(stage, tokens, &shape));
        }
        if let Some(hw) = &stage.hardware {
            applied.push(
                methods::hardware_time(stage, hw, input.accelerators).map_err(EstimateError)?,
            );
        }
        check_agreement(&applied, input.disagreement_factor, &mut warnings);
        // Preference: a count the lab made, then 6·N·D, then hardware time.
        let chosen = &applied[0];
        stage_estimates.push(StageEstimate {
            name: stage.name.clone(),
            kind: stage.kind,
            operations: chosen.result,
            method: chosen.name,
        });
        methods.extend(applied);
    }

    let own_training = (!stage_estimates.is_empty()).then(|| {
        stage_estimates
            .iter()
            .fold(Range::zero(), |acc, s| acc + s.operations)
    });
    let base_model = input
        .record
        .and_then(|r| r.base_model.as_ref())
        .map(|b| BaseEstimate {
            name: b.name.clone(),
            published: b.published,
            operations: b.operations,
        });
    let training_operations = match (&own_training, &base_model) {
        (None, None) => None,
        (own, base) => {
            let mut total = own.unwrap_or(Range::zero());
            if let Some(b) = base {
                match b.operations {
                    Some(ops) => total = total + Range::exact(ops),
                    None => {
                        warnings.push(format!(
                            "base model `{}`: operations not declared; the lineage total has no upper bound",
                            b.name
                        ));
                        total.high = f64::INFINITY;
                    }
                }
            }
            if own.is_none() {
                warnings.push(
                    "the training record declares no stages of this model's own training".into(),
                );
            }
            Some(total)
        }
    };
    if training_operations.is_none() {
        warnings.push(
            "no training tokens, operations or hardware time declared: only parameters are known (use --tokens or a training record)"
                .into(),
        );
    }
    // Every expert active, the larger of the two counts: the most a token can cost.
    let widest = parameters
        .total
        .max(parameters.from_config.as_ref().map_or(0, |c| c.total))
        .max(parameters.from_tensors.as_ref().map_or(0, |c| c.total));
    let per_token = ModelShape {
        active: widest,
        ..shape
    };
    let max_operations_per_token = methods::operation_counting(
        &Stage {
            name: "one token".into(),
            kind: StageKind::Pretraining,
            tokens: Some(1.0),
            operations: None,
            hardware: None,
            sequence_length: None,
            evidence: vec![],
        },
        1.0,
        &per_token,
    )
    .result
    .high
    .max(f64::MIN_POSITIVE);
    let threshold = input.threshold.map(|t| ThresholdAnswer {
        operations: t,
        tokens_to_reach: t / (6.0 * active.max(1) as f64),
        max_operations_per_token,
        min_tokens_to_reach: t / max_operations_per_token,
    });
    Ok(Estimate {
        parameters,
        training_operations,
        components: Components {
            own_training,
            stages: stage_estimates,
            base_model,
            synthetic_data: input
                .record
                .map(|r| r.synthetic_data.clone())
                .unwrap_or_default(),
        },
        methods,
        threshold,
        model: input.record.map(|r| r.model.clone()).unwrap_or_default(),
        warnings,
    })
}

/// Parameters from the tensors (preferred: they are what exists) and from the config, compared.
fn parameters(
    input: &EstimateInput,
    warnings: &mut Vec<String>,
) -> Result<Parameters, EstimateError> {
    let config = input
        .config
        .or(input.artifact.and_then(|a| a.config.as_ref()));
    let (from_config, config_error) = match config.map(params_config::count) {
        Some(Ok(c)) => (Some(c), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    // An undercount is the dangerous direction: weights that could not all be read are no basis
    // for a decision.
    if let Some(a) = input.artifact
        && !a.incomplete.is_empty()
    {
        return Err(EstimateError(format!(
            "the weights could not all be counted: {}",
            a.incomplete.join("; ")
        )));
    }
    let from_tensors = input.artifact.map(params_tensors::count);
    if let Some(t) = &from_tensors {
        if t.packed_stored > 0 {
            let how = match &t.quantization {
                Some(q) => format!("{} at {} bits ({})", q.method, q.bits, q.bits_source),
                None => "no quantization_config: 4 bits assumed".into(),
            };
            warnings.push(format!(
                "packed quantized weights: {} stored elements count as {} parameters ({how})",
                t.packed_stored, t.packed_logical
            ));
        }
        if let Some(c) = &from_config {
            let diff = t.total.abs_diff(c.total) as f64 / c.total.max(1) as f64;
            if diff > 0.001 {
                warnings.push(format!(
                    "the tensors hold {} parameters but config.json describes {} ({:+.2}%): extra or missing layers, or a config that does not match the weights",
                    t.total,
                    c.total,
                    (t.total as f64 / c.total.max(1) as f64 - 1.0) * 100.0
                ));
            }
        }
    }
    if let (Some(e), Some(_)) = (&config_error, &from_tensors) {
        warnings.push(format!("config.json not counted: {e}"));
    }
    match (from_tensors, from_config) {
        (Some(t), c) => Ok(Parameters {
            total: t.total,
            active: t.active,
            source: "tensors",
            embedding: t.embedding,
            from_tensors: Some(t),
            from_config: c,
            config_error,
        }),
        (None, Some(c)) => Ok(Parameters {
            total: c.total,
            active: Some(c.active),
            source: "config",
            embedding: c.embedding,
            from_tensors: None,
            from_config: Some(c),
            config_error,
        }),
        (None, None) => Err(EstimateError(match config_error {
            Some(e) => format!("cannot count parameters from config.json: {e}"),
            None => "no weights and no config.json: nothing to count".into(),
        })),
    }
}

/// Warns when methods applied to one stage differ by more than `factor`.
fn check_agreement(applied: &[Method], factor: f64, warnings: &mut Vec<String>) {
    for (i, a) in applied.iter().enumerate() {
        for b in &applied[i + 1..] {
            let (x, y) = (a.result.point, b.result.point);
            if x > 0.0 && y > 0.0 && (x / y).max(y / x) > factor {
                warnings.push(format!(
                    "stage `{}`: {} gives {x:.3e} but {} gives {y:.3e}, more than {factor}× apart",
                    a.stage, a.name, b.name
                ));
            }
        }
    }
}
