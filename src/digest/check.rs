//! `hash --check`: re-verifying a previous `hash` output, line by line, as `b3sum --check` and
//! `sha256sum --check` do.
//!
//! A line is `[\]<64 lowercase hex>  <name>`; a leading `\` means the name is escaped (our
//! escapes, `crate::text::escape`, of which b3sum's `\\` and `\n` are a part). The name is one of:
//! - a file (`b3sum` lines, and our whole-file lines): its whole-file digest;
//! - `FILE:<tensor>`, `FILE:(header)`, `FILE:(storage data/<key>)`, `FILE:(gap <offset>+<len>)`:
//!   a segment or tensor of a weight file, as `hash` prints them;
//! - `PATH  (model root: …)`: the model root of PATH, recomputed over PATH's artifact set.
//!
//! A name holding `:` could name a file and a tensor of another file at once: both readings are
//! looked up, and a name that two existing things answer to is a failure (ambiguous), never a
//! guess. Every malformed line is refused, with its number, before anything is read.

use super::{Digest, DigestError, FileDigest, Options, SegmentKind};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The largest check file read (100,000 tensors of a few hundred bytes a line, many times over).
pub const MAX_CHECK_FILE_BYTES: u64 = 256 << 20;
const ROOT_MARK: &str = "  (model root: ";

/// What one line of a check file names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    /// A file, or a segment or tensor of one (`FILE:…`): resolved when checked.
    Entry(String),
    /// The model root of a path.
    Root(String),
}

/// One parsed line.
#[derive(Debug, Clone)]
pub struct CheckLine {
    /// 1-based.
    pub number: usize,
    pub digest: Digest,
    pub named: Named,
}

impl CheckLine {
    /// The name as it is shown in `name: OK`: escaped (with a leading `\`) when it holds
    /// anything [`crate::text::escape`] changes, as `hash` prints it.
    pub fn shown(&self) -> String {
        let (name, suffix) = match &self.named {
            Named::Entry(n) => (n.as_str(), ""),
            Named::Root(p) => (p.as_str(), " (model root)"),
        };
        match crate::text::escape(name) {
            std::borrow::Cow::Borrowed(n) => format!("{n}{suffix}"),
            std::borrow::Cow::Owned(n) => format!("\\{n}{suffix}"),
        }
    }
}

/// Parses a check file's text; the first malformed line is an error `(line number, why)`.
pub fn parse(text: &str) -> Result<Vec<CheckLine>, (usize, String)> {
    let mut out = Vec::new();
    // `split('\n')`, not `lines()`: a `\r` before the newline is part of the name, as b3sum reads it.
    let mut lines: Vec<&str> = text.split('\n').collect();
    if lines.last() == Some(&"") {
        lines.pop();
    }
    for (i, line) in lines.into_iter().enumerate() {
        let number = i + 1;
        out.push(parse_line(line).map_err(|why| (number, why))?.at(number));
    }
    if out.is_empty() {
        return Err((0, "no digest lines".into()));
    }
    Ok(out)
}

impl CheckLine {
    fn at(mut self, number: usize) -> CheckLine {
        self.number = number;
        self
    }
}

