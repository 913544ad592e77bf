//! The policy's rules as small, named evaluators: facts in, a [`Reason`](super::Reason) (and
//! what it decides) out. `classify` and `gate` run them in order; "where is the embargo rule"
//! is answered by a file name here.
//!
//! Classification runs [`status`], [`published`], the lineage count (`lineage.rs`),
//! [`plausibility`] (no training declared), [`threshold`], [`derived`] and [`capability_floor`];
//! the gate runs [`destination`] (with a rule's [`conditions`]), [`embargo`], [`orders`] and
//! [`licences`]; `gate.rs` combines them, and answers `needs_review` only if a review-bound
//! classification's two readings lead to different answers.

pub mod capability_floor;
pub mod conditions;
pub mod derived;
pub mod destination;
pub mod embargo;
pub mod licences;
pub mod orders;
pub mod plausibility;
pub mod published;
pub mod status;
pub mod threshold;

/// What an exclusion test concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Test {
    Applies,
    DoesNotApply,
    Uncertain,
}

impl Test {
    /// The reason's outcome word.
    pub fn outcome(self) -> &'static str {
        match self {
            Test::Applies => "applies",
            Test::DoesNotApply => "not_applicable",
            Test::Uncertain => "uncertain",
        }
    }
}

/// `3.800e25`, or `unbounded`.
pub fn sci(v: f64) -> String {
    if v.is_infinite() {
        "unbounded".into()
    } else {
        format!("{v:.3e}")
    }
}
