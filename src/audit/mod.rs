//! Stage: auditing a store (a local tree or an S3-compatible bucket) for weights where they
//! should not be.
//!
//! The audit lists the store ([`listing`]), groups objects into units of work (a model
//! directory, a standalone file), and examines each unit ([`examine`]) through the artifact
//! stage's own parsers, reading headers with ranged reads ([`s3`] serves them from object
//! storage). Each artifact found becomes an [`ArtifactResult`] of plain values with its
//! [`Finding`]s; [`run`] drives the units concurrently, resumably and sharded. Printers live in
//! [`render`]; nothing here prints.

pub mod examine;
pub mod fingerprint;
pub mod listing;
pub mod profile;
pub mod render;
pub mod run;
pub mod s3;
pub mod store;

use serde::{Deserialize, Serialize};
use std::fmt;

/// How bad a finding is, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// `--fail-on` values: a severity, or `none` (never fail on findings).
    pub fn parse(s: &str) -> Result<Severity, String> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str() == s.to_ascii_lowercase())
            .ok_or_else(|| {
                format!("`{s}` is not a severity; expected info, low, medium, high or critical")
            })
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a finding is about; each rule has one severity (see [`Rule::severity`]), except
/// `parse-failure`, whose severity says whether the content or only the name looked like weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// Weights the policy classifies as controlled, stored in the clear.
    ControlledUnencrypted,
    /// Weights whose classification needs review, stored in the clear.
    NeedsReviewUnencrypted,
    /// Weights whose tensors match a fingerprinted controlled model.
    FingerprintMatch,
    /// A pickle that would import or call more than a state dict needs.
    UnsafePickle,
    /// An envelope sealed for another country than the store's declared one.
    DestinationMismatch,
    /// An envelope past its expiry date.
    EnvelopeExpired,
    /// An envelope whose signed claims do not hold (bad signature, moved from another envelope).
    EnvelopeUnverified,
    /// An age file with no destination claims: where it may go is unknown.
    EnvelopeNoClaims,
    /// A genuine-looking envelope header in front of a payload that is not ciphertext (cleartext
    /// weights, a cleartext tar, bytes far from random): weights stored in the clear, disguised.
    EnvelopeCleartext,
    /// A file that looks like weights (by content or by name) but does not parse.
    ParseFailure,
    /// Decrypted, unverified weights an interrupted `weightguard open` left behind.
    DecryptedRemnant,
    /// A path the artifact set's rules refuse to read (a link out of the root, a special file,
    /// an unreadable directory): what it holds was not examined.
    UnreadPath,
}

