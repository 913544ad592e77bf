//! A self-contained HTML report: inline CSS, inline SVG bar charts (findings by severity, and
//! by top-level location stacked by severity), and the findings table. No script, no external
//! resource, every value HTML-escaped, and every text from the store (paths, URIs, messages)
//! [escaped](crate::text::escape) first, so that a bidi override or a control character in a
//! name shows as `\u{202e}`, `\n`, never reorders or breaks what the reader sees.

use super::super::{AuditReport, Severity};
use super::bytes;
use crate::text::escape;
use std::fmt::Write as _;

/// Text for an HTML text node or a quoted attribute value.
fn esc(s: &str) -> String {
    escape(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn colour(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "#7f1d1d",
        Severity::High => "#dc2626",
        Severity::Medium => "#f59e0b",
        Severity::Low => "#3b82f6",
        Severity::Info => "#9ca3af",
    }
}

const BAR_W: f64 = 420.0;

/// Horizontal bars, one per severity.
fn severity_chart(report: &AuditReport) -> String {
    let counts: Vec<(Severity, usize)> = Severity::ALL
        .iter()
        .rev()
        .map(|s| (*s, report.summary.by_severity.get(s).copied().unwrap_or(0)))
        .collect();
    let max = counts.iter().map(|c| c.1).max().unwrap_or(0).max(1) as f64;
    let h = 26 * counts.len() + 10;
    let mut s = format!(
        r#"<svg role="img" aria-label="findings by severity" width="600" height="{h}" xmlns="http://www.w3.org/2000/svg">"#
    );
    for (i, (sev, n)) in counts.iter().enumerate() {
        let y = 5 + 26 * i;
        let w = (*n as f64 / max * BAR_W).round();
        let _ = write!(
            s,
            r#"<text x="0" y="{ty}" class="l">{name}</text><rect x="90" y="{y}" width="{w}" height="18" fill="{c}"><title>{name}: {n}</title></rect><text x="{tx}" y="{ty}" class="v">{n}</text>"#,
            ty = y + 14,
            name = sev.as_str(),
            c = colour(*sev),
            tx = 96.0 + w,
        );
    }
    s.push_str("</svg>");
    s
}

/// Horizontal bars per top-level location, stacked by severity.
fn location_chart(report: &AuditReport) -> String {
    let locs = report.by_location();
    if locs.is_empty() {
        return "<p>No findings.</p>".into();
    }
    let max = locs
        .iter()
        .map(|(_, m)| m.values().sum::<usize>())
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let h = 26 * locs.len() + 10;
    let mut s = format!(
        r#"<svg role="img" aria-label="findings by location" width="760" height="{h}" xmlns="http://www.w3.org/2000/svg">"#
    );
    for (i, (loc, m)) in locs.iter().enumerate() {
        let y = 5 + 26 * i;
        let name: String = loc.chars().take(28).collect();
        let _ = write!(
            s,
            r#"<text x="0" y="{}" class="l">{}</text>"#,
            y + 14,
            esc(&name)
        );
        let mut x = 230.0;
        for sev in Severity::ALL.iter().rev() {
            let n = m.get(sev).copied().unwrap_or(0);
            if n == 0 {
                continue;
            }
            let w = (n as f64 / max * BAR_W).max(1.0);
            let _ = write!(
                s,
                r#"<rect x="{x}" y="{y}" width="{w:.1}" height="18" fill="{}"><title>{}: {n} {}</title></rect>"#,
                colour(*sev),
                esc(loc),
                sev.as_str()
            );
            x += w;
        }
        let total: usize = m.values().sum();
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{}" class="v">{total}</text>"#,
            x + 6.0,
            y + 14
        );
    }
    s.push_str("</svg>");
    s
}

pub fn html(report: &AuditReport) -> String {
    let sm = &report.summary;
    let mut s = String::new();
    let title = format!("weightguard audit of {}", report.root);
    let _ = write!(
        s,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{t}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2rem;color:#111}}
h1{{font-size:1.4rem}} h2{{font-size:1.1rem;margin-top:2rem}}
table{{border-collapse:collapse;width:100%;font-size:.9rem}}
th,td{{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}}
th{{background:#f3f4f6}} td.num{{text-align:right}}
.sev{{color:#fff;border-radius:3px;padding:0 .4rem;font-size:.8rem}}
svg text{{font-size:12px}} svg .v{{fill:#333}}
code{{font-size:.85rem}}
</style></head><body>
<h1>{t}</h1>
<p>Policy <code>{policy}</code>, as of {as_of}{shard}. {n} artifacts ({w} weights, {e} envelopes), {stored} stored, {read} read. {f} findings.</p>
<h2>Findings by severity</h2>
{c1}
<h2>Findings by location</h2>
{c2}
<h2>Findings</h2>
<table><thead><tr><th>Severity</th><th>Rule</th><th>Path</th><th>Why</th><th>Bytes read</th></tr></thead><tbody>
"#,
        t = esc(&title),
        policy = esc(&report.policy),
        as_of = esc(&report.as_of),
        shard = report
            .shard
            .as_ref()
            .map_or(String::new(), |k| format!(", shard {}", esc(k))),
        n = sm.artifacts,
        w = sm.weights,
        e = sm.envelopes,
        stored = bytes(sm.bytes_stored),
        read = bytes(sm.bytes_read),
        f = sm.findings,
        c1 = severity_chart(report),
        c2 = location_chart(report),
    );
    let mut rows: Vec<_> = report
        .artifacts
        .iter()
        .flat_map(|a| a.findings.iter().map(move |f| (a, f)))
        .collect();
    rows.sort_by(|x, y| {
        y.1.severity
            .cmp(&x.1.severity)
            .then(x.0.path.cmp(&y.0.path))
    });
    for (a, f) in rows {
        let _ = writeln!(
            s,
            r#"<tr><td><span class="sev" style="background:{}">{}</span></td><td><code>{}</code></td><td><code title="{}">{}</code></td><td>{}</td><td class="num">{}</td></tr>"#,
            colour(f.severity),
            f.severity.as_str(),
            f.rule.id(),
            esc(&a.uri),
            esc(&a.path),
            esc(&f.message),
            a.bytes_read
        );
    }
    s.push_str("</tbody></table>\n</body></html>\n");
    s
}
