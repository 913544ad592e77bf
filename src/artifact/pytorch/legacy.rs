//! The legacy (pre-1.6) `torch.save` format: five pickles back to back (magic number, protocol
//! version 1001, system info, the object, the list of storage keys), then each storage in that
//! key order as a little-endian u64 element count followed by its raw bytes.
//!
//! There is no length prefix for the pickles, so they are read from a buffer of the file's start
//! that grows (by fours, up to [`MAX_PICKLE_BYTES`]) only while a pickle runs past its end.

use super::pickle::{self, Outcome, Value, storage_dtype};
use super::{SecurityFinding, tensors};
use crate::artifact::ArtifactError;
use crate::artifact::builder::ParsedFile;
use crate::artifact::limits::MAX_PICKLE_BYTES;
use crate::artifact::read::MeteredFile;
use std::collections::HashMap;

/// Bytes of the file read first; most legacy checkpoints' pickles fit.
const FIRST_READ: u64 = 1024 * 1024;

/// The protocol version legacy `torch.save` writes as its second pickle.
const LEGACY_PROTOCOL_VERSION: i64 = 1001;

pub(crate) fn read_legacy(f: &mut MeteredFile) -> Result<ParsedFile, ArtifactError> {
    let path = f.path().to_owned();
    let cap = f.len().min(MAX_PICKLE_BYTES);
    let mut want = f.len().min(FIRST_READ);
    let mut buf: Vec<u8> = Vec::new();
    let (outcomes, end, failed) = loop {
        if (buf.len() as u64) < want {
            let start = buf.len() as u64;
            // Bounded by MAX_PICKLE_BYTES via `cap`.
            buf.resize(want as usize, 0);
            f.read_exact_at(start, &mut buf[start as usize..])?;
        }
        let (outcomes, end, failed) = run_all(&buf);
        match failed {
            Some((e, _)) if e.truncated && want < cap => {
                want = want.saturating_mul(4).min(cap);
            }
            failed => break (outcomes, end, failed),
        }
    };
    let names = [
        "magic number",
        "protocol version",
        "system info",
        "object",
        "storage keys",
    ];
    let mut p = ParsedFile::default();
    for (o, name) in outcomes.iter().zip(names) {
        for finding in o.findings.iter().cloned() {
            p.findings
                .push(SecurityFinding::from_pickle(&path, name, finding));
        }
    }
    if let Some((e, member)) = failed {
        // Findings before the error stand; the pickle that failed is a finding itself.
        p.findings
            .push(super::unscannable_pickle(&path, member, &e, 0));
        p.incomplete.push(format!(
            "{}: the legacy checkpoint's `{member}` pickle could not be read to its end: its tensors were not counted",
            path.display()
        ));
        return Ok(p);
    }
    if !matches!(outcomes[1].root, Value::Int(LEGACY_PROTOCOL_VERSION)) {
        p.warnings.push(format!(
            "{}: legacy checkpoint without protocol version {LEGACY_PROTOCOL_VERSION}: tensors not read",
            path.display()
        ));
        return Ok(p);
    }
    let found = tensors::collect(&outcomes[3], &mut p.warnings);
    // Element widths by storage key, to walk the storage section.
    let mut width: HashMap<String, u64> = HashMap::new();
    for (_, t) in &found {
        if let Some((_, w)) = storage_dtype(&t.storage_type) {
            width.insert(t.key.clone(), w);
        }
    }
    let keys = storage_keys(&outcomes[4]);
    let mut located: HashMap<String, (u64, u64)> = HashMap::new();
    let mut pos = end as u64;
    for key in keys {
        let Some(&w) = width.get(&key) else {
            p.warnings.push(format!(
                "{}: storage `{key}` is used by no tensor of a known type; storages after it were not located",
                path.display()
            ));
            break;
        };
        if pos.checked_add(8).is_none_or(|e| e > f.len()) {
            break;
        }
        let mut n = [0u8; 8];
        f.read_exact_at(pos, &mut n)?;
        let numel = u64::from_le_bytes(n);
        let data = pos + 8;
        let Some(len) = numel
            .checked_mul(w)
            .filter(|l| data.checked_add(*l).is_some_and(|e| e <= f.len()))
        else {
            return Err(ArtifactError::Malformed {
                path,
                format: "legacy PyTorch checkpoint",
                offset: pos,
                message: format!(
                    "storage `{key}` of {numel} elements runs past the end of the file"
                ),
            });
        };
        located.insert(key, (data, len));
        pos = data + len;
    }
    tensors::locate(&path, found, |k| located.get(k).copied(), &mut p)?;
    Ok(p)
}

/// Runs the five pickles as far as they go: their outcomes (the failing one included, with
/// the findings it made), the offset after the last STOP, and the first error with the name of
/// the pickle it was in. Offsets are relative to `buf`.
#[allow(clippy::type_complexity)]
fn run_all(
    buf: &[u8],
) -> (
    Vec<Outcome>,
    usize,
    Option<(pickle::PickleError, &'static str)>,
) {
    let names = [
        "magic number",
        "protocol version",
        "system info",
        "object",
        "storage keys",
    ];
    let mut at = 0usize;
    let mut out = Vec::new();
    for name in names {
        let mut o = pickle::scan(&buf[at..]);
        // Offsets of findings are relative to the file from here on.
        for f in &mut o.findings {
            f.offset += at as u64;
        }
        if let Some(mut e) = o.error.take() {
            e.offset += at as u64;
            out.push(o);
            return (out, at, Some((e, name)));
        }
        at += o.end;
        out.push(o);
    }
    (out, at, None)
}

fn storage_keys(o: &Outcome) -> Vec<String> {
    match &o.root {
        Value::List(id) | Value::Tuple(id) => o.arena.seqs[*id]
            .iter()
            .filter_map(|v| match v {
                Value::Str(s) => Some(s.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}
