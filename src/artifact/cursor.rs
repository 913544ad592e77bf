//! One bounded cursor over a file for the binary formats (GGUF, zip, a pickle's bytes).
//!
//! The cursor can only take bytes that are there: every `take` is checked against the end of the
//! file before anything is allocated or read, so a length field from a hostile file can never
//! drive an allocation larger than the file itself (and the callers cap lengths further with the
//! limits in [`super::limits`]). Reads go through [`MeteredFile`] in chunks, so a header spread
//! over many small fields costs a few reads, and the bytes are counted.

use super::ArtifactError;
use super::read::MeteredFile;

/// The first read's size; each refill doubles it up to [`MAX_CHUNK`]. Small headers cost a
/// small read, large ones (a 150k-token vocabulary) few syscalls, and read-ahead past the end
/// of a header stays under one chunk.
const FIRST_CHUNK: u64 = 4 * 1024;
const MAX_CHUNK: u64 = 1024 * 1024;

pub struct Cursor<'a> {
    file: &'a mut MeteredFile,
    /// Absolute offset of the next byte.
    pos: u64,
    /// Bytes of the file from `buf_start`.
    buf: Vec<u8>,
    buf_start: u64,
    chunk: u64,
}

impl<'a> Cursor<'a> {
    pub fn new(file: &'a mut MeteredFile, start: u64) -> Self {
        Cursor {
            file,
            pos: start,
            buf: Vec::new(),
            buf_start: start,
            chunk: FIRST_CHUNK,
        }
    }

    pub fn pos(&self) -> u64 {
        self.pos
    }

    pub fn file_len(&self) -> u64 {
        self.file.len()
    }

    pub fn path(&self) -> &std::path::Path {
        self.file.path()
    }

    /// Bytes between the cursor and the end of the file.
    pub fn remaining(&self) -> u64 {
        self.file.len().saturating_sub(self.pos)
    }

    /// The error for `what` needing `needed` bytes that are not there.
    pub fn truncated(&self, what: &str, needed: u64) -> ArtifactError {
        ArtifactError::Truncated {
            path: self.file.path().to_owned(),
            offset: self.pos,
            what: what.to_owned(),
            needed,
            available: self.remaining(),
        }
    }

    /// Fails unless `needed` bytes remain, without reading them.
    pub fn require(&self, what: &str, needed: u64) -> Result<(), ArtifactError> {
        if needed > self.remaining() {
            return Err(self.truncated(what, needed));
        }
        Ok(())
    }

    /// The next `n` bytes; fails (before allocating) if the file does not hold them.
    pub fn take(&mut self, n: u64, what: &str) -> Result<&[u8], ArtifactError> {
        self.require(what, n)?;
        let buf_end = self.buf_start + self.buf.len() as u64;
        let end = self.pos + n; // cannot overflow: pos + n <= file length
        if self.pos < self.buf_start || end > buf_end {
            // Read from pos: at least n bytes, at most a chunk more, never past the end.
            let len = n.max(self.chunk).min(self.remaining());
            self.chunk = (self.chunk * 2).min(MAX_CHUNK);
            // len <= remaining file bytes and, for n > a chunk, n was capped by the caller's limit.
            let len = usize::try_from(len).map_err(|_| self.truncated(what, n))?;
            let mut buf = vec![0u8; len];
            self.file.read_exact_at(self.pos, &mut buf)?;
            self.buf = buf;
            self.buf_start = self.pos;
        }
        let from = (self.pos - self.buf_start) as usize;
        self.pos = end;
        Ok(&self.buf[from..from + n as usize])
    }

    /// Moves past `n` bytes without reading them.
    pub fn skip(&mut self, n: u64, what: &str) -> Result<(), ArtifactError> {
        self.require(what, n)?;
        self.pos += n;
        Ok(())
    }

    pub fn u8(&mut self, what: &str) -> Result<u8, ArtifactError> {
        Ok(self.take(1, what)?[0])
    }

    pub fn u16(&mut self, what: &str) -> Result<u16, ArtifactError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    pub fn u32(&mut self, what: &str) -> Result<u32, ArtifactError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub fn u64(&mut self, what: &str) -> Result<u64, ArtifactError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    pub fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], ArtifactError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N as u64, what)?);
        Ok(out)
    }
}