fn parse_line(line: &str) -> Result<CheckLine, String> {
    if line.is_empty() {
        return Err("an empty line".into());
    }
    let (escaped, rest) = match line.strip_prefix('\\') {
        Some(r) => (true, r),
        None => (false, line),
    };
    let hex = rest
        .get(..64)
        .filter(|h| h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .ok_or("not a digest line: it starts with 64 lowercase hex digits (BLAKE3)")?;
    let name = rest[64..]
        .strip_prefix("  ")
        .ok_or("two spaces must follow the digest")?;
    if name.is_empty() {
        return Err("no name after the digest".into());
    }
    let mut digest = [0u8; 32];
    for (d, pair) in digest.iter_mut().zip(hex.as_bytes().chunks(2)) {
        let s = std::str::from_utf8(pair).map_err(|_| "not hex")?;
        *d = u8::from_str_radix(s, 16).map_err(|_| "not hex")?;
    }
    let unescape = |s: &str| {
        if escaped {
            unescape(s)
        } else {
            Ok(s.to_owned())
        }
    };
    // The root line: `PATH  (model root: …)`; the suffix is never escaped.
    let named = match name.rfind(ROOT_MARK) {
        Some(at) if name.ends_with(')') => Named::Root(unescape(&name[..at])?),
        _ => Named::Entry(unescape(name)?),
    };
    let (Named::Entry(n) | Named::Root(n)) = &named;
    if n.is_empty() {
        return Err("an empty name".into());
    }
    if n.contains('\0') {
        return Err("a NUL character in the name".into());
    }
    Ok(CheckLine {
        number: 0,
        digest: Digest(digest),
        named,
    })
}

/// Reverses [`crate::text::escape`]: `\\`, `\n`, `\r`, `\t`, `\xHH`, `\u{HHHH}` (b3sum's `\\` and
/// `\n` among them). Any other backslash is an error.
pub fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('x') => {
                let h: String = chars.by_ref().take(2).collect();
                let v = u8::from_str_radix(&h, 16)
                    .ok()
                    .filter(|v| *v < 0x80 && h.len() == 2)
                    .ok_or_else(|| format!("an invalid escape `\\x{h}`"))?;
                out.push(char::from(v));
            }
            Some('u') => {
                if chars.next() != Some('{') {
                    return Err("an invalid escape `\\u`: `\\u{HHHH}` expected".into());
                }
                let h: String = chars.by_ref().take_while(|c| *c != '}').collect();
                let c = u32::from_str_radix(&h, 16)
                    .ok()
                    .filter(|_| (1..=6).contains(&h.len()))
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("an invalid escape `\\u{{{h}}}`"))?;
                out.push(c);
            }
            Some(c) => return Err(format!("an invalid escape `\\{c}`")),
            None => return Err("a backslash at the end of the name".into()),
        }
    }
    Ok(out)
}

/// The result of checking one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The digest differs.
    Failed,
    /// Nothing could be compared: why (a missing file, no such tensor, an ambiguous name, a
    /// file that failed to hash).
    Unchecked(String),
}

/// Checks every line, hashing each file named at most once. `set` are the artifact set's rules
/// a root is recomputed under (the selection flags given with `--check`).
pub fn check(
    lines: &[CheckLine],
    opts: &Options,
    set: &crate::artifact_set::Options,
) -> Vec<Outcome> {
    let mut files = Files {
        opts: Options {
            whole_file: true,
            ..*opts
        },
        cache: HashMap::new(),
    };
    let mut roots: HashMap<String, Result<Option<Digest>, String>> = HashMap::new();
    lines
        .iter()
        .map(|line| match &line.named {
            Named::Root(path) => {
                let root = roots.entry(path.clone()).or_insert_with(|| {
                    super::target(Path::new(path), set)
                        .and_then(|t| super::hash_target(&t, &files.opts, &|_| {}))
                        .map(|r| r.root)
                        .map_err(|e| e.to_string())
                });
                match root {
                    Ok(Some(d)) => compare(*d, line.digest),
                    Ok(None) => Outcome::Unchecked(format!("{path} holds no weight files")),
                    Err(e) => Outcome::Unchecked(e.clone()),
                }
            }
            Named::Entry(name) => match files.resolve(name) {
                Ok(d) => compare(d, line.digest),
                Err(why) => Outcome::Unchecked(why),
            },
        })
        .collect()
}

fn compare(found: Digest, expected: Digest) -> Outcome {
    // Digests are public values here: a plain comparison.
    if found == expected {
        Outcome::Ok
    } else {
        Outcome::Failed
    }
}

/// Files hashed so far, by the name a line gave them.
struct Files {
    opts: Options,
    cache: HashMap<PathBuf, Result<FileDigest, String>>,
}

