//! ISO 3166-1 alpha-2 country codes, from `policies/countries.toml` (embedded at build time).
//!
//! Destinations, holder headquarters, group members and licence destinations are all checked
//! against this table: an unknown code is refused, never treated as "some other country".

use std::collections::BTreeMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("../../policies/countries.toml");

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    countries: BTreeMap<String, String>,
}

fn table() -> &'static BTreeMap<String, String> {
    static T: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    T.get_or_init(|| {
        // The table is part of the build and checked by a unit test below, so it parses.
        toml::from_str::<File>(TABLE)
            .map(|f| f.countries)
            .unwrap_or_default()
    })
}

/// The short name of a country code (`DE` → `Germany`).
pub fn name(code: &str) -> Option<&'static str> {
    table().get(code).map(String::as_str)
}

/// Checks a code as a user typed it: two letters, any case, in the table; returns it uppercased.
pub fn parse(s: &str) -> Result<String, String> {
    let code = s.trim().to_ascii_uppercase();
    if code.len() == 2 && name(&code).is_some() {
        Ok(code)
    } else {
        Err(format!(
            "`{s}` is not an ISO 3166-1 alpha-2 country code (e.g. DE, CN, MO, TW)"
        ))
    }
}

/// Every known code.
pub fn codes() -> impl Iterator<Item = &'static str> {
    table().keys().map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_complete_enough() {
        assert!(toml::from_str::<File>(TABLE).is_ok());
        assert_eq!(codes().count(), 249);
        assert_eq!(parse("de").unwrap(), "DE");
        assert_eq!(name("MO"), Some("Macao"));
        assert!(parse("XX").is_err());
        assert!(parse("DEU").is_err());
        assert!(codes().all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())));
    }
}