impl Rule {
    pub const ALL: [Rule; 12] = [
        Rule::ControlledUnencrypted,
        Rule::NeedsReviewUnencrypted,
        Rule::FingerprintMatch,
        Rule::UnsafePickle,
        Rule::DestinationMismatch,
        Rule::EnvelopeExpired,
        Rule::EnvelopeUnverified,
        Rule::EnvelopeNoClaims,
        Rule::EnvelopeCleartext,
        Rule::ParseFailure,
        Rule::UnreadPath,
        Rule::DecryptedRemnant,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Rule::ControlledUnencrypted => "controlled-unencrypted",
            Rule::NeedsReviewUnencrypted => "needs-review-unencrypted",
            Rule::FingerprintMatch => "fingerprint-match",
            Rule::UnsafePickle => "unsafe-pickle",
            Rule::DestinationMismatch => "destination-mismatch",
            Rule::EnvelopeExpired => "envelope-expired",
            Rule::EnvelopeUnverified => "envelope-unverified",
            Rule::EnvelopeNoClaims => "envelope-no-claims",
            Rule::EnvelopeCleartext => "envelope-cleartext",
            Rule::ParseFailure => "parse-failure",
            Rule::UnreadPath => "unread-path",
            Rule::DecryptedRemnant => "decrypted-remnant",
        }
    }

    /// The rule's severity (for `parse-failure`, the higher of its two).
    pub fn severity(self) -> Severity {
        match self {
            Rule::ControlledUnencrypted | Rule::FingerprintMatch | Rule::EnvelopeCleartext => {
                Severity::Critical
            }
            Rule::NeedsReviewUnencrypted
            | Rule::UnsafePickle
            | Rule::DestinationMismatch
            | Rule::EnvelopeUnverified
            | Rule::UnreadPath
            | Rule::DecryptedRemnant => Severity::High,
            Rule::EnvelopeExpired | Rule::ParseFailure => Severity::Medium,
            Rule::EnvelopeNoClaims => Severity::Low,
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Rule::ControlledUnencrypted => {
                "Weights classified as controlled by the policy are stored unencrypted."
            }
            Rule::NeedsReviewUnencrypted => {
                "Weights whose export classification needs review are stored unencrypted."
            }
            Rule::FingerprintMatch => {
                "Tensors match the per-tensor digests of a known controlled model."
            }
            Rule::UnsafePickle => {
                "A pickle would import or call code a state dict never needs; loading it runs that code."
            }
            Rule::DestinationMismatch => {
                "An envelope is sealed for a destination other than the store's declared country."
            }
            Rule::EnvelopeExpired => "An envelope is past its expiry date.",
            Rule::EnvelopeUnverified => "An envelope's signed destination claims do not verify.",
            Rule::EnvelopeNoClaims => {
                "An age file carries no destination claims: where it may be opened is unknown."
            }
            Rule::EnvelopeCleartext => {
                "An envelope header is followed by a payload that is not ciphertext: the weights are stored in the clear behind a genuine-looking header."
            }
            Rule::ParseFailure => "A file looks like weights but does not parse.",
            Rule::DecryptedRemnant => {
                "Decrypted weights that an interrupted `weightguard open` left behind, never verified against the signed manifest."
            }
            Rule::UnreadPath => {
                "A path could not be read under the artifact set's rules (a link out of the root, a special file, an unreadable directory); what it holds was not examined."
            }
        }
    }
}

/// One thing wrong with an artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: Rule,
    pub severity: Severity,
    /// Why, in one sentence with the facts that decided it.
    pub message: String,
}

impl Finding {
    pub fn new(rule: Rule, message: impl Into<String>) -> Finding {
        Finding {
            rule,
            severity: rule.severity(),
            message: message.into(),
        }
    }
}

/// What an artifact is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactKind {
    /// Model weights in the clear (a directory or a file).
    Weights,
    /// An age envelope.
    Envelope,
    /// A file that looked like weights and could not be read as any.
    Unreadable,
}

/// An envelope's claims, as read without a key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvelopeInfo {
    pub destination: Option<String>,
    pub site: Option<String>,
    pub expires: Option<String>,
    pub classification: Option<String>,
    pub sealer: Option<String>,
    pub signature_valid: bool,
}

/// The fingerprinted model an artifact's tensors match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FingerprintMatch {
    pub model: String,
    /// Distinct tensor digests of the artifact found in the model's fingerprint.
    pub matched_tensors: usize,
    /// Distinct tensor digests in the model's fingerprint.
    pub model_tensors: usize,
}

/// One artifact of the store and what the audit found about it. One JSON Lines record each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactResult {
    /// The artifact's path relative to the audited root (`.` for the root itself).
    pub path: String,
    /// Where it is: a local path or `s3://bucket/key`.
    pub uri: String,
    pub kind: ArtifactKind,
    /// `safetensors`, `gguf`, `pytorch`, … or `age` for envelopes.
    pub format: Option<String>,
    pub files: usize,
    /// Bytes stored (all files of the artifact).
    pub size: u64,
    /// Bytes read from the store to audit it.
    pub bytes_read: u64,
    pub parameters: Option<u64>,
    pub active_parameters: Option<u64>,
    /// The policy's decision: controlled, not_controlled, excluded, needs_review.
    pub classification: Option<String>,
    /// Training operations (point estimate), when the facts give one.
    pub training_operations: Option<f64>,
    /// Training tokens at which 6·N·D reaches the policy's threshold.
    pub tokens_to_threshold: Option<f64>,
    /// The training record used (`training-record.toml` beside the weights).
    pub training_record: Option<String>,
    /// Whether loading runs only allow-listed code (weights only).
    pub safe: Option<bool>,
    pub envelope: Option<EnvelopeInfo>,
    pub fingerprint: Option<FingerprintMatch>,
    /// What the model card and config beside the weights suggest about their lineage: shown,
    /// never declared, never decided on (`artifact::model_card`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggested: Option<crate::artifact::model_card::Suggestions>,
    pub findings: Vec<Finding>,
}

