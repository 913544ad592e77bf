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
    /// Any other pickle (protocols 0 to 5, with or without PROTO), or a container that may hide
    /// one (gzip, bz2, xz, lzma, zlib, lz4, 7z, tar, NumPy `.npy`): not weights, but code that
    /// a loader would run. [`container_of`] tells which.
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
    // it is a pickle only if the bytes after PROTO run as pickle opcodes. Every opcode is at
    // least `(` (0x28) and the machine refuses the rest, so a header under 2.6 MB stays
    // safetensors.
    if head.first() == Some(&0x80) && crate::artifact::pytorch::pickle::plausible_start(head) {
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
    if container_of(head).is_some() {
        return Kind::Pickle;
    }
    // Protocols 0 and 1 need no PROTO; a pickle this short is seen whole.
    if head.len() as u64 == file_len && head.last() == Some(&b'.') && plausible_start(head) {
        return Kind::Pickle;
    }
    Kind::Unknown
}

use crate::artifact::pytorch::pickle::plausible_start;

/// Names under which pickles are stored (`torch.save`, `pickle.dump`, `joblib.dump`).
const PICKLE_NAMES: &[&str] = &[
    ".pkl", ".pickle", ".bin", ".pt", ".pth", ".ckpt", ".joblib", ".dat", ".data", ".p",
];

/// [`sniff`], completed for the pickles it cannot tell from 16 bytes. Protocols 0 and 1 have no
/// magic number: a file whose first opcodes run without an error (but the end of the head) is
/// a pickle when it ends with STOP, as every pickle writer's output does, or when its name is
/// one pickles are stored under. Text that merely starts with an opcode's letter (`Version…`)
/// is neither.
pub fn sniff_whole(head: &[u8], file_len: u64, last: Option<u8>, path: &Path) -> Kind {
    let kind = sniff(head, file_len);
    if kind != Kind::Unknown || !plausible_start(head) {
        return kind;
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if last == Some(b'.') || PICKLE_NAMES.iter().any(|ext| name.ends_with(ext)) {
        return Kind::Pickle;
    }
    Kind::Unknown
}

/// Containers that can hide a pickle, told by their magic numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Gzip,
    Bzip2,
    Xz,
    /// The legacy `.lzma` stream (joblib's `lzma` compressor).
    Lzma,
    /// A zlib stream (joblib's default compressor).
    Zlib,
    /// An LZ4 frame (joblib's `lz4` compressor): recognised, not decompressed.
    Lz4,
    /// A 7-Zip archive: recognised, not opened.
    SevenZip,
    /// A tar archive (`ustar` at offset 257): torch's format before 0.4, or any tarball.
    Tar,
    /// A NumPy `.npy` array, whose object arrays are pickles.
    Npy,
}

impl Container {
    pub fn name(self) -> &'static str {
        match self {
            Container::Gzip => "gzip",
            Container::Bzip2 => "bzip2",
            Container::Xz => "xz",
            Container::Lzma => "lzma",
            Container::Zlib => "zlib",
            Container::Lz4 => "lz4",
            Container::SevenZip => "7z",
            Container::Tar => "tar",
            Container::Npy => "npy",
        }
    }
}

/// Bytes at which a tar header's `ustar` magic sits, and the file length a tar is a multiple of.
pub const TAR_MAGIC_AT: u64 = 257;
const TAR_BLOCK: u64 = 512;

/// The container a file's first bytes announce (tar needs [`is_tar`]: its magic is at 257).
pub fn container_of(head: &[u8]) -> Option<Container> {
    let c = match head {
        [0x1f, 0x8b, ..] => Container::Gzip,
        [b'B', b'Z', b'h', b'1'..=b'9', ..] => Container::Bzip2,
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => Container::Xz,
        [b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c, ..] => Container::SevenZip,
        [0x93, b'N', b'U', b'M', b'P', b'Y', ..] => Container::Npy,
        [0x04, 0x22, 0x4d, 0x18, ..] => Container::Lz4,
        // lzma-alone: properties 0x5d (lc 3, lp 0, pb 2), then a dictionary size whose two low
        // bytes are zero for every preset.
        [0x5d, 0, 0, ..] => Container::Lzma,
        // zlib with a 32 KiB window and a valid header check, at the levels writers use.
        [0x78, 0x01 | 0x5e | 0x9c | 0xda, ..] => Container::Zlib,
        _ => return None,
    };
    Some(c)
}

/// Whether a file of `len` bytes whose bytes at [`TAR_MAGIC_AT`] are `magic` is a tar archive.
pub fn is_tar(magic: &[u8], len: u64) -> bool {
    len >= TAR_BLOCK && len.is_multiple_of(TAR_BLOCK) && magic.starts_with(b"ustar")
}

/// [`sniff_whole`] with the file's last byte, plus the tar magic read at offset 257 of a file whose content matched nothing
/// and whose length is a whole number of tar blocks (so other files cost no extra read).
pub fn sniff_file(f: &mut MeteredFile) -> Result<Kind, ArtifactError> {
    let len = f.len();
    let mut kind = sniff(f.head(HEAD_BYTES)?, len);
    if kind == Kind::Unknown && len > HEAD_BYTES as u64 && plausible_start(f.head(HEAD_BYTES)?) {
        let mut last = [0u8; 1];
        f.read_exact_at(len - 1, &mut last)?;
        let path = f.path().to_owned();
        kind = sniff_whole(f.head(HEAD_BYTES)?, len, Some(last[0]), &path);
    }
    if kind == Kind::Unknown && len >= TAR_BLOCK && len.is_multiple_of(TAR_BLOCK) {
        let mut magic = [0u8; 5];
        f.read_exact_at(TAR_MAGIC_AT, &mut magic)?;
        if is_tar(&magic, len) {
            return Ok(Kind::Pickle);
        }
    }
    Ok(kind)
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
    let kind = sniff_file(&mut f)?;
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
