//! The files a model signature speaks about, their digests, and how a model compares with a
//! signature.
//!
//! The files are the artifact set's (the same list `hash` digests and `seal` packs), named by
//! their `/`-separated path under the model directory. SHA-256 digests are computed here; BLAKE3
//! digests come from the digest stage, so they are the ones `weightguard hash --b3sum` prints.
//! Every file is opened only if it is still the file listed, and checked unchanged after it was
//! read.

use super::SigningError;
use super::statement::{HashType, Statement};
use crate::artifact_set::identity::open_listed;
use crate::artifact_set::{ArtifactSet, SetFile};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A file of the set under the name a signature gives it.
#[derive(Debug, Clone)]
pub struct Named<'a> {
    pub name: String,
    pub file: &'a SetFile,
}

/// How a model's files compare with a signed statement. Names are the statement's (relative,
/// `/`-separated).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Comparison {
    /// Files whose digest matches.
    pub matched: usize,
    /// Signed files whose content differs.
    pub changed: Vec<String>,
    /// Signed files that are not there.
    pub missing: Vec<String>,
    /// Files there that the signature does not list (and does not leave out).
    pub extra: Vec<String>,
    /// Files the signature's ignore paths leave out. `verify-signature` skips them, as
    /// `model_signing` does; `seal --require-signature` refuses them, since they would be sealed
    /// without the publisher's signature covering them.
    pub left_out: Vec<String>,
    /// The bundle itself, when it is a file of the model (it cannot sign itself).
    pub bundle: Option<String>,
}

impl Comparison {
    /// Whether the files match the signature (left-out files allowed or not).
    pub fn matches(&self, allow_left_out: bool) -> bool {
        self.changed.is_empty()
            && self.missing.is_empty()
            && self.extra.is_empty()
            && (allow_left_out || self.left_out.is_empty())
    }
}

/// The set's files under their names; a name that is not UTF-8 cannot appear in a statement.
pub fn named(set: &ArtifactSet) -> Result<Vec<Named<'_>>, SigningError> {
    set.files
        .iter()
        .map(|f| {
            crate::artifact_set::ignore::rel_string(&f.rel)
                .map(|name| Named { name, file: f })
                .ok_or_else(|| SigningError::Model {
                    path: f.shown.clone(),
                    what: "file names must be UTF-8 to be listed in a model signature".into(),
                })
        })
        .collect()
}

/// Whether `file` is the file at `path` (the bundle, or the output of `sign`).
pub fn is_same_file(file: &SetFile, path: &Path) -> bool {
    if file.rel.file_name() != path.file_name() {
        return false;
    }
    let (Ok(a), Ok(b)) = (std::fs::canonicalize(&file.real), canonical_target(path)) else {
        return false;
    };
    a == b
}

/// `path` with its directory resolved (the file itself need not exist yet).
pub fn canonical_target(path: &Path) -> std::io::Result<PathBuf> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file")
    })?;
    Ok(std::fs::canonicalize(parent)?.join(name))
}

/// Whether `name` is `ignore` or lies under it (component by component, as `model_signing`
/// compares paths). An ignore path that is absolute or climbs out with `..` matches nothing.
pub fn is_under(name: &str, ignore: &str) -> bool {
    if ignore.starts_with('/') {
        return false;
    }
    let parts: Vec<&str> = ignore
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() || parts.contains(&"..") {
        return false;
    }
    let mut names = name.split('/');
    parts.iter().all(|p| names.next() == Some(p))
}

