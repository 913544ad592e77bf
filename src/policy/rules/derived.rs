//! The derived-model exclusion: a model derived from a published model is not controlled unless
//! its additional training used more than max(2.5×10^25, 25% of the training operations). Which
//! total the 25% refers to is ambiguous [U]: both readings are evaluated, and the policy's
//! `fraction_of` says what to do when they disagree.

use super::Test;
use crate::compute::BaseEstimate;
use crate::compute::methods::Range;
use crate::policy::Reason;
use crate::policy::format::{DerivedFromPublished, FractionOf};
use crate::policy::lineage::range;

fn e(v: f64) -> String {
    super::sci(v)
}

/// Evaluates the exclusion for a model derived from the published `b`, whose own additional
/// training is `additional`; returns the test's result, its reason, and what to declare.
pub fn evaluate(
    x: &DerivedFromPublished,
    b: &BaseEstimate,
    additional: Range,
) -> (Test, Reason, Option<String>) {
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
        FractionOf::Ambiguous | FractionOf::Conservative if lineage_reading == base_reading => (
            lineage_reading,
            format!(
                "both readings of the fraction agree: {}",
                name(lineage_reading)
            ),
        ),
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
            let r = if lineage_reading == Test::DoesNotApply || base_reading == Test::DoesNotApply {
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
    let declare = (b.operations.is_none() && result == Test::Uncertain).then(|| {
        format!(
            "base_model.operations (the training operations of `{}`)",
            b.name
        )
    });
    let reason = Reason::new(
        "exclusion.derived_from_published",
        result.outcome(),
        format!(
            "derived from `{}` (declared published); additional training {} vs more than max({} FLOP, {}% of the training operations); base operations {}; {how}",
            b.name,
            range(&additional),
            e(x.absolute_operations),
            x.fraction * 100.0,
            b.operations
                .map_or("not declared".into(), |o| format!("{} FLOP", e(o)))
        ),
        &x.citation,
        &x.confidence,
    );
    (result, reason, declare)
}
