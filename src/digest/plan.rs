//! What to hash for a path the user named: the file itself, or every file under a directory.

use super::DigestError;
use std::path::{Path, PathBuf};

/// Deepest directory nesting walked; deeper directories are an error rather than a stack risk.
pub const MAX_DEPTH: usize = 64;

/// The files under one path the user named.
#[derive(Debug, Clone)]
pub struct Target {
    /// The path as named.
    pub path: PathBuf,
    pub files: Vec<PlannedFile>,
}

/// One file to hash, with its length when planned (0 for pipes and devices, whose length is
/// only known once read).
#[derive(Debug, Clone)]
pub struct PlannedFile {
    pub path: PathBuf,
    pub size: u64,
}

impl Target {
    /// Bytes planned (a lower bound when pipes are involved).
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// Lists what hashing `path` will read. A directory yields every regular file under it, sorted
/// by path, following symbolic links to files (model caches are made of them) but not to
/// directories (which could loop). A named pipe or device yields itself.
pub fn plan(path: &Path) -> Result<Target, DigestError> {
    let meta = std::fs::metadata(path).map_err(|source| DigestError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut files = Vec::new();
    if meta.is_dir() {
        walk(path, 0, &mut files)?;
        files.sort_by(|a: &PlannedFile, b| a.path.cmp(&b.path));
    } else if meta.is_file() {
        files.push(PlannedFile {
            path: path.to_owned(),
            size: meta.len(),
        });
    } else if is_stream(&meta) {
        files.push(PlannedFile {
            path: path.to_owned(),
            size: 0,
        });
    } else {
        return Err(DigestError::Unsupported {
            path: path.to_owned(),
        });
    }
    Ok(Target {
        path: path.to_owned(),
        files,
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

fn walk(dir: &Path, depth: usize, out: &mut Vec<PlannedFile>) -> Result<(), DigestError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| DigestError::Io { path, source }
    };
    if depth > MAX_DEPTH {
        return Err(DigestError::Io {
            path: dir.to_owned(),
            source: std::io::Error::other(format!("directories nested more than {MAX_DEPTH} deep")),
        });
    }
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(io(&path))?;
        if kind.is_dir() {
            walk(&path, depth + 1, out)?;
        } else if kind.is_file() || kind.is_symlink() {
            // A dangling link is an error naming it: silently skipping it would leave a hole.
            let meta = std::fs::metadata(&path).map_err(io(&path))?;
            if meta.is_file() {
                out.push(PlannedFile {
                    path,
                    size: meta.len(),
                });
            }
        }
    }
    Ok(())
}
