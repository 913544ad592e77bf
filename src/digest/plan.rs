//! What to hash: the files of an artifact set, or a stream named on its own.

use super::DigestError;
use std::path::{Path, PathBuf};

/// The files under one path the user named.
#[derive(Debug, Clone)]
pub struct Target {
    /// The path as named.
    pub path: PathBuf,
    pub files: Vec<PlannedFile>,
    /// What the artifact set's rules left out of it.
    pub ignored: Vec<crate::artifact_set::Ignored>,
}

/// One file to hash, with its length when planned (0 for pipes and devices, whose length is
/// only known once read).
#[derive(Debug, Clone)]
pub struct PlannedFile {
    /// Where the bytes are read.
    pub path: PathBuf,
    pub size: u64,
    /// The name reports give it, when not `path` (a hub snapshot's link, not its blob).
    pub shown: Option<PathBuf>,
    /// The identity it was listed with (an artifact set's file): opened only if unchanged.
    pub id: Option<crate::artifact_set::FileId>,
}

impl PlannedFile {
    pub fn new(path: PathBuf, size: u64) -> Self {
        PlannedFile {
            path,
            size,
            shown: None,
            id: None,
        }
    }
}

impl Target {
    /// Bytes planned (a lower bound when pipes are involved).
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// The files of an artifact set, as the digest engine reads them: each opened only if it is
/// still the file listed, reported under the name the user sees.
pub fn from_set(set: &crate::artifact_set::ArtifactSet) -> Target {
    Target {
        path: set.path.clone(),
        files: set
            .files
            .iter()
            .map(|f| PlannedFile {
                path: f.real.clone(),
                size: f.id.size,
                shown: Some(f.shown.clone()),
                id: Some(f.id),
            })
            .collect(),
        ignored: set.ignored.clone(),
    }
}

/// The plan for a path named on its own that is no artifact set: a named pipe or a device,
/// read once as a stream. Files and directories go through the artifact set ([`from_set`]), so
/// `hash` reads exactly what every other command reads.
pub fn plan_stream(path: &Path) -> Result<Target, DigestError> {
    let meta = std::fs::metadata(path).map_err(|source| DigestError::Io {
        path: path.to_owned(),
        source,
    })?;
    if !is_stream(&meta) {
        return Err(DigestError::Unsupported {
            path: path.to_owned(),
        });
    }
    Ok(Target {
        path: path.to_owned(),
        files: vec![PlannedFile::new(path.to_owned(), 0)],
        ignored: vec![],
    })
}

#[cfg(unix)]
fn is_stream(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    t.is_fifo() || t.is_char_device()
}

#[cfg(not(unix))]
fn is_stream(_meta: &std::fs::Metadata) -> bool {
    false
}
