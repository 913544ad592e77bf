//! Stage 3: export-control policy as data, and the engine that evaluates it.
//!
//! A policy is a TOML file under `policies/` (format: `docs/policy-format.md`) in which every
//! rule carries its citation and confidence mark. [`Policy::parse`] validates one; [`classify()`]
//! decides whether an [`Estimate`](crate::compute::Estimate) is controlled; [`gate()`] decides
//! whether a transfer to a destination may go ahead. The engine never reads files and never
//! prints: the CLI passes it text and values, and renders the [`decision`] values it returns.
//!
//! Module map: [`format`] the schema and validation; [`date`] calendar dates; [`countries`]
//! ISO 3166-1 codes; [`lineage`] which operations count; [`classify`](mod@classify) and
//! [`gate`](mod@gate) the two decisions; [`licences`] the licences file; [`decision`] the values
//! returned.

pub mod classify;
pub mod combine;
pub mod countries;
pub mod date;
pub mod decision;
pub mod format;
pub mod gate;
pub mod licences;
pub mod lineage;
pub mod rules;

pub use classify::{Classified, classify};
pub use date::Date;
pub use decision::{Classification, GateOutcome, Reason};
pub use format::{PolicyData, PolicyError};
pub use gate::{GateDecision, Transfer, gate, gate_classified};
pub use licences::{Licence, LicenceError};

use serde::Serialize;

/// Policies shipped with weightguard: (id, TOML text).
pub const BUILTIN: &[(&str, &str)] = &[(
    "us-ear-4e091",
    include_str!("../../policies/us-ear-4e091.toml"),
)];

/// Example policies shipped as documentation (not selectable by id): (path, TOML text).
pub const EXAMPLES: &[(&str, &str)] = &[(
    "policies/examples/acme-internal.toml",
    include_str!("../../policies/examples/acme-internal.toml"),
)];

/// The policy weightguard applies when none is named.
pub const DEFAULT_POLICY: &str = "us-ear-4e091";

/// The text of a built-in policy.
pub fn builtin(id: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(i, _)| *i == id).map(|(_, t)| *t)
}

/// A validated policy and the digest of the exact text it came from.
#[derive(Debug, Clone)]
pub struct Policy {
    pub data: PolicyData,
    /// `blake3:<hex>` of the policy file's bytes, so a decision names exactly what decided it.
    pub digest: String,
}

impl Policy {
    /// Parses and validates a policy; `origin` (a path or a built-in id) names it in errors.
    pub fn parse(origin: &str, text: &str) -> Result<Policy, PolicyError> {
        Ok(Policy {
            data: format::parse(origin, text)?,
            digest: format!("blake3:{}", blake3::hash(text.as_bytes()).to_hex()),
        })
    }

    /// The built-in policy `id`.
    pub fn builtin(id: &str) -> Option<Result<Policy, PolicyError>> {
        builtin(id).map(|t| Policy::parse(id, t))
    }

    /// Whether the rule is in effect on `date` (codified and past its effective date).
    pub fn in_effect(&self, date: Date) -> bool {
        let s = &self.data.status;
        s.codified && s.effective.is_none_or(|e| date >= e)
    }

    /// Whether compliance is required on `date` (in effect and past the compliance date).
    pub fn compliance_required(&self, date: Date) -> bool {
        let s = &self.data.status;
        self.in_effect(date) && s.compliance.is_none_or(|c| date >= c)
    }

    /// Whether the rule is enforced on `date`: compliance is required, and it was not announced
    /// unenforced before then.
    pub fn enforced(&self, date: Date) -> bool {
        let s = &self.data.status;
        self.compliance_required(date)
            && (s.enforced || s.not_enforced_since.is_some_and(|n| date < n))
    }

    /// The policy's identity as it appears in every decision.
    pub fn reference(&self, date: Date) -> PolicyRef {
        let d = &self.data;
        PolicyRef {
            id: d.policy.id.clone(),
            version: d.policy.version.clone(),
            digest: self.digest.clone(),
            codified: d.status.codified,
            in_effect: self.in_effect(date),
            compliance_required: self.compliance_required(date),
            enforced: self.enforced(date),
            not_enforced_since: d.status.not_enforced_since,
        }
    }
}

/// Which policy decided, exactly.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyRef {
    pub id: String,
    pub version: String,
    pub digest: String,
    pub codified: bool,
    pub in_effect: bool,
    /// Whether compliance is required on the evaluation date (past the compliance date).
    pub compliance_required: bool,
    /// Whether the rule is enforced on the evaluation date.
    pub enforced: bool,
    pub not_enforced_since: Option<Date>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_policies_validate() {
        let p = Policy::builtin(DEFAULT_POLICY).unwrap().unwrap();
        assert_eq!(p.data.threshold.operations, 1e26);
        assert_eq!(p.data.threshold.comparison, format::Comparison::AtLeast);
        assert!(p.data.threshold.citation.contains("4E091"));
        assert!(p.digest.starts_with("blake3:"));
        for (path, text) in EXAMPLES {
            Policy::parse(path, text).unwrap();
        }
    }

    #[test]
    fn enforcement_is_dated() {
        let p = Policy::builtin(DEFAULT_POLICY).unwrap().unwrap();
        let d = |s| Date::parse(s).unwrap();
        assert!(!p.in_effect(d("2025-01-12")));
        // In effect from 2025-01-13, compliance from 2025-05-15, unenforced from 2025-05-13: it
        // was never enforced.
        assert!(p.in_effect(d("2025-05-12")));
        assert!(!p.compliance_required(d("2025-05-12")));
        assert!(!p.enforced(d("2025-05-12")));
        assert!(!p.enforced(d("2025-05-13")));
        assert!(p.in_effect(d("2026-07-23")));
    }
}
