//! Which training operations count, over a model's whole lineage.
//!
//! From the estimate's components (this model's stages, its base model, its synthetic-data
//! generators) and the policy's counting rules: stages count by kind; an unpublished base adds
//! its operations (a published base does not: the derived-model exclusion looks at it instead);
//! a generator whose unpublished data took more than the policy's share adds its generation
//! operations, and — when its weights are unpublished — its training operations, for the most
//! used such generator only. No operation is counted twice: a generator that is also the base
//! model counted above adds nothing more, and entries naming one generator are one generator.

use super::decision::Reason;
use super::format::PolicyData;
use crate::compute::Estimate;
use crate::compute::methods::Range;
use crate::compute::record::SyntheticData;

/// The operations the policy counts, with how it got there.
#[derive(Debug, Clone)]
pub struct Counted {
    /// Everything counted; `None` when nothing declares any training.
    pub total: Option<Range>,
    /// This model's own counted training plus synthetic-data additions: the "additional
    /// training" of a derived model.
    pub additional: Option<Range>,
    pub reasons: Vec<Reason>,
    /// Facts whose declaration would narrow the range.
    pub to_declare: Vec<String>,
}

fn ops(v: f64) -> String {
    if v.is_infinite() {
        "unbounded".into()
    } else {
        format!("{v:.3e}")
    }
}

/// `1.000e25 FLOP (2.00e24 – 3.00e25)` or `1.000e25 FLOP` when exact.
pub fn range(r: &Range) -> String {
    if r.low == r.high {
        format!("{} FLOP", ops(r.point))
    } else {
        format!(
            "{} FLOP (range {} – {})",
            ops(r.point),
            ops(r.low),
            ops(r.high)
        )
    }
}

fn unbounded() -> Range {
    Range {
        low: 0.0,
        point: 0.0,
        high: f64::INFINITY,
    }
}

/// Counts the lineage's operations under `policy`.
pub fn count(policy: &PolicyData, est: &Estimate) -> Counted {
    let c = &policy.counting;
    let mut reasons = Vec::new();
    let mut to_declare = Vec::new();
    let mut own: Option<Range> = None;

    for st in &est.components.stages {
        let rule = c.stage_kinds.iter().find(|k| k.kind == st.kind);
        let kind = serde_json::to_value(st.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let (counts, citation, confidence, note) = match rule {
            Some(r) => (
                r.counts,
                r.citation.clone(),
                r.confidence.clone(),
                r.note.clone(),
            ),
            None => (
                true,
                c.citation.clone(),
                c.confidence.clone(),
                Some("kind not listed in the policy: counted (conservative)".into()),
            ),
        };
        let mut detail = format!(
            "stage `{}` ({kind}): {} by {}",
            st.name,
            range(&st.operations),
            st.method
        );
        if let Some(n) = note {
            detail.push_str(&format!("; {n}"));
        }
        reasons.push(Reason::new(
            format!("counting.stage_kind.{kind}"),
            if counts { "counted" } else { "not_counted" },
            detail,
            citation,
            confidence,
        ));
        if counts {
            own = Some(own.unwrap_or(Range::zero()) + st.operations);
        }
    }

    let mut base_added: Option<Range> = None;
    let mut base_counted_name: Option<&str> = None;
    if let Some(b) = &est.components.base_model {
        let l = &c.lineage;
        if b.published {
            // The weights were trained with the base's operations too: they count toward the
            // threshold, and the derived-model exclusion then looks at the additional training.
            base_counted_name = Some(&b.name);
            reasons.push(Reason::new(
                "counting.lineage",
                "added",
                format!(
                    "base model `{}` is declared published (a declared fact): its {} count toward the threshold; the derived-model exclusion then compares this model's additional training",
                    b.name,
                    b.operations.map_or("operations (not declared: no upper bound)".into(), |o| format!("{} FLOP", ops(o)))
                ),
                &l.citation,
                &l.confidence,
            ));
            base_added = Some(match b.operations {
                Some(o) => Range::exact(o),
                None => unbounded(),
            });
        } else if l.add_unpublished_base {
            base_counted_name = Some(&b.name);
            let r = match b.operations {
                Some(o) => Range::exact(o),
                None => {
                    to_declare.push(format!(
                        "base_model.operations (the training operations of `{}`)",
                        b.name
                    ));
                    unbounded()
                }
            };
            reasons.push(Reason::new(
                "counting.lineage",
                "added",
                format!(
                    "base model `{}` is declared not published: its {} are added to this model's",
                    b.name,
                    b.operations.map_or(
                        "operations (not declared: no upper bound)".into(),
                        |o| format!("{} FLOP", ops(o))
                    )
                ),
                &l.citation,
                &l.confidence,
            ));
            base_added = Some(r);
        }
    }

    let synthetic = synthetic(
        policy,
        est,
        base_counted_name,
        &mut reasons,
        &mut to_declare,
    );

    let additional = match (own, synthetic) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(Range::zero()) + b.unwrap_or(Range::zero())),
    };
    let total = match (additional, base_added) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(Range::zero()) + b.unwrap_or(Range::zero())),
    };
    Counted {
        total,
        additional,
        reasons,
        to_declare,
    }
}