impl ArtifactResult {
    pub fn new(path: String, uri: String, kind: ArtifactKind) -> ArtifactResult {
        ArtifactResult {
            path,
            uri,
            kind,
            format: None,
            files: 0,
            size: 0,
            bytes_read: 0,
            parameters: None,
            active_parameters: None,
            classification: None,
            training_operations: None,
            tokens_to_threshold: None,
            training_record: None,
            safe: None,
            envelope: None,
            fingerprint: None,
            suggested: None,
            findings: Vec::new(),
        }
    }

    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// Counts over a whole audit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub artifacts: usize,
    pub weights: usize,
    pub envelopes: usize,
    pub findings: usize,
    /// Findings per severity, every severity present (zero counts included).
    pub by_severity: std::collections::BTreeMap<Severity, usize>,
    pub by_rule: std::collections::BTreeMap<String, usize>,
    pub bytes_stored: u64,
    pub bytes_read: u64,
}

/// The whole audit: what was audited and every artifact's result, sorted by path.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditReport {
    /// What was audited (`s3://bucket/prefix`, a directory), or the merged inputs.
    pub root: String,
    /// `K/N` when this is one shard of an audit.
    pub shard: Option<String>,
    pub policy: String,
    pub as_of: String,
    pub summary: Summary,
    pub artifacts: Vec<ArtifactResult>,
}

impl AuditReport {
    /// Sorts the results, removes duplicates (the same artifact from two shards or a resume)
    /// and computes the summary.
    pub fn new(
        root: String,
        shard: Option<String>,
        policy: String,
        as_of: String,
        mut artifacts: Vec<ArtifactResult>,
    ) -> AuditReport {
        artifacts.sort_by(|a, b| a.uri.cmp(&b.uri).then_with(|| a.path.cmp(&b.path)));
        artifacts.dedup_by(|a, b| a.uri == b.uri);
        let summary = summarize(&artifacts);
        AuditReport {
            root,
            shard,
            policy,
            as_of,
            summary,
            artifacts,
        }
    }

    /// Whether any finding is at or above `level`.
    pub fn fails(&self, level: Severity) -> bool {
        self.artifacts
            .iter()
            .any(|a| a.worst().is_some_and(|w| w >= level))
    }

    /// Findings by the first path component of their artifact (top-level folder), each with
    /// counts per severity: what the HTML report charts as "by location".
    pub fn by_location(&self) -> Vec<(String, std::collections::BTreeMap<Severity, usize>)> {
        let mut m: std::collections::BTreeMap<String, std::collections::BTreeMap<Severity, usize>> =
            Default::default();
        for a in &self.artifacts {
            if a.findings.is_empty() {
                continue;
            }
            let top = a.path.split('/').next().unwrap_or(".").to_owned();
            let e = m.entry(top).or_default();
            for f in &a.findings {
                *e.entry(f.severity).or_default() += 1;
            }
        }
        m.into_iter().collect()
    }
}

fn summarize(artifacts: &[ArtifactResult]) -> Summary {
    let mut s = Summary {
        artifacts: artifacts.len(),
        ..Summary::default()
    };
    for sev in Severity::ALL {
        s.by_severity.insert(sev, 0);
    }
    for a in artifacts {
        match a.kind {
            ArtifactKind::Weights => s.weights += 1,
            ArtifactKind::Envelope => s.envelopes += 1,
            ArtifactKind::Unreadable => {}
        }
        s.bytes_stored += a.size;
        s.bytes_read += a.bytes_read;
        for f in &a.findings {
            s.findings += 1;
            *s.by_severity.entry(f.severity).or_default() += 1;
            *s.by_rule.entry(f.rule.id().to_owned()).or_default() += 1;
        }
    }
    s
}
