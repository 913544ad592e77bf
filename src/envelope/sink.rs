//! Where a seal's bytes go: a temporary file beside the output, renamed into place when complete
//! (this module), or a multipart upload completed when complete (`remote.rs`). Both receive the
//! same bytes: the header and nonce first, then sealed batches, each at its own offset, in any
//! order, from several encryption workers.
//!
//! A sink is committed only after the last batch and the seal's last check; dropped without a
//! commit, it leaves nothing (the temporary is removed, the upload aborted).

use super::EnvelopeError;
use super::stream::TAG_LEN;
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

/// The writing end of a seal.
pub(crate) trait Sink: Send + Sync {
    /// The envelope as errors name it (a path, or `s3://bucket/key`).
    fn name(&self) -> &Path;
    /// The envelope's first bytes: the header and the payload nonce. Written before any batch.
    fn head(&self, bytes: &[u8]) -> std::io::Result<()>;
    /// A writer for one encryption worker thread.
    fn worker(&self) -> std::io::Result<Box<dyn BatchWriter>>;
    /// Every batch was written: make the envelope durable, run `last_check`, and only if it
    /// passes put the envelope in place.
    fn commit(
        self: Box<Self>,
        last_check: &dyn Fn() -> Result<(), EnvelopeError>,
    ) -> Result<(), EnvelopeError>;
}

/// One worker's writer.
pub(crate) trait BatchWriter: Send {
    /// Sealed batch `index` starting at byte `at` of the envelope: the chunk bodies in `bodies`
    /// (encrypted in place, 64 KiB each but the last), each followed by its tag in `tags`; `last`
    /// for the final batch. Every batch but the last is full, so `at` follows from `index`.
    fn write(
        &mut self,
        index: u64,
        at: u64,
        bodies: &[u8],
        tags: &[[u8; TAG_LEN]],
        last: bool,
    ) -> std::io::Result<()>;
}

/// The local sink: a temporary file in the output's directory, registered with
/// [`crate::interrupt`] while it exists, renamed to `output` on commit (without replacing an
/// existing file unless `overwrite`).
pub(crate) struct FileSink {
    tmp: tempfile::NamedTempFile,
    /// The one handle every worker writes through, one batch at a time (see [`FileWorker`]).
    out: std::sync::Arc<std::sync::Mutex<std::fs::File>>,
    _registered: crate::interrupt::Registered,
    output: PathBuf,
    overwrite: bool,
    writeback: super::writers::Writeback,
}

impl FileSink {
    pub(crate) fn create(output: &Path, overwrite: bool) -> Result<FileSink, EnvelopeError> {
        let dir = output
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let (tmp, registered) = crate::interrupt::create(
            || {
                tempfile::Builder::new()
                    .prefix(&crate::interrupt::prefix(".weightguard-seal-"))
                    .tempfile_in(dir)
            },
            |t| t.path().to_owned(),
        )
        .map_err(EnvelopeError::io(dir))?;
        let writeback =
            super::writers::Writeback::start(tmp.reopen().map_err(EnvelopeError::io(tmp.path()))?);
        let out = tmp.reopen().map_err(EnvelopeError::io(tmp.path()))?;
        Ok(FileSink {
            out: std::sync::Arc::new(std::sync::Mutex::new(out)),
            tmp,
            _registered: registered,
            output: output.to_owned(),
            overwrite,
            writeback,
        })
    }
}

impl Sink for FileSink {
    fn name(&self) -> &Path {
        &self.output
    }

    fn head(&self, bytes: &[u8]) -> std::io::Result<()> {
        std::os::unix::fs::FileExt::write_all_at(self.tmp.as_file(), bytes, 0)
    }

    fn worker(&self) -> std::io::Result<Box<dyn BatchWriter>> {
        Ok(Box::new(FileWorker(
            self.out.clone(),
            self.writeback.counter(),
        )))
    }

    fn commit(
        self: Box<Self>,
        last_check: &dyn Fn() -> Result<(), EnvelopeError>,
    ) -> Result<(), EnvelopeError> {
        let FileSink {
            out: _,
            tmp,
            _registered,
            output,
            overwrite,
            writeback,
        } = *self;
        drop(writeback);
        tmp.as_file()
            .sync_all()
            .map_err(EnvelopeError::io(tmp.path()))?;
        // The envelope is complete but not yet in place: the last moment to find that what it
        // holds is no longer what was decided on (the temporary is removed on this error).
        last_check()?;
        if overwrite {
            tmp.persist(&output)
                .map_err(|e| EnvelopeError::io(&output)(e.error))?;
        } else {
            tmp.persist_noclobber(&output)
                .map_err(|e| EnvelopeError::io(&output)(e.error))?;
        }
        Ok(())
    }
}

/// A worker's writes go through the sink's one handle, a batch at a time under its lock: the
/// kernel serialises writes to one file on its inode lock anyway, and two threads contending for
/// it there spin (issue 16: under load that spinning doubled seal's system time), where a thread
/// waiting for this lock sleeps and leaves the core to encryption.
struct FileWorker(
    std::sync::Arc<std::sync::Mutex<std::fs::File>>,
    std::sync::Arc<std::sync::atomic::AtomicU64>,
);

impl BatchWriter for FileWorker {
    fn write(
        &mut self,
        _index: u64,
        at: u64,
        bodies: &[u8],
        tags: &[[u8; TAG_LEN]],
        _last: bool,
    ) -> std::io::Result<()> {
        let mut file = self
            .0
            .lock()
            .map_err(|_| std::io::Error::other("another writer panicked"))?;
        file.seek(std::io::SeekFrom::Start(at))?;
        write_sealed(&mut file, bodies, tags)?;
        drop(file);
        self.1.fetch_add(
            (bodies.len() + tags.len() * TAG_LEN) as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        Ok(())
    }
}

/// Slices handed to one `writev`: a chunk's body and its tag.
const SLICES_PER_WRITE: usize = 2;

/// Writes sealed chunk bodies, each followed by its tag, one chunk (64 KiB and its tag) per
/// system call: measured on ext4, 8 MiB writes cost about 5× the time of 64 KiB ones for the
/// same bytes (issue 16), and on tmpfs the difference is in the noise.
fn write_sealed(
    w: &mut std::fs::File,
    bodies: &[u8],
    tags: &[[u8; TAG_LEN]],
) -> std::io::Result<()> {
    let mut slices = interleave(bodies, tags);
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        let n = w.write_vectored(&rest[..rest.len().min(SLICES_PER_WRITE)])?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        std::io::IoSlice::advance_slices(&mut rest, n);
    }
    Ok(())
}

/// The sealed batch as slices in envelope order: each chunk body, then its tag.
pub(crate) fn interleave<'a>(
    bodies: &'a [u8],
    tags: &'a [[u8; TAG_LEN]],
) -> Vec<std::io::IoSlice<'a>> {
    let mut slices = Vec::with_capacity(tags.len() * 2);
    if bodies.is_empty() {
        slices.extend(tags.iter().map(|t| std::io::IoSlice::new(t)));
    } else {
        for (body, tag) in bodies.chunks(super::stream::CHUNK).zip(tags) {
            slices.push(std::io::IoSlice::new(body));
            slices.push(std::io::IoSlice::new(tag));
        }
    }
    slices
}
