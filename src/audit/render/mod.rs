//! Printers of an [`AuditReport`]: a table for people, JSON and JSON Lines for pipelines, CSV,
//! SARIF 2.1.0 for code-scanning dashboards, and a self-contained HTML report.
//!
//! JSON Lines wire format: one [`ArtifactResult`] object per line (with `schema_version`, see
//! [`crate::schema`]), sorted by URI, and nothing else — so shards' outputs concatenate, and `audit merge` reads them back.

mod html;
mod sarif;

pub use html::html;
pub use sarif::sarif;

use super::{ArtifactResult, AuditReport, Severity};
use crate::text::escape;
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
            let mut s =
                serde_json::to_string_pretty(&crate::schema::versioned(report)).unwrap_or_default();
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
        s.push_str(&crate::schema::to_line(a).unwrap_or_default());
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

/// Counts and sizes read as in every other command's output ([`crate::units`]).
pub use crate::units::{bytes, count};

/// The table for people. Every cell and the heading are [escaped](crate::text::escape): a path,
/// key or message holding a newline, an escape sequence or a bidi override cannot add a row,
/// recolour the screen or reorder what is shown.
pub fn table(report: &AuditReport) -> String {
    let s0 = &report.summary;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "audit of {}{}: {} artifacts ({} weights, {} envelopes), {} stored, {} read",
        escape(&report.root),
        report
            .shard
            .as_ref()
            .map_or(String::new(), |k| format!(" (shard {})", escape(k))),
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
    let rows: Vec<[String; 4]> = rows
        .into_iter()
        .map(|(a, f)| {
            [
                f.severity.as_str(),
                f.rule.id(),
                a.path.as_str(),
                f.message.as_str(),
            ]
            .map(|cell| escape(cell).into_owned())
        })
        .collect();
    let width = |col: usize, min: usize, max: usize| {
        rows.iter()
            .map(|r| r[col].chars().count())
            .max()
            .unwrap_or(min)
            .clamp(min, max)
    };
    let wrule = width(1, 4, usize::MAX);
    let wpath = width(2, 4, 60);
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<8}  {:<wrule$}  {:<wpath$}  why",
        "SEVERITY", "RULE", "PATH"
    );
    for [severity, rule, path, message] in rows {
        let _ = writeln!(
            s,
            "{severity:<8}  {rule:<wrule$}  {path:<wpath$}  {message}"
        );
    }
    s
}

/// A CSV cell: text a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab
/// or CR) gets a leading `'` (OWASP's advice), and a cell holding a comma, quote, CR or newline
/// is quoted with its quotes doubled. Numbers we wrote are never neutralised.
fn csv_text(v: &str) -> String {
    if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        csv_field(&format!("'{v}"))
    } else {
        csv_field(v)
    }
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
        let kind = serde_json::to_value(a.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let base = [
            csv_text(&a.path),
            csv_text(&a.uri),
            csv_text(&kind),
            csv_text(a.format.as_deref().unwrap_or_default()),
            a.files.to_string(),
            a.size.to_string(),
            a.bytes_read.to_string(),
            a.parameters.map(|p| p.to_string()).unwrap_or_default(),
            csv_text(a.classification.as_deref().unwrap_or_default()),
            a.tokens_to_threshold
                .map(|t| format!("{t:.4e}"))
                .unwrap_or_default(),
        ];
        let mut push = |sev: &str, rule: &str, msg: &str| {
            let fields: Vec<String> = base
                .iter()
                .cloned()
                .chain([sev, rule, msg].map(csv_text))
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
