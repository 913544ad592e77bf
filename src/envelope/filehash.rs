//! Digests of one file as its bytes stream past, when sealing (reading the files) and when
//! opening (writing them). Every byte is hashed once.
//!
//! - A safetensors file (`*.safetensors`) gets its header digest and one per tensor, on both
//!   sides: its header arrives first, so opening can cut it the same way as it streams.
//! - A GGUF or PyTorch file gets, when sealing, a whole-file digest and its header and
//!   per-tensor digests exactly as `weightguard hash` computes them (its layout is parsed from
//!   the file on disk). Opening cannot cut it while streaming (a zip's directory comes last), so
//!   it checks the whole-file digest; the tensor digests are the sealer's signed statement about
//!   those same, verified, bytes.
//! - Any other file gets a whole-file digest.

use super::manifest::{FileEntry, Segment, TensorEntry};
use crate::artifact::limits::MAX_SAFETENSORS_HEADER_BYTES;
use crate::artifact::safetensors::{HeaderTensor, parse_header};
use crate::digest::{FedFileDigest, FileKind, ReadPath, SegmentHasher};
use std::path::Path;

/// Whether a file gets per-tensor digests: the same rule `weightguard hash` applies.
pub fn is_weight_file(name: &str) -> bool {
    name.ends_with(".safetensors")
}

enum State {
    Whole(Box<blake3::Hasher>),
    /// A GGUF or PyTorch file being sealed, cut by its layout on disk.
    Fed(Box<FedFileDigest>),
    /// A weight file whose header is still arriving.
    Prefix(Vec<u8>),
    Segments {
        hasher: Box<SegmentHasher>,
        json_len: u64,
        tensors: Vec<HeaderTensor>,
    },
}

/// Hashes one file fed in order.
pub struct FileHasher {
    name: String,
    size: u64,
    fed: u64,
    state: State,
}

impl FileHasher {
    pub fn new(name: &str, size: u64) -> FileHasher {
        let state = if is_weight_file(name) {
            State::Prefix(Vec::new())
        } else {
            State::Whole(Box::new(blake3::Hasher::new()))
        };
        FileHasher {
            name: name.to_owned(),
            size,
            fed: 0,
            state,
        }
    }

    /// For sealing the file at `path`: as [`FileHasher::new`], and a GGUF or PyTorch file
    /// (recognised by content) gets its header and per-tensor digests as well as the whole-file
    /// one. A file whose content claims a weight format but does not parse is an error.
    pub fn for_sealing(path: &Path, name: &str, size: u64) -> Result<FileHasher, String> {
        if is_weight_file(name) {
            return Ok(FileHasher::new(name, size));
        }
        let fed = FedFileDigest::new(path, size, true).map_err(|e| e.to_string())?;
        let state = match fed.kind() {
            FileKind::Gguf | FileKind::Pytorch | FileKind::PytorchLegacy => {
                State::Fed(Box::new(fed))
            }
            // Safetensors content under another name is hashed whole, as opening will.
            FileKind::Safetensors | FileKind::Other => {
                State::Whole(Box::new(blake3::Hasher::new()))
            }
        };
        Ok(FileHasher {
            name: name.to_owned(),
            size,
            fed: 0,
            state,
        })
    }

    pub fn feed(&mut self, buf: &[u8]) -> Result<(), String> {
        self.fed += buf.len() as u64;
        match &mut self.state {
            State::Fed(d) => d.feed(buf),
            State::Whole(h) => {
                h.update(buf);
            }
            State::Segments { hasher, .. } => hasher.feed(buf),
            State::Prefix(prefix) => {
                prefix.extend_from_slice(buf);
                if prefix.len() < 8 {
                    return Ok(());
                }
                let n = u64::from_le_bytes(prefix[..8].try_into().unwrap_or([0xff; 8]));
                if n > MAX_SAFETENSORS_HEADER_BYTES || n > self.size.saturating_sub(8) {
                    return Err(format!(
                        "{}: header length {n} is not a valid safetensors header",
                        self.name
                    ));
                }
                // Bounded by the check above.
                let header_end = 8 + n as usize;
                if prefix.len() < header_end {
                    return Ok(());
                }
                let header = parse_header(Path::new(&self.name), &prefix[8..header_end], self.size)
                    .map_err(|e| e.to_string())?;
                let data_start = header.data_start();
                let mut ends = vec![data_start];
                ends.extend(header.tensors.iter().map(|t| data_start + t.end));
                // One thread: seal and open run hashing beside their encryption and write
                // threads, which keep the other cores busy (rayon's idle workers would spin).
                let mut hasher = SegmentHasher::new(ends, false, false);
                hasher.feed(prefix);
                self.state = State::Segments {
                    hasher: Box::new(hasher),
                    json_len: header.json_len,
                    tensors: header.tensors,
                };
            }
        }
        Ok(())
    }

    /// The manifest entry for the file. Errors if the byte count differs from the size.
    pub fn finish(self) -> Result<FileEntry, String> {
        if self.fed != self.size {
            return Err(format!(
                "{}: {} bytes where {} were expected (the file changed while being read?)",
                self.name, self.fed, self.size
            ));
        }
        let mut entry = FileEntry {
            path: self.name.clone(),
            size: self.size,
            blake3: None,
            header: None,
            tensors: Vec::new(),
        };
        match self.state {
            State::Whole(h) => entry.blake3 = Some(h.finalize().to_hex().to_string()),
            State::Fed(d) => {
                let d = d.finish(ReadPath::Buffered).map_err(|e| e.to_string())?;
                entry.blake3 = d.blake3.map(|b| b.to_string());
                entry.header = d.header.map(|h| Segment {
                    offset: h.offset,
                    len: h.len,
                    blake3: h.blake3.to_string(),
                });
                entry.tensors = d
                    .tensors
                    .into_iter()
                    .map(|t| TensorEntry {
                        name: t.name,
                        dtype: t.dtype.name(),
                        shape: t.shape,
                        offset: t.offset,
                        len: t.len,
                        blake3: t.blake3.to_string(),
                    })
                    .collect();
            }
            State::Prefix(_) => {
                return Err(format!("{}: ends inside its safetensors header", self.name));
            }
            State::Segments {
                hasher,
                json_len,
                tensors,
            } => {
                let (digests, _) = hasher
                    .finish()
                    .ok_or_else(|| format!("{}: shorter than its header describes", self.name))?;
                let data_start = 8 + json_len;
                entry.header = Some(Segment {
                    offset: 0,
                    len: data_start,
                    blake3: digests[0].to_hex().to_string(),
                });
                for (t, d) in tensors.iter().zip(&digests[1..]) {
                    entry.tensors.push(TensorEntry {
                        name: t.name.clone(),
                        dtype: t.dtype.name().to_owned(),
                        shape: t.shape.clone(),
                        offset: data_start + t.begin,
                        len: t.end - t.begin,
                        blake3: d.to_hex().to_string(),
                    });
                }
            }
        }
        Ok(entry)
    }
}
