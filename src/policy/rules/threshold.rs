//! The threshold: trained with 10^26 or more operations. The counted range decides: surely
//! above, surely below, or straddling (the facts cannot settle it).

use crate::compute::methods::Range;
use crate::policy::Reason;
use crate::policy::format::{Comparison, Threshold};
use crate::policy::lineage::range;

/// Where the counted operations fall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    Above,
    Below,
    Straddles,
}

/// The position of `total` against the threshold, with its reason.
pub fn evaluate(t: &Threshold, total: &Range) -> (Position, Reason) {
    let cmp = match t.comparison {
        Comparison::AtLeast => ">=",
        Comparison::Above => ">",
    };
    let position = if t.reached(total.low) {
        Position::Above
    } else if !t.reached(total.high) {
        Position::Below
    } else {
        Position::Straddles
    };
    let (outcome, tail) = match position {
        Position::Above => ("above", ""),
        Position::Below => ("below", ""),
        Position::Straddles => (
            "straddles",
            ": the range reaches both sides, so the facts cannot settle it",
        ),
    };
    let reason = Reason::new(
        "threshold",
        outcome,
        format!(
            "counted operations {} against {cmp} {} FLOP{tail}",
            range(total),
            super::sci(t.operations)
        ),
        &t.citation,
        &t.confidence,
    );
    (position, reason)
}

/// The reason when no training is declared and no presumption applies.
pub fn unknown(t: &Threshold, hint: &str) -> Reason {
    Reason::new(
        "threshold",
        "unknown",
        format!("no training is declared, so the operations are unknown{hint}"),
        &t.citation,
        &t.confidence,
    )
}
