//! Printers of an [`AuditReport`]: a table for people, JSON and JSON Lines for pipelines, CSV,
//! SARIF 2.1.0 for code-scanning dashboards, and a self-contained HTML report.
//!
//! JSON Lines wire format: one [`ArtifactResult`] object per line, sorted by URI, and nothing
//! else — so shards' outputs concatenate, and `audit merge` reads them back.

mod html;
mod sarif;

pub use html::html;
pub use sarif::sarif;

use super::{ArtifactResult, AuditReport, Severity};
use std::fmt::Write as _;

/// Output formats of `weightguard audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Jsonl,
    Csv,
    Sarif,
    Html,
}

pub fn render(report: &AuditReport, format: OutputFormat) -> String {
    match format {
        OutputFormat::Table => table(report),
        OutputFormat::Json => {
            let mut s = serde_json::to_string_pretty(report).unwrap_or_default();
            s.push('\n');
            s
        }
        OutputFormat::Jsonl => jsonl(&report.artifacts),
        OutputFormat::Csv => csv(report),
        OutputFormat::Sarif => sarif(report),
        OutputFormat::Html => html(report),
    }
}

pub fn jsonl(artifacts: &[ArtifactResult]) -> String {
    let mut s = String::new();
    for a in artifacts {
        // Serialising plain values cannot fail.
        s.push_str(&serde_json::to_string(a).unwrap_or_default());
        s.push('\n');
    }
    s
}

/// Parses JSON Lines of artifact results (what `--format jsonl` writes); `origin` names the
/// input in errors.
pub fn parse_jsonl(origin: &str, text: &str) -> Result<Vec<ArtifactResult>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(line).map_err(|e| {
            format!(
                "{origin}:{}: not an audit result line (`--format jsonl`): {e}",
                i + 1
            )
        })?);
    }
    Ok(out)
}

/// `405.9 B`, `7.2 M`: a parameter count for people.
pub fn count(n: u64) -> String {
    let v = n as f64;
    for (div, unit) in [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")] {
        if v >= div {
            return format!("{:.1} {unit}", v / div);
        }
    }
    n.to_string()
}

/// `1.2 GiB`, `340 B`.
pub fn bytes(n: u64) -> String {
    let v = n as f64;
    for (div, unit) in [
        (1024f64.powi(5), "PiB"),
        (1024f64.powi(4), "TiB"),
        (1024f64.powi(3), "GiB"),
        (1024f64.powi(2), "MiB"),
        (1024.0, "KiB"),
    ] {
        if v >= div {
            return format!("{:.1} {unit}", v / div);
        }
    }
    format!("{n} B")
}

pub fn table(report: &AuditReport) -> String {
    let s0 = &report.summary;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "audit of {}{}: {} artifacts ({} weights, {} envelopes), {} stored, {} read",
        report.root,
        report
            .shard
            .as_ref()
            .map_or(String::new(), |k| format!(" (shard {k})")),
        s0.artifacts,
        s0.weights,
        s0.envelopes,
        bytes(s0.bytes_stored),
        bytes(s0.bytes_read)
    );
    let sev: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .map(|v| format!("{} {}", s0.by_severity.get(v).copied().unwrap_or(0), v))
        .collect();
    let _ = writeln!(s, "findings: {} ({})", s0.findings, sev.join(", "));
    let mut rows: Vec<(&ArtifactResult, &super::Finding)> = report
        .artifacts
        .iter()
        .flat_map(|a| a.findings.iter().map(move |f| (a, f)))
        .collect();
    rows.sort_by(|x, y| {
        y.1.severity
            .cmp(&x.1.severity)
            .then(x.0.path.cmp(&y.0.path))
    });
    if rows.is_empty() {
        return s;
    }
    let wpath = rows
        .iter()
        .map(|r| r.0.path.len())
        .max()
        .unwrap_or(4)
        .clamp(4, 60);
    let wrule = rows.iter().map(|r| r.1.rule.id().len()).max().unwrap_or(4);
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<8}  {:<wrule$}  {:<wpath$}  why",
        "SEVERITY", "RULE", "PATH"
    );
    for (a, f) in rows {
        let _ = writeln!(
            s,
            "{:<8}  {:<wrule$}  {:<wpath$}  {}",
            f.severity.as_str(),
            f.rule.id(),
            a.path,
            f.message
        );
    }
    s
}

fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_owned()
    }
}

/// One row per finding, with the artifact's facts; artifacts without findings get one row
/// with empty finding columns, so the CSV is also an inventory.
pub fn csv(report: &AuditReport) -> String {
    let mut s = String::from(
        "path,uri,kind,format,files,size,bytes_read,parameters,classification,tokens_to_threshold,severity,rule,message\n",
    );
    for a in &report.artifacts {
        let base = [
            a.path.clone(),
            a.uri.clone(),
            serde_json::to_value(a.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            a.format.clone().unwrap_or_default(),
            a.files.to_string(),
            a.size.to_string(),
            a.bytes_read.to_string(),
            a.parameters.map(|p| p.to_string()).unwrap_or_default(),
            a.classification.clone().unwrap_or_default(),
            a.tokens_to_threshold
                .map(|t| format!("{t:.4e}"))
                .unwrap_or_default(),
        ];
        let mut push = |sev: &str, rule: &str, msg: &str| {
            let fields: Vec<String> = base
                .iter()
                .map(String::as_str)
                .chain([sev, rule, msg])
                .map(csv_field)
                .collect();
            s.push_str(&fields.join(","));
            s.push('\n');
        };
        if a.findings.is_empty() {
            push("", "", "");
        }
        for f in &a.findings {
            push(f.severity.as_str(), f.rule.id(), &f.message);
        }
    }
    s
}
