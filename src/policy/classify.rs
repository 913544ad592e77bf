//! Classification: is this model's weights controlled under the policy?
//!
//! Conservative with uncertainty: a range that straddles the threshold, a fact that is not
//! declared but could change the outcome, or two readings of an ambiguous rule that disagree all
//! give `needs_review`, never `not_controlled`. Claims of "published" come from the training
//! record and are shown as declared facts.

use super::date::Date;
use super::decision::{Classification, Reason};
use super::format::FractionOf;
use super::lineage::{self, range};
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

/// What an exclusion test concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Test {
    Applies,
    DoesNotApply,
    Uncertain,
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

    // Published weights: a declared fact from the training record.
    if let Some(x) = &d.exclusions.published {
        match est.model.published {
            Some(true) => {
                reasons.push(Reason::new(
                    "exclusion.published",
                    "applies",
                    "the training record declares this model's weights published (a declared fact, not verified by weightguard)",
                    &x.citation,
                    &x.confidence,
                ));
                reasons.extend(counted.reasons.clone());
                return finish(Classification::Excluded, reasons, to_declare);
            }
            Some(false) => reasons.push(Reason::new(
                "exclusion.published",
                "not_applicable",
                "the training record declares the weights not published",
                &x.citation,
                &x.confidence,
            )),
            None => reasons.push(Reason::new(
                "exclusion.published",
                "not_declared",
                "publication not declared ([model] published in the training record): treated as unpublished",
                &x.citation,
                &x.confidence,
            )),
        }
    }
    reasons.extend(counted.reasons.clone());

    let Some(total) = counted.total else {
        if let (Some(rule), Some(answer)) = (&d.plausibility, &est.threshold) {
            let p = super::rules::plausibility::evaluate(rule, answer);
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
        to_declare.extend(super::rules::plausibility::one_line_declarations());
        reasons.push(Reason::new(
            "threshold",
            "unknown",
            format!("no training is declared, so the operations are unknown{hint}"),
            &t.citation,
            &t.confidence,
        ));
        return finish(Classification::NeedsReview, reasons, to_declare);
    };

    let cmp = match t.comparison {
        super::format::Comparison::AtLeast => ">=",
        super::format::Comparison::Above => ">",
    };
    let (surely, possibly) = (t.reached(total.low), t.reached(total.high));
    let position = if surely {
        "above"
    } else if !possibly {
        "below"
    } else {
        "straddles"
    };
    reasons.push(Reason::new(
        "threshold",
        position,
        format!(
            "counted operations {} against {cmp} {} FLOP{}",
            range(&total),
            e(t.operations),
            if position == "straddles" {
                ": the range reaches both sides, so the facts cannot settle it"
            } else {
                ""
            }
        ),
        &t.citation,
        &t.confidence,
    ));
    if !possibly {
        return finish(Classification::NotControlled, reasons, to_declare);
    }

    let mut tests = Vec::new();
    if let (Some(x), Some(b)) = (
        &d.exclusions.derived_from_published,
        &est.components.base_model,
    ) && b.published
    {
        let additional = counted.additional.unwrap_or(Range::zero());
        let reading = |of: FractionOf| -> Test {
            // Whether `own` more than max(absolute, fraction × total) under one reading; the
            // test is monotone in `own` and in the base's operations, so the range's corners
            // settle it.
            let exceeds = |own: f64, base: f64| -> bool {
                let of_total = match of {
                    FractionOf::BaseModel => base,
                    _ => base + own,
                };
                own > x.absolute_operations.max(x.fraction * of_total)
            };
            // A larger base only raises the limit, so an undeclared base is 0 for "surely
            // excluded" and cannot make it "surely not excluded".
            let base_low = b.operations.unwrap_or(0.0);
            if additional.high.is_finite() && !exceeds(additional.high, base_low) {
                Test::Applies
            } else if let Some(base) = b.operations
                && exceeds(additional.low, base)
            {
                Test::DoesNotApply
            } else {
                Test::Uncertain
            }
        };
        let lineage_reading = reading(FractionOf::TotalLineage);
        let base_reading = reading(FractionOf::BaseModel);
        let name = |t: Test| match t {
            Test::Applies => "excluded",
            Test::DoesNotApply => "not excluded",
            Test::Uncertain => "uncertain",
        };
        let (result, how) = match x.fraction_of {
            FractionOf::TotalLineage => (
                lineage_reading,
                "25% read as of the whole lineage".to_owned(),
            ),
            FractionOf::BaseModel => (base_reading, "25% read as of the base model".to_owned()),
            FractionOf::Ambiguous | FractionOf::Conservative if lineage_reading == base_reading => {
                (
                    lineage_reading,
                    format!(
                        "both readings of the fraction agree: {}",
                        name(lineage_reading)
                    ),
                )
            }
            FractionOf::Ambiguous => (
                Test::Uncertain,
                format!(
                    "AMBIGUOUS: read as {}% of the whole lineage it is {}, as {}% of the base model it is {}; the text does not say which",
                    x.fraction * 100.0,
                    name(lineage_reading),
                    x.fraction * 100.0,
                    name(base_reading)
                ),
            ),
            FractionOf::Conservative => {
                let r = if lineage_reading == Test::DoesNotApply
                    || base_reading == Test::DoesNotApply
                {
                    Test::DoesNotApply
                } else {
                    Test::Uncertain
                };
                (
                    r,
                    format!(
                        "the readings disagree ({} / {}): the one that excludes less is taken",
                        name(lineage_reading),
                        name(base_reading)
                    ),
                )
            }
        };
        if b.operations.is_none() && result == Test::Uncertain {
            to_declare.push(format!(
                "base_model.operations (the training operations of `{}`)",
                b.name
            ));
        }
        reasons.push(Reason::new(
            "exclusion.derived_from_published",
            match result {
                Test::Applies => "applies",
                Test::DoesNotApply => "not_applicable",
                Test::Uncertain => "uncertain",
            },
            format!(
                "derived from `{}` (declared published); additional training {} vs more than max({} FLOP, {}% of the training operations); base operations {}; {how}",
                b.name,
                range(&additional),
                e(x.absolute_operations),
                x.fraction * 100.0,
                b.operations.map_or("not declared".into(), |o| format!("{} FLOP", e(o)))
            ),
            &x.citation,
            &x.confidence,
        ));
        tests.push(result);
    }

    if let Some(f) = &d.exclusions.capability_floor {
        match f.operations {
            None => reasons.push(Reason::new(
                "exclusion.capability_floor",
                "not_applied",
                "no floor has been published: the exclusion cannot be applied",
                &f.citation,
                &f.confidence,
            )),
            Some(floor) => {
                let r = if total.high < floor {
                    Test::Applies
                } else if total.low >= floor {
                    Test::DoesNotApply
                } else {
                    Test::Uncertain
                };
                reasons.push(Reason::new(
                    "exclusion.capability_floor",
                    match r {
                        Test::Applies => "applies",
                        Test::DoesNotApply => "not_applicable",
                        Test::Uncertain => "uncertain",
                    },
                    format!(
                        "counted operations {} against a floor of {} FLOP",
                        range(&total),
                        e(floor)
                    ),
                    &f.citation,
                    &f.confidence,
                ));
                tests.push(r);
            }
        }
    }

    let decision = if tests.contains(&Test::Applies) {
        Classification::Excluded
    } else if surely && !tests.contains(&Test::Uncertain) {
        Classification::Controlled
    } else {
        Classification::NeedsReview
    };
    if decision == Classification::NeedsReview && to_declare.is_empty() && position == "straddles" {
        to_declare.push("more precise training facts (operations, tokens or hardware time with utilization) to narrow the range".into());
        to_declare.push(
            "or, if the weights are published, `[model] published = true` in the training record"
                .into(),
        );
    }
    finish(decision, reasons, to_declare)
}
