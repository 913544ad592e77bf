//! Lineage a model's own files suggest: the Hugging Face model card's YAML front matter
//! (`README.md`: `base_model`, `base_model_relation`, `license`) and `config.json`'s
//! `_name_or_path`.
//!
//! These are **suggested** facts, never declared ones: whoever uploaded the weights wrote them,
//! nobody vouches for them, and a card is copied from model to model. They are shown beside a
//! decision and in the hint of a `needs_review`, so that a reviewer knows which declaration would
//! settle it; they never reach the policy engine and never change a decision.
//!
//! The reader is small and strict on purpose (no YAML crate): it reads at most
//! [`MAX_CARD_BYTES`] from the start of the card, stops at the closing `---`, reads three
//! top-level keys and skips every other one. A value it does not understand (an anchor, a tag, a
//! block scalar, a nested mapping, an escape sequence) is a warning and the key is left out; a
//! front matter that is not closed, not UTF-8 or not a mapping gives a warning and no facts.
//! Nothing here is ever an error: a broken card must not block a decision.

use super::read::MeteredFile;
use super::tree::Tree;
use super::{ArtifactError, ModelConfig};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Most bytes of `README.md` read: the front matter must close within them. Real front matter
/// is a few hundred bytes to a few KiB (long `datasets`, `language` or `model-index` lists).
pub const MAX_CARD_BYTES: u64 = 64 * 1024;
/// Most names read from one list (`base_model`); a merge names a handful.
pub const MAX_CARD_LIST_ITEMS: usize = 16;
/// Longest value read (a model id, a licence id, `_name_or_path`).
pub const MAX_CARD_STRING_BYTES: usize = 256;

/// The front matter is read in steps of this many bytes, so a card costs its front matter.
const CARD_READ_STEP: usize = 4096;

/// The keys read, as they appear in the files.
pub const KEY_BASE_MODEL: &str = "base_model";
pub const KEY_RELATION: &str = "base_model_relation";
pub const KEY_LICENSE: &str = "license";
pub const KEY_NAME_OR_PATH: &str = "_name_or_path";

/// How a model card says the weights came from their base (`base_model_relation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Finetune,
    Quantized,
    Merge,
    Adapter,
}

impl Relation {
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Finetune => "finetune",
            Relation::Quantized => "quantized",
            Relation::Merge => "merge",
            Relation::Adapter => "adapter",
        }
    }

    fn parse(s: &str) -> Option<Relation> {
        Some(match s {
            "finetune" => Relation::Finetune,
            "quantized" => Relation::Quantized,
            "merge" => Relation::Merge,
            "adapter" => Relation::Adapter,
            _ => return None,
        })
    }
}

/// What a card's front matter says, before it is tied to a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardFacts {
    pub base_models: Vec<String>,
    pub relation: Option<Relation>,
    pub license: Option<String>,
    /// Why something was not read (`line 3: …`).
    pub warnings: Vec<String>,
}

/// One suggested fact: its value and where it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuggestedFact {
    /// The key as written in the file: `base_model`, `base_model_relation`, `license`,
    /// `_name_or_path`.
    pub key: String,
    pub value: String,
    /// The file it was read from, as shown (`m/README.md`, `m/config.json`).
    pub source: String,
}

