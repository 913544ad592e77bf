//! Comprehensive embargoes (15 CFR part 746): whatever the classification, unpublished weights
//! are EAR99 technology at least, and need a licence to Cuba, Iran, North Korea, Syria (and, under
//! broad rules, Russia and Belarus). Published weights are not subject to the EAR (§ 734.7).

use crate::policy::format::PolicyData;
use crate::policy::{Date, GateOutcome, Reason};

/// The embargo that covers `dest` on `as_of`, as (its decision, the reason), or `None`.
pub fn evaluate(
    policy: &PolicyData,
    dest: &str,
    as_of: Date,
    published: bool,
) -> Option<(GateOutcome, Reason)> {
    let e = policy
        .embargoes
        .iter()
        .find(|e| super::super::gate::in_any(policy, &e.destination_in, dest, as_of).is_some())?;
    if published {
        return Some((
            GateOutcome::Allowed,
            Reason::new(
                format!("embargo.{}", e.id),
                "not_applicable",
                format!(
                    "{dest} is under a comprehensive embargo, but published weights are not subject to the EAR (declared published)"
                ),
                &e.citation,
                &e.confidence,
            ),
        ));
    }
    let mut detail = format!(
        "{dest} ({}) is under a comprehensive embargo: unpublished weights, controlled or not, need a licence there; {}",
        crate::policy::countries::name(dest).unwrap_or("?"),
        e.decision.as_str()
    );
    if let Some(n) = &e.note {
        detail.push_str(&format!("; {n}"));
    }
    Some((
        e.decision,
        Reason::new(
            format!("embargo.{}", e.id),
            e.decision.as_str(),
            detail,
            &e.citation,
            &e.confidence,
        ),
    ))
}
