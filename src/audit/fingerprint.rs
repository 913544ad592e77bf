//! Fingerprints of known controlled models: their per-tensor BLAKE3 digests, as
//! `weightguard hash --json` prints them. A copy renamed, re-sharded or converted to another
//! container keeps its tensors' bytes, so it keeps their digests.
//!
//! Matching reads the tensor data of every artifact audited (the one check that is not
//! header-only), hashing each data region (a safetensors or GGUF tensor, a PyTorch storage).

use crate::artifact::Artifact;
use crate::artifact::read::MeteredFile;
use crate::artifact::tree::Tree;
use std::collections::{HashMap, HashSet};

/// Largest fingerprint file read.
pub const MAX_FINGERPRINT_BYTES: usize = 512 * 1024 * 1024;
/// Bytes hashed per read.
const CHUNK: usize = 4 * 1024 * 1024;

/// The models of a fingerprint list and which digests each has.
#[derive(Debug, Default)]
pub struct Fingerprints {
    /// Model names (the `path` each `hash` report names) and their distinct tensor digests.
    pub models: Vec<(String, usize)>,
    by_digest: HashMap<[u8; 32], Vec<usize>>,
}

impl Fingerprints {
    /// Parses one or more `hash --json` reports (JSON Lines, or a JSON array of reports).
    pub fn parse(text: &str) -> Result<Fingerprints, String> {
        let mut fp = Fingerprints::default();
        for value in serde_json::Deserializer::from_str(text).into_iter::<serde_json::Value>() {
            let value = value.map_err(|e| format!("not `weightguard hash --json` output: {e}"))?;
            match value {
                serde_json::Value::Array(items) => {
                    for v in items {
                        fp.add_report(&v)?;
                    }
                }
                v => fp.add_report(&v)?,
            }
        }
        if fp.models.is_empty() {
            return Err("no model with tensor digests in it".into());
        }
        Ok(fp)
    }

    fn add_report(&mut self, report: &serde_json::Value) -> Result<(), String> {
        let name = report
            .get("path")
            .and_then(|p| p.as_str())
            .ok_or("a report without `path`: expected `weightguard hash --json` output")?
            .to_owned();
        let mut digests = HashSet::new();
        let files = report.get("files").and_then(|f| f.as_array());
        for file in files.into_iter().flatten() {
            let tensors = file.get("tensors").and_then(|t| t.as_array());
            for t in tensors.into_iter().flatten() {
                let hex = t.get("blake3").and_then(|d| d.as_str()).unwrap_or_default();
                let d = blake3::Hash::from_hex(hex)
                    .map_err(|_| format!("{name}: `{hex}` is not a BLAKE3 digest"))?;
                digests.insert(*d.as_bytes());
            }
        }
        if digests.is_empty() {
            return Ok(());
        }
        let id = self.models.len();
        self.models.push((name, digests.len()));
        for d in digests {
            self.by_digest.entry(d).or_default().push(id);
        }
        Ok(())
    }

    /// The best-matching model for a set of distinct digests, if the match is strong enough:
    /// at least two digests shared (one, for a one-tensor model), covering at least half of
    /// the model's tensors or half of the artifact's (a single shard of a fingerprinted model).
    pub fn best_match(&self, digests: &HashSet<[u8; 32]>) -> Option<(String, usize, usize)> {
        let mut counts: HashMap<usize, usize> = HashMap::new();
        for d in digests {
            for m in self.by_digest.get(d).into_iter().flatten() {
                *counts.entry(*m).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .filter(|&(m, n)| {
                let total = self.models[m].1;
                n >= 2.min(total) && (2 * n >= total || 2 * n >= digests.len())
            })
            .max_by_key(|&(m, n)| (n, std::cmp::Reverse(m)))
            .map(|(m, n)| (self.models[m].0.clone(), n, self.models[m].1))
    }
}

/// BLAKE3 of every data region of `artifact`, read through `tree`.
pub fn region_digests(tree: &dyn Tree, artifact: &Artifact) -> Result<HashSet<[u8; 32]>, String> {
    let mut out = HashSet::new();
    let mut files: Vec<Option<MeteredFile>> = artifact.files.iter().map(|_| None).collect();
    let mut buf = vec![0u8; CHUNK];
    for r in &artifact.regions {
        let f = match &mut files[r.file] {
            Some(f) => f,
            slot => {
                let path = &artifact.files[r.file].path;
                slot.insert(MeteredFile::open_in(tree, path).map_err(|e| e.to_string())?)
            }
        };
        let mut h = blake3::Hasher::new();
        let mut pos = r.offset;
        let end = r.offset.saturating_add(r.len);
        while pos < end {
            let n = usize::try_from(end - pos).unwrap_or(CHUNK).min(CHUNK);
            f.read_exact_at(pos, &mut buf[..n])
                .map_err(|e| e.to_string())?;
            h.update(&buf[..n]);
            pos += n as u64;
        }
        out.insert(*h.finalize().as_bytes());
    }
    Ok(out)
}
