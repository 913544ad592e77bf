//! The version of every JSON object weightguard prints (`--json`, `audit --format json|jsonl`).
//!
//! Each top-level object and each JSON Lines record carries `schema_version` as its first key;
//! `docs/schema/` holds a JSON Schema per command's output. The version changes when a key is
//! removed, renamed or changes meaning; adding a key does not change it (readers must ignore keys
//! they do not know).

use serde::Serialize;

/// The current version of every output schema in `docs/schema/`.
pub const SCHEMA_VERSION: u32 = 1;

/// A value serialised as an object with `schema_version` first, then the value's own keys. The
/// value must serialise as a map (a struct or a JSON object).
#[derive(Debug, Serialize)]
pub struct Versioned<'a, T: ?Sized + Serialize> {
    schema_version: u32,
    #[serde(flatten)]
    value: &'a T,
}

/// `value` with `schema_version` added in front.
pub fn versioned<T: ?Sized + Serialize>(value: &T) -> Versioned<'_, T> {
    Versioned {
        schema_version: SCHEMA_VERSION,
        value,
    }
}

/// One line of JSON for `value`, with `schema_version`. Serialising plain values cannot fail;
/// the error is only for a value that is not a map.
pub fn to_line<T: ?Sized + Serialize>(value: &T) -> serde_json::Result<String> {
    serde_json::to_string(&versioned(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Inner {
        b: u8,
        a: &'static str,
    }

    #[test]
    fn schema_version_comes_first_and_keys_keep_their_order() {
        assert_eq!(
            to_line(&Inner { b: 1, a: "x" }).unwrap(),
            r#"{"schema_version":1,"b":1,"a":"x"}"#
        );
        assert!(to_line(&[1, 2]).is_err());
    }
}
