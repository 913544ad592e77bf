//! Hashing planned files: choosing the read path, one pass per file, checking that the file did
//! not change underneath, and assembling the report.

use super::DigestError;
use super::buffered;
use super::mmap;
use super::plan::{PlannedFile, Target};
use super::report::{
    FileDigest, FileKind, HashReport, RangeDigest, ReadPath, SegmentDigest, SegmentKind,
    TensorDigest,
};
use super::root::{RootEntry, root_digest};
use super::segment::SegmentHasher;
use crate::artifact::{ArtifactError, Format, TensorType};
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
            dtype: t.dtype.name(),
            shape: t.shape.clone(),
            digest: t.blake3.0,
        })
        .collect();
    let any_weights = files.iter().any(|f| f.kind.is_weights());
    Ok(HashReport {
        path: target.path.clone(),
        root: any_weights.then(|| root_digest(&entries).into()),
        tensor_count: entries.len(),
        bytes: files.iter().map(|f| f.size).sum(),
        files,
        ignored: target.ignored.clone(),
    })
}

/// How a weight file is cut: segments tiling it, and where each tensor's digest comes from.
struct Layout {
    kind: FileKind,
    /// In file order, tiling `[0, size)`: (kind, name, offset, len).
    segments: Vec<(SegmentKind, Option<String>, u64, u64)>,
    /// Extra ranges `[start, end)`: PyTorch views covering part of their storage.
    spans: Vec<(u64, u64)>,
    tensors: Vec<LayoutTensor>,
}

struct LayoutTensor {
    name: String,
    dtype: TensorType,
    shape: Vec<u64>,
    offset: u64,
    len: u64,
    source: Source,
    storage: Option<String>,
}

/// Where a tensor's digest comes from.
enum Source {
    Segment(usize),
    Span(usize),
}

/// Reads the file's format from its content and, for a weight file, parses it and cuts it into
/// segments. `None` for any other file. A file whose content (or, when the content matches no
/// format, whose name) claims a weight format but does not parse is an error naming it, so a
/// corrupted model is never mistaken for a side file.
fn layout(path: &Path, size: u64) -> Result<Option<Layout>, DigestError> {
    let Some(a) = crate::artifact::open_file(path)? else {
        return Ok(None);
    };
    let Some(file) = a.files.first() else {
        return Ok(None);
    };
    if file.size != size {
        return Err(DigestError::Changed {
            path: path.to_owned(),
            what: format!("length {size} bytes when opened, {} when parsed", file.size),
        });
    }
    let (kind, region_kind, header) = match file.format {
        Format::Safetensors => (
            FileKind::Safetensors,
            SegmentKind::Tensor,
            Some(file.header_bytes),
        ),
        Format::Gguf => (FileKind::Gguf, SegmentKind::Tensor, Some(file.header_bytes)),
        Format::Pytorch => (FileKind::Pytorch, SegmentKind::Storage, None),
        Format::PytorchLegacy => (FileKind::PytorchLegacy, SegmentKind::Storage, None),
        Format::Pickle | Format::Container => return Ok(None),
    };
    let bad = |offset: u64, message: String| -> DigestError {
        ArtifactError::Malformed {
            path: path.to_owned(),
            format: file.format.name(),
            offset,
            message,
        }
        .into()
    };
    let mut segments = Vec::with_capacity(2 * a.regions.len() + 2);
    let mut pos = 0;
    if let Some(h) = header {
        // A GGUF without tensors may end before its data section's aligned start.
        let h = h.min(size);
        segments.push((SegmentKind::Header, None, 0, h));
        pos = h;
    }
    // Regions in file order; a zero-length one before a non-empty one at the same offset.
    let mut order: Vec<usize> = (0..a.regions.len()).collect();
    order.sort_by_key(|&i| (a.regions[i].offset, a.regions[i].len));
    let mut segment_of_region = vec![0; a.regions.len()];
    for i in order {
        let r = &a.regions[i];
        // The parsers prove regions lie inside the file, after the header, disjoint; checked
        // again here because the tiling depends on it.
        let end = r.offset.checked_add(r.len).filter(|&e| e <= size);
        let Some(end) = end.filter(|_| r.offset >= pos) else {
            return Err(bad(
                r.offset,
                format!(
                    "data region `{}` ({} bytes) overlaps another or runs past the file",
                    r.name, r.len
                ),
            ));
        };
        if r.offset > pos {
            segments.push((SegmentKind::Gap, None, pos, r.offset - pos));
        }
        segment_of_region[i] = segments.len();
        segments.push((region_kind, Some(r.name.clone()), r.offset, r.len));
        pos = end;
    }
    if pos < size {
        segments.push((SegmentKind::Gap, None, pos, size - pos));
    }

    let mut spans: Vec<(u64, u64)> = Vec::new();
    let mut tensors = Vec::with_capacity(a.tensors.len());
    for t in &a.tensors {
        let r = &a.regions[t.region];
        let source = if (t.offset, t.len) == (r.offset, r.len) {
            Source::Segment(segment_of_region[t.region])
        } else {
            let span = (t.offset, t.offset.saturating_add(t.len));
            if t.offset < r.offset || span.1 > r.offset + r.len {
                return Err(bad(
                    t.offset,
                    format!("tensor `{}` lies outside its data region", t.name),
                ));
            }
            let i = spans.iter().position(|s| *s == span).unwrap_or_else(|| {
                spans.push(span);
                spans.len() - 1
            });
            Source::Span(i)
        };
        tensors.push(LayoutTensor {
            name: t.name.clone(),
            dtype: t.dtype,
            shape: t.shape.clone(),
            offset: t.offset,
            len: t.len,
            source,
            storage: (region_kind == SegmentKind::Storage).then(|| r.name.clone()),
        });
    }
    // Data order (GGUF tensor infos need not follow it); stable, so views at one offset keep
    // the checkpoint's order.
    tensors.sort_by_key(|t| t.offset);
    Ok(Some(Layout {
        kind,
        segments,
        spans,
        tensors,
    }))
}