/// What the model's own files suggest about its lineage (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestions {
    /// In the order read: the card's keys, then `config.json`'s.
    pub facts: Vec<SuggestedFact>,
    /// What could not be read, with the file (`m/README.md: line 4: …`).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// For a decision that needs review: the declaration that would settle it, if the suggested
    /// base is what it seems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Suggestions {
    pub fn is_empty(&self) -> bool {
        self.facts.is_empty() && self.warnings.is_empty()
    }

    fn values(&self, key: &str) -> impl Iterator<Item = &SuggestedFact> {
        self.facts.iter().filter(move |f| f.key == key)
    }

    /// This value with the review hint set: call it for a `needs_review` decision.
    pub fn for_review(&self) -> Suggestions {
        Suggestions {
            hint: self.declare_hint(),
            ..self.clone()
        }
    }

    /// "the model card names X as its base (finetune); if that base is published, declare it:
    /// …". `None` when no base is suggested (a `_name_or_path` that is a local path is not one).
    pub fn declare_hint(&self) -> Option<String> {
        let bases: Vec<&SuggestedFact> = self.values(KEY_BASE_MODEL).collect();
        let relation = self
            .values(KEY_RELATION)
            .next()
            .and_then(|f| Relation::parse(&f.value));
        let own = match relation {
            Some(Relation::Quantized) => "; a quantization adds no training stage of its own",
            Some(Relation::Merge) => "",
            _ => ", and this model's own training as a [[stage]]",
        };
        let declare = |name: &str| {
            format!(
                "a training record with [base_model] name = \"{name}\", published = true, operations = … (its training operations){own}"
            )
        };
        let rel = relation.map_or(String::new(), |r| format!(" ({})", r.as_str()));
        match bases.as_slice() {
            [] => {
                let f = self.values(KEY_NAME_OR_PATH).next()?;
                is_hub_id(&f.value, true).then(|| {
                    format!(
                        "{} (`_name_or_path`) names {}, the checkpoint it was saved from (often its base); if that is its base and it is published, declare it: {}",
                        f.source,
                        f.value,
                        declare(&f.value)
                    )
                })
            }
            [one] => Some(format!(
                "the model card names {} as its base{rel}; if that base is published, declare it: {}",
                one.value,
                declare(&one.value)
            )),
            many => {
                let names: Vec<&str> = many.iter().map(|f| f.value.as_str()).collect();
                Some(format!(
                    "the model card names {} as its bases{rel}; a training record declares one [base_model]: if they are published, declare the one with the most training operations ({}), and have the others reviewed",
                    names.join(", "),
                    declare(names[0])
                ))
            }
        }
    }
}

/// Reads what `dir/README.md` (if `tree` holds it) and `config` (with the path it was read
/// from) suggest. Never fails: what cannot be read is a warning.
pub fn suggest(
    tree: &dyn Tree,
    dir: Option<&Path>,
    config: Option<(&ModelConfig, &Path)>,
) -> Suggestions {
    let mut s = Suggestions::default();
    if let Some(dir) = dir {
        let card = dir.join("README.md");
        if tree.is_file(&card) {
            let source = card.display().to_string();
            match MeteredFile::open_in(tree, &card).and_then(|mut f| read_front_matter(&mut f)) {
                Ok((bytes, whole)) => {
                    let facts = parse_front_matter(&bytes, whole);
                    let mut push = |key: &str, value: &str| {
                        s.facts.push(SuggestedFact {
                            key: key.into(),
                            value: value.into(),
                            source: source.clone(),
                        })
                    };
                    for b in &facts.base_models {
                        push(KEY_BASE_MODEL, b);
                    }
                    if let Some(r) = facts.relation {
                        push(KEY_RELATION, r.as_str());
                    }
                    if let Some(l) = &facts.license {
                        push(KEY_LICENSE, l);
                    }
                    s.warnings
                        .extend(facts.warnings.iter().map(|w| format!("{source}: {w}")));
                }
                Err(e) => s.warnings.push(format!("model card not read: {e}")),
            }
        }
    }
    if let Some((config, path)) = config {
        let source = path.display().to_string();
        match name_or_path(config) {
            Ok(Some(v)) => s.facts.push(SuggestedFact {
                key: KEY_NAME_OR_PATH.into(),
                value: v,
                source,
            }),
            Ok(None) => {}
            Err(w) => s.warnings.push(format!("{source}: {w}")),
        }
    }
    s
}

