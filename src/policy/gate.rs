//! The gate: may these weights go to this destination, for this holder, today?
//!
//! Classification first; then, for a controlled model, the policy's destination rules in file
//! order (the first that matches decides), company-specific orders naming the model, and the
//! holder's licences. When the classification itself needs review, the gate answers only if
//! both possible classifications lead to the same answer.

use super::Policy;
use super::classify::{Classified, classify};
use super::countries;
use super::date::Date;
use super::decision::{Classification, GateOutcome, Reason};
use super::format::PolicyData;
use super::licences::Licence;
use crate::compute::Estimate;
use serde::Serialize;

/// The transfer asked about.
#[derive(Debug, Clone)]
pub struct Transfer<'a> {
    /// ISO 3166-1 alpha-2, uppercase.
    pub destination: &'a str,
    /// The holder's headquarters; `None` = the destination (and the reasons say so).
    pub holder_hq: Option<&'a str>,
    pub licences: &'a [Licence],
    /// Extra identifiers of the model for orders and licences (e.g. a root digest), besides
    /// the name declared in the training record.
    pub model_ids: &'a [String],
}

/// The gate's answer.
#[derive(Debug, Clone, Serialize)]
pub struct GateDecision {
    pub decision: GateOutcome,
    pub destination: String,
    pub holder_hq: String,
    /// `NLR`, an exception (`AIA`), `license:<id>`, or `null`.
    pub authorization: Option<String>,
    /// For `allowed`: what the answer covers, and what it does not (sanctions, end-user
    /// controls), as the policy states it.
    pub scope: Option<String>,
    /// For `allowed`: conditions the authorization is subject to that weightguard has not
    /// verified (AIA's § 740.27(a)(3)); obligations for the holder.
    pub conditions: Vec<String>,
    pub classification: Classified,
    pub reasons: Vec<Reason>,
}

/// Why a transfer could not be evaluated (bad input the CLI should have caught).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct GateError(pub String);

struct Branch {
    outcome: GateOutcome,
    authorization: Option<String>,
    conditions: Vec<String>,
    reasons: Vec<Reason>,
}

/// Whether `country` is in `refs` (group ids or country codes) on `date`.
pub(crate) fn in_any(
    policy: &PolicyData,
    refs: &[String],
    country: &str,
    date: Date,
) -> Option<String> {
    refs.iter().find_map(|r| {
        if r == country {
            return Some(r.clone());
        }
        let g = policy.groups.iter().find(|g| &g.id == r)?;
        g.member(country, date).0.then(|| g.id.clone())
    })
}

/// Decides the transfer on `as_of`.
pub fn gate(
    policy: &Policy,
    est: &Estimate,
    transfer: &Transfer,
    as_of: Date,
) -> Result<GateDecision, GateError> {
    let classification = classify(policy, est, as_of);
    gate_classified(
        policy,
        classification,
        est.model.name.as_deref(),
        transfer,
        as_of,
    )
}

