//! Which format a file is in, from its first bytes, never from its name.
//!
//! A renamed file must not slip past a check: a `.bin` may be a zip checkpoint, a legacy pickle
//! or anything else, and a `model.txt` may be a GGUF. Sixteen bytes decide; the parser of the
//! format then validates everything. Names only pick which parser explains the failure when the
//! content matches nothing (so `x.safetensors` with a bad header gets the safetensors error).

use super::ArtifactError;
use super::limits::MAX_SAFETENSORS_HEADER_BYTES;
use super::read::MeteredFile;
use super::tree::Tree;
use std::path::{Path, PathBuf};

/// Bytes read from the start of each file to decide its format.
pub const HEAD_BYTES: usize = 16;

/// The legacy (pre-zip) torch magic number 0x1950a86a20f9469cfc6c as the protocol-2 pickle
/// `torch.save` writes first: PROTO 2, LONG1 of 10 bytes, the number little-endian.
pub const TORCH_LEGACY_MAGIC: [u8; 14] = [
    0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19,
];

/// What the first bytes of a file say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Safetensors,
    Gguf,
    /// A zip archive; a PyTorch checkpoint if it holds a `<root>/data.pkl`.
    Zip,
    /// A pickle starting with torch's legacy magic number.
    TorchLegacy,
    /// Any other pickle (protocol 2 to 5 header): not weights, but code that a loader would run.
    Pickle,
    Unknown,
}

/// Classifies a file from its first [`HEAD_BYTES`] bytes and its length.
pub fn sniff(head: &[u8], file_len: u64) -> Kind {
    if head.starts_with(b"GGUF") {
        return Kind::Gguf;
    }
    if head.starts_with(b"PK\x03\x04") {
        return Kind::Zip;
    }
    if head.starts_with(&TORCH_LEGACY_MAGIC) {
        return Kind::TorchLegacy;
    }
    // A safetensors header length can start with the same two bytes as a pickle (640 = 0x280):
    // it is a pickle only if the byte after PROTO is an opcode. Every opcode of protocols 0 to 5
    // is at least `(` (0x28), and Python's unpickler refuses anything else, so a byte below it
    // means no pickle loader would run this file (and a header under 2.6 MB is then recognised).
    if let [0x80, proto, next, ..] = head
        && (2..=5).contains(proto)
        && *next >= b'('
    {
        return Kind::Pickle;
    }
    if head.len() >= 9 {
        let mut n = [0u8; 8];
        n.copy_from_slice(&head[..8]);
        let n = u64::from_le_bytes(n);
        if (2..=MAX_SAFETENSORS_HEADER_BYTES).contains(&n)
            && n <= file_len.saturating_sub(8)
            && head[8] == b'{'
        {
            return Kind::Safetensors;
        }
    }
    Kind::Unknown
}

/// The kind of an unrecognised file that its name suggests, to pick the parser whose error
/// explains best what is wrong with it.
pub fn kind_by_name(path: &Path) -> Kind {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if name.ends_with(".safetensors") {
        Kind::Safetensors
    } else if name.ends_with(".gguf") {
        Kind::Gguf
    } else {
        Kind::Unknown
    }
}

/// A file of a directory and what its head says.
#[derive(Debug)]
pub struct Detected {
    pub path: PathBuf,
    pub kind: Kind,
    /// The bytes detection read, handed on so the parser does not read them again.
    pub head: Vec<u8>,
}

/// Reads the head of `path` and classifies it; the bytes read are added to `bytes_read`.
pub fn detect(
    tree: &dyn Tree,
    path: &Path,
    bytes_read: &mut u64,
) -> Result<Detected, ArtifactError> {
    let mut f = MeteredFile::open_in(tree, path)?;
    let len = f.len();
    let kind = sniff(f.head(HEAD_BYTES)?, len);
    *bytes_read += f.bytes_read();
    Ok(Detected {
        path: path.to_owned(),
        kind,
        head: f.into_head(),
    })
}

/// Regular files of `dir` and their kinds, sorted by name; `config.json` and shard indexes are
/// left to their own readers (any other file, `*.json` included, is told by its content).
pub fn scan_dir(
    tree: &dyn Tree,
    dir: &Path,
    bytes_read: &mut u64,
) -> Result<Vec<Detected>, ArtifactError> {
    let mut paths = tree.list_files(dir).map_err(|source| ArtifactError::Io {
        path: dir.to_owned(),
        source,
    })?;
    paths.retain(|p| !crate::artifact_set::group::is_read_as_json(p));
    paths.sort();
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        out.push(detect(tree, &p, bytes_read)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_decides() {
        assert_eq!(sniff(b"GGUF\x03\0\0\0", 100), Kind::Gguf);
        assert_eq!(sniff(b"PK\x03\x04rest", 100), Kind::Zip);
        assert_eq!(sniff(&TORCH_LEGACY_MAGIC, 100), Kind::TorchLegacy);
        assert_eq!(sniff(b"\x80\x04\x95", 100), Kind::Pickle);
        let mut st = 2u64.to_le_bytes().to_vec();
        st.extend_from_slice(b"{}");
        assert_eq!(sniff(&st, 10), Kind::Safetensors);
        assert_eq!(sniff(&st, 9), Kind::Unknown, "header longer than the file");
        assert_eq!(sniff(b"{\"a\": 1}", 8), Kind::Unknown);
        assert_eq!(sniff(b"", 0), Kind::Unknown);
    }

    /// Found by the generator → parser property test: headers of 640, 896, 1152 or 1408 bytes
    /// (0x280…0x580) start like a pickle's PROTO 2 to 5.
    #[test]
    fn safetensors_header_length_like_a_pickle_protocol_is_safetensors() {
        for len in [0x280u64, 0x380, 0x480, 0x580, 0x27_0280] {
            let mut st = len.to_le_bytes().to_vec();
            st.extend_from_slice(b"{\"a\"");
            assert_eq!(sniff(&st, len + 8), Kind::Safetensors, "{len:#x}");
        }
        // With an opcode after PROTO it stays a pickle, whatever follows.
        let mut p = 0x28_0280u64.to_le_bytes().to_vec();
        p.push(b'{');
        assert_eq!(sniff(&p, 1 << 30), Kind::Pickle);
    }
}