/// `_name_or_path` of a config: a string of at most [`MAX_CARD_STRING_BYTES`] with nothing a
/// terminal would act on; absent, `null` or empty is `None`.
pub fn name_or_path(config: &ModelConfig) -> Result<Option<String>, String> {
    match config.raw.get(KEY_NAME_OR_PATH) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) if s.is_empty() => Ok(None),
        Some(serde_json::Value::String(s)) => {
            if s.len() > MAX_CARD_STRING_BYTES {
                Err(format!(
                    "`{KEY_NAME_OR_PATH}` is {} bytes, over the limit of {MAX_CARD_STRING_BYTES}: not read",
                    s.len()
                ))
            } else if s.chars().any(crate::text::is_unsafe) {
                Err(format!(
                    "`{KEY_NAME_OR_PATH}` holds control or bidirectional characters: not read"
                ))
            } else {
                Ok(Some(s.clone()))
            }
        }
        Some(_) => Err(format!("`{KEY_NAME_OR_PATH}` is not a string: not read")),
    }
}

/// The start of a card, up to and including its closing `---` line, read in steps and never
/// past [`MAX_CARD_BYTES`]; and whether the bytes returned are the whole file. A card that does
/// not start with `---` costs one step.
pub fn read_front_matter(f: &mut MeteredFile) -> Result<(Vec<u8>, bool), ArtifactError> {
    let len = f.len();
    let cap = len.min(MAX_CARD_BYTES);
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let have = buf.len() as u64;
        // Bounded by MAX_CARD_BYTES, so the cast is exact.
        let want = (cap - have).min(CARD_READ_STEP as u64) as usize;
        if want == 0 {
            return Ok((buf, have == len));
        }
        buf.resize(buf.len() + want, 0);
        f.read_exact_at(have, &mut buf[have as usize..])?;
        let whole = buf.len() as u64 == len;
        match opening(&buf) {
            Opening::NotYet if !whole => continue,
            Opening::NotYet | Opening::No => return Ok((buf, whole)),
            Opening::Yes(body) => {
                if let Some((_, end)) = closing(&buf, body, whole) {
                    buf.truncate(end);
                    return Ok((buf, whole && end == len as usize));
                }
            }
        }
    }
}

enum Opening {
    /// Too few bytes to tell.
    NotYet,
    No,
    /// The body starts at this offset.
    Yes(usize),
}

/// Whether `buf` starts with a `---` line (after an optional UTF-8 byte order mark).
fn opening(buf: &[u8]) -> Opening {
    let start = if buf.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let Some(nl) = buf[start..].iter().position(|&b| b == b'\n') else {
        return if buf.len() - start < 3 || buf[start..].starts_with(b"---") {
            Opening::NotYet
        } else {
            Opening::No
        };
    };
    let line = trim_end(&buf[start..start + nl]);
    if line == b"---" {
        Opening::Yes(start + nl + 1)
    } else {
        Opening::No
    }
}

/// Where the closing `---` (or `...`) line starts and the offset just past it, if `buf` holds
/// it. A last line without a newline counts only when `buf` is the whole file.
fn closing(buf: &[u8], body: usize, whole: bool) -> Option<(usize, usize)> {
    let mut at = body;
    while at < buf.len() {
        let (line, next) = match buf[at..].iter().position(|&b| b == b'\n') {
            Some(nl) => (&buf[at..at + nl], at + nl + 1),
            None if whole => (&buf[at..], buf.len()),
            None => return None,
        };
        let line = trim_end(line);
        if line == b"---" || line == b"..." {
            return Some((at, next));
        }
        at = next;
    }
    None
}

fn trim_end(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\r' | b' ' | b'\t') {
        end -= 1;
    }
    &line[..end]
}

/// The keys read: which one a line belongs to while a block list may follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Base,
    Relation,
    License,
}

impl Key {
    fn name(self) -> &'static str {
        match self {
            Key::Base => KEY_BASE_MODEL,
            Key::Relation => KEY_RELATION,
            Key::License => KEY_LICENSE,
        }
    }
}

/// A key's value as read so far.
#[derive(Debug, Default)]
struct Slot {
    seen: bool,
    /// A warning was given: the key is left out.
    rejected: bool,
    items: Vec<String>,
}