/// The synthetic-data rule; returns what it adds, if anything.
fn synthetic(
    policy: &PolicyData,
    est: &Estimate,
    base_counted: Option<&str>,
    reasons: &mut Vec<Reason>,
    to_declare: &mut Vec<String>,
) -> Option<Range> {
    let declared = &est.components.synthetic_data;
    if declared.is_empty() {
        return None;
    }
    let Some(rule) = &policy.counting.synthetic_data else {
        return None;
    };
    // Checkpoints and fine-tunes of one generator count as one: entries with one name merge.
    let mut merged: Vec<SyntheticData> = Vec::new();
    for g in declared {
        match merged.iter_mut().find(|m| m.generator == g.generator) {
            Some(m) => {
                m.share_of_operations += g.share_of_operations;
                m.data_published &= g.data_published;
                m.generator_published &= g.generator_published;
                m.generation_operations = match (m.generation_operations, g.generation_operations) {
                    (Some(a), Some(b)) => Some(a + b),
                    _ => None,
                };
                m.training_operations = match (m.training_operations, g.training_operations) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
            }
            None => merged.push(g.clone()),
        }
    }
    let cite = |outcome: &str, detail: String| {
        Reason::new(
            "counting.synthetic_data",
            outcome,
            detail,
            &rule.citation,
            &rule.confidence,
        )
    };
    let mut added = Range::zero();
    let mut passing = Vec::new();
    for g in &merged {
        let pct = g.share_of_operations * 100.0;
        let limit = rule.share_above * 100.0;
        if g.data_published {
            reasons.push(cite(
                "not_counted",
                format!(
                    "generator `{}`: its data is declared published",
                    g.generator
                ),
            ));
            continue;
        }
        if g.share_of_operations <= rule.share_above {
            reasons.push(cite(
                "not_counted",
                format!("generator `{}`: {pct:.1}% of training operations on its unpublished data, not more than {limit:.0}%", g.generator),
            ));
            continue;
        }
        let mut detail = format!(
            "generator `{}`: {pct:.1}% of training operations on its unpublished data, more than {limit:.0}%",
            g.generator
        );
        if rule.add_generation_operations {
            match g.generation_operations {
                Some(o) => {
                    added = added + Range::exact(o);
                    detail.push_str(&format!("; generation operations {} FLOP added", ops(o)));
                }
                None => {
                    added = added + unbounded();
                    to_declare.push(format!(
                        "synthetic_data `{}`.generation_operations",
                        g.generator
                    ));
                    detail.push_str("; generation operations not declared (no upper bound)");
                }
            }
        }
        reasons.push(cite("counted", detail));
        passing.push(g);
    }

    if rule.add_generator_training_if_unpublished {
        let mut candidates: Vec<&SyntheticData> = passing
            .iter()
            .copied()
            .filter(|g| !g.generator_published)
            .collect();
        // The most used first; on a tie, the larger (or undeclared) training count: conservative.
        candidates.sort_by(|a, b| {
            b.share_of_operations
                .total_cmp(&a.share_of_operations)
                .then(
                    b.training_operations
                        .unwrap_or(f64::INFINITY)
                        .total_cmp(&a.training_operations.unwrap_or(f64::INFINITY)),
                )
        });
        if rule.generator_training_only_most_used {
            for g in candidates.iter().skip(1) {
                reasons.push(cite("not_counted", format!("generator `{}`: training operations not added, `{}` was used more (only the most used generator's training counts)", g.generator, candidates[0].generator)));
            }
            candidates.truncate(1);
        }
        for g in candidates {
            if Some(g.generator.as_str()) == base_counted {
                reasons.push(cite("not_counted", format!("generator `{}`: its training operations are already counted as the base model's (never twice)", g.generator)));
                continue;
            }
            if est.model.name.as_deref() == Some(g.generator.as_str()) {
                reasons.push(cite(
                    "not_counted",
                    format!(
                        "generator `{}` is this model: its training is already counted",
                        g.generator
                    ),
                ));
                continue;
            }
            match g.training_operations {
                Some(o) => {
                    added = added + Range::exact(o);
                    reasons.push(cite("counted", format!("generator `{}`: weights declared unpublished, its training operations {} FLOP added", g.generator, ops(o))));
                }
                None => {
                    added = added + unbounded();
                    to_declare.push(format!(
                        "synthetic_data `{}`.training_operations",
                        g.generator
                    ));
                    reasons.push(cite("counted", format!("generator `{}`: weights declared unpublished, training operations not declared (no upper bound)", g.generator)));
                }
            }
        }
    }
    Some(added)
}
