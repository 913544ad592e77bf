//! The values the digest engine produces. Printers (the CLI's human and JSON output) render
//! these; the JSON field names are a contract documented in `docs/digest.md`.

use crate::artifact::Dtype;
use serde::{Serialize, Serializer};
use std::fmt;
use std::path::PathBuf;

/// A 32-byte BLAKE3 digest, shown and serialised as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(pub [u8; 32]);

impl From<blake3::Hash> for Digest {
    fn from(h: blake3::Hash) -> Self {
        Digest(*h.as_bytes())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(blake3::Hash::from_bytes(self.0).to_hex().as_str())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What kind of file was hashed, which decides the digests it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// A safetensors weight file: a header digest and one per tensor.
    Safetensors,
    /// Anything else: a whole-file digest.
    Other,
}

/// How the bytes were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadPath {
    /// Memory-mapped, guarded against truncation (see `digest::mmap`).
    Mmap,
    /// Positioned reads (`pread`) into bounded buffers.
    Buffered,
    /// Sequential reads from a pipe or device.
    Stream,
}

/// A digest of a byte range of a file.
#[derive(Debug, Clone, Serialize)]
pub struct RangeDigest {
    pub offset: u64,
    pub len: u64,
    pub blake3: Digest,
}

/// A tensor's digest: BLAKE3 of exactly its data bytes.
#[derive(Debug, Clone, Serialize)]
pub struct TensorDigest {
    pub name: String,
    pub dtype: Dtype,
    pub shape: Vec<u64>,
    pub offset: u64,
    pub len: u64,
    pub blake3: Digest,
}

/// The digests of one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileDigest {
    pub path: PathBuf,
    pub size: u64,
    pub kind: FileKind,
    pub read: ReadPath,
    /// Whole-file BLAKE3 (equal to `b3sum`'s): always for other files, with `--b3sum` for weight
    /// files, otherwise `null`.
    pub blake3: Option<Digest>,
    /// Weight files: the bytes before the tensor data (length prefix and JSON header).
    pub header: Option<RangeDigest>,
    /// Weight files: every tensor in data order. Header and tensors tile the file exactly.
    pub tensors: Vec<TensorDigest>,
}

/// The digests of one path named by the user (a file or a directory of files).
#[derive(Debug, Clone, Serialize)]
pub struct HashReport {
    pub path: PathBuf,
    /// Model root digest over every tensor of every weight file (see `digest::root`); `null`
    /// when there are no weight files.
    pub root: Option<Digest>,
    pub files: Vec<FileDigest>,
    pub tensor_count: usize,
    /// Bytes hashed (each read once).
    pub bytes: u64,
}