/// Parses a card's start as read by [`read_front_matter`]. A card without front matter gives
/// nothing and no warning; everything else that cannot be read gives a warning.
pub fn parse_front_matter(bytes: &[u8], whole: bool) -> CardFacts {
    let mut out = CardFacts::default();
    let body = match opening(bytes) {
        Opening::Yes(b) => b,
        Opening::No | Opening::NotYet => return out,
    };
    let Some((end, _)) = closing(bytes, body, whole) else {
        out.warnings.push(if whole {
            "the front matter has no closing `---` line: not read".to_owned()
        } else {
            format!(
                "the front matter does not close within the first {MAX_CARD_BYTES} bytes: not read"
            )
        });
        return out;
    };
    let Ok(text) = std::str::from_utf8(&bytes[body..end]) else {
        out.warnings
            .push("the front matter is not UTF-8 text: not read".to_owned());
        return out;
    };
    let first_line = bytes[..body].iter().filter(|&&b| b == b'\n').count() + 1;
    let mut slots: [Slot; 3] = Default::default();
    let mut current: Option<Key> = None;
    // `text` ends with the newline before the closing line: the last piece is empty.
    for (i, raw) in text.split_terminator('\n').enumerate() {
        let n = first_line + i;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = line.trim_start_matches([' ', '\t']);
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let at_col0 = trimmed.len() == line.len();
        if !at_col0 || line.starts_with('-') {
            // Inside the value of the key above: only a block list of one of ours is read.
            let Some(key) = current else { continue };
            let slot = &mut slots[key as usize];
            if slot.rejected {
                continue;
            }
            let item = trimmed
                .strip_prefix("- ")
                .or_else(|| (trimmed == "-").then_some(""));
            let problem = match item {
                _ if line.starts_with('\t') => Some("indented with a tab".to_owned()),
                None => Some("holds something other than a list of names".to_owned()),
                Some(_) if key != Key::Base => Some("is a list; one value is expected".to_owned()),
                Some(_) if slot.items.len() >= MAX_CARD_LIST_ITEMS => Some(format!(
                    "lists more than {MAX_CARD_LIST_ITEMS} names, over the limit"
                )),
                Some(v) => match scalar(v) {
                    Ok(Some(v)) => {
                        slot.items.push(v);
                        None
                    }
                    Ok(None) => None,
                    Err(e) => Some(e),
                },
            };
            if let Some(p) = problem {
                reject(&mut out, slot, key, n, &p);
            }
            continue;
        }
        // A top-level `key: value` line.
        current = None;
        let Some((key, rest)) = split_key(line) else {
            out.warnings.push(format!(
                "line {n}: neither `key: value` nor a list item: the front matter is malformed, not read"
            ));
            return CardFacts {
                warnings: out.warnings,
                ..CardFacts::default()
            };
        };
        let key = match key.as_str() {
            KEY_BASE_MODEL => Key::Base,
            KEY_RELATION => Key::Relation,
            KEY_LICENSE => Key::License,
            _ => continue,
        };
        let slot = &mut slots[key as usize];
        if slot.seen {
            // One warning per key, however often it repeats: the warnings stay bounded.
            if !slot.rejected {
                reject(&mut out, slot, key, n, "appears a second time");
            }
            continue;
        }
        slot.seen = true;
        let rest = rest.trim();
        if rest.is_empty() || rest.starts_with('#') {
            current = Some(key);
            continue;
        }
        let read = if rest.starts_with('[') {
            if key == Key::Base {
                flow_list(rest)
            } else {
                Err("is a list; one value is expected".to_owned())
            }
        } else {
            scalar(rest).map(|v| v.into_iter().collect())
        };
        match read {
            Ok(items) => slot.items = items,
            Err(e) => reject(&mut out, slot, key, n, &e),
        }
    }
    for key in [Key::Base, Key::Relation, Key::License] {
        let slot = &mut slots[key as usize];
        if slot.rejected {
            continue;
        }
        let items = std::mem::take(&mut slot.items);
        let mut good = Vec::new();
        for v in items {
            let ok = match key {
                Key::Base => is_hub_id(&v, false),
                Key::License => is_licence_id(&v),
                Key::Relation => Relation::parse(&v).is_some(),
            };
            if ok {
                good.push(v);
            } else {
                let expected = match key {
                    Key::Base => "a Hugging Face model id (`org/name`)",
                    Key::License => "a licence id (letters, digits, `.`, `_`, `+`, `-`)",
                    Key::Relation => "finetune, quantized, merge or adapter",
                };
                out.warnings.push(format!(
                    "`{}`: `{}` is not {expected}: not read",
                    key.name(),
                    crate::text::escape(&v)
                ));
            }
        }
        match key {
            Key::Base => out.base_models = good,
            Key::Relation => out.relation = good.first().and_then(|v| Relation::parse(v)),
            Key::License => out.license = good.into_iter().next(),
        }
    }
    out
}