/// The digest of every file in `files`, in order; `progress` is called with byte counts.
pub fn digests(
    files: &[Named<'_>],
    hash: HashType,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<[u8; 32]>, SigningError> {
    match hash {
        HashType::Sha256 => files
            .par_iter()
            .map(|n| sha256_file(n.file, progress))
            .collect(),
        HashType::Blake3 => blake3_files(files, progress),
    }
}

/// SHA-256 of one listed file, read in 1 MiB pieces.
fn sha256_file(f: &SetFile, progress: &(dyn Fn(u64) + Sync)) -> Result<[u8; 32], SigningError> {
    let (mut file, before) = open_listed(&f.real, &f.id).map_err(SigningError::io(&f.shown))?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(SigningError::io(&f.shown)(e)),
        };
        ctx.update(&buf[..n]);
        total += n as u64;
        progress(n as u64);
    }
    let changed =
        crate::digest::change_since(&f.real, &file, &before).map_err(SigningError::io(&f.shown))?;
    if let Some(what) = changed
        .or_else(|| (total != f.id.size).then(|| format!("{} bytes read of {}", total, f.id.size)))
    {
        return Err(SigningError::Model {
            path: f.shown.clone(),
            what: format!("changed while being hashed ({what}); nothing was signed or verified"),
        });
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    Ok(out)
}

/// Whole-file BLAKE3 digests from the digest stage (`hash --b3sum`'s).
fn blake3_files(
    files: &[Named<'_>],
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<[u8; 32]>, SigningError> {
    let target = crate::digest::Target {
        path: PathBuf::new(),
        files: files
            .iter()
            .map(|n| crate::digest::PlannedFile {
                path: n.file.real.clone(),
                size: n.file.id.size,
                shown: Some(n.file.shown.clone()),
                id: Some(n.file.id),
            })
            .collect(),
        ignored: vec![],
    };
    let opts = crate::digest::Options {
        whole_file: true,
        read: crate::digest::ReadMode::Auto,
    };
    let report =
        crate::digest::hash_target(&target, &opts, progress).map_err(|e| SigningError::Model {
            path: PathBuf::new(),
            what: e.to_string(),
        })?;
    let by_shown: BTreeMap<&Path, [u8; 32]> = report
        .files
        .iter()
        .filter_map(|d| d.blake3.map(|b| (d.path.as_path(), b.0)))
        .collect();
    files
        .iter()
        .map(|n| {
            by_shown
                .get(n.file.shown.as_path())
                .copied()
                .ok_or_else(|| SigningError::Model {
                    path: n.file.shown.clone(),
                    what: "no whole-file BLAKE3 digest was computed".into(),
                })
        })
        .collect()
}

/// Compares the set's files with `statement`. The bundle, when it is one of the files, is set
/// aside; files under the statement's ignore paths are left out (reported in
/// [`Comparison::left_out`]); every other file is hashed and must be listed with its digest,
/// and every listed file must be there.
pub fn compare(
    set: &ArtifactSet,
    statement: &Statement,
    bundle_path: &Path,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Comparison, SigningError> {
    let mut cmp = Comparison::default();
    let mut hashed = Vec::new();
    for n in named(set)? {
        if cmp.bundle.is_none() && is_same_file(n.file, bundle_path) {
            cmp.bundle = Some(n.name);
        } else if statement.ignore_paths.iter().any(|i| is_under(&n.name, i)) {
            cmp.left_out.push(n.name);
        } else {
            hashed.push(n);
        }
    }
    let signed: BTreeMap<&str, &[u8; 32]> = statement
        .resources
        .iter()
        .map(|r| (r.name.as_str(), &r.digest))
        .collect();
    // Digests only for files the signature lists: an extra file is reported by name, unread.
    let (listed, extra): (Vec<_>, Vec<_>) = hashed
        .into_iter()
        .partition(|n| signed.contains_key(n.name.as_str()));
    cmp.extra = extra.into_iter().map(|n| n.name).collect();
    let digests = digests(&listed, statement.hash, progress)?;
    for (n, d) in listed.iter().zip(&digests) {
        if signed.get(n.name.as_str()) == Some(&d) {
            cmp.matched += 1;
        } else {
            cmp.changed.push(n.name.clone());
        }
    }
    let present: std::collections::HashSet<&str> = listed.iter().map(|n| n.name.as_str()).collect();
    cmp.missing = statement
        .resources
        .iter()
        .filter(|r| !present.contains(r.name.as_str()))
        .map(|r| r.name.clone())
        .collect();
    Ok(cmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_paths_match_whole_components() {
        assert!(is_under(".git/HEAD", ".git"));
        assert!(is_under(".git", ".git/"));
        assert!(is_under("model.sig", "model.sig"));
        assert!(!is_under(".github/x", ".git"));
        assert!(!is_under("a", "../a"));
        assert!(!is_under("a", "/a"));
        assert!(!is_under("a", ""));
        assert!(is_under("a/b/c", "./a/b"));
    }
}
