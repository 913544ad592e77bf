//! The destination rules for controlled weights: tried in file order, the first that matches
//! (destination in, destination not in, holder headquarters in) decides; none matching gives the
//! policy's default. An `allowed` rule's unverified conditions go with the answer
//! ([`super::conditions`]).

use crate::policy::format::PolicyData;
use crate::policy::gate::in_any;
use crate::policy::{Date, GateOutcome, Reason, countries};

/// What the destination rules say about a controlled model going to `dest`, for a holder
/// headquartered in `hq`.
pub struct Matched {
    pub outcome: GateOutcome,
    pub authorization: Option<String>,
    /// Whether a licence may authorize what the rule does not allow.
    pub licensable: bool,
    pub conditions: Vec<String>,
    pub reasons: Vec<Reason>,
}

pub fn evaluate(d: &PolicyData, dest: &str, hq: &str, as_of: Date) -> Matched {
    let mut reasons = Vec::new();
    let rule = d.destinations.rules.iter().find(|r| {
        (r.destination_in.is_empty() || in_any(d, &r.destination_in, dest, as_of).is_some())
            && in_any(d, &r.destination_not_in, dest, as_of).is_none()
            && (r.holder_hq_in.is_empty() || in_any(d, &r.holder_hq_in, hq, as_of).is_some())
    });
    let Some(r) = rule else {
        let outcome = d.destinations.default;
        let mut detail = format!(
            "{dest} ({}) matches no destination rule: {}",
            countries::name(dest).unwrap_or("?"),
            outcome.as_str()
        );
        if let Some(n) = &d.destinations.note {
            detail.push_str(&format!("; {n}"));
        }
        reasons.push(Reason::new(
            "destination.default",
            outcome.as_str(),
            detail,
            &d.destinations.citation,
            &d.destinations.confidence,
        ));
        return Matched {
            outcome,
            authorization: None,
            licensable: outcome != GateOutcome::Denied,
            conditions: vec![],
            reasons,
        };
    };
    let mut outcome = r.decision;
    let mut authorization = r.authorization.clone();
    let mut conditions = if outcome == GateOutcome::Allowed {
        r.conditions.clone()
    } else {
        vec![]
    };
    let mut detail = format!("{dest} ({})", countries::name(dest).unwrap_or("?"));
    if let Some(g) = in_any(d, &r.destination_in, dest, as_of) {
        detail.push_str(&format!(" is in `{g}` on {as_of}"));
        if let Some(group) = d.groups.iter().find(|x| x.id == g)
            && let (_, Some(dm)) = group.member(dest, as_of)
        {
            detail.push_str(&format!(
                " (dated membership{}{}: {}, {})",
                dm.since.map_or(String::new(), |s| format!(" since {s}")),
                dm.until.map_or(String::new(), |u| format!(" until {u}")),
                dm.citation,
                dm.confidence
            ));
        }
    }
    if let Some(g) = in_any(d, &r.holder_hq_in, hq, as_of) {
        detail.push_str(&format!("; holder headquarters {hq} is in `{g}`"));
    }
    detail.push_str(&format!(": {}", outcome.as_str()));
    if let Some(a) = &authorization {
        detail.push_str(&format!(" under {a}"));
    }
    if let Some(n) = &r.note {
        detail.push_str(&format!("; {n}"));
    }
    reasons.push(Reason::new(
        format!("destination.{}", r.id),
        outcome.as_str(),
        detail,
        &r.citation,
        &r.confidence,
    ));
    if outcome == GateOutcome::Allowed
        && let Some((o, why)) = super::conditions::evaluate(d, &r.id, &r.conditions)
    {
        reasons.push(why);
        if o != GateOutcome::Allowed {
            outcome = o;
            authorization = None;
            conditions.clear();
        }
    }
    Matched {
        outcome,
        authorization,
        licensable: r.licence_can_authorize(),
        conditions,
        reasons,
    }
}
