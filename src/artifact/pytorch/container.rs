//! Files that hide pickles without being checkpoints: compressed streams (gzip, bz2, xz, lzma,
//! zlib), tar archives (torch's format before 0.4, or any tarball), NumPy arrays of objects
//! (`.npy`, and `.npz` archives of them), joblib dumps, and archives that cannot be opened here
//! (7z, lz4).
//!
//! Nothing is executed: compressed streams are decompressed into memory up to
//! [`MAX_DECOMPRESSED_BYTES`], and what comes out is told by its content and scanned like a file
//! of its own, to [`MAX_CONTAINER_NESTING`] levels. What cannot be opened, or only in part, is an
//! unscannable-container finding: the file is unsafe, never clean. Weights found inside are not
//! counted (their bytes are not in the file as stored), which makes the count incomplete.

use super::{SecurityFinding, scan_pickles, zip};
use crate::artifact::ArtifactError;
use crate::artifact::Format;
use crate::artifact::builder::ParsedFile;
use crate::artifact::detect::{self, Container, Kind};
use crate::artifact::limits::{
    MAX_CONTAINER_NESTING, MAX_DECOMPRESSED_BYTES, MAX_PICKLE_BYTES, MAX_TAR_ENTRIES,
};
use crate::artifact::read::MeteredFile;
use std::io::Read;
use std::path::Path;

/// A file whose content is a pickle or a container of pickles.
pub(crate) fn read_pickle_file(f: &mut MeteredFile) -> Result<ParsedFile, ArtifactError> {
    let path = f.path().to_owned();
    let mut p = ParsedFile::default();
    let len = f.len();
    let head = f.head(detect::HEAD_BYTES)?.to_vec();
    let container = detect::container_of(&head).or_else(|| {
        let mut magic = [0u8; 5];
        (len >= 512
            && f.read_exact_at(detect::TAR_MAGIC_AT, &mut magic).is_ok()
            && detect::is_tar(&magic, len))
        .then_some(Container::Tar)
    });
    match container {
        None => {
            let bytes = super::read_pickle_bytes(f, "(whole file)", 0, len)?;
            scan_pickles(&path, "", &bytes, &mut p);
            p.warnings.push(format!(
                "{}: a bare pickle, not a weight format: scanned for what it would import and call, no tensors read",
                path.display()
            ));
            return Ok(p);
        }
        Some(c) => {
            p.format = Some(Format::Container);
            p.metadata.insert("container".into(), c.name().into());
            let mut scan = Scan {
                path: &path,
                p: &mut p,
            };
            scan.container(c, "", FileReader { f, at: 0, end: len }, len, 0)?;
        }
    }
    Ok(p)
}

/// A zip archive that is no torch checkpoint: its `.npy` members of objects, `*.pkl` members
/// and members whose content is a pickle or a container are scanned. `None` when it hides none
/// (an ordinary archive, or an npz of plain arrays is no concern of this reader).
pub(crate) fn scan_zip_members(
    f: &mut MeteredFile,
    members: &[zip::Member],
) -> Result<Option<ParsedFile>, ArtifactError> {
    let path = f.path().to_owned();
    let mut p = ParsedFile {
        format: Some(Format::Container),
        ..ParsedFile::default()
    };
    let mut hides = false;
    for m in members {
        if m.name.ends_with('/') {
            continue;
        }
        if m.method != 0 || m.encrypted {
            // np.savez_compressed deflates its members; this reader never inflates zip members.
            if m.name.ends_with(".npy") || m.name.ends_with(".pkl") {
                hides = true;
                p.findings.push(SecurityFinding::unscannable(
                    &path,
                    &m.name,
                    "a compressed or encrypted member that may hold a pickle (np.savez_compressed); it was not scanned: treat the file as unsafe".into(),
                ));
            }
            continue;
        }
        let mut head = vec![0u8; m.size.min(detect::HEAD_BYTES as u64) as usize];
        f.read_exact_at(m.data_offset, &mut head)?;
        let kind = detect::sniff_whole(&head, m.size, None, Path::new(&m.name));
        if kind == Kind::Pickle || kind == Kind::TorchLegacy {
            hides = true;
            scan_member_bytes(f, &path, &m.name, m.data_offset, m.size, &mut p)?;
        }
    }
    if hides {
        p.metadata.insert("container".into(), "zip".into());
    }
    Ok(hides.then_some(p))
}

