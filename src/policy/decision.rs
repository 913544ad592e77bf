//! What the engine answers: decisions and the reasons trail.
//!
//! Every step of an evaluation leaves a [`Reason`]: the rule it applied (an id a reader can find
//! in the policy file), what came of it, the facts in words, and the rule's citation with its
//! confidence mark (P codified text, S secondary sources, U unverified).

use serde::Serialize;

/// One step of an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    /// The rule applied, e.g. `threshold`, `exclusion.published`, `destination.d5`.
    pub rule: String,
    /// What came of it, e.g. `above`, `applies`, `not_applicable`, `declared`.
    pub outcome: String,
    pub detail: String,
    pub citation: String,
    /// The rule's confidence mark (P, S, U or a combination).
    pub confidence: String,
}

impl Reason {
    pub fn new(
        rule: impl Into<String>,
        outcome: impl Into<String>,
        detail: impl Into<String>,
        citation: impl Into<String>,
        confidence: impl Into<String>,
    ) -> Reason {
        Reason {
            rule: rule.into(),
            outcome: outcome.into(),
            detail: detail.into(),
            citation: citation.into(),
            confidence: confidence.into(),
        }
    }
}

/// Whether the weights are controlled under the policy's classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    /// Trained with operations at or above the threshold, and no exclusion applies.
    Controlled,
    /// Below the threshold.
    NotControlled,
    /// At or above the threshold (or possibly), but an exclusion applies.
    Excluded,
    /// The declared facts cannot settle it; the reasons say what to declare.
    NeedsReview,
}

impl Classification {
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Controlled => "controlled",
            Classification::NotControlled => "not_controlled",
            Classification::Excluded => "excluded",
            Classification::NeedsReview => "needs_review",
        }
    }
}

/// Whether a transfer may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateOutcome {
    /// May go, under the authorization named.
    Allowed,
    /// The facts cannot settle it.
    NeedsReview,
    /// Needs a licence that was not supplied (or not valid for this transfer).
    LicenseRequired,
    /// The policy forbids it.
    Denied,
}

impl GateOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            GateOutcome::Allowed => "allowed",
            GateOutcome::NeedsReview => "needs_review",
            GateOutcome::LicenseRequired => "license_required",
            GateOutcome::Denied => "denied",
        }
    }
}
