//! What the store holds, and how it splits into units of work.
//!
//! A unit is what one worker examines at once: a model directory (a folder holding a shard
//! index or a `config.json`: its files make one artifact, and any envelope beside them is its
//! own), or a single file anywhere else. Units are keyed by path, which decides the shard a
//! unit belongs to (`--shard K/N`) and what a resumed audit skips.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every object of the store under the audited root, by path relative to it.
#[derive(Debug, Default)]
pub struct Listing {
    /// Object sizes by path.
    pub files: BTreeMap<PathBuf, u64>,
    /// Paths of the files directly in each directory (directories holding only directories
    /// appear too, empty), sorted.
    pub dirs: BTreeMap<PathBuf, Vec<PathBuf>>,
    /// Paths the artifact set could not include under its rules (a link out of the root, a
    /// special file, an unreadable directory), with the reason: each is reported.
    pub problems: BTreeMap<PathBuf, String>,
    /// Names of parts of the tree: a hub cache snapshot's directory → `org/name@rev`.
    pub names: Vec<(PathBuf, String)>,
}

impl Listing {
    pub fn new(objects: impl IntoIterator<Item = (PathBuf, u64)>) -> Listing {
        let mut l = Listing::default();
        for (key, size) in objects {
            let parent = key.parent().unwrap_or(Path::new("")).to_owned();
            let mut up = parent.parent();
            while let Some(p) = up {
                l.dirs.entry(p.to_owned()).or_default();
                up = p.parent();
            }
            l.dirs.entry(parent).or_default().push(key.clone());
            l.files.insert(key, size);
        }
        for files in l.dirs.values_mut() {
            files.sort();
        }
        l
    }

    pub fn size(&self, key: &Path) -> Option<u64> {
        self.files.get(key).copied()
    }

    /// How a path is shown in results: under a named part (a hub snapshot), by that name.
    pub fn display_name(&self, p: &Path) -> String {
        for (dir, name) in &self.names {
            if let Ok(rest) = p.strip_prefix(dir) {
                return if rest.as_os_str().is_empty() {
                    name.clone()
                } else {
                    format!("{name}/{}", rest.display())
                };
            }
        }
        display_key(p)
    }
}

/// A unit of work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unit {
    /// A model directory: every file directly in it.
    ModelDir(PathBuf),
    /// A file outside model directories.
    File(PathBuf),
    /// A path the listing could not include (see [`Listing::problems`]).
    Problem(PathBuf),
    /// What an interrupted `weightguard open` left: a `.NAME.weightguard-partial-…` directory
    /// (or file) of decrypted, unverified weights. Its files are examined as well.
    Remnant(PathBuf),
}

impl Unit {
    /// The unit's key: its path, `.` for the root.
    pub fn key(&self) -> String {
        let p = match self {
            Unit::ModelDir(p) | Unit::File(p) | Unit::Problem(p) | Unit::Remnant(p) => p,
        };
        display_key(p)
    }

    /// Whether this unit is worker `k`'s (0-based) of `n`: BLAKE3 of the key, modulo `n`.
    pub fn in_shard(&self, k: u32, n: u32) -> bool {
        let h = blake3::hash(self.key().as_bytes());
        let mut b = [0u8; 8];
        b.copy_from_slice(&h.as_bytes()[..8]);
        u64::from_le_bytes(b) % u64::from(n) == u64::from(k)
    }
}

/// A path relative to the root as shown in reports (`/`-separated, `.` for the root).
pub fn display_key(p: &Path) -> String {
    if p.as_os_str().is_empty() {
        ".".into()
    } else {
        p.to_string_lossy().into_owned()
    }
}

/// Side files read with the weights beside them, never examined on their own.
pub fn is_side_file(key: &Path) -> bool {
    let name = file_name(key);
    name.ends_with(".json") || name == "training-record.toml"
}

fn file_name(key: &Path) -> &str {
    key.file_name().and_then(|n| n.to_str()).unwrap_or_default()
}

/// Whether a directory's file list makes it a model directory: a `config.json`, a shard index,
/// or Transformers-style shard names (`*-00001-of-00004.safetensors`, index lost) beside weights.
fn is_model_dir(files: &[PathBuf]) -> bool {
    let has_anchor = files.iter().any(|f| {
        let n = file_name(f);
        n == "config.json" || n.ends_with(".index.json") || is_safetensors_shard_name(n)
    });
    has_anchor && files.iter().any(|f| !is_side_file(f))
}

