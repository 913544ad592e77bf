//! JSON values that reject duplicate object keys.
//!
//! `serde_json` keeps the last of two equal keys, while other readers keep the first: a file can
//! then mean one thing to weightguard and another to the loader that uses it (the parser
//! differential TOB-SFTN-7 in the 2023 safetensors audit). Every JSON document weightguard reads
//! from a model (headers, shard indexes, configs) goes through this type instead.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::collections::HashSet;
use std::fmt;

/// A `serde_json::Value` whose objects had no duplicate keys in the source text.
pub struct StrictValue(pub Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate key `{key}`")));
            }
            let StrictValue(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// Rejects a second occurrence of `key` in an object being visited.
pub(crate) fn check_unique<E: de::Error>(seen: &mut HashSet<String>, key: &str) -> Result<(), E> {
    if seen.insert(key.to_owned()) {
        Ok(())
    } else {
        Err(E::custom(format_args!("duplicate key `{key}`")))
    }
}

/// Parses `bytes` as JSON with duplicate keys rejected; the error carries the byte offset.
pub fn parse(bytes: &[u8]) -> Result<Value, (u64, String)> {
    serde_json::from_slice::<StrictValue>(bytes)
        .map(|v| v.0)
        .map_err(|e| (error_offset(bytes, &e), e.to_string()))
}

/// Byte offset of a `serde_json` error inside `text`, from the line and column it reports.
pub fn error_offset(text: &[u8], err: &serde_json::Error) -> u64 {
    let (line, column) = (err.line(), err.column());
    if line == 0 {
        return 0;
    }
    let mut offset = 0usize;
    for (i, l) in text.split(|&b| b == b'\n').enumerate() {
        if i + 1 == line {
            return (offset + column.saturating_sub(1).min(l.len())) as u64;
        }
        offset += l.len() + 1;
    }
    text.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_rejected_at_any_depth() {
        assert!(parse(br#"{"a":1,"b":{"c":2}}"#).is_ok());
        let (_, msg) = parse(br#"{"a":1,"a":2}"#).unwrap_err();
        assert!(msg.contains("duplicate key `a`"), "{msg}");
        let (_, msg) = parse(br#"{"x":[{"c":1,"c":1}]}"#).unwrap_err();
        assert!(msg.contains("duplicate key `c`"), "{msg}");
    }

    #[test]
    fn offsets_point_into_the_text() {
        let text = b"{\n  \"a\": 1,\n  \"a\": 2\n}";
        let (offset, _) = parse(text).unwrap_err();
        assert!((12..text.len() as u64).contains(&offset), "{offset}");
    }
}
