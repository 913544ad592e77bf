//! SARIF 2.1.0: one rule per finding kind, one result per finding, located at the artifact.

use super::super::{AuditReport, Rule, Severity};
use serde_json::json;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub code scanning's `security-severity` (0–10) for each severity.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

pub fn sarif(report: &AuditReport) -> String {
    let rules: Vec<_> = Rule::ALL
        .iter()
        .map(|r| {
            json!({
                "id": r.id(),
                "name": r.id(),
                "shortDescription": {"text": r.description()},
                "defaultConfiguration": {"level": level(r.severity())},
                "properties": {"security-severity": security_severity(r.severity())},
            })
        })
        .collect();
    let mut results = Vec::new();
    for a in &report.artifacts {
        for f in &a.findings {
            let rule_index = Rule::ALL.iter().position(|r| *r == f.rule).unwrap_or(0);
            results.push(json!({
                "ruleId": f.rule.id(),
                "ruleIndex": rule_index,
                "level": level(f.severity),
                "message": {"text": format!("{}: {}", a.path, f.message)},
                "locations": [{
                    "physicalLocation": {"artifactLocation": {"uri": a.uri}}
                }],
                "properties": {
                    "severity": f.severity.as_str(),
                    "security-severity": security_severity(f.severity),
                    "bytesRead": a.bytes_read,
                },
            }));
        }
    }
    let doc = json!({
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{
            "tool": {"driver": {
                "name": "weightguard",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/weightguard/weightguard",
                "rules": rules,
            }},
            "properties": {"root": report.root, "policy": report.policy, "asOf": report.as_of},
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