/// Scans `size` bytes at `offset` of `f` (a zip member) as a file of their own.
pub(crate) fn scan_member_bytes(
    f: &mut MeteredFile,
    path: &Path,
    member: &str,
    offset: u64,
    size: u64,
    p: &mut ParsedFile,
) -> Result<(), ArtifactError> {
    let mut scan = Scan { path, p };
    let reader = FileReader {
        f,
        at: offset,
        end: offset + size,
    };
    scan.stream(member, reader, size, 1)
}

/// Positioned reads of a byte range of a file, as a stream.
struct FileReader<'a> {
    f: &'a mut MeteredFile,
    at: u64,
    end: u64,
}

impl Read for FileReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        const CHUNK: u64 = 64 * 1024;
        let n = (self.end - self.at).min(buf.len() as u64).min(CHUNK) as usize;
        if n == 0 {
            return Ok(0);
        }
        self.f
            .read_exact_at(self.at, &mut buf[..n])
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        self.at += n as u64;
        Ok(n)
    }
}

struct Scan<'a> {
    path: &'a Path,
    p: &'a mut ParsedFile,
}

impl Scan<'_> {
    fn unscannable(&mut self, member: &str, message: String) {
        self.p
            .findings
            .push(SecurityFinding::unscannable(self.path, member, message));
    }

    /// Reads a stream of `len` bytes whole (to the caps) and scans it by its content.
    fn stream(
        &mut self,
        member: &str,
        mut r: impl Read,
        len: u64,
        depth: usize,
    ) -> Result<(), ArtifactError> {
        let cap = MAX_DECOMPRESSED_BYTES;
        let mut bytes = Vec::new();
        if let Err(e) = r.by_ref().take(len.min(cap)).read_to_end(&mut bytes) {
            self.unscannable(member, format!("could not be read: {e}"));
            return Ok(());
        }
        if len > cap {
            self.unscannable(
                member,
                format!("{len} bytes, over the limit of {cap} scanned; treat it as unsafe"),
            );
            return Ok(());
        }
        self.bytes(member, bytes, depth)
    }

    /// Scans bytes that are a file of their own (a member, a decompressed stream).
    fn bytes(&mut self, member: &str, bytes: Vec<u8>, depth: usize) -> Result<(), ArtifactError> {
        let len = bytes.len() as u64;
        let head = &bytes[..bytes.len().min(detect::HEAD_BYTES)];
        if let Some(c) = detect::container_of(head).or_else(|| {
            bytes
                .get(detect::TAR_MAGIC_AT as usize..)
                .is_some_and(|m| detect::is_tar(m, len))
                .then_some(Container::Tar)
        }) {
            let r = std::io::Cursor::new(bytes);
            return self.container(c, member, r, len, depth);
        }
        let kind = detect::sniff_whole(head, len, bytes.last().copied(), Path::new(member));
        match kind {
            Kind::Pickle => {
                if len > MAX_PICKLE_BYTES {
                    self.unscannable(
                        member,
                        format!("a pickle of {len} bytes, over the limit of {MAX_PICKLE_BYTES}"),
                    );
                } else {
                    scan_pickles(self.path, member, &bytes, self.p);
                }
            }
            Kind::Zip | Kind::TorchLegacy | Kind::Safetensors | Kind::Gguf => {
                // A checkpoint inside a container: its pickles are scanned, its weights are
                // not where the file is, so they are not counted.
                let mut inner = MeteredFile::from_bytes(self.path, bytes);
                let parsed = match kind {
                    Kind::Zip => super::read_zip(&mut inner),
                    Kind::TorchLegacy => super::read_legacy(&mut inner),
                    _ => Ok(ParsedFile {
                        tensors: vec![],
                        incomplete: vec![format!(
                            "{}: `{member}` holds {kind:?} weights inside a container: not counted",
                            self.path.display()
                        )],
                        ..ParsedFile::default()
                    }),
                };
                match parsed {
                    Ok(inner) => {
                        for mut f in inner.findings {
                            f.member = join(member, &f.member);
                            self.p.findings.push(f);
                        }
                        self.p.incomplete.extend(inner.incomplete);
                        if !inner.tensors.is_empty() {
                            self.p.incomplete.push(format!(
                                "{}: `{member}` holds a checkpoint of {} tensors inside a container: not counted",
                                self.path.display(),
                                inner.tensors.len()
                            ));
                        }
                    }
                    Err(ArtifactError::UnknownFormat { .. }) => {}
                    Err(e) => self.unscannable(member, format!("could not be scanned: {e}")),
                }
            }
            Kind::Unknown => {}
        }
        Ok(())
    }

    /// Opens a container whose stream `r` holds `len` bytes.
    fn container(
        &mut self,
        c: Container,
        member: &str,
        r: impl Read,
        len: u64,
        depth: usize,
    ) -> Result<(), ArtifactError> {
        let label = join(member, &format!("({})", c.name()));
        if depth >= MAX_CONTAINER_NESTING {
            self.unscannable(
                &label,
                format!("containers nested deeper than {MAX_CONTAINER_NESTING}: not opened; treat it as unsafe"),
            );
            return Ok(());
        }
        match c {
            Container::SevenZip | Container::Lz4 => {
                self.unscannable(
                    &label,
                    format!("a {} archive, which weightguard does not open: it may hide a pickle; treat it as unsafe", c.name()),
                );
                Ok(())
            }
            Container::Gzip => {
                self.decompressed(&label, flate2::read::MultiGzDecoder::new(r), depth)
            }
            Container::Zlib => self.decompressed(&label, flate2::read::ZlibDecoder::new(r), depth),
            Container::Bzip2 => {
                self.decompressed(&label, bzip2::read::MultiBzDecoder::new(r), depth)
            }
            Container::Xz | Container::Lzma => {
                let mut input = Vec::new();
                // The xz decoder reads from a buffered reader; the compressed input is bounded
                // by the decompressed cap (no codec expands less than 1:1 beyond a header).
                if let Err(e) = r.take(MAX_DECOMPRESSED_BYTES).read_to_end(&mut input) {
                    self.unscannable(&label, format!("could not be read: {e}"));
                    return Ok(());
                }
                let mut out = LimitedWriter(Vec::new());
                let mut cursor = std::io::Cursor::new(input);
                let result = if c == Container::Xz {
                    lzma_rs::xz_decompress(&mut cursor, &mut out)
                } else {
                    lzma_rs::lzma_decompress(&mut cursor, &mut out)
                };
                match result {
                    Ok(()) => self.bytes(&label, out.0, depth + 1),
                    Err(_) if out.0.len() as u64 >= MAX_DECOMPRESSED_BYTES => {
                        self.over_cap(&label, out.0, depth)
                    }
                    Err(e) => {
                        self.unscannable(&label, format!("a corrupt {} stream: {e}", c.name()));
                        Ok(())
                    }
                }
            }
            Container::Tar => self.tar(&label, r, len, depth),
            Container::Npy => self.npy(&label, r, len),
        }
    }

    /// Decompresses a stream to the cap, then scans what came out.
    fn decompressed(
        &mut self,
        label: &str,
        d: impl Read,
        depth: usize,
    ) -> Result<(), ArtifactError> {
        let mut out = Vec::new();
        match d.take(MAX_DECOMPRESSED_BYTES + 1).read_to_end(&mut out) {
            Ok(_) if out.len() as u64 > MAX_DECOMPRESSED_BYTES => self.over_cap(label, out, depth),
            Ok(_) => self.bytes(label, out, depth + 1),
            Err(e) => {
                // What decompressed before the error is still scanned: a loader reads it too.
                let what = format!("a corrupt compressed stream ({e})");
                if !out.is_empty() {
                    self.bytes(label, out, depth + 1)?;
                }
                self.unscannable(
                    label,
                    format!("{what}: not scanned to its end; treat it as unsafe"),
                );
                Ok(())
            }
        }
    }

    /// A stream past the cap: a finding when what it starts with could hide a pickle; a
    /// compressed data set (text, images) is let be.
    fn over_cap(&mut self, label: &str, out: Vec<u8>, _depth: usize) -> Result<(), ArtifactError> {
        let head = &out[..out.len().min(detect::HEAD_BYTES)];
        let tar = out
            .get(detect::TAR_MAGIC_AT as usize..detect::TAR_MAGIC_AT as usize + 5)
            .is_some_and(|m| m.starts_with(b"ustar"));
        let kind = detect::sniff(head, out.len() as u64);
        if tar || kind != Kind::Unknown || super::pickle::plausible_start(head) {
            self.unscannable(
                label,
                format!("decompresses to more than {MAX_DECOMPRESSED_BYTES} bytes, the limit scanned, and starts like a {}: treat it as unsafe", if tar { "tar archive".to_owned() } else { format!("{kind:?}").to_lowercase() }),
            );
        } else {
            self.p.warnings.push(format!(
                "{}: `{label}` decompresses past {MAX_DECOMPRESSED_BYTES} bytes of content that is no pickle, checkpoint or archive: not scanned further",
                self.path.display()
            ));
        }
        Ok(())
    }

    /// A tar archive: every member scanned by content. torch's own tar format (before 0.4)
    /// interleaves pickles and raw storage bytes in `storages` and `tensors`: those are walked.
    fn tar(
        &mut self,
        label: &str,
        mut r: impl Read,
        len: u64,
        depth: usize,
    ) -> Result<(), ArtifactError> {
        let mut entries = 0u64;
        let mut at = 0u64;
        let mut header = [0u8; 512];
        loop {
            if at + 512 > len {
                break;
            }
            if r.read_exact(&mut header).is_err() {
                self.unscannable(label, format!("a tar archive cut short at offset {at}"));
                break;
            }
            at += 512;
            if header.iter().all(|&b| b == 0) {
                break;
            }
            entries += 1;
            if entries > MAX_TAR_ENTRIES {
                self.unscannable(
                    label,
                    format!("more than {MAX_TAR_ENTRIES} tar members: the rest were not scanned"),
                );
                break;
            }
            let name_end = header[..100].iter().position(|&b| b == 0).unwrap_or(100);
            let name = String::from_utf8_lossy(&header[..name_end]).into_owned();
            let size_text = String::from_utf8_lossy(&header[124..136]);
            let Ok(size) =
                u64::from_str_radix(size_text.trim_matches(|c: char| c == '\0' || c == ' '), 8)
            else {
                self.unscannable(
                    label,
                    format!("tar member `{name}` has no valid size: the rest were not scanned"),
                );
                break;
            };
            let padded = size.div_ceil(512) * 512;
            if at + padded > len {
                self.unscannable(
                    label,
                    format!("tar member `{name}` runs past the end of the archive"),
                );
                break;
            }
            let regular = matches!(header[156], b'0' | 0);
            let member = join(label, &name);
            let mut data = (&mut r).take(padded);
            if regular && size > 0 {
                let mut body = (&mut data).take(size);
                match name.as_str() {
                    "storages" | "tensors" => {
                        let mut bytes = Vec::new();
                        if size > MAX_PICKLE_BYTES {
                            self.unscannable(
                                &member,
                                format!(
                                    "{size} bytes, over the limit of {MAX_PICKLE_BYTES} scanned"
                                ),
                            );
                        } else if body.read_to_end(&mut bytes).is_ok() {
                            self.legacy_tar_member(&member, &name, &bytes);
                        }
                    }
                    _ => self.stream(&member, &mut body, size, depth + 1)?,
                }
            }
            // Skip what is left of the member and its padding.
            let _ = std::io::copy(&mut data, &mut std::io::sink());
            at += padded;
        }
        Ok(())
    }

    /// torch's tar format: `storages` is a pickled count, then per storage a pickled
    /// (key, location, storage type), an 8-byte element count and the raw bytes; `tensors` a
    /// pickled count, then per tensor a pickled (key, storage id, type), a 4-byte dimension count,
    /// 4 bytes of padding, sizes, strides and an 8-byte offset.
    fn legacy_tar_member(&mut self, member: &str, name: &str, bytes: &[u8]) {
        use super::pickle::{self, Value};
        let first = scan_one(self, member, bytes, 0);
        let Some((count, mut at)) = first.and_then(|(o, end)| match o.root {
            Value::Int(n) if n >= 0 => Some((n as u64, end)),
            _ => None,
        }) else {
            return;
        };
        for _ in 0..count {
            let Some((o, end)) = scan_one(self, member, bytes, at) else {
                return;
            };
            at = end;
            let items = match &o.root {
                Value::Tuple(id) => o.arena.seqs[*id].clone(),
                _ => Vec::new(),
            };
            let skip = if name == "storages" {
                let width = match items.get(2) {
                    Some(Value::Global(g)) => pickle::storage_dtype(g).map(|(_, w)| w),
                    _ => None,
                };
                let Some(width) = width else {
                    self.unscannable(member, format!("offset {at}: a storage of a type this reader does not know: the rest was not scanned"));
                    return;
                };
                let numel = read_u64(bytes, at);
                numel.and_then(|n| n.checked_mul(width)?.checked_add(8))
            } else {
                let ndim = bytes
                    .get(at..at + 4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64);
                ndim.and_then(|d| d.checked_mul(16)?.checked_add(16))
            };
            match skip.and_then(|s| at.checked_add(usize::try_from(s).ok()?)) {
                Some(next) if next <= bytes.len() => at = next,
                _ => {
                    self.unscannable(
                        member,
                        format!("offset {at}: raw data runs past the end of the member"),
                    );
                    return;
                }
            }
        }
        if at < bytes.len() {
            self.unscannable(
                member,
                format!(
                    "{} bytes after the last record at offset {at}",
                    bytes.len() - at
                ),
            );
        }
    }

    /// A `.npy` array: its header, and the pickle that follows it when the dtype holds objects.
    fn npy(&mut self, label: &str, mut r: impl Read, len: u64) -> Result<(), ArtifactError> {
        let mut bytes = Vec::new();
        if len > MAX_PICKLE_BYTES + 65_536 {
            // Large numeric arrays are common; only the header decides.
            let _ = (&mut r).take(65_536 + 10).read_to_end(&mut bytes);
        } else if let Err(e) = r.read_to_end(&mut bytes) {
            self.unscannable(label, format!("could not be read: {e}"));
            return Ok(());
        }
        let Some((descr_has_object, data_at)) = npy_header(&bytes) else {
            self.unscannable(
                label,
                "a NumPy array whose header does not parse: not scanned".into(),
            );
            return Ok(());
        };
        if !descr_has_object {
            return Ok(());
        }
        if len > MAX_PICKLE_BYTES {
            self.unscannable(label, format!("an array of objects (a pickle) of {len} bytes, over the limit of {MAX_PICKLE_BYTES}"));
            return Ok(());
        }
        // np.save writes an array of objects as a pickle after the header; np.load runs it
        // with allow_pickle=True.
        let mut sub = ParsedFile::default();
        scan_pickles(self.path, label, &bytes[data_at..], &mut sub);
        for mut f in sub.findings {
            f.offset += data_at as u64;
            self.p.findings.push(f);
        }
        Ok(())
    }
}

