//! Conditions an authorization is subject to and that nobody verified (License Exception AIA for
//! model weights: § 740.27(a)(3), "subject to additional conditions" whose text was not read).
//! They travel with the answer as explicit obligations, or, if the policy says so, turn it into
//! a review.

use crate::policy::format::{PolicyData, UnverifiedConditions};
use crate::policy::{GateOutcome, Reason};

/// What the conditions of a matched rule do to an `allowed` answer: (outcome, reason).
pub fn evaluate(
    policy: &PolicyData,
    rule_id: &str,
    conditions: &[String],
) -> Option<(GateOutcome, Reason)> {
    if conditions.is_empty() {
        return None;
    }
    let d = &policy.destinations;
    let list = conditions.join("; ");
    Some(match d.unverified_conditions {
        UnverifiedConditions::Report => (
            GateOutcome::Allowed,
            Reason::new(
                format!("conditions.{rule_id}"),
                "unverified",
                format!("allowed subject to conditions weightguard has not verified: {list}"),
                &d.citation,
                "U",
            ),
        ),
        UnverifiedConditions::NeedsReview => (
            GateOutcome::NeedsReview,
            Reason::new(
                format!("conditions.{rule_id}"),
                "needs_review",
                format!(
                    "the authorization is subject to unverified conditions ({list}); this policy sends such answers to review"
                ),
                &d.citation,
                "U",
            ),
        ),
    })
}