fn reject(out: &mut CardFacts, slot: &mut Slot, key: Key, line: usize, why: &str) {
    slot.rejected = true;
    slot.items.clear();
    out.warnings
        .push(format!("line {line}: `{}` {why}: not read", key.name()));
}

/// `key: rest` at the start of a line, the key plain or quoted.
fn split_key(line: &str) -> Option<(String, &str)> {
    if let Some(q @ ('"' | '\'')) = line.chars().next() {
        let close = line[1..].find(q)? + 1;
        let rest = line[close + 1..]
            .trim_start_matches(' ')
            .strip_prefix(':')?;
        return (rest.is_empty() || rest.starts_with([' ', '\t']))
            .then(|| (line[1..close].to_owned(), rest));
    }
    let mut from = 0;
    while let Some(c) = line[from..].find(':') {
        let at = from + c;
        let rest = &line[at + 1..];
        if rest.is_empty() || rest.starts_with([' ', '\t']) {
            return Some((line[..at].trim_end().to_owned(), rest));
        }
        from = at + 1;
    }
    None
}

/// One scalar on one line: plain, 'single-quoted' or "double-quoted" (without escapes), a
/// trailing comment allowed. `null`, `~` and nothing are `None`. Anything else YAML allows here
/// (anchors, aliases, tags, block scalars, mappings) is refused.
fn scalar(s: &str) -> Result<Option<String>, String> {
    let s = s.trim();
    let value = match s.chars().next() {
        None => return Ok(None),
        Some('"') => {
            let close = s[1..]
                .find('"')
                .ok_or("has a quoted value that does not close on its line")?
                + 1;
            let inner = &s[1..close];
            if inner.contains('\\') {
                return Err("has an escape sequence (not read by this reader)".into());
            }
            after_quote(&s[close + 1..])?;
            inner.to_owned()
        }
        Some('\'') => {
            let mut v = String::new();
            let mut rest = &s[1..];
            loop {
                let q = rest
                    .find('\'')
                    .ok_or("has a quoted value that does not close on its line")?;
                v.push_str(&rest[..q]);
                if rest[q + 1..].starts_with('\'') {
                    v.push('\'');
                    rest = &rest[q + 2..];
                } else {
                    after_quote(&rest[q + 1..])?;
                    break;
                }
            }
            v
        }
        Some('&' | '*' | '!' | '|' | '>' | '{' | '[' | '@' | '`' | '%' | '?' | ',') => {
            return Err(format!(
                "has a YAML construct this reader does not read (`{}`)",
                crate::text::escape(&s[..s.len().min(1)])
            ));
        }
        Some(_) => {
            let v = match s.find(" #") {
                Some(c) => s[..c].trim_end(),
                None => s,
            };
            if v.contains(": ") || v.ends_with(':') {
                return Err("holds a mapping, not a name".into());
            }
            if matches!(v, "null" | "Null" | "NULL" | "~") {
                return Ok(None);
            }
            v.to_owned()
        }
    };
    if value.len() > MAX_CARD_STRING_BYTES {
        return Err(format!(
            "has a value of {} bytes, over the limit of {MAX_CARD_STRING_BYTES}",
            value.len()
        ));
    }
    if value.chars().any(crate::text::is_unsafe) {
        return Err("has control or bidirectional characters".into());
    }
    Ok((!value.is_empty()).then_some(value))
}

fn after_quote(rest: &str) -> Result<(), String> {
    let rest = rest.trim_start();
    if rest.is_empty() || rest.starts_with('#') {
        Ok(())
    } else {
        Err("has text after a quoted value".into())
    }
}