impl Files {
    fn digest(&mut self, path: &Path) -> &Result<FileDigest, String> {
        self.cache.entry(path.to_owned()).or_insert_with(|| {
            // The file alone (not the model set it may belong to): each file is read once.
            let size = std::fs::metadata(path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .len();
            super::hash_file(
                &super::PlannedFile::new(path.to_owned(), size),
                &self.opts,
                &|_| {},
            )
            .map_err(|e: DigestError| e.to_string())
        })
    }

    /// The one digest `name` names: the whole file, or a segment or tensor of `FILE:…`.
    fn resolve(&mut self, name: &str) -> Result<Digest, String> {
        let mut found: Vec<(String, Digest)> = Vec::new();
        let mut errors = Vec::new();
        let whole = Path::new(name);
        if whole.is_file() {
            match self.digest(whole) {
                Ok(f) => {
                    if let Some(d) = f.blake3 {
                        found.push((format!("the file {name}"), d));
                    }
                }
                Err(e) => errors.push(e.clone()),
            }
        }
        let mut weight_files = Vec::new();
        for (at, _) in name.match_indices(':') {
            let (file, key) = (&name[..at], &name[at + 1..]);
            if file.is_empty() || !Path::new(file).is_file() {
                continue;
            }
            match self.digest(Path::new(file)) {
                Ok(f) => {
                    if f.kind.is_weights() {
                        weight_files.push(file.to_owned());
                    }
                    let mut digests: Vec<Digest> = segment_names(f)
                        .into_iter()
                        .filter(|(n, _)| n == key)
                        .map(|(_, d)| d)
                        .collect();
                    digests.dedup();
                    match digests.as_slice() {
                        [] => {}
                        [d] => found.push((format!("`{key}` of {file}"), *d)),
                        _ => {
                            return Err(format!(
                                "ambiguous: {file} has several segments or tensors named `{key}`"
                            ));
                        }
                    }
                }
                Err(e) => errors.push(e.clone()),
            }
        }
        match found.as_slice() {
            [(_, d)] => Ok(*d),
            [] if !errors.is_empty() => Err(errors.join("; ")),
            [] if !weight_files.is_empty() => Err(format!(
                "no segment or tensor of that name in {}",
                weight_files.join(", ")
            )),
            [] => Err("no such file".into()),
            many => Err(format!(
                "ambiguous: the name is {}",
                many.iter()
                    .map(|(what, _)| what.as_str())
                    .collect::<Vec<_>>()
                    .join(" and ")
            )),
        }
    }
}

/// The names `hash` prints after `FILE:` for a weight file's segments and tensor views.
fn segment_names(f: &FileDigest) -> Vec<(String, Digest)> {
    let mut out = Vec::new();
    for s in &f.segments {
        let name = match (s.kind, &s.name) {
            (SegmentKind::Tensor, Some(n)) => n.clone(),
            (SegmentKind::Header, _) => "(header)".into(),
            (SegmentKind::Storage, Some(n)) => format!("(storage {n})"),
            _ => format!("(gap {}+{})", s.offset, s.len),
        };
        out.push((name, s.blake3));
    }
    for t in f.tensors.iter().filter(|t| t.storage.is_some()) {
        out.push((t.name.clone(), t.blake3));
    }
    out
}

/// A b3sum line for a whole file, escaped exactly as b3sum escapes (`\\` and `\n`, and a leading
/// `\` on the line), so `b3sum --check` reads it back.
pub fn b3sum_line(digest: Digest, name: &str) -> String {
    if name.contains(['\\', '\n']) {
        format!(
            "\\{digest}  {}",
            name.replace('\\', "\\\\").replace('\n', "\\n")
        )
    } else {
        format!("{digest}  {name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_and_malformed_ones_are_numbered() {
        let d = "a".repeat(64);
        let text = format!(
            "{d}  x.bin\n\\{d}  a\\\\b\\nc\n{d}  m  (model root: 1 tensors, 1 files, 8 B)\n"
        );
        let lines = parse(&text).unwrap();
        assert_eq!(lines[0].named, Named::Entry("x.bin".into()));
        assert_eq!(lines[1].named, Named::Entry("a\\b\nc".into()));
        assert_eq!(lines[1].shown(), "\\a\\\\b\\nc");
        assert_eq!(lines[2].named, Named::Root("m".into()));
        for (bad, why) in [
            (format!("{d} x"), "two spaces"),
            (format!("{}  x", "A".repeat(64)), "64 lowercase hex"),
            (format!("\\{d}  a\\qb"), "invalid escape"),
            (String::new(), "empty line"),
        ] {
            let text = format!("{d}  ok\n{bad}\n");
            let (n, e) = parse(&text).unwrap_err();
            assert_eq!(n, 2, "{bad}");
            assert!(e.contains(why), "{e}");
        }
    }

    #[test]
    fn b3sum_escaping_round_trips() {
        let d = Digest([0x11; 32]);
        let line = b3sum_line(d, "a\\b\nc");
        assert!(
            line.starts_with('\\') && line.ends_with("a\\\\b\\nc"),
            "{line}"
        );
        let parsed = parse(&format!("{line}\n")).unwrap();
        assert_eq!(parsed[0].named, Named::Entry("a\\b\nc".into()));
        assert_eq!(unescape("\\x1b\\u{202e}").unwrap(), "\x1b\u{202e}");
    }
}
