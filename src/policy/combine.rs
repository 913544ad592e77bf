//! Decisions on a set of several models: a transfer moves every model in it, so it is allowed
//! only if every model is allowed, and one model that cannot be decided leaves the whole
//! transfer undecided. The combined decision is the decision of one model, the one that decides
//! the transfer; the CLI reports every model's own decision beside it.

use super::{Classification, Classified, GateDecision, GateOutcome};

/// How strongly a gate outcome holds a transfer back: a definite refusal first, then an
/// undecided model (a licence would not settle it), then a licence that is missing.
fn gate_rank(g: &GateDecision) -> u8 {
    match g.decision {
        GateOutcome::Denied => 5,
        GateOutcome::NeedsReview => 4,
        GateOutcome::LicenseRequired => 3,
        // Among allowed models, the one needing the most specific authorization decides what the
        // envelope records: a licence, then a licence exception, then no licence required.
        GateOutcome::Allowed => match g.authorization.as_deref() {
            Some(a) if a.starts_with("license:") => 2,
            Some("NLR") | None => 0,
            Some(_) => 1,
        },
    }
}

/// The model whose gate decision decides the transfer (the first of equals); `None` for none.
pub fn deciding_gate(decisions: &[GateDecision]) -> Option<usize> {
    let best = decisions.iter().map(gate_rank).max()?;
    decisions.iter().position(|g| gate_rank(g) == best)
}

fn class_rank(c: &Classified) -> u8 {
    match c.decision {
        Classification::Controlled => 3,
        Classification::NeedsReview => 2,
        Classification::Excluded => 1,
        Classification::NotControlled => 0,
    }
}

/// The model whose classification decides the set's: controlled if any model is, else needs
/// review if any is undecided.
pub fn deciding_classification(classified: &[Classified]) -> Option<usize> {
    let best = classified.iter().map(class_rank).max()?;
    classified.iter().position(|c| class_rank(c) == best)
}
