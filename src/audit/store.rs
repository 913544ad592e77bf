//! The stores an audit reads: a local directory tree, or a bucket ([`super::s3`]).
//!
//! A store lists its objects once ([`Listing`]); then each unit of work gets a [`Tree`] view of
//! it whose every read is counted, so each artifact's result says what it cost.

use super::listing::Listing;
use crate::artifact::read::{FileSource, Source};
use crate::artifact::tree::Tree;
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
}

impl LocalStore {
    /// Lists every regular file under `root` (symbolic links to directories are not followed,
    /// so a link loop cannot make the walk endless). A file as root lists just that file.
    pub fn open(path: &Path) -> std::io::Result<(LocalStore, Listing)> {
        let meta = std::fs::metadata(path)?;
        if meta.is_file() {
            let root = path.parent().unwrap_or(Path::new("")).to_owned();
            let name = PathBuf::from(path.file_name().unwrap_or_default());
            let store = LocalStore {
                root,
                shown: path.display().to_string(),
            };
            return Ok((store, Listing::new([(name, meta.len())])));
        }
        let mut objects = Vec::new();
        let mut stack = vec![PathBuf::new()];
        while let Some(rel) = stack.pop() {
            for entry in std::fs::read_dir(path.join(&rel))? {
                let entry = entry?;
                let ty = entry.file_type()?;
                let key = rel.join(entry.file_name());
                if ty.is_dir() {
                    stack.push(key);
                } else if ty.is_file() {
                    objects.push((key, entry.metadata()?.len()));
                } else if ty.is_symlink()
                    && let Ok(m) = std::fs::metadata(entry.path())
                    && m.is_file()
                {
                    objects.push((key, m.len()));
                }
            }
        }
        let store = LocalStore {
            root: path.to_owned(),
            shown: path.display().to_string(),
        };
        Ok((store, Listing::new(objects)))
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
                root: self.root.clone(),
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
    root: PathBuf,
    fetched: Arc<AtomicU64>,
}

impl Opener for LocalOpener {
    fn open(&self, key: &Path, _len: u64) -> std::io::Result<Box<dyn Source>> {
        Ok(Box::new(Counted {
            inner: FileSource::open(&self.root.join(key))?,
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