/// Hashes one file in one pass.
pub fn hash_file(
    planned: &PlannedFile,
    opts: &Options,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<FileDigest, DigestError> {
    let path = planned.path.as_path();
    let shown = planned.shown.as_deref().unwrap_or(path);
    let io = |source| DigestError::Io {
        path: shown.to_owned(),
        source,
    };
    // A file of an artifact set must still be the file listed; a path named on its own may be a
    // pipe or a device, read as a stream.
    let (mut file, before) = match &planned.id {
        Some(id) => crate::artifact_set::identity::open_listed(path, id).map_err(io)?,
        None => {
            let file = File::open(path).map_err(io)?;
            let meta = file.metadata().map_err(io)?;
            (file, meta)
        }
    };
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
            segments: Vec::new(),
        });
    }
    let size = before.len();
    let large = size >= LARGE_FILE;
    // Parsed after the file was opened and its metadata taken, so a change in between is caught
    // by `check_unchanged` below.
    let mut fed = FedFileDigest::new(path, size, opts.whole_file)?;
    let hasher = &mut fed.hasher;

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
            buffered::hash_large(&file, path, size, hasher, progress)?;
            ReadPath::Buffered
        }
        None => {
            buffered::hash_small(&file, path, size, hasher, progress)?;
            ReadPath::Buffered
        }
    };
    check_unchanged(path, &file, &before)?;
    let mut digest = fed.finish(read)?;
    digest.path = shown.to_owned();
    Ok(digest)
}

/// One file's digests from bytes the caller reads and feeds in order: the same layout,
/// segments, tensors and whole-file digest as [`hash_file`]. Sealing uses it to hash each byte
/// it reads for encryption, so GGUF and PyTorch files get the same per-tensor digests in an
/// envelope's manifest as `weightguard hash` prints.
pub struct FedFileDigest {
    path: std::path::PathBuf,
    size: u64,
    layout: Option<Layout>,
    hasher: SegmentHasher,
}