/// `<prefix>-NNNNN-of-MMMMM.safetensors`.
fn is_safetensors_shard_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".safetensors") else {
        return false;
    };
    let Some((rest, total)) = stem.rsplit_once("-of-") else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    rest.rsplit_once('-')
        .is_some_and(|(_, no)| digits(no) && digits(total))
}

/// The units of a listing, in path order. A split GGUF part other than the first is left to
/// the unit of its first part when that part is present (opening part 1 reads them all).
pub fn units(listing: &Listing) -> Vec<Unit> {
    let mut out = Vec::new();
    for (dir, files) in &listing.dirs {
        if is_model_dir(files) {
            out.push(Unit::ModelDir(dir.clone()));
            continue;
        }
        for f in files {
            if is_side_file(f) || covered_by_first_part(listing, f) {
                continue;
            }
            out.push(Unit::File(f.clone()));
        }
    }
    out.extend(listing.problems.keys().map(|p| Unit::Problem(p.clone())));
    out.extend(remnants(listing).into_iter().map(Unit::Remnant));
    out
}

/// The marker in the names of `open`'s temporaries (`crate::interrupt`).
pub const PARTIAL_MARKER: &str = ".weightguard-partial-";

/// The outermost paths whose last component is one of `open`'s temporaries.
fn remnants(listing: &Listing) -> std::collections::BTreeSet<PathBuf> {
    let mut out = std::collections::BTreeSet::new();
    for key in listing.files.keys() {
        let mut at = PathBuf::new();
        for c in key.components() {
            at.push(c);
            if c.as_os_str().to_string_lossy().contains(PARTIAL_MARKER) {
                out.insert(at.clone());
                break;
            }
        }
    }
    out
}

/// `<prefix>-0000K-of-0000N.gguf` with K > 1 and part 1 in the listing.
fn covered_by_first_part(listing: &Listing, key: &Path) -> bool {
    let Some(stem) = file_name(key).strip_suffix(".gguf") else {
        return false;
    };
    let Some((rest, total)) = stem.rsplit_once("-of-") else {
        return false;
    };
    let Some((prefix, no)) = rest.rsplit_once('-') else {
        return false;
    };
    if no.parse::<u64>().ok().is_none_or(|n| n <= 1) {
        return false;
    }
    let first = key.with_file_name(format!(
        "{prefix}-{:0>width$}-of-{total}.gguf",
        1,
        width = no.len()
    ));
    listing.files.contains_key(&first)
}

/// `K/N` (1-based K, as Slurm and humans count; a Kubernetes Indexed Job's 0-based
/// `JOB_COMPLETION_INDEX` is K-1): returns (K-1, N).
pub fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("`{s}` is not a shard; write K/N with 1 <= K <= N, e.g. 3/8");
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let k: u32 = k.trim().parse().map_err(|_| bad())?;
    let n: u32 = n.trim().parse().map_err(|_| bad())?;
    if n == 0 || k == 0 || k > n {
        return Err(bad());
    }
    Ok((k - 1, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(keys: &[&str]) -> Listing {
        Listing::new(keys.iter().map(|k| (PathBuf::from(k), 10)))
    }

    #[test]
    fn model_dirs_and_standalone_files() {
        let l = listing(&[
            "a/config.json",
            "a/model.safetensors",
            "a/training-record.toml",
            "b/x.gguf",
            "b/y.age",
            "b/notes.json",
            "c/m-00001-of-00002.gguf",
            "c/m-00002-of-00002.gguf",
            "top.bin",
            "d/model-00001-of-00002.safetensors",
            "d/model-00002-of-00002.safetensors",
        ]);
        let keys: Vec<String> = units(&l).iter().map(Unit::key).collect();
        assert_eq!(
            keys,
            [
                "top.bin",
                "a",
                "b/x.gguf",
                "b/y.age",
                "c/m-00001-of-00002.gguf",
                "d",
            ]
        );
    }

    #[test]
    fn shards_split_every_unit_once() {
        let u = Unit::File("x/y.safetensors".into());
        let owners = (0..7).filter(|k| u.in_shard(*k, 7)).count();
        assert_eq!(owners, 1);
        assert_eq!(parse_shard("3/8"), Ok((2, 8)));
        assert!(parse_shard("0/8").is_err());
        assert!(parse_shard("9/8").is_err());
        assert!(parse_shard("1").is_err());
    }
}
