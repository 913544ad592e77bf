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

/// Where the tool and its rules are documented.
const INFORMATION_URI: &str = "https://github.com/weightguard/weightguard";

/// The rules' documentation: the table of findings in docs/audit.md.
const HELP_URI: &str =
    "https://github.com/weightguard/weightguard/blob/main/docs/audit.md#findings-and-severities";

/// What to do about a finding of each rule: the second half of `fullDescription` and `help`.
fn advice(rule: Rule) -> &'static str {
    match rule {
        Rule::ControlledUnencrypted => {
            "Seal the weights for their destination (`weightguard seal`) and delete the cleartext copy, or move them to storage cleared for controlled technology."
        }
        Rule::NeedsReviewUnencrypted => {
            "Declare the training facts (a training-record.toml beside the weights, or --tokens) so the classification can be decided; seal the weights until it is."
        }
        Rule::FingerprintMatch => {
            "Treat the weights as the fingerprinted controlled model: find how they got here, seal or remove them."
        }
        Rule::UnsafePickle => {
            "Do not load the file. Convert trusted weights to safetensors; quarantine and investigate the rest."
        }
        Rule::DestinationMismatch => {
            "Move the envelope to a store in its destination country, or re-seal it for this one if the policy allows."
        }
        Rule::EnvelopeExpired => {
            "Delete the envelope, or re-seal the weights with a new expiry if the transfer is still authorized."
        }
        Rule::EnvelopeUnverified => {
            "Do not trust the envelope's claims: verify it with `weightguard verify --signer` and re-seal from a trusted source."
        }
        Rule::EnvelopeNoClaims => {
            "Re-seal the weights with `weightguard seal`, which binds the destination claims to the envelope."
        }
        Rule::EnvelopeCleartext => {
            "The weights are stored in the clear: remove the file, seal the weights properly and investigate who wrote it."
        }
        Rule::ParseFailure => {
            "Check whether the file holds weights (truncated or corrupted copy); remove or repair it so it can be audited."
        }
        Rule::DecryptedRemnant => {
            "Delete the remnant; open the envelope again so the weights are verified against the signed manifest."
        }
        Rule::UnreadPath => {
            "Audit the path's target directly, or grant read access, so what it holds is examined."
        }
    }
}

/// A finding's fingerprint for code scanning: stable across runs and checkouts (the rule and the
/// artifact's path relative to the audited root, not the message, which holds counts and dates),
/// so an alert that persists is one alert, and a fixed one closes.
fn fingerprint(rule: Rule, path: &str) -> String {
    let mut h = blake3::Hasher::new();
    h.update(rule.id().as_bytes());
    h.update(&[0]);
    h.update(path.as_bytes());
    h.finalize().to_hex()[..32].to_owned()
}

pub fn sarif(report: &AuditReport) -> String {
    let rules: Vec<_> = Rule::ALL
        .iter()
        .map(|r| {
            let full = format!("{} {}", r.description(), advice(*r));
            json!({
                "id": r.id(),
                "name": r.id(),
                "shortDescription": {"text": r.description()},
                "fullDescription": {"text": full},
                "help": {
                    "text": advice(*r),
                    "markdown": format!("{}\n\n**What to do:** {}\n\nSee [the audit's findings]({HELP_URI}).", r.description(), advice(*r)),
                },
                "helpUri": HELP_URI,
                "defaultConfiguration": {"level": level(r.severity())},
                "properties": {
                    "security-severity": security_severity(r.severity()),
                    "tags": ["security", "export-control"],
                },
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
                "partialFingerprints": {"weightguardFinding/v1": fingerprint(f.rule, &a.path)},
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
                "informationUri": INFORMATION_URI,
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
    use super::{Rule, advice, fingerprint, uri_reference};

    #[test]
    fn every_rule_has_advice_and_fingerprints_are_stable() {
        for r in Rule::ALL {
            assert!(advice(r).ends_with('.'), "{r:?}");
        }
        let a = fingerprint(Rule::UnsafePickle, "pytorch/evil.pkl");
        assert_eq!(a, fingerprint(Rule::UnsafePickle, "pytorch/evil.pkl"));
        assert_ne!(a, fingerprint(Rule::ParseFailure, "pytorch/evil.pkl"));
        assert_ne!(a, fingerprint(Rule::UnsafePickle, "pytorch/evil.pk"));
        assert_eq!(a.len(), 32);
    }

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