impl FedFileDigest {
    /// Reads the format of the `size`-byte file at `path` from its content and, for a weight
    /// file, parses its headers (only those) into segments. A file whose content claims a weight
    /// format but does not parse is an error naming it. `whole_file`: a whole-file digest for
    /// weight files too (other files always get one).
    pub fn new(path: &Path, size: u64, whole_file: bool) -> Result<FedFileDigest, DigestError> {
        let layout = layout(path, size)?;
        let (ends, spans) = match &layout {
            Some(l) => (
                l.segments.iter().map(|s| s.2 + s.3).collect(),
                l.spans.clone(),
            ),
            None => (Vec::new(), Vec::new()),
        };
        let whole = whole_file || layout.is_none();
        let hasher = SegmentHasher::new(ends, whole, size >= LARGE_FILE).with_spans(&spans);
        Ok(FedFileDigest {
            path: path.to_owned(),
            size,
            layout,
            hasher,
        })
    }

    /// What the file was recognised as.
    pub fn kind(&self) -> FileKind {
        self.layout.as_ref().map_or(FileKind::Other, |l| l.kind)
    }

    /// The file's next bytes.
    pub fn feed(&mut self, buf: &[u8]) {
        self.hasher.feed(buf);
    }

    /// The digests, once exactly `size` bytes were fed.
    pub fn finish(self, read: ReadPath) -> Result<FileDigest, DigestError> {
        let FedFileDigest {
            path,
            size,
            layout,
            hasher,
        } = self;
        if hasher.position() != size {
            return Err(DigestError::Truncated {
                path,
                offset: hasher.position(),
                expected: size,
            });
        }
        let (segment_digests, whole, span_digests) =
            hasher.finish_with_spans().ok_or(DigestError::Truncated {
                path: path.clone(),
                offset: size,
                expected: size,
            })?;
        let mut digest = FileDigest {
            path,
            size,
            kind: FileKind::Other,
            read,
            blake3: whole.map(Into::into),
            header: None,
            tensors: Vec::new(),
            segments: Vec::new(),
        };
        let Some(layout) = layout else {
            return Ok(digest);
        };
        digest.kind = layout.kind;
        digest.segments = layout
            .segments
            .into_iter()
            .zip(&segment_digests)
            .map(|((kind, name, offset, len), d)| SegmentDigest {
                kind,
                name,
                offset,
                len,
                blake3: (*d).into(),
            })
            .collect();
        digest.header = digest
            .segments
            .first()
            .filter(|s| s.kind == SegmentKind::Header)
            .map(|s| RangeDigest {
                offset: s.offset,
                len: s.len,
                blake3: s.blake3,
            });
        digest.tensors = layout
            .tensors
            .into_iter()
            .map(|t| TensorDigest {
                blake3: match t.source {
                    Source::Segment(i) => segment_digests[i].into(),
                    Source::Span(i) => span_digests[i].into(),
                },
                name: t.name,
                dtype: t.dtype,
                shape: t.shape,
                offset: t.offset,
                len: t.len,
                storage: t.storage,
            })
            .collect();
        Ok(digest)
    }
}

/// Fails if the file's length or modification time changed while it was read, or the path now
/// names another file: the digests would describe bytes that are no longer there.
fn check_unchanged(path: &Path, file: &File, before: &Metadata) -> Result<(), DigestError> {
    match change_since(path, file, before) {
        Ok(None) => Ok(()),
        Ok(Some(what)) => Err(DigestError::Changed {
            path: path.to_owned(),
            what,
        }),
        Err(source) => Err(DigestError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// What changed about the file at `path` (opened as `file`) since its metadata was `before`:
/// its length, its modification time, or which file the path names. `None` if nothing did.
/// Also used by sealing, which must not seal a checkpoint still being written.
pub(crate) fn change_since(
    path: &Path,
    file: &File,
    before: &Metadata,
) -> std::io::Result<Option<String>> {
    let after = file.metadata()?;
    if after.len() != before.len() {
        return Ok(Some(format!(
            "length {} bytes before, {} after",
            before.len(),
            after.len()
        )));
    }
    if after.modified().ok() != before.modified().ok() {
        return Ok(Some("modified while being read".into()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let now = std::fs::metadata(path)?;
        if (now.dev(), now.ino()) != (before.dev(), before.ino()) {
            return Ok(Some("the path now names another file".into()));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(None)
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
        PlannedFile::new(path, len)
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
        let f = PlannedFile::new(path, 22);
        let e = hash_file(&f, &Options::default(), &|_| {}).expect_err("malformed");
        assert!(matches!(e, DigestError::Weights(_)), "{e:?}");
        assert!(e.to_string().contains("model.safetensors"), "{e}");
    }
}