/// `[a, "b", 'c']` on one line.
fn flow_list(s: &str) -> Result<Vec<String>, String> {
    let close = s
        .rfind(']')
        .ok_or("has a list that does not close on its line")?;
    after_quote(&s[close + 1..])?;
    let inner = s[1..close].trim();
    if inner.is_empty() {
        return Ok(vec![]);
    }
    let mut items = Vec::new();
    let mut rest = inner;
    loop {
        rest = rest.trim_start();
        // An item ends at the first comma outside quotes.
        let end = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let close = rest[1..]
                    .find(q)
                    .ok_or("has a quoted value that does not close on its line")?
                    + 1;
                rest[close + 1..].find(',').map(|c| close + 1 + c)
            }
            _ => rest.find(','),
        };
        let (item, next) = match end {
            Some(c) => (&rest[..c], Some(&rest[c + 1..])),
            None => (rest, None),
        };
        if items.len() >= MAX_CARD_LIST_ITEMS {
            return Err(format!(
                "lists more than {MAX_CARD_LIST_ITEMS} names, over the limit"
            ));
        }
        if item.trim().starts_with(['[', '{']) {
            return Err("has a nested list or mapping".into());
        }
        match scalar(item)? {
            Some(v) => items.push(v),
            // A trailing comma ends the list; an empty item elsewhere is an error.
            None if next.is_none() && !items.is_empty() => {}
            None => return Err("has an empty list item".into()),
        }
        match next {
            Some(n) => rest = n,
            None => return Ok(items),
        }
    }
}

