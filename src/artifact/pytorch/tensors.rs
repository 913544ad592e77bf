//! From the values a checkpoint pickle built to located tensors: names from the (nested) dicts,
//! dtypes from storage types, and byte ranges from each view's offset, size and stride inside
//! its storage.

use super::pickle::{Outcome, TensorRef, Value, storage_dtype};
use crate::artifact::ArtifactError;
use crate::artifact::builder::{ParsedFile, ParsedRegion, ParsedTensor};
use crate::artifact::limits::{MAX_PICKLE_NESTING, MAX_PICKLE_VISITS};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::rc::Rc;

/// Every tensor reachable from the pickle's root, named by its path of dict keys (and list
/// indices): `model.layers.0.weight`, or `model.layers.0.weight` under `{"model": …}`.
pub fn collect(o: &Outcome, warnings: &mut Vec<String>) -> Vec<(String, Rc<TensorRef>)> {
    let mut w = Walker {
        o,
        out: Vec::new(),
        seen: HashSet::new(),
        visits: 0,
        cut: false,
    };
    w.walk(&o.root, String::new(), 0);
    if w.cut {
        warnings.push(format!(
            "the checkpoint's objects nest deeper than {MAX_PICKLE_NESTING} or exceed {MAX_PICKLE_VISITS} containers: tensors beyond were not listed"
        ));
    }
    w.out
}

struct Walker<'a> {
    o: &'a Outcome,
    out: Vec<(String, Rc<TensorRef>)>,
    seen: HashSet<(u8, usize)>,
    visits: usize,
    cut: bool,
}

impl Walker<'_> {
    fn walk(&mut self, v: &Value, name: String, depth: usize) {
        let child = |name: &str, key: &str| {
            if name.is_empty() {
                key.to_owned()
            } else {
                format!("{name}.{key}")
            }
        };
        let (kind, id) = match v {
            Value::Tensor(t) => {
                let name = if name.is_empty() {
                    "<root>".into()
                } else {
                    name
                };
                self.out.push((name, t.clone()));
                return;
            }
            Value::Dict(id) => (0, *id),
            Value::List(id) | Value::Tuple(id) => (1, *id),
            _ => return,
        };
        if depth >= MAX_PICKLE_NESTING || self.visits >= MAX_PICKLE_VISITS {
            self.cut = true;
            return;
        }
        if !self.seen.insert((kind, id)) {
            return;
        }
        self.visits += 1;
        if kind == 0 {
            for (k, v) in &self.o.arena.maps[id] {
                let key = match k {
                    Value::Str(s) => s.to_string(),
                    Value::Int(n) => n.to_string(),
                    _ => "?".into(),
                };
                self.walk(v, child(&name, &key), depth + 1);
            }
        } else {
            for (i, v) in self.o.arena.seqs[id].iter().enumerate() {
                self.walk(v, child(&name, &i.to_string()), depth + 1);
            }
        }
    }
}

