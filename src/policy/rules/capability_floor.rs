//! The capability floor: not controlled if trained with fewer operations than needed, by the most
//! efficient published methods, to match the most capable published model. No number has been
//! published [U]: without one the exclusion is named and not applied.

use super::Test;
use crate::compute::methods::Range;
use crate::policy::Reason;
use crate::policy::format::CapabilityFloor;
use crate::policy::lineage::range;

/// Evaluates the floor against the counted operations `total`: `None` when no floor is set.
pub fn evaluate(f: &CapabilityFloor, total: &Range) -> (Option<Test>, Reason) {
    match f.operations {
        None => (
            None,
            Reason::new(
                "exclusion.capability_floor",
                "not_applied",
                "no floor has been published: the exclusion cannot be applied",
                &f.citation,
                &f.confidence,
            ),
        ),
        Some(floor) => {
            let r = if total.high < floor {
                Test::Applies
            } else if total.low >= floor {
                Test::DoesNotApply
            } else {
                Test::Uncertain
            };
            let reason = Reason::new(
                "exclusion.capability_floor",
                r.outcome(),
                format!(
                    "counted operations {} against a floor of {} FLOP",
                    range(total),
                    super::sci(floor)
                ),
                &f.citation,
                &f.confidence,
            );
            (Some(r), reason)
        }
    }
}