/// Runs one pickle of a torch tar member at `at`; its findings go to the scan. `None` (with a
/// finding) when it stops on an error.
fn scan_one(
    s: &mut Scan<'_>,
    member: &str,
    bytes: &[u8],
    at: usize,
) -> Option<(super::pickle::Outcome, usize)> {
    let o = super::pickle::scan(&bytes[at..]);
    for f in o.findings.iter().cloned() {
        let mut f = SecurityFinding::from_pickle(s.path, member, f);
        f.offset += at as u64;
        s.p.findings.push(f);
    }
    if let Some(e) = &o.error {
        s.p.findings
            .push(super::unscannable_pickle(s.path, member, e, at as u64));
        return None;
    }
    let end = at + o.end;
    Some((o, end))
}

fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_le_bytes(a))
}

/// The `.npy` header: whether its `descr` holds an object type (`O`), and where data starts.
fn npy_header(bytes: &[u8]) -> Option<(bool, usize)> {
    let major = *bytes.get(6)?;
    let (len, start) = match major {
        1 => (
            u16::from_le_bytes([*bytes.get(8)?, *bytes.get(9)?]) as usize,
            10usize,
        ),
        2 | 3 => {
            let b = bytes.get(8..12)?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
        }
        _ => return None,
    };
    let header = bytes.get(start..start.checked_add(len)?)?;
    let text = String::from_utf8_lossy(header);
    let descr_at = text.find("'descr'")?;
    let descr = &text[descr_at + 7..];
    // The descr ends where the next key starts.
    let end = ["'fortran_order'", "'shape'"]
        .iter()
        .filter_map(|k| descr.find(k))
        .min()
        .unwrap_or(descr.len());
    let descr = &descr[..end];
    let object = ["'O", "|O", "<O", ">O", "=O"]
        .iter()
        .any(|p| descr.contains(p));
    Some((object, start + len))
}

fn join(outer: &str, inner: &str) -> String {
    match (outer.is_empty(), inner.is_empty()) {
        (true, _) => inner.to_owned(),
        (_, true) => outer.to_owned(),
        _ => format!("{outer}/{inner}"),
    }
}

/// A buffer that refuses to grow past [`MAX_DECOMPRESSED_BYTES`].
struct LimitedWriter(Vec<u8>);

impl std::io::Write for LimitedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = MAX_DECOMPRESSED_BYTES.saturating_sub(self.0.len() as u64) as usize;
        if room == 0 && !buf.is_empty() {
            return Err(std::io::Error::other("decompressed past the limit"));
        }
        let n = buf.len().min(room);
        self.0.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
