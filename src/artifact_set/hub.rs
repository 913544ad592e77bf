//! The Hugging Face hub cache (`~/.cache/huggingface/hub`): each repository is a directory
//! `models--org--name` holding `blobs/` (the files, by hash), `refs/<branch>` (a commit id) and
//! `snapshots/<commit>/` (the repository's tree, as symbolic links into `../../blobs`).
//!
//! A repository is read as the one snapshot that `refs/main` (or `--revision`) names, so each blob
//! is read once, under the name the repository gives it, and the model is named `org/name@rev`.

use super::SetError;
use std::path::{Path, PathBuf};

/// Kinds of repository the hub client caches, by directory prefix.
const REPO_PREFIXES: [&str; 3] = ["models--", "datasets--", "spaces--"];

/// Longest `refs/<name>` file read (a commit id is 40 hex digits).
const MAX_REF_BYTES: u64 = 256;

/// One repository resolved to one snapshot.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The repository directory (`…/models--org--name`): links may resolve anywhere inside it.
    pub repo_dir: PathBuf,
    /// `…/snapshots/<commit>`.
    pub dir: PathBuf,
    /// `org/name@<commit>`.
    pub name: String,
    /// Snapshots of other revisions left unread (their names relative to the repository).
    pub other_revisions: Vec<String>,
}

/// Whether `dir` is a cached repository: named `models--…` (or datasets, spaces) and holding
/// `snapshots/`.
pub fn is_repo(dir: &Path) -> bool {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    REPO_PREFIXES.iter().any(|p| name.starts_with(p)) && dir.join("snapshots").is_dir()
}

/// Whether `dir` is a hub root: it holds at least one cached repository.
pub fn is_hub_root(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries
        .flatten()
        .any(|e| e.file_type().is_ok_and(|t| t.is_dir()) && is_repo(&e.path()))
}

/// If `dir` is `<repo>/snapshots/<rev>` of a cached repository, that repository.
pub fn repo_of_snapshot(dir: &Path) -> Option<PathBuf> {
    let snapshots = dir.parent()?;
    let repo = snapshots.parent()?;
    (snapshots.file_name()? == "snapshots" && is_repo(repo)).then(|| repo.to_owned())
}

/// `models--org--name` → `org/name` (a name without an organisation stays as it is).
pub fn repo_name(repo_dir: &Path) -> String {
    let dir = repo_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let rest = REPO_PREFIXES
        .iter()
        .find_map(|p| dir.strip_prefix(p))
        .unwrap_or(&dir);
    let kind = if dir.starts_with("datasets--") {
        "datasets/"
    } else if dir.starts_with("spaces--") {
        "spaces/"
    } else {
        ""
    };
    match rest.split_once("--") {
        Some((org, name)) => format!("{kind}{org}/{name}"),
        None => format!("{kind}{rest}"),
    }
}

/// A snapshot or ref name from the cache (or the user): one plain path component.
fn plain(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// Resolves the repository `repo_dir` to the snapshot `revision` names (a branch or tag in
/// `refs/`, or a commit in `snapshots/`), by default `refs/main`.
pub fn resolve(repo_dir: &Path, revision: Option<&str>) -> Result<Snapshot, SetError> {
    let snapshots_dir = repo_dir.join("snapshots");
    let mut available: Vec<String> = std::fs::read_dir(&snapshots_dir)
        .map_err(SetError::io(&snapshots_dir))?
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .collect();
    available.sort();
    let hub_err = |what: String| SetError::Hub {
        path: repo_dir.to_owned(),
        what,
    };
    let listed = || {
        if available.is_empty() {
            "none".to_owned()
        } else {
            available.join(", ")
        }
    };
    let wanted = revision.unwrap_or("main");
    if !plain(wanted) {
        return Err(hub_err(format!(
            "--revision {wanted}: not a branch, tag or commit name"
        )));
    }
    let ref_file = repo_dir.join("refs").join(wanted);
    let commit = if ref_file.is_file() {
        let mut f = crate::artifact::read::MeteredFile::open(&ref_file)?;
        let bytes = f.read_all_limited("hub ref", MAX_REF_BYTES)?;
        let text = String::from_utf8_lossy(&bytes).trim().to_owned();
        if !plain(&text) {
            return Err(hub_err(format!(
                "refs/{wanted} does not hold a commit id; the cache is damaged: download the model again"
            )));
        }
        text
    } else if available.iter().any(|a| a == wanted) {
        wanted.to_owned()
    } else if revision.is_none() && available.len() == 1 {
        // No refs/main (a cache filled by revision only): the one snapshot is the model.
        available[0].clone()
    } else {
        return Err(hub_err(format!(
            "no refs/{wanted} and no snapshot of that name (snapshots: {}); pass --revision with one of them",
            listed()
        )));
    };
    let dir = snapshots_dir.join(&commit);
    if !dir.is_dir() {
        return Err(hub_err(format!(
            "refs/{wanted} names commit {commit}, which has no snapshot here (snapshots: {}); pass --revision with one of them",
            listed()
        )));
    }
    let name = format!("{}@{commit}", repo_name(repo_dir));
    let other_revisions = available
        .into_iter()
        .filter(|a| *a != commit)
        .map(|a| format!("snapshots/{a}/"))
        .collect();
    Ok(Snapshot {
        repo_dir: repo_dir.to_owned(),
        dir,
        name,
        other_revisions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            repo_name(Path::new("/h/models--meta-llama--Llama-3.1-8B")),
            "meta-llama/Llama-3.1-8B"
        );
        assert_eq!(repo_name(Path::new("models--gpt2")), "gpt2");
        assert_eq!(repo_name(Path::new("datasets--a--b")), "datasets/a/b");
        assert!(!plain("../x"));
        assert!(!plain(".."));
        assert!(plain("v1.0"));
    }
}
