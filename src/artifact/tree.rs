//! Where the artifact stage finds files: a local directory tree, or a listing of objects in a
//! bucket (`audit::s3`). The builder asks a [`Tree`] which files a directory holds and opens
//! them as [`Source`]s; it never touches the filesystem directly, so the same parsers and the
//! same cross-file checks serve a local path and an object store.

use super::read::{FileSource, Source};
use std::path::{Path, PathBuf};

/// Files by path, as the artifact stage needs them.
pub trait Tree: Send + Sync {
    /// Opens a file for positioned reads.
    fn open(&self, path: &Path) -> std::io::Result<Box<dyn Source>>;
    /// The regular files directly in `dir` (not in its subdirectories), in any order.
    fn list_files(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>>;
    fn is_file(&self, path: &Path) -> bool;
    fn is_dir(&self, path: &Path) -> bool;
}

/// The local filesystem, paths taken relative to `root` (empty: as given).
#[derive(Debug, Clone, Default)]
pub struct LocalTree {
    pub root: PathBuf,
}

impl LocalTree {
    pub fn new(root: &Path) -> Self {
        LocalTree {
            root: root.to_owned(),
        }
    }

    fn resolve(&self, path: &Path) -> PathBuf {
        let p = self.root.join(path);
        if p.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            p
        }
    }
}

impl Tree for LocalTree {
    fn open(&self, path: &Path) -> std::io::Result<Box<dyn Source>> {
        Ok(Box::new(FileSource::open(&self.resolve(path))?))
    }

    fn list_files(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(self.resolve(dir))? {
            let entry = entry?;
            if entry.path().is_file() {
                out.push(dir.join(entry.file_name()));
            }
        }
        Ok(out)
    }

    fn is_file(&self, path: &Path) -> bool {
        self.resolve(path).is_file()
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.resolve(path).is_dir()
    }
}
