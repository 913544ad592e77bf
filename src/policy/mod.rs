//! Stage 3: export-control policy as data.
//!
//! Policies live under `policies/` as TOML with a citation for every rule, embedded in the binary
//! at build time and overridable by path. This module currently reads what the estimator needs —
//! a policy's identity and its control threshold; the rule engine (classify and gate) builds on
//! the same files.

use serde::Deserialize;

/// Policies shipped with weightguard: (id, TOML text).
pub const BUILTIN: &[(&str, &str)] = &[(
    "us-ear-4e091",
    include_str!("../../policies/us-ear-4e091.toml"),
)];

/// The policy weightguard applies when none is named.
pub const DEFAULT_POLICY: &str = "us-ear-4e091";

/// A policy's control threshold, with its citation.
#[derive(Debug, Clone, Deserialize)]
pub struct Threshold {
    pub operations: f64,
    pub comparison: String,
    pub citation: String,
}

#[derive(Deserialize)]
struct ThresholdOnly {
    threshold: Threshold,
}

/// The text of a built-in policy.
pub fn builtin(id: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(i, _)| *i == id).map(|(_, t)| *t)
}

/// Reads the `[threshold]` table of a policy.
pub fn threshold(text: &str) -> Result<Threshold, String> {
    let t: ThresholdOnly = toml::from_str(text).map_err(|e| e.to_string())?;
    let th = t.threshold;
    if !(th.operations.is_finite() && th.operations > 0.0) {
        return Err(format!(
            "threshold.operations: must be a positive number, found {}",
            th.operations
        ));
    }
    if th.comparison != ">=" && th.comparison != ">" {
        return Err(format!(
            "threshold.comparison: `>=` or `>`, found `{}`",
            th.comparison
        ));
    }
    Ok(th)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_threshold_is_ten_to_the_26_inclusive() {
        let t = threshold(builtin(DEFAULT_POLICY).unwrap()).unwrap();
        assert_eq!(t.operations, 1e26);
        assert_eq!(t.comparison, ">=");
        assert!(t.citation.contains("4E091"));
    }
}
