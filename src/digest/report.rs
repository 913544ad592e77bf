//! The values the digest engine produces. Printers (the CLI's human and JSON output) render
//! these; the JSON field names are a contract documented in `docs/digest.md`.

use crate::artifact::TensorType;
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

/// What kind of file was hashed (by content), which decides the digests it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// A safetensors weight file: a header digest and one per tensor.
    Safetensors,
    /// A GGUF weight file: a header digest, one per tensor, one per gap (alignment padding).
    Gguf,
    /// A `torch.save` zip checkpoint: one digest per storage, one per gap between storages
    /// (zip headers, `data.pkl`, the central directory…), and one per tensor view.
    Pytorch,
    /// A legacy (pre-1.6) `torch.save` file: as [`FileKind::Pytorch`], the gaps being the
    /// pickles and each storage's element count.
    PytorchLegacy,
    /// Anything else: a whole-file digest.
    Other,
}

impl FileKind {
    /// Whether the file holds weights (gets segment and tensor digests, counts in the root).
    pub fn is_weights(self) -> bool {
        self != FileKind::Other
    }
}

/// What a segment of a weight file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentKind {
    /// Safetensors and GGUF: the bytes before the data section.
    Header,
    /// Safetensors and GGUF: one tensor's data.
    Tensor,
    /// PyTorch: one storage's data (a `data/<key>` member, or a legacy file's raw storage).
    Storage,
    /// Bytes in no header and no data region: GGUF alignment padding; PyTorch zip local
    /// headers, `data.pkl`, other members and the central directory.
    Gap,
}

/// A digest of one segment of a weight file; a file's segments tile it in order.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentDigest {
    pub kind: SegmentKind,
    /// The tensor's name, or the storage's (`data/0`); `null` for the header and gaps.
    pub name: Option<String>,
    pub offset: u64,
    pub len: u64,
    pub blake3: Digest,
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

/// A tensor's digest: BLAKE3 of exactly its data bytes `[offset, offset + len)`. For a PyTorch
/// tensor, that is its view's span inside its storage (the whole storage's digest when the view
/// covers all of it).
#[derive(Debug, Clone, Serialize)]
pub struct TensorDigest {
    pub name: String,
    /// The format's type name: a safetensors dtype (also for PyTorch) or a ggml type.
    pub dtype: TensorType,
    pub shape: Vec<u64>,
    pub offset: u64,
    pub len: u64,
    pub blake3: Digest,
    /// PyTorch: the storage the tensor views (the name of its `storage` segment). Absent for
    /// other formats.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
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
    /// Safetensors and GGUF: the bytes before the tensor data (the header segment).
    pub header: Option<RangeDigest>,
    /// Weight files: every tensor in data order.
    pub tensors: Vec<TensorDigest>,
    /// Weight files: header, data regions and gaps in file order, tiling the file exactly (each
    /// byte in one segment). Empty for other files.
    pub segments: Vec<SegmentDigest>,
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
    /// Paths the artifact set's rules left out (absent when none were).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<crate::artifact_set::Ignored>,
}
