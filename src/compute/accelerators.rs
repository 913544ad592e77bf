//! The accelerator table (`policies/accelerators.toml`): peak dense throughput per chip, each
//! figure with its source. Data, not code: a lab can load its own table.

use serde::Deserialize;
use std::collections::BTreeMap;

/// The table shipped with weightguard, embedded at build time.
pub const BUILTIN: &str = include_str!("../../policies/accelerators.toml");

/// Largest accelerator table accepted (the built-in one is a few KB).
pub const MAX_ACCELERATORS_BYTES: usize = 1024 * 1024;

/// A table of accelerators.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceleratorTable {
    pub version: String,
    #[serde(rename = "accelerator")]
    pub accelerators: Vec<Accelerator>,
}

/// One accelerator's peak throughput by precision (TFLOP/s, dense) and where the figures come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accelerator {
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub tflops: BTreeMap<String, f64>,
    pub source: String,
}

impl AcceleratorTable {
    /// Parses a table; every figure must be a positive finite number.
    pub fn parse(text: &str) -> Result<AcceleratorTable, String> {
        if text.len() > MAX_ACCELERATORS_BYTES {
            return Err(format!(
                "{} bytes, over the limit of {MAX_ACCELERATORS_BYTES}",
                text.len()
            ));
        }
        let table: AcceleratorTable = toml::from_str(text).map_err(|e| e.to_string())?;
        for a in &table.accelerators {
            for (precision, v) in &a.tflops {
                if !(v.is_finite() && *v > 0.0) {
                    return Err(format!(
                        "accelerator `{}`: tflops.{precision} must be a positive number, found {v}",
                        a.name
                    ));
                }
            }
        }
        Ok(table)
    }

    /// The table shipped with weightguard.
    pub fn builtin() -> AcceleratorTable {
        // The embedded table is checked by a unit test; failing here would be a build defect.
        AcceleratorTable::parse(BUILTIN).expect("the built-in accelerator table parses")
    }

    /// Finds an accelerator by name or alias, ignoring case, spaces, dashes and underscores.
    pub fn find(&self, name: &str) -> Option<&Accelerator> {
        let key = normalise(name);
        self.accelerators
            .iter()
            .find(|a| normalise(&a.name) == key || a.aliases.iter().any(|al| normalise(al) == key))
    }

    pub fn names(&self) -> Vec<&str> {
        self.accelerators.iter().map(|a| a.name.as_str()).collect()
    }
}

fn normalise(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_'))
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_parses_and_finds_aliases() {
        let t = AcceleratorTable::builtin();
        assert_eq!(t.find("h100").unwrap().name, "H100-SXM");
        assert_eq!(t.find("H800").unwrap().tflops["bf16"], 989.4);
        assert_eq!(t.find("tpu_v4").unwrap().tflops["bf16"], 275.0);
        assert!(t.accelerators.iter().all(|a| !a.source.is_empty()));
    }
}
