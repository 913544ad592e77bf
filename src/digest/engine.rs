//! Hashing planned files: choosing the read path, one pass per file, checking that the file did
//! not change underneath, and assembling the report.

use super::DigestError;
use super::buffered::{self, read_full_at};
use super::mmap;
use super::plan::{PlannedFile, Target};
use super::report::{FileDigest, FileKind, HashReport, RangeDigest, ReadPath, TensorDigest};
use super::root::{RootEntry, root_digest};
use super::segment::SegmentHasher;
use crate::artifact::ArtifactError;
use crate::artifact::limits::MAX_SAFETENSORS_HEADER_BYTES;
use crate::artifact::safetensors::{self, SafetensorsHeader};
use rayon::prelude::*;
use std::fs::{File, Metadata};
use std::path::Path;

/// Files at least this large are hashed one at a time, with BLAKE3's tree parallelism (and
/// mapped, in [`ReadMode::Auto`]); smaller files are hashed in parallel with each other.
pub const LARGE_FILE: u64 = 64 << 20;
/// Bytes of a mapping given to one BLAKE3 update: large enough to keep every core busy, small
/// enough that a whole-file and a tensor digest read the same window while it is in cache.
pub const MMAP_WINDOW: usize = 64 << 20;

/// How large files are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadMode {
    /// Memory-map large regular files on local filesystems (guarded); buffered otherwise.
    #[default]
    Auto,
    /// Positioned reads into bounded buffers for every file.
    Buffered,
}

/// What to compute.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Whole-file digests for weight files too (other files always get one).
    pub whole_file: bool,
    pub read: ReadMode,
}

/// Hashes every file of `target`; the first failure fails the target.
pub fn hash_target(
    target: &Target,
    opts: &Options,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<HashReport, DigestError> {
    let (large, small): (Vec<_>, Vec<_>) = target
        .files
        .iter()
        .enumerate()
        .partition(|(_, f)| f.size >= LARGE_FILE);
    let mut results: Vec<Option<FileDigest>> = vec![None; target.files.len()];
    // Small files: one thread each, many at once; no nested parallelism, so memory stays at one
    // small buffer per pool thread.
    let small_done: Vec<(usize, Result<FileDigest, DigestError>)> = small
        .par_iter()
        .map(|&(i, f)| (i, hash_file(f, opts, progress)))
        .collect();
    for (i, r) in small_done {
        results[i] = Some(r?);
    }
    // Large files: one at a time, each spread over every core.
    for (i, f) in large {
        results[i] = Some(hash_file(f, opts, progress)?);
    }
    let files: Vec<FileDigest> = results.into_iter().flatten().collect();
    let entries: Vec<RootEntry> = files
        .iter()
        .flat_map(|f| &f.tensors)
        .map(|t| RootEntry {
            name: t.name.clone(),
            dtype: t.dtype,
            shape: t.shape.clone(),
            digest: t.blake3.0,
        })
        .collect();
    let any_weights = files.iter().any(|f| f.kind == FileKind::Safetensors);
    Ok(HashReport {
        path: target.path.clone(),
        root: any_weights.then(|| root_digest(&entries).into()),
        tensor_count: entries.len(),
        bytes: files.iter().map(|f| f.size).sum(),
        files,
    })
}

/// A weight file is named `*.safetensors`; a file so named that does not parse is an error, not
/// a whole-file digest, so a corrupted model is never mistaken for a side file.
fn is_weight_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "safetensors")
}

