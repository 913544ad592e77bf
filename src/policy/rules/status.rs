//! The policy's status on a date: not yet in effect, in effect with compliance not yet required,
//! enforced, or codified but not enforced.

use crate::policy::{Date, Policy, Reason};

/// The `status` reason, the same in `classify` and `gate`.
pub fn reason(policy: &Policy, as_of: Date) -> Reason {
    let s = &policy.data.status;
    let id = &policy.data.policy.id;
    let day = |d: Option<Date>| d.map_or("—".to_owned(), |x| x.to_string());
    let (outcome, detail) = if !policy.in_effect(as_of) {
        (
            "not_in_effect",
            format!(
                "{id} was not in effect on {as_of} (effective {})",
                day(s.effective)
            ),
        )
    } else if !policy.compliance_required(as_of) {
        let announced = s
            .not_enforced_since
            .filter(|n| *n <= as_of)
            .map(|n| format!("; non-enforcement was announced on {n}, before compliance was due"))
            .unwrap_or_default();
        (
            "compliance_not_yet_required",
            format!(
                "{id} is in effect on {as_of} (since {}), but compliance is not yet required (from {}){announced}: the decision below follows the codified rule",
                day(s.effective),
                day(s.compliance)
            ),
        )
    } else if policy.enforced(as_of) {
        (
            "enforced",
            format!("{id} is codified and enforced on {as_of}"),
        )
    } else {
        (
            "codified_not_enforced",
            format!(
                "{id} is codified but NOT ENFORCED on {as_of} (since {}): the decision below follows the codified rule, which is still law",
                day(s.not_enforced_since)
            ),
        )
    };
    Reason::new("status", outcome, detail, &s.citation, &s.confidence)
}