/// Places each tensor in its storage. `storage(key)` gives the absolute offset and byte length
/// of the storage's data, or `None` when the file has no such storage. Returns the keys used.
pub fn locate(
    path: &Path,
    found: Vec<(String, Rc<TensorRef>)>,
    storage: impl Fn(&str) -> Option<(u64, u64)>,
    p: &mut ParsedFile,
) -> Result<Vec<String>, ArtifactError> {
    let bad = |offset: u64, message: String| ArtifactError::Malformed {
        path: path.to_owned(),
        format: "PyTorch checkpoint",
        offset,
        message,
    };
    // key -> (region index, storage type)
    let mut regions: HashMap<String, (usize, String)> = HashMap::new();
    let mut views = HashSet::new();
    // Per storage key: the element intervals dense views have counted, for overlapping views.
    let mut counted: HashMap<String, BTreeMap<u64, u64>> = HashMap::new();
    let mut overlapping = 0usize;
    let mut keys = Vec::new();
    let mut unknown = Vec::new();
    for (name, t) in found {
        let Some((dtype, esize)) = storage_dtype(&t.storage_type) else {
            unknown.push(format!("{name} ({})", t.storage_type));
            continue;
        };
        let region = match regions.get(&t.key) {
            Some((r, ty)) if *ty == t.storage_type => *r,
            Some((_, ty)) => {
                return Err(bad(
                    0,
                    format!(
                        "tensor `{name}`: storage `{}` is {ty} for one tensor and {} for another",
                        t.key, t.storage_type
                    ),
                ));
            }
            None => {
                let Some((offset, len)) = storage(&t.key) else {
                    return Err(bad(
                        0,
                        format!("tensor `{name}`: storage `{}` is not in the file", t.key),
                    ));
                };
                if t.storage_numel.checked_mul(esize) != Some(len) {
                    return Err(bad(
                        offset,
                        format!(
                            "storage `{}`: {} elements of {} need {} bytes, but the file holds {len}",
                            t.key,
                            t.storage_numel,
                            t.storage_type,
                            t.storage_numel.saturating_mul(esize)
                        ),
                    ));
                }
                p.regions.push(ParsedRegion {
                    offset,
                    len,
                    name: format!("data/{}", t.key),
                    exact: true,
                });
                let r = p.regions.len() - 1;
                regions.insert(t.key.clone(), (r, t.storage_type.clone()));
                keys.push(t.key.clone());
                r
            }
        };
        let base = p.regions[region].offset;
        let overflow = || {
            bad(
                base,
                format!("tensor `{name}`: size {:?} overflows", t.size),
            )
        };
        let elements = t
            .size
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .ok_or_else(overflow)?;
        // Elements from the first to the last one the view reaches.
        let span = if elements == 0 {
            0
        } else {
            t.size
                .iter()
                .zip(&t.stride)
                .try_fold(1u64, |a, (&d, &s)| a.checked_add((d - 1).checked_mul(s)?))
                .ok_or_else(overflow)?
        };
        if t.offset
            .checked_add(span)
            .is_none_or(|end| end > t.storage_numel)
        {
            return Err(bad(
                base,
                format!(
                    "tensor `{name}`: view at element {} of {} elements runs past its storage `{}` of {}",
                    t.offset, span, t.key, t.storage_numel
                ),
            ));
        }
        // Within the storage's byte length, which was checked to be numel * esize.
        let (offset, len) = (base + t.offset * esize, span * esize);
        let tied = !views.insert((t.key.clone(), t.offset, t.size.clone(), t.stride.clone()));
        let mut shared = 0;
        if !tied && elements > 0 {
            let (start, end) = (t.offset, t.offset + span);
            let seen = counted.entry(t.key.clone()).or_default();
            // Disjoint intervals sorted by start: walk back from the last one starting before
            // `end` until one ends before `start` (each view touches only its neighbours).
            let mut hits = Vec::new();
            let mut overlap = 0u64;
            for (&a, &b) in seen.range(..end).rev() {
                if b <= start {
                    break;
                }
                overlap += b.min(end) - a.max(start);
                hits.push((a, b));
            }
            // Exact for dense views (each element of the span once); a strided view shares at
            // most its own elements.
            shared = overlap.min(elements);
            if shared > 0 {
                overlapping += 1;
            }
            if elements == span {
                let (mut lo, mut hi) = (start, end);
                for (a, b) in hits {
                    seen.remove(&a);
                    lo = lo.min(a);
                    hi = hi.max(b);
                }
                seen.insert(lo, hi);
            }
        }
        p.tensors.push(ParsedTensor {
            name,
            dtype: dtype.into(),
            shape: t.size.clone(),
            elements,
            offset,
            len,
            region,
            tied,
            shared,
        });
    }
    if overlapping > 0 {
        p.warnings.push(format!(
            "{}: {overlapping} tensors view parts of storages that other tensors view too: each storage element is counted once (`elements` keeps the total over every name)",
            path.display()
        ));
    }
    if !unknown.is_empty() {
        p.warnings.push(format!(
            "{}: {} tensors of storage types this version does not know were not counted: {}",
            path.display(),
            unknown.len(),
            crate::artifact::builder::first_few(&unknown)
        ));
    }
    Ok(keys)
}
