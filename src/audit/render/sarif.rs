//! SARIF 2.1.0: one rule per finding kind, one result per finding, located at the artifact.

use super::super::{AuditReport, Rule, Severity};
use crate::text::escape;
use serde_json::json;
use std::fmt::Write as _;

/// An artifact's URI (`s3://bucket/key` or a local path) as the URI reference SARIF's
/// `artifactLocation.uri` must be (RFC 3986): every byte of the UTF-8 text that is not
/// unreserved (`A-Z a-z 0-9 - . _ ~`), a sub-delimiter (`! $ & ' ( ) * + , ; =`), `@` or `/` is
/// percent-encoded, `%`, `?`, `#`, spaces, controls and non-ASCII included. `:` is kept only
/// in an `s3://` scheme and after it; in a local path it is encoded, so that no path segment
/// reads as a scheme.
pub fn uri_reference(uri: &str) -> String {
    let (scheme, rest) = match uri.strip_prefix("s3://") {
        Some(rest) => ("s3://", rest),
        None => ("", uri),
    };
    let mut out = String::from(scheme);
    for b in rest.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || b"-._~!$&'()*+,;=@/".contains(&b)
            || (b == b':' && !scheme.is_empty());
        if keep {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

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
                // Viewers show the text to people: no control or bidi character in it.
                "message": {"text": escape(&format!("{}: {}", a.path, f.message))},
                "locations": [{
                    "physicalLocation": {"artifactLocation": {"uri": uri_reference(&a.uri)}}
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

#[cfg(test)]
mod tests {
    use super::uri_reference;

    #[test]
    fn uris_are_rfc_3986_references() {
        assert_eq!(
            uri_reference("store/models/frontier"),
            "store/models/frontier"
        );
        assert_eq!(
            uri_reference("s3://weights/team-a/x.safetensors"),
            "s3://weights/team-a/x.safetensors"
        );
        assert_eq!(
            uri_reference("/tmp/s/a\nb <c>\x1b[2J%.bin"),
            "/tmp/s/a%0Ab%20%3Cc%3E%1B%5B2J%25.bin"
        );
        assert_eq!(uri_reference("a:b/c?d#e"), "a%3Ab/c%3Fd%23e");
        assert_eq!(uri_reference("s3://b/k:1 é"), "s3://b/k:1%20%C3%A9");
        assert_eq!(uri_reference("x\u{202e}y"), "x%E2%80%AEy");
    }
}