/// Decides the transfer of a model already classified (`open` re-checks an envelope's
/// destination this way, from the classification recorded in its signed claims).
pub fn gate_classified(
    policy: &Policy,
    classification: Classified,
    model_name: Option<&str>,
    transfer: &Transfer,
    as_of: Date,
) -> Result<GateDecision, GateError> {
    let d = &policy.data;
    let dest = countries::parse(transfer.destination).map_err(GateError)?;
    let hq = match transfer.holder_hq {
        Some(h) => countries::parse(h).map_err(GateError)?,
        None => dest.clone(),
    };
    let mut reasons = Vec::new();
    reasons.push(super::rules::status::reason(policy, as_of));
    reasons.push(Reason::new(
        "holder.headquarters",
        if transfer.holder_hq.is_some() { "declared" } else { "defaulted" },
        match transfer.holder_hq {
            Some(_) => format!("holder headquartered in {hq} ({}), as declared", countries::name(&hq).unwrap_or("?")),
            None => format!("no --holder-hq given: the holder is taken to be headquartered in the destination, {hq} ({})", countries::name(&hq).unwrap_or("?")),
        },
        &d.destinations.citation,
        &d.destinations.confidence,
    ));

    let mut model_ids: Vec<String> = transfer.model_ids.to_vec();
    if let Some(n) = model_name {
        model_ids.push(n.to_owned());
    }
    let home = d.destinations.home.as_deref() == Some(dest.as_str());

    // Orders in force naming models; whether they name this one.
    let super::rules::orders::Orders {
        reasons: order_reasons,
        outcome: order_outcome,
        unknown_name,
    } = super::rules::orders::evaluate(d, &model_ids, &dest, &hq, home, as_of);

    // Published weights are not subject to the EAR (a declared fact).
    let published = classification
        .reasons
        .iter()
        .any(|r| r.rule == "exclusion.published" && r.outcome == "applies");
    let branch = |controlled: bool| -> Branch {
        let mut reasons = Vec::new();
        let mut conditions = Vec::new();
        let (mut outcome, mut authorization, mut licensable);
        if !controlled {
            outcome = GateOutcome::Allowed;
            authorization = Some("NLR".to_owned());
            licensable = true;
            reasons.push(Reason::new(
                "classification",
                "not_controlled",
                "the weights are not controlled under this policy: no licence required (NLR)",
                &d.threshold.citation,
                &d.threshold.confidence,
            ));
        } else if home {
            outcome = if hq == dest {
                GateOutcome::Allowed
            } else {
                GateOutcome::NeedsReview
            };
            authorization = None;
            licensable = true;
            reasons.push(Reason::new("destination.home", if hq == dest { "not_an_export" } else { "foreign_holder" },
                if hq == dest {
                    format!("{dest} is the policy's own country: a transfer within it to a holder headquartered there is not an export")
                } else {
                    format!("{dest} is the policy's own country, but the holder is headquartered in {hq}: a release to a foreign-headquartered holder may be an export; review")
                },
                &d.destinations.citation, &d.destinations.confidence));
        } else {
            let m = super::rules::destination::evaluate(d, &dest, &hq, as_of);
            outcome = m.outcome;
            authorization = m.authorization;
            licensable = m.licensable;
            conditions = m.conditions;
            reasons.extend(m.reasons);
        }
        // Comprehensive embargoes apply whatever the classification.
        if !home && let Some((o, why)) = super::rules::embargo::evaluate(d, &dest, as_of, published)
        {
            reasons.push(why);
            if o > outcome {
                outcome = o;
                authorization = None;
                conditions.clear();
                licensable = o != GateOutcome::Denied;
            }
        }
        reasons.extend(order_reasons.iter().cloned());
        if let Some((o, _)) = &order_outcome
            && *o > outcome
        {
            outcome = *o;
            authorization = None;
            licensable = *o != GateOutcome::Denied;
        }
        if unknown_name && outcome == GateOutcome::Allowed {
            outcome = GateOutcome::NeedsReview;
            authorization = None;
        }
        // A licence granted can authorize what needs one, and what this policy denies where its
        // rule lets a licence authorize (D:5: the rule's "presumption of denial" is not a ban).
        let licence_may_help = matches!(
            outcome,
            GateOutcome::LicenseRequired | GateOutcome::NeedsReview
        ) || (outcome == GateOutcome::Denied && licensable);
        if licence_may_help && !unknown_name {
            let (covering, why) = super::rules::licences::evaluate(
                transfer.licences,
                &dest,
                &hq,
                &model_ids,
                licensable,
                as_of,
            );
            reasons.extend(why);
            if let Some(id) = covering {
                outcome = GateOutcome::Allowed;
                authorization = Some(format!("license:{id}"));
                conditions.clear();
            }
        } else if outcome == GateOutcome::Denied && !transfer.licences.is_empty() {
            reasons.push(Reason::new("license", "not_considered", "the destination is denied under this policy: no licence in the licences file is considered", &d.destinations.citation, &d.destinations.confidence));
        }
        if outcome != GateOutcome::Allowed {
            conditions.clear();
        }
        Branch {
            outcome,
            authorization,
            conditions,
            reasons,
        }
    };

    let chosen = match classification.decision {
        Classification::Controlled => branch(true),
        Classification::NotControlled | Classification::Excluded => branch(false),
        Classification::NeedsReview => {
            let (a, b) = (branch(true), branch(false));
            if a.outcome == b.outcome {
                let mut a = a;
                a.reasons.push(Reason::new(
                    "classification",
                    "needs_review",
                    format!(
                        "the classification needs review, but controlled or not the answer is {}",
                        a.outcome.as_str()
                    ),
                    &d.threshold.citation,
                    &d.threshold.confidence,
                ));
                a
            } else {
                let mut reasons = a.reasons;
                reasons.push(Reason::new("classification", "needs_review",
                    format!("the classification needs review: if controlled the answer is {}, if not {}; declare {}",
                        a.outcome.as_str(), b.outcome.as_str(),
                        if classification.to_declare.is_empty() { "the missing facts".to_owned() } else { classification.to_declare.join("; ") }),
                    &d.threshold.citation, &d.threshold.confidence));
                Branch {
                    outcome: GateOutcome::NeedsReview,
                    authorization: None,
                    conditions: vec![],
                    reasons,
                }
            }
        }
    };
    reasons.extend(chosen.reasons);
    let scope = (chosen.outcome == GateOutcome::Allowed)
        .then(|| d.destinations.scope.clone())
        .flatten();
    Ok(GateDecision {
        decision: chosen.outcome,
        destination: dest,
        holder_hq: hq,
        authorization: chosen.authorization,
        scope,
        conditions: chosen.conditions,
        classification,
        reasons,
    })
}
