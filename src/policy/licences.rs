//! The licences file: the export licences a holder has, for `gate --licenses FILE`.
//!
//! TOML, one `[[license]]` table per licence (format in `docs/policy-format.md`):
//!
//! ```toml
//! [[license]]
//! id = "D1234567"
//! destinations = ["IN", "AE"]       # ISO 3166-1 alpha-2 codes
//! models = ["acme-frontier-1"]      # model names as declared in the training record
//! holder_hq = "IN"                  # optional: only for a holder headquartered there
//! issued = 2026-03-01               # optional
//! expires = 2027-02-28              # valid through this day
//! ```
//!
//! A licence authorizes a transfer only when it names the destination and the model, matches
//! the holder's headquarters if it names one, and is valid on the evaluation date.

use super::countries;
use super::date::Date;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Largest licences file accepted.
pub const MAX_LICENCES_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Licence {
    pub id: String,
    pub destinations: Vec<String>,
    pub models: Vec<String>,
    pub holder_hq: Option<String>,
    /// The holder's name, for the reader (not checked).
    pub holder: Option<String>,
    pub issued: Option<Date>,
    /// Last day the licence is valid.
    pub expires: Date,
    pub note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default, rename = "license")]
    licences: Vec<toml::Spanned<Licence>>,
}

/// Why a licences file was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{origin}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct LicenceError {
    pub origin: String,
    pub line: Option<usize>,
    pub message: String,
}

/// Why a licence does or does not cover a transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fit {
    Covers,
    NotYetIssued,
    Expired,
    OtherDestination,
    OtherModel,
    OtherHolder,
}

impl Licence {
    /// Whether this licence covers sending one of `models` to `destination` for a holder
    /// headquartered in `holder_hq` on `date`.
    pub fn fit(&self, destination: &str, holder_hq: &str, models: &[String], date: Date) -> Fit {
        if !self.destinations.iter().any(|d| d == destination) {
            Fit::OtherDestination
        } else if !self.models.iter().any(|m| models.contains(m)) {
            Fit::OtherModel
        } else if self.holder_hq.as_deref().is_some_and(|h| h != holder_hq) {
            Fit::OtherHolder
        } else if self.issued.is_some_and(|i| date < i) {
            Fit::NotYetIssued
        } else if date > self.expires {
            Fit::Expired
        } else {
            Fit::Covers
        }
    }
}

/// Parses and validates a licences file; `origin` names it in errors.
pub fn parse(origin: &str, text: &str) -> Result<Vec<Licence>, LicenceError> {
    let fail = |line: Option<usize>, message: String| LicenceError {
        origin: origin.to_owned(),
        line,
        message,
    };
    let line_of = |offset: usize| {
        text.as_bytes()[..offset.min(text.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    };
    if text.len() > MAX_LICENCES_BYTES {
        return Err(fail(
            None,
            format!(
                "{} bytes, over the limit of {MAX_LICENCES_BYTES}",
                text.len()
            ),
        ));
    }
    let f: File = toml::from_str(text).map_err(|e| {
        fail(
            e.span().map(|s| line_of(s.start)),
            e.message().trim_end().replace('\n', " "),
        )
    })?;
    let mut ids = HashSet::new();
    let mut out = Vec::new();
    for l in f.licences {
        let line = Some(line_of(l.span().start));
        let l = l.into_inner();
        if l.id.trim().is_empty() {
            return Err(fail(line, "license: `id` is empty".into()));
        }
        // The id is signed into an envelope's claims (`license:<id>`): printable text only.
        crate::text::printable(&l.id).map_err(|e| fail(line, format!("license: `id` {e}")))?;
        let at = format!("license `{}`", l.id);
        if !ids.insert(l.id.clone()) {
            return Err(fail(line, format!("{at}: a second licence has this id")));
        }
        if l.destinations.is_empty() || l.models.is_empty() {
            return Err(fail(
                line,
                format!("{at}: `destinations` and `models` must each name at least one"),
            ));
        }
        for c in l.destinations.iter().chain(&l.holder_hq) {
            if countries::name(c).is_none() {
                return Err(fail(
                    line,
                    format!("{at}: `{c}` is not an ISO 3166-1 alpha-2 code (uppercase, e.g. DE)"),
                ));
            }
        }
        if let Some(i) = l.issued
            && i > l.expires
        {
            return Err(fail(
                line,
                format!("{at}: issued {i} after it expires {}", l.expires),
            ));
        }
        out.push(l);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn licences_parse_and_fail_with_lines() {
        let ok = parse(
            "l.toml",
            "[[license]]\nid='A'\ndestinations=['IN']\nmodels=['m']\nexpires=2026-12-31\n",
        )
        .unwrap();
        let d = |s| Date::parse(s).unwrap();
        let m = vec!["m".to_owned()];
        assert_eq!(ok[0].fit("IN", "IN", &m, d("2026-12-31")), Fit::Covers);
        assert_eq!(ok[0].fit("IN", "IN", &m, d("2027-01-01")), Fit::Expired);
        assert_eq!(
            ok[0].fit("AE", "IN", &m, d("2026-01-01")),
            Fit::OtherDestination
        );
        assert_eq!(
            ok[0].fit("IN", "IN", &["x".into()], d("2026-01-01")),
            Fit::OtherModel
        );
        let e = parse(
            "l.toml",
            "\n[[license]]\nid='A'\ndestinations=['XX']\nmodels=['m']\nexpires=2026-12-31\n",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.to_string().starts_with("l.toml:2: "), "{e}");
        let e = parse(
            "l.toml",
            "[[license]]\nid='A'\ndestinations=['IN']\nmodels=['m']\nexpire=2026-12-31\n",
        )
        .unwrap_err();
        assert!(e.message.contains("expire"), "{e}");
        assert!(e.line.is_some());
    }
}
