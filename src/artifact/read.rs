//! Reading files while counting every byte read.
//!
//! Inspecting a model must cost its headers, not its weights. Every read the artifact stage makes
//! goes through [`MeteredFile`], so the total is reported (`bytes_read`) and tested, not assumed.

use super::ArtifactError;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// A file opened for positioned reads, with a running count of the bytes read from it.
pub struct MeteredFile {
    path: PathBuf,
    source: Source,
    len: u64,
    bytes_read: u64,
    /// The first bytes of the file, read once by format detection and served again from here,
    /// so detecting a file's format costs no byte twice.
    head: Vec<u8>,
}

/// Where the bytes come from: a file on disk, or bytes already in memory (fuzzing and tests run
/// the very same parsers on them, without a file per input).
enum Source {
    File(File),
    Bytes(Vec<u8>),
}

impl MeteredFile {
    /// A "file" of the given bytes, named `path` in errors. Reads are served and counted exactly
    /// as from disk.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Self {
        MeteredFile {
            path: path.to_owned(),
            len: bytes.len() as u64,
            source: Source::Bytes(bytes),
            bytes_read: 0,
            head: Vec::new(),
        }
    }

    pub fn open(path: &Path) -> Result<Self, ArtifactError> {
        let io = |source| ArtifactError::Io {
            path: path.to_owned(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(io(std::io::Error::other("not a regular file")));
        }
        Ok(MeteredFile {
            path: path.to_owned(),
            source: Source::File(file),
            len: meta.len(),
            bytes_read: 0,
            head: Vec::new(),
        })
    }

    /// Opens `path` with its first bytes already read (by detection, and counted there).
    pub fn open_with_head(path: &Path, head: Vec<u8>) -> Result<Self, ArtifactError> {
        let mut f = MeteredFile::open(path)?;
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
        let at = offset.saturating_add(from_head as u64);
        let result = match &mut self.source {
            Source::File(file) => file
                .seek(SeekFrom::Start(at))
                .and_then(|_| file.read_exact(rest)),
            Source::Bytes(bytes) => usize::try_from(at)
                .ok()
                .and_then(|start| Some(start..start.checked_add(rest.len())?))
                .and_then(|range| bytes.get(range))
                .map(|src| rest.copy_from_slice(src))
                .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof)),
        };
        result.map_err(|source| ArtifactError::Io {
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
