//! The stores an audit reads: a local directory tree, or a bucket ([`super::s3`]).
//!
//! A store lists its objects once ([`Listing`]); then each unit of work gets a [`Tree`] view of
//! it whose every read is counted, so each artifact's result says what it cost.

use super::listing::Listing;
use crate::artifact::read::{FileSource, Source};
use crate::artifact::tree::Tree;
use crate::artifact_set::FileId;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A store under audit.
pub trait Store: Send + Sync {
    /// What is audited, as the user named it.
    fn root(&self) -> String;
    /// Where an object or directory is, as a URI or path the user can act on.
    fn uri(&self, key: &Path) -> String;
    /// A view for one unit of work: opens through `listing`, adds every byte read from the
    /// store to `fetched`.
    fn view(&self, listing: Arc<Listing>, fetched: Arc<AtomicU64>) -> Box<dyn Tree>;
}

/// A local directory (or a single file, whose directory is the root).
pub struct LocalStore {
    pub root: PathBuf,
    /// Shown as the root (the path as the user typed it).
    pub shown: String,
    /// Where each listed file's bytes are, and the identity it was listed with.
    files: Arc<HashMap<PathBuf, (PathBuf, FileId)>>,
}

impl LocalStore {
    /// Lists `path` through the artifact set (`artifact_set::collect`, leniently): the same
    /// rules as every other command (ignored paths, links, special files, hub caches), with each
    /// path that breaks one kept as a problem to report. A file as root lists just that file.
    pub fn open(
        path: &Path,
        options: &crate::artifact_set::Options,
    ) -> Result<(LocalStore, Listing), String> {
        let mut options = options.clone();
        options.lenient = true;
        let set = crate::artifact_set::collect(path, &options).map_err(|e| e.to_string())?;
        let root = if set.is_dir {
            path.to_owned()
        } else {
            path.parent().unwrap_or(Path::new("")).to_owned()
        };
        let mut listing = Listing::new(set.files.iter().map(|f| (f.rel.clone(), f.id.size)));
        listing.problems = set
            .problems
            .iter()
            .map(|p| (p.rel.clone(), p.what.clone()))
            .collect();
        listing.names = set
            .scopes
            .iter()
            .filter(|s| s.name != path.display().to_string())
            .map(|s| (s.rel.clone(), s.name.clone()))
            .collect();
        // Longest first, so a nested name wins.
        listing
            .names
            .sort_by_key(|(d, _)| std::cmp::Reverse(d.components().count()));
        let store = LocalStore {
            root,
            shown: path.display().to_string(),
            files: Arc::new(
                set.files
                    .iter()
                    .map(|f| (f.rel.clone(), (f.real.clone(), f.id)))
                    .collect(),
            ),
        };
        Ok((store, listing))
    }
}

impl Store for LocalStore {
    fn root(&self) -> String {
        self.shown.clone()
    }

    fn uri(&self, key: &Path) -> String {
        self.root.join(key).display().to_string()
    }

    fn view(&self, listing: Arc<Listing>, fetched: Arc<AtomicU64>) -> Box<dyn Tree> {
        Box::new(ListedTree {
            listing,
            opener: Box::new(LocalOpener {
                files: self.files.clone(),
                fetched,
            }),
        })
    }
}

/// Opens one object of a store for positioned reads.
pub trait Opener: Send + Sync {
    fn open(&self, key: &Path, len: u64) -> std::io::Result<Box<dyn Source>>;
}

struct LocalOpener {
    files: Arc<HashMap<PathBuf, (PathBuf, FileId)>>,
    fetched: Arc<AtomicU64>,
}

impl Opener for LocalOpener {
    /// Opens a listed file only if it is still the file listed (never a FIFO swapped in).
    fn open(&self, key: &Path, _len: u64) -> std::io::Result<Box<dyn Source>> {
        let (real, id) = self.files.get(key).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, "not in the listing")
        })?;
        let (file, meta) = crate::artifact_set::identity::open_listed(real, id)?;
        Ok(Box::new(Counted {
            inner: FileSource::from_open(file, &meta),
            fetched: self.fetched.clone(),
        }))
    }
}

/// A source whose reads are added to a shared count.
struct Counted<S> {
    inner: S,
    fetched: Arc<AtomicU64>,
}

impl<S: Source> Source for Counted<S> {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.inner.read_exact_at(offset, buf)?;
        self.fetched.fetch_add(buf.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// A [`Tree`] answering directory questions from the listing (no more requests to the
/// store) and opening objects through an [`Opener`].
pub struct ListedTree {
    pub listing: Arc<Listing>,
    pub opener: Box<dyn Opener>,
}

impl Tree for ListedTree {
    fn open(&self, path: &Path) -> std::io::Result<Box<dyn Source>> {
        let len = self
            .listing
            .size(path)
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such object"))?;
        self.opener.open(path, len)
    }

    fn list_files(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        self.listing
            .dirs
            .get(dir)
            .cloned()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"))
    }

    fn is_file(&self, path: &Path) -> bool {
        self.listing.files.contains_key(path)
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.listing.dirs.contains_key(path)
    }
}
