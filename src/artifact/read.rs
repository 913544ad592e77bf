//! Reading files while counting every byte read.
//!
//! Inspecting a model must cost its headers, not its weights. Every read the artifact stage makes
//! goes through [`MeteredFile`], so the total is reported (`bytes_read`) and tested, not assumed.
//!
//! A [`MeteredFile`] reads from a [`Source`]: a local file ([`FileSource`]) or anything else
//! that serves positioned reads (an object in S3-compatible storage, see `audit::s3`). The
//! parsers only ever see a `MeteredFile`, so one parser per format serves every store.

use super::ArtifactError;
use super::tree::{LocalTree, Tree};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Reads the whole of a small file the user named: a key, a recipients list, a policy, a
/// training record, an audit state file or report. The one way the tool reads such a file, so
/// that every one of them gets the same two guarantees:
/// - only a regular file is read: a FIFO is refused without waiting for a writer (opened with
///   `O_NONBLOCK`, its type checked on the descriptor), a device or socket without a read;
/// - at most `limit` bytes, checked against the file's length before anything is allocated.
///
/// `what` names the file in the error (`signing key is N bytes, over the limit of …`).
pub fn read_small_file(
    path: &Path,
    what: &'static str,
    limit: u64,
) -> Result<Vec<u8>, ArtifactError> {
    MeteredFile::open(path)?.read_all_limited(what, limit)
}

/// [`read_small_file`] of a text file: the bytes must be UTF-8.
pub fn read_small_text(
    path: &Path,
    what: &'static str,
    limit: u64,
) -> Result<String, ArtifactError> {
    String::from_utf8(read_small_file(path, what, limit)?).map_err(|_| ArtifactError::NotText {
        path: path.to_owned(),
        what,
    })
}

/// Bytes that can be read at any offset: what the parsers need from a file or an object.
pub trait Source: Send + Sync {
    /// Length in bytes when opened.
    fn len(&self) -> u64;
    /// Fills `buf` from `offset`; reading past the end is an error.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()>;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A local regular file read with `pread`.
pub struct FileSource {
    file: File,
    len: u64,
}

impl FileSource {
    /// Opens a regular file; a FIFO, socket or device is an error, never a wait.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let (file, meta) = crate::artifact_set::identity::open_regular(path)?;
        Ok(FileSource::from_open(file, &meta))
    }

    /// A file already opened (and checked) by the caller.
    pub fn from_open(file: File, meta: &std::fs::Metadata) -> Self {
        FileSource {
            file,
            len: meta.len(),
        }
    }
}

impl Source for FileSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(&self.file, buf, offset)
    }
}

/// Bytes held in memory, served as a file (the fuzz targets and tests parse from memory through
/// the same parsers).
pub struct BytesSource(pub Vec<u8>);

impl Source for BytesSource {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let src = usize::try_from(offset)
            .ok()
            .and_then(|start| self.0.get(start..start.checked_add(buf.len())?))
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// A file opened for positioned reads, with a running count of the bytes read from it.
pub struct MeteredFile {
    path: PathBuf,
    file: Box<dyn Source>,
    len: u64,
    bytes_read: u64,
    /// The first bytes of the file, read once by format detection and served again from here,
    /// so detecting a file's format costs no byte twice.
    head: Vec<u8>,
}

impl MeteredFile {
    /// Opens a local file.
    pub fn open(path: &Path) -> Result<Self, ArtifactError> {
        MeteredFile::open_in(&LocalTree::default(), path)
    }

    /// Opens `path` in `tree` (a local directory, a bucket).
    pub fn open_in(tree: &dyn Tree, path: &Path) -> Result<Self, ArtifactError> {
        let source = tree.open(path).map_err(|source| ArtifactError::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(MeteredFile::from_source(path, source))
    }

    /// A "file" of the given bytes, named `path` in errors. Reads are served and counted exactly
    /// as from disk.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Self {
        MeteredFile::from_source(path, Box::new(BytesSource(bytes)))
    }

    /// Reads `source`, naming it `path` in errors.
    pub fn from_source(path: &Path, source: Box<dyn Source>) -> Self {
        MeteredFile {
            path: path.to_owned(),
            len: source.len(),
            file: source,
            bytes_read: 0,
            head: Vec::new(),
        }
    }

    /// Opens `path` with its first bytes already read (by detection, and counted there).
    pub fn open_with_head(
        tree: &dyn Tree,
        path: &Path,
        head: Vec<u8>,
    ) -> Result<Self, ArtifactError> {
        let mut f = MeteredFile::open_in(tree, path)?;
        // A file that shrank since detection keeps only the head bytes it still has.
        let keep = head.len().min(usize::try_from(f.len).unwrap_or(usize::MAX));
        f.head = head;
        f.head.truncate(keep);
        Ok(f)
    }

    /// Reads (and remembers) up to `n` first bytes of the file, for format detection.
    pub fn head(&mut self, n: usize) -> Result<&[u8], ArtifactError> {
        let want = n.min(usize::try_from(self.len).unwrap_or(usize::MAX));
        if self.head.len() < want {
            let mut buf = vec![0u8; want];
            self.read_exact_at(0, &mut buf)?;
            self.head = buf;
        }
        Ok(&self.head[..want])
    }

    /// The remembered first bytes, to hand to [`MeteredFile::open_with_head`].
    pub fn into_head(self) -> Vec<u8> {
        self.head
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// File length when opened.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Fills `buf` from `offset`; a file shorter than expected is an I/O error naming the file.
    pub fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), ArtifactError> {
        // Serve what the remembered head covers; read (and count) only the rest.
        let mut from_head = 0;
        if let Ok(start) = usize::try_from(offset)
            && start < self.head.len()
        {
            from_head = buf.len().min(self.head.len() - start);
            buf[..from_head].copy_from_slice(&self.head[start..start + from_head]);
        }
        let rest = &mut buf[from_head..];
        if rest.is_empty() {
            return Ok(());
        }
        self.file
            .read_exact_at(offset + from_head as u64, rest)
            .map_err(|source| ArtifactError::Io {
                path: self.path.clone(),
                source,
            })?;
        self.bytes_read += rest.len() as u64;
        Ok(())
    }

    /// Reads the whole file if it is at most `limit` bytes (small JSON side files).
    pub fn read_all_limited(
        &mut self,
        what: &'static str,
        limit: u64,
    ) -> Result<Vec<u8>, ArtifactError> {
        if self.len > limit {
            return Err(ArtifactError::FileTooLarge {
                path: self.path.clone(),
                what,
                len: self.len,
                limit,
            });
        }
        // Bounded by `limit` just above, so the cast and the allocation are safe.
        let mut buf = vec![0u8; self.len as usize];
        self.read_exact_at(0, &mut buf)?;
        Ok(buf)
    }
}
