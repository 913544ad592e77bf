//! The plausibility presumption (a policy's evidentiary rule, not the regulation's): with no
//! training declared at all, a model too small to reach the threshold on any plausible amount of
//! training data is presumed not controlled.
//!
//! The fewest tokens that could reach the threshold use the most operations a token can cost:
//! the estimator's high end, every expert counted as active, the larger of the tensor and config
//! counts (`compute::ThresholdAnswer::min_tokens_to_reach`).

use crate::compute::ThresholdAnswer;
use crate::policy::Reason;
use crate::policy::format::Plausibility;

/// What the presumption concluded.
pub struct Presumption {
    pub reason: Reason,
    /// The model is presumed not controlled.
    pub presumed: bool,
    /// The most operations its own training can have taken under the bound.
    pub max_operations: f64,
    /// The declarations that would settle a review.
    pub to_declare: Vec<String>,
}

/// Evaluates the presumption for a model whose training is not declared at all.
pub fn evaluate(rule: &Plausibility, answer: &ThresholdAnswer) -> Presumption {
    let min = answer.min_tokens_to_reach;
    let bound = rule.max_training_tokens;
    let ratio = min / bound;
    let max_operations = bound * answer.max_operations_per_token;
    let per_token = format!(
        "at most {:.3e} operations per training token (every expert active)",
        answer.max_operations_per_token
    );
    if min > bound {
        Presumption {
            reason: Reason::new(
                "plausibility",
                "presumed_not_controlled",
                format!(
                    "no training is declared; at {per_token}, reaching {:.0e} operations would take at least {min:.3e} training tokens, {ratio:.0}× the plausibility bound of {bound:.0e} tokens: presumed not controlled (its own training could have used at most {max_operations:.3e} operations). The presumption covers this model's own training only: an unpublished base model, or synthetic data from an unpublished generator, can reach the threshold whatever the size; declare them in a training record ([base_model], [[synthetic_data]])",
                    answer.operations
                ),
                &rule.citation,
                &rule.confidence,
            ),
            presumed: true,
            max_operations,
            to_declare: vec![],
        }
    } else {
        Presumption {
            reason: Reason::new(
                "plausibility",
                "plausible",
                format!(
                    "no training is declared; at {per_token}, {min:.3e} training tokens would reach {:.0e} operations, within the plausibility bound of {bound:.0e} tokens ({ratio:.2e}× the bound): the facts cannot settle it",
                    answer.operations
                ),
                &rule.citation,
                &rule.confidence,
            ),
            presumed: false,
            max_operations,
            to_declare: one_line_declarations(),
        }
    }
}

/// The one-line declarations that settle a model of unknown training.
pub fn one_line_declarations() -> Vec<String> {
    vec![
        "the training tokens: `--tokens N` (e.g. --tokens 15.6T)".into(),
        "or, if the weights are published, a training record with `[model] published = true`"
            .into(),
        "or the training stages (tokens, operations or hardware time) in a training record".into(),
    ]
}