/// A Hugging Face model id: `name` or `org/name`, each part letters, digits, `.`, `_`, `-`, not
/// starting with `.` or `-`. With `two_parts`, only `org/name` (a bare name in `_name_or_path`
/// is as likely a local directory).
pub fn is_hub_id(s: &str, two_parts: bool) -> bool {
    let parts: Vec<&str> = s.split('/').collect();
    let good = |p: &&str| {
        !p.is_empty()
            && !p.starts_with(['.', '-'])
            && !p.contains("..")
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    let n_ok = if two_parts {
        parts.len() == 2
    } else {
        parts.len() <= 2
    };
    n_ok && s.len() <= MAX_CARD_STRING_BYTES && parts.iter().all(good)
}

fn is_licence_id(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> CardFacts {
        parse_front_matter(s.as_bytes(), true)
    }

    fn warned(f: &CardFacts, what: &str) -> bool {
        f.warnings.iter().any(|w| w.contains(what))
    }

    #[test]
    fn reads_a_real_looking_card() {
        let f = parse(
            "---\nlicense: llama3.1 # the base's licence\nlanguage:\n- en\n- de\nbase_model: meta-llama/Llama-3.1-8B\nbase_model_relation: finetune\ntags:\n  - text-generation\nmodel-index:\n- name: x\n  results: []\n---\n\n# My model\n\nbase_model: not/this\n",
        );
        assert_eq!(f.base_models, ["meta-llama/Llama-3.1-8B"]);
        assert_eq!(f.relation, Some(Relation::Finetune));
        assert_eq!(f.license.as_deref(), Some("llama3.1"));
        assert!(f.warnings.is_empty(), "{:?}", f.warnings);
    }

    #[test]
    fn lists_quotes_crlf_and_a_byte_order_mark() {
        let f = parse(
            "\u{feff}---\r\nbase_model:\r\n  - 'mistralai/Mistral-7B-v0.1'\r\n  - \"Qwen/Qwen2.5-7B\"\r\nbase_model_relation: 'merge'\r\n...\r\n",
        );
        assert_eq!(
            f.base_models,
            ["mistralai/Mistral-7B-v0.1", "Qwen/Qwen2.5-7B"]
        );
        assert_eq!(f.relation, Some(Relation::Merge));
        let f = parse("---\nbase_model: [a/b, \"c/d\", 'e/f',]\n\"license\": apache-2.0\n---");
        assert_eq!(f.base_models, ["a/b", "c/d", "e/f"]);
        assert_eq!(f.license.as_deref(), Some("apache-2.0"));
        assert!(f.warnings.is_empty(), "{:?}", f.warnings);
        let f = parse("---\nbase_model: gpt2\nlicense: null\nbase_model_relation: ~\n---\n");
        assert_eq!(f.base_models, ["gpt2"]);
        assert_eq!((f.license, f.relation), (None, None));
    }

    #[test]
    fn no_front_matter_is_nothing_and_no_warning() {
        for s in [
            "# Model\nbase_model: a/b\n",
            "",
            "--",
            " ---\nbase_model: a/b\n---\n",
        ] {
            let f = parse(s);
            assert_eq!(f, CardFacts::default(), "{s:?}");
        }
    }

    #[test]
    fn malformed_front_matter_is_a_warning_and_no_facts() {
        let cases = [
            ("---\nbase_model: a/b\n", "no closing"),
            (
                "---\nbase_model: a/b\nthis is prose\n---\n",
                "line 3: neither",
            ),
        ];
        for (s, want) in cases {
            let f = parse(s);
            assert!(f.base_models.is_empty(), "{s:?}");
            assert!(warned(&f, want), "{s:?}: {:?}", f.warnings);
        }
        let f = parse_front_matter(b"---\nbase_model: a/b\n", false);
        assert!(warned(&f, "does not close within the first 65536 bytes"));
        let f = parse_front_matter(b"---\nlicense: \xff\n---\n", true);
        assert!(warned(&f, "not UTF-8"), "{:?}", f.warnings);
    }

    #[test]
    fn hostile_values_leave_their_key_out() {
        let long = "a".repeat(MAX_CARD_STRING_BYTES + 1);
        let many: Vec<String> = (0..=MAX_CARD_LIST_ITEMS)
            .map(|i| format!("o/m{i}"))
            .collect();
        let cases = [
            (
                "base_model: a/b\nbase_model: c/d",
                "line 3: `base_model` appears a second time",
            ),
            ("base_model: &x a/b", "YAML construct"),
            ("base_model: *x", "YAML construct"),
            ("base_model: !!str a/b", "YAML construct"),
            ("base_model: |\n  a/b", "YAML construct"),
            ("base_model: {a: b}", "YAML construct"),
            ("base_model:\n  name: a/b", "other than a list"),
            ("base_model:\n- name: a/b", "holds a mapping"),
            ("base_model:\n\t- a/b", "tab"),
            ("base_model: \"a\\u001b[31m/b\"", "escape sequence"),
            ("base_model: 'a/b", "does not close"),
            ("base_model: [a/b, [c/d]]", "nested"),
            ("base_model: [a/b", "does not close"),
            ("base_model: ../../etc", "not a Hugging Face model id"),
            ("base_model: a/b/c", "not a Hugging Face model id"),
            ("base_model: 'a\u{202e}b'", "bidirectional"),
            ("base_model: \"a/b\" trailing", "text after"),
            ("base_model_relation: distilled", "not finetune, quantized"),
            ("base_model_relation:\n- finetune", "one value is expected"),
            ("license: [mit, apache-2.0]", "one value is expected"),
            ("license: \"<script>\"", "not a licence id"),
        ];
        for (body, want) in cases {
            let f = parse(&format!("---\n{body}\n---\n"));
            assert_eq!(
                (f.base_models.len(), f.relation, &f.license),
                (0, None, &None),
                "{body:?}"
            );
            assert!(warned(&f, want), "{body:?}: {:?}", f.warnings);
        }
        let f = parse(&format!("---\n{}---\n", "base_model: a/b\n".repeat(10_000)));
        assert_eq!(
            f.warnings.len(),
            1,
            "one warning per key: {:?}",
            &f.warnings[..2]
        );
        let f = parse(&format!("---\nbase_model: {long}\n---\n"));
        assert!(warned(&f, "over the limit of 256"), "{:?}", f.warnings);
        let f = parse(&format!("---\nbase_model: [{}]\n---\n", many.join(", ")));
        assert!(warned(&f, "more than 16 names"), "{:?}", f.warnings);
        let block: String = many.iter().map(|m| format!("- {m}\n")).collect();
        let f = parse(&format!("---\nbase_model:\n{block}license: mit\n---\n"));
        assert!(f.base_models.is_empty() && warned(&f, "more than 16 names"));
        assert_eq!(f.license.as_deref(), Some("mit"), "other keys still read");
    }

    #[test]
    fn reads_stop_at_the_closing_line_and_the_cap() {
        let mut card = b"---\nbase_model: a/b\n---\n".to_vec();
        card.extend(vec![b'x'; 1 << 20]);
        let mut f = MeteredFile::from_bytes(Path::new("README.md"), card);
        let (bytes, whole) = read_front_matter(&mut f).unwrap();
        assert_eq!(bytes, b"---\nbase_model: a/b\n---\n");
        assert!(!whole);
        assert_eq!(f.bytes_read(), CARD_READ_STEP as u64);

        let mut unclosed = b"---\n".to_vec();
        unclosed.extend(b"tags: [x]\n".repeat(1 << 16));
        let mut f = MeteredFile::from_bytes(Path::new("README.md"), unclosed);
        let (bytes, whole) = read_front_matter(&mut f).unwrap();
        assert_eq!(f.bytes_read(), MAX_CARD_BYTES);
        assert!(!whole);
        assert!(warned(
            &parse_front_matter(&bytes, whole),
            "within the first"
        ));

        let mut f =
            MeteredFile::from_bytes(Path::new("README.md"), b"# no front matter".repeat(999));
        read_front_matter(&mut f).unwrap();
        assert_eq!(f.bytes_read(), CARD_READ_STEP as u64);
    }

    fn fact(key: &str, value: &str) -> SuggestedFact {
        SuggestedFact {
            key: key.into(),
            value: value.into(),
            source: "m/README.md".into(),
        }
    }

    #[test]
    fn the_hint_names_the_declaration() {
        let s = Suggestions {
            facts: vec![
                fact(KEY_BASE_MODEL, "meta-llama/Llama-3.1-8B"),
                fact(KEY_RELATION, "finetune"),
            ],
            ..Default::default()
        };
        let h = s.declare_hint().unwrap();
        assert!(h.starts_with("the model card names meta-llama/Llama-3.1-8B as its base (finetune); if that base is published, declare it: a training record with [base_model] name = \"meta-llama/Llama-3.1-8B\", published = true, operations = …"), "{h}");
        assert_eq!(s.for_review().hint, Some(h));
        let local = Suggestions {
            facts: vec![fact(KEY_NAME_OR_PATH, "/home/me/ckpt")],
            ..Default::default()
        };
        assert_eq!(local.declare_hint(), None);
        let hub = Suggestions {
            facts: vec![fact(KEY_NAME_OR_PATH, "Qwen/Qwen2.5-7B")],
            ..Default::default()
        };
        assert!(
            hub.declare_hint()
                .unwrap()
                .contains("`_name_or_path`) names Qwen/Qwen2.5-7B")
        );
    }

    #[test]
    fn name_or_path_is_strict() {
        let cfg = |v: &str| ModelConfig {
            raw: serde_json::from_str(v).unwrap(),
            ..Default::default()
        };
        assert_eq!(
            name_or_path(&cfg(r#"{"_name_or_path":"a/b"}"#)),
            Ok(Some("a/b".into()))
        );
        assert_eq!(name_or_path(&cfg(r#"{"_name_or_path":""}"#)), Ok(None));
        assert_eq!(name_or_path(&cfg("{}")), Ok(None));
        assert!(name_or_path(&cfg(r#"{"_name_or_path":7}"#)).is_err());
        assert!(name_or_path(&cfg(r#"{"_name_or_path":"a\u001b[2J"}"#)).is_err());
        let long = format!(r#"{{"_name_or_path":"{}"}}"#, "x".repeat(300));
        assert!(
            name_or_path(&cfg(&long))
                .unwrap_err()
                .contains("over the limit")
        );
    }
}
