//! Digests of one file as its bytes stream past, the same way when sealing (reading the files)
//! and when opening (writing them): a weight file (`*.safetensors`) gets its header digest and
//! one per tensor, any other file a whole-file digest. Every byte is hashed once.

use super::manifest::{FileEntry, Segment, TensorEntry};
use crate::artifact::limits::MAX_SAFETENSORS_HEADER_BYTES;
use crate::artifact::safetensors::{HeaderTensor, parse_header};
use crate::digest::SegmentHasher;
use std::path::Path;

/// Whether a file gets per-tensor digests: the same rule `weightguard hash` applies.
pub fn is_weight_file(name: &str) -> bool {
    name.ends_with(".safetensors")
}

enum State {
    Whole(Box<blake3::Hasher>),
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

    pub fn feed(&mut self, buf: &[u8]) -> Result<(), String> {
        self.fed += buf.len() as u64;
        match &mut self.state {
            State::Whole(h) => {
                if buf.len() >= 1 << 20 {
                    h.update_rayon(buf);
                } else {
                    h.update(buf);
                }
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
                let mut hasher = SegmentHasher::new(ends, false, true);
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
