//! The set as the artifact stage sees it: a [`Tree`] that lists only the set's files and opens
//! each one only if it is still the file that was listed.

use super::identity::open_listed;
use super::{ArtifactSet, ModelFiles};
use crate::artifact::read::{FileSource, Source};
use crate::artifact::tree::Tree;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// The files of a set by shown path, and the directories holding them.
pub struct SetTree<'s> {
    files: HashMap<&'s Path, &'s super::SetFile>,
    dirs: BTreeMap<PathBuf, Vec<PathBuf>>,
}

impl<'s> SetTree<'s> {
    pub fn new(set: &'s ArtifactSet) -> Self {
        let mut dirs: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
        for f in &set.files {
            let dir = f.shown.parent().unwrap_or(Path::new("")).to_owned();
            dirs.entry(dir).or_default().push(f.shown.clone());
        }
        SetTree {
            files: set.files.iter().map(|f| (f.shown.as_path(), f)).collect(),
            dirs,
        }
    }
}

fn not_listed() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::NotFound,
        "not in the artifact set (missing, left out by --exclude or a default rule, or added after the listing)",
    )
}

impl Tree for SetTree<'_> {
    fn open(&self, path: &Path) -> std::io::Result<Box<dyn Source>> {
        let f = self.files.get(path).ok_or_else(not_listed)?;
        let (file, meta) = open_listed(&f.real, &f.id)?;
        Ok(Box::new(FileSource::from_open(file, &meta)))
    }

    fn list_files(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        self.dirs.get(dir).cloned().ok_or_else(not_listed)
    }

    fn is_file(&self, path: &Path) -> bool {
        self.files.contains_key(path)
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.dirs.contains_key(path)
    }
}

/// One model's files out of a larger tree: the artifact stage sees nothing else, so a model is
/// read exactly as it was grouped, whatever lies beside it.
pub struct ModelView<'t> {
    inner: &'t dyn Tree,
    files: BTreeSet<PathBuf>,
}

impl<'t> ModelView<'t> {
    pub fn new(inner: &'t dyn Tree, model: &ModelFiles) -> Self {
        ModelView {
            inner,
            files: model.all_files().cloned().collect(),
        }
    }
}

impl Tree for ModelView<'_> {
    fn open(&self, path: &Path) -> std::io::Result<Box<dyn Source>> {
        if !self.files.contains(path) {
            return Err(not_listed());
        }
        self.inner.open(path)
    }

    fn list_files(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        Ok(self
            .files
            .iter()
            .filter(|f| f.parent().unwrap_or(Path::new("")) == dir)
            .cloned()
            .collect())
    }

    fn is_file(&self, path: &Path) -> bool {
        self.files.contains(path)
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.files
            .iter()
            .any(|f| f.parent().unwrap_or(Path::new("")) == path)
    }
}
