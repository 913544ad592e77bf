//! Classification: is this model's weights controlled under the policy?
//!
//! Conservative with uncertainty: a range that straddles the threshold, a fact that is not
//! declared but could change the outcome, or two readings of an ambiguous rule that disagree all
//! give `needs_review`, never `not_controlled`. Claims of "published" come from the training
//! record and are shown as declared facts.

use super::date::Date;
use super::decision::{Classification, Reason};
use super::lineage;
use super::rules::{self, Test, threshold::Position};
use super::{Policy, PolicyRef};
use crate::compute::Estimate;
use crate::compute::methods::Range;
use serde::Serialize;

/// The classification, its reasons, and what decided it.
#[derive(Debug, Clone, Serialize)]
pub struct Classified {
    pub decision: Classification,
    /// The ECCN when controlled (or possibly controlled), else `null`.
    pub eccn: Option<String>,
    pub policy: PolicyRef,
    pub as_of: Date,
    /// The model's name as declared in the training record.
    pub model: Option<String>,
    /// The operations the policy counts over the lineage (low, estimate, high); `null` when
    /// nothing declares any training.
    pub training_operations: Option<Range>,
    /// Facts whose declaration would settle a `needs_review`.
    pub to_declare: Vec<String>,
    /// With no training declared and a model too small to reach the threshold on any plausible
    /// training set: the most operations its own training can have taken (the policy's
    /// plausibility bound × the most a token can cost). `null` otherwise.
    pub presumed_max_operations: Option<f64>,
    pub reasons: Vec<Reason>,
}

fn e(v: f64) -> String {
    if v.is_infinite() {
        "unbounded".into()
    } else {
        format!("{v:.3e}")
    }
}

/// Classifies an estimate under `policy` on `as_of`.
pub fn classify(policy: &Policy, est: &Estimate, as_of: Date) -> Classified {
    let d = &policy.data;
    let mut reasons = Vec::new();
    let pref = policy.reference(as_of);

    reasons.push(super::rules::status::reason(policy, as_of));

    let counted = lineage::count(d, est);
    let mut to_declare = counted.to_declare.clone();
    let t = &d.threshold;
    let finish =
        |decision: Classification, reasons: Vec<Reason>, to_declare: Vec<String>| Classified {
            decision,
            eccn: matches!(
                decision,
                Classification::Controlled | Classification::NeedsReview
            )
            .then(|| d.policy.eccn.clone())
            .flatten(),
            policy: pref.clone(),
            as_of,
            model: est.model.name.clone(),
            training_operations: counted.total,
            to_declare,
            presumed_max_operations: None,
            reasons,
        };

    if !pref.in_effect {
        return finish(Classification::NotControlled, reasons, to_declare);
    }

    // The rules in order; each is one evaluator in `rules/`.
    if let Some(x) = &d.exclusions.published {
        let (excluded, why) = rules::published::evaluate(x, est.model.published);
        reasons.push(why);
        if excluded {
            reasons.extend(counted.reasons.clone());
            return finish(Classification::Excluded, reasons, to_declare);
        }
    }
    reasons.extend(counted.reasons.clone());

    let Some(total) = counted.total else {
        if let (Some(rule), Some(answer)) = (&d.plausibility, &est.threshold) {
            let p = rules::plausibility::evaluate(rule, answer);
            reasons.push(p.reason);
            if p.presumed {
                let mut c = finish(Classification::NotControlled, reasons, to_declare);
                c.presumed_max_operations = Some(p.max_operations);
                return c;
            }
            to_declare.extend(p.to_declare);
            return finish(Classification::NeedsReview, reasons, to_declare);
        }
        let hint = est
            .threshold
            .as_ref()
            .map(|a| {
                format!(
                    "; at 6·N·D with {} active parameters, {} operations would take {} tokens",
                    est.parameters.active.unwrap_or(est.parameters.total),
                    e(t.operations),
                    e(a.tokens_to_reach)
                )
            })
            .unwrap_or_default();
        to_declare.extend(rules::plausibility::one_line_declarations());
        reasons.push(rules::threshold::unknown(t, &hint));
        return finish(Classification::NeedsReview, reasons, to_declare);
    };

    let (position, why) = rules::threshold::evaluate(t, &total);
    reasons.push(why);
    if position == Position::Below {
        return finish(Classification::NotControlled, reasons, to_declare);
    }
    let surely = position == Position::Above;

    let mut tests = Vec::new();
    if let (Some(x), Some(b)) = (
        &d.exclusions.derived_from_published,
        &est.components.base_model,
    ) && b.published
    {
        let additional = counted.additional.unwrap_or(Range::zero());
        let (result, why, declare) = rules::derived::evaluate(x, b, additional);
        to_declare.extend(declare);
        reasons.push(why);
        tests.push(result);
    }
    if let Some(f) = &d.exclusions.capability_floor {
        let (result, why) = rules::capability_floor::evaluate(f, &total);
        reasons.push(why);
        tests.extend(result);
    }

    let decision = if tests.contains(&Test::Applies) {
        Classification::Excluded
    } else if surely && !tests.contains(&Test::Uncertain) {
        Classification::Controlled
    } else {
        Classification::NeedsReview
    };
    if decision == Classification::NeedsReview
        && to_declare.is_empty()
        && position == Position::Straddles
    {
        to_declare.push("more precise training facts (operations, tokens or hardware time with utilization) to narrow the range".into());
        to_declare.push(
            "or, if the weights are published, `[model] published = true` in the training record"
                .into(),
        );
    }
    finish(decision, reasons, to_declare)
}
