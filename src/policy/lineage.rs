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
use super::format::GeneratorsTraining;
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

    // Distillation trains on a teacher's outputs: the synthetic-data case of the technical
    // notes. Without the teacher declared, what its data adds cannot be counted.
    if est.components.synthetic_data.is_empty()
        && let Some(st) = est
            .components
            .stages
            .iter()
            .find(|st| st.kind == crate::compute::record::StageKind::Distillation)
        && let Some(sd) = &c.synthetic_data
    {
        reasons.push(Reason::new(
            "counting.distillation",
            "teacher_not_declared",
            format!(
                "stage `{}` is a distillation, but no [[synthetic_data]] names its teacher: training on a teacher's outputs is the synthetic-data case of ECCN 4E091 Technical Note 3 (over 10% of the operations: the generation operations, and an unpublished teacher's training, count); declare the teacher",
                st.name
            ),
            &sd.citation,
            &sd.confidence,
        ));
        to_declare.push(format!(
            "the teacher of distillation stage `{}` as [[synthetic_data]] (generator, share_of_operations, generator_published, generation_operations, training_operations)",
            st.name
        ));
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
    // Checkpoints and fine-tunes of one generator count as one: its entries merge. Only its
    // unpublished data counts toward the share and the generation operations, so entries whose
    // data was published are reported on their own and never summed in.
    let mut merged: Vec<SyntheticData> = Vec::new();
    let mut published_data: Vec<&SyntheticData> = Vec::new();
    for g in declared {
        if g.data_published {
            published_data.push(g);
            continue;
        }
        match merged.iter_mut().find(|m| m.generator == g.generator) {
            Some(m) => {
                m.share_of_operations += g.share_of_operations;
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
    for g in published_data {
        reasons.push(cite(
            "not_counted",
            format!(
                "generator `{}`: {:.1}% of training operations on data declared published: not counted toward the share or the generation operations",
                g.generator,
                g.share_of_operations * 100.0
            ),
        ));
    }
    for g in &merged {
        let pct = g.share_of_operations * 100.0;
        let limit = rule.share_above * 100.0;
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
        let training = |g: &SyntheticData| g.training_operations.unwrap_or(f64::INFINITY);
        // The generator used most (on a tie, the larger training); the largest (on a tie, the
        // most used).
        let most_used = candidates.iter().copied().max_by(|a, b| {
            a.share_of_operations
                .total_cmp(&b.share_of_operations)
                .then(training(a).total_cmp(&training(b)))
        });
        let largest = candidates.iter().copied().max_by(|a, b| {
            training(a)
                .total_cmp(&training(b))
                .then(a.share_of_operations.total_cmp(&b.share_of_operations))
        });
        let chosen: Option<&SyntheticData> = match rule.generators_training {
            GeneratorsTraining::All => None,
            GeneratorsTraining::MostUsed => most_used,
            GeneratorsTraining::Largest => largest,
            // The larger of the two readings' additions is the largest generator's.
            GeneratorsTraining::LargerOfReadings => largest,
        };
        if let Some(one) = chosen
            && candidates.len() > 1
        {
            let why = match rule.generators_training {
                GeneratorsTraining::MostUsed => "only the generator used most counts".to_owned(),
                GeneratorsTraining::Largest => {
                    "only the generator with the most training operations counts".to_owned()
                }
                _ => format!(
                    "the text's 'data-generation model using the most training operations' is ambiguous: read as the generator used most it is `{}`, as the largest it is `{}`; the reading that adds more is taken",
                    most_used.map_or("?", |g| g.generator.as_str()),
                    largest.map_or("?", |g| g.generator.as_str())
                ),
            };
            for g in candidates.iter().filter(|g| g.generator != one.generator) {
                reasons.push(cite(
                    "not_counted",
                    format!(
                        "generator `{}`: training operations not added, `{}` is counted instead ({why})",
                        g.generator, one.generator
                    ),
                ));
            }
            candidates.retain(|g| g.generator == one.generator);
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
