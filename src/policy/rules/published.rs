//! The published exclusion (15 CFR 734.7): published weights are not controlled. A declared
//! fact from the training record, shown as such.

use crate::policy::Reason;
use crate::policy::format::Cited;

/// The reason for the declared publication status, and whether it excludes the weights.
pub fn evaluate(x: &Cited, published: Option<bool>) -> (bool, Reason) {
    match published {
        Some(true) => (
            true,
            Reason::new(
                "exclusion.published",
                "applies",
                "the training record declares this model's weights published (a declared fact, not verified by weightguard)",
                &x.citation,
                &x.confidence,
            ),
        ),
        Some(false) => (
            false,
            Reason::new(
                "exclusion.published",
                "not_applicable",
                "the training record declares the weights not published",
                &x.citation,
                &x.confidence,
            ),
        ),
        None => (
            false,
            Reason::new(
                "exclusion.published",
                "not_declared",
                "publication not declared ([model] published in the training record): treated as unpublished",
                &x.citation,
                &x.confidence,
            ),
        ),
    }
}