/// Hashes one file in one pass.
pub fn hash_file(
    planned: &PlannedFile,
    opts: &Options,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<FileDigest, DigestError> {
    let path = planned.path.as_path();
    let io = |source| DigestError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let before = file.metadata().map_err(io)?;
    if !before.is_file() {
        let mut hasher = SegmentHasher::new(Vec::new(), true, true);
        let size = buffered::hash_stream(&mut file, path, &mut hasher, progress)?;
        let whole = hasher.finish().and_then(|(_, w)| w);
        return Ok(FileDigest {
            path: path.to_owned(),
            size,
            kind: FileKind::Other,
            read: ReadPath::Stream,
            blake3: whole.map(Into::into),
            header: None,
            tensors: Vec::new(),
        });
    }
    let size = before.len();
    let large = size >= LARGE_FILE;
    let weights = is_weight_file(path);
    let (header, header_bytes) = if weights {
        let (h, bytes) = read_header(&file, path, size)?;
        (Some(h), bytes)
    } else {
        (None, Vec::new())
    };
    let ends = match &header {
        Some(h) => {
            let start = h.data_start();
            std::iter::once(start)
                // Cannot overflow: the header check proved data_start + data_len == size.
                .chain(h.tensors.iter().map(|t| start + t.end))
                .collect()
        }
        None => Vec::new(),
    };
    let mut hasher = SegmentHasher::new(ends, opts.whole_file || !weights, large);
    hasher.feed(&header_bytes);
    progress(header_bytes.len() as u64);

    let mapped = if large && opts.read == ReadMode::Auto {
        mmap::map(&file, size).map_err(io)?
    } else {
        None
    };
    let read = match mapped {
        Some(map) => {
            let start = hasher.position() as usize;
            for window in map.bytes()[start..].chunks(MMAP_WINDOW) {
                hasher.feed(window);
                progress(window.len() as u64);
            }
            if let Some(offset) = map.fault_offset() {
                return Err(DigestError::Truncated {
                    path: path.to_owned(),
                    offset,
                    expected: size,
                });
            }
            ReadPath::Mmap
        }
        None if large => {
            buffered::hash_large(&file, path, size, &mut hasher, progress)?;
            ReadPath::Buffered
        }
        None => {
            buffered::hash_small(&file, path, size, &mut hasher, progress)?;
            ReadPath::Buffered
        }
    };
    check_unchanged(path, &file, &before)?;

    let (segments, whole) = hasher.finish().ok_or(DigestError::Truncated {
        path: path.to_owned(),
        offset: size,
        expected: size,
    })?;
    let (header_digest, tensors) = match header {
        Some(h) => {
            let tensors = h
                .tensors
                .iter()
                .zip(&segments[1..])
                .map(|(t, d)| TensorDigest {
                    name: t.name.clone(),
                    dtype: t.dtype,
                    shape: t.shape.clone(),
                    offset: h.data_start() + t.begin,
                    len: t.end - t.begin,
                    blake3: (*d).into(),
                })
                .collect();
            let header = RangeDigest {
                offset: 0,
                len: h.data_start(),
                blake3: segments[0].into(),
            };
            (Some(header), tensors)
        }
        None => (None, Vec::new()),
    };
    Ok(FileDigest {
        path: path.to_owned(),
        size,
        kind: if weights {
            FileKind::Safetensors
        } else {
            FileKind::Other
        },
        read,
        blake3: whole.map(Into::into),
        header: header_digest,
        tensors,
    })
}

/// Reads and validates a safetensors header from the open file, returning it and its raw bytes
/// (length prefix and JSON), which are hashed from this same read.
fn read_header(
    file: &File,
    path: &Path,
    size: u64,
) -> Result<(SafetensorsHeader, Vec<u8>), DigestError> {
    if size < 8 {
        return Err(ArtifactError::TooShort {
            path: path.to_owned(),
            len: size,
        }
        .into());
    }
    let mut prefix = [0u8; 8];
    read_full_at(file, path, 0, &mut prefix)?;
    let declared = u64::from_le_bytes(prefix);
    if declared > MAX_SAFETENSORS_HEADER_BYTES {
        return Err(ArtifactError::HeaderTooLarge {
            path: path.to_owned(),
            declared,
            limit: MAX_SAFETENSORS_HEADER_BYTES,
        }
        .into());
    }
    if declared > size - 8 {
        return Err(ArtifactError::HeaderBeyondFile {
            path: path.to_owned(),
            declared,
            file_len: size,
        }
        .into());
    }
    // Bounded by MAX_SAFETENSORS_HEADER_BYTES (checked above).
    let mut bytes = vec![0u8; 8 + declared as usize];
    read_full_at(file, path, 0, &mut bytes)?;
    let header = safetensors::parse_header(path, &bytes[8..], size)?;
    Ok((header, bytes))
}

/// Fails if the file's length or modification time changed while it was read, or the path now
/// names another file: the digests would describe bytes that are no longer there.
fn check_unchanged(path: &Path, file: &File, before: &Metadata) -> Result<(), DigestError> {
    let changed = |what: String| DigestError::Changed {
        path: path.to_owned(),
        what,
    };
    let io = |source| DigestError::Io {
        path: path.to_owned(),
        source,
    };
    let after = file.metadata().map_err(io)?;
    if after.len() != before.len() {
        return Err(changed(format!(
            "length {} bytes before, {} after",
            before.len(),
            after.len()
        )));
    }
    if after.modified().ok() != before.modified().ok() {
        return Err(changed("modified during hashing".into()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let now = std::fs::metadata(path).map_err(io)?;
        if (now.dev(), now.ino()) != (before.dev(), before.ino()) {
            return Err(changed("the path now names another file".into()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Once;

    /// A sparse file of `len` bytes (reads as zeros, costs no disk).
    fn sparse(dir: &Path, name: &str, len: u64) -> PlannedFile {
        let path = dir.join(name);
        File::create(&path)
            .and_then(|f| f.set_len(len))
            .expect("create sparse file");
        PlannedFile { path, size: len }
    }

    /// Truncates the file to 1 MiB the first time any bytes are reported hashed.
    fn truncate_on_first_progress(path: &Path) -> impl Fn(u64) + Sync + '_ {
        let once = Once::new();
        move |n| {
            if n > 0 {
                once.call_once(|| {
                    let f = std::fs::OpenOptions::new()
                        .write(true)
                        .open(path)
                        .expect("open");
                    f.set_len(1 << 20).expect("truncate");
                })
            }
        }
    }

    fn assert_truncated_or_changed(r: Result<FileDigest, DigestError>) {
        match r {
            Err(DigestError::Truncated { .. } | DigestError::Changed { .. }) => {}
            other => panic!("expected a truncation error, got {other:?}"),
        }
    }

    #[test]
    fn file_truncated_while_mapped_is_an_error_not_a_crash() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = sparse(dir.path(), "big.bin", 3 * MMAP_WINDOW as u64);
        let opts = Options {
            whole_file: true,
            read: ReadMode::Auto,
        };
        let r = hash_file(&f, &opts, &truncate_on_first_progress(&f.path));
        match r {
            // The pages past the new end fault; the guard turns that into this error.
            Err(DigestError::Truncated { offset, .. }) => assert!(offset >= 1 << 20),
            other => panic!("expected Truncated, got {other:?}"),
        }
        // And the guard leaves the process able to map and hash again.
        let g = sparse(dir.path(), "again.bin", LARGE_FILE);
        let d = hash_file(&g, &opts, &|_| {}).expect("hash");
        assert_eq!(d.read, ReadPath::Mmap);
        let zeros = vec![0u8; LARGE_FILE as usize];
        assert_eq!(d.blake3, Some(blake3::hash(&zeros).into()));
    }

    #[test]
    fn file_truncated_during_buffered_read_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = sparse(dir.path(), "big.bin", 8 * buffered::BUFFER_BYTES as u64);
        let opts = Options {
            whole_file: true,
            read: ReadMode::Buffered,
        };
        let r = hash_file(&f, &opts, &truncate_on_first_progress(&f.path));
        match r {
            // The reader may be a few buffers ahead; the first read past the new end fails.
            Err(DigestError::Truncated {
                offset, expected, ..
            }) => {
                assert!(offset >= 1 << 20 && offset < f.size, "offset {offset}");
                assert_eq!(expected, f.size);
            }
            other => panic!("expected Truncated, got {other:?}"),
        }
    }

    #[test]
    fn small_file_truncated_during_read_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = sparse(dir.path(), "small.bin", 4 << 20);
        let opts = Options::default();
        assert_truncated_or_changed(hash_file(&f, &opts, &truncate_on_first_progress(&f.path)));
    }

    #[test]
    fn file_changed_between_plan_and_read_is_hashed_as_found_and_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut f = sparse(dir.path(), "x.bin", 4096);
        f.size = 1 << 30; // planned larger than it is: the plan's size is only an estimate
        let d = hash_file(&f, &Options::default(), &|_| {}).expect("hash");
        assert_eq!(d.size, 4096);
    }

    #[test]
    fn malformed_weight_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("model.safetensors");
        std::fs::write(&path, b"{\"not\": \"safetensors\"}").expect("write");
        let f = PlannedFile { path, size: 22 };
        let e = hash_file(&f, &Options::default(), &|_| {}).expect_err("malformed");
        assert!(matches!(e, DigestError::Weights(_)), "{e:?}");
        assert!(e.to_string().contains("model.safetensors"), "{e}");
    }
}
