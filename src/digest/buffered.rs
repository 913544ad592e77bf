//! Reading through positioned reads (`pread`) into a few fixed buffers: the path for pipes,
//! network filesystems, small files, and anyone who asks for it. Memory is bounded by
//! [`BUFFERS`] × [`BUFFER_BYTES`] per file being hashed, whatever the file's size; a file that
//! ends early is a [`DigestError::Truncated`], never a short digest.

use super::DigestError;
use super::segment::SegmentHasher;
use std::fs::File;
use std::io::Read;
#[cfg(unix)]
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::mpsc;

/// Bytes per read on the large-file path: BLAKE3's tree parallelism works within one update
/// call, so each call must be large enough to split across every core.
pub const BUFFER_BYTES: usize = 16 << 20;
/// Buffers in flight on the large-file path: one being read, one being hashed, one queued.
pub const BUFFERS: usize = 3;
/// Bytes per read on the small-file path (one thread per file).
pub const SMALL_BUFFER_BYTES: usize = 1 << 20;

/// Fills `buf` from `offset`, or reports where the file ended.
pub(crate) fn read_full_at(
    file: &File,
    path: &Path,
    offset: u64,
    buf: &mut [u8],
) -> Result<(), DigestError> {
    let mut filled = 0;
    while filled < buf.len() {
        let at = offset + filled as u64;
        match file.read_at(&mut buf[filled..], at) {
            Ok(0) => {
                return Err(DigestError::Truncated {
                    path: path.to_owned(),
                    offset: at,
                    expected: 0,
                });
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(DigestError::Read {
                    path: path.to_owned(),
                    offset: at,
                    source,
                });
            }
        }
    }
    Ok(())
}

/// Reads `[hasher.position(), end)` of `file` into `hasher` on this thread, in small buffers.
pub(crate) fn hash_small(
    file: &File,
    path: &Path,
    end: u64,
    hasher: &mut SegmentHasher,
    progress: &dyn Fn(u64),
) -> Result<(), DigestError> {
    let mut buf = vec![0u8; SMALL_BUFFER_BYTES.min(usize::try_from(end).unwrap_or(usize::MAX))];
    while hasher.position() < end {
        let pos = hasher.position();
        let n = buf
            .len()
            .min(usize::try_from(end - pos).unwrap_or(usize::MAX));
        read_full_at(file, path, pos, &mut buf[..n]).map_err(|e| with_expected(e, end))?;
        hasher.feed(&buf[..n]);
        progress(n as u64);
    }
    Ok(())
}

/// Reads `[hasher.position(), end)` of `file` on a reader thread while this thread hashes the
/// previous buffer (with BLAKE3's tree parallelism across the rayon pool).
pub(crate) fn hash_large(
    file: &File,
    path: &Path,
    end: u64,
    hasher: &mut SegmentHasher,
    progress: &dyn Fn(u64),
) -> Result<(), DigestError> {
    let start = hasher.position();
    let (full_tx, full_rx) = mpsc::sync_channel::<Result<Vec<u8>, DigestError>>(BUFFERS - 1);
    let (empty_tx, empty_rx) = mpsc::sync_channel::<Vec<u8>>(BUFFERS);
    for _ in 0..BUFFERS {
        // The receiver is alive here, and the channel holds BUFFERS items.
        let _ = empty_tx.send(Vec::with_capacity(BUFFER_BYTES));
    }
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut pos = start;
            while pos < end {
                let Ok(mut buf) = empty_rx.recv() else { return };
                let n = BUFFER_BYTES.min(usize::try_from(end - pos).unwrap_or(usize::MAX));
                buf.resize(n, 0);
                let result = read_full_at(file, path, pos, &mut buf).map(|()| buf);
                let failed = result.is_err();
                if full_tx.send(result).is_err() || failed {
                    return;
                }
                pos += n as u64;
            }
        });
        while hasher.position() < end {
            // The reader sends until `end` or an error, so a closed channel means it stopped
            // after sending its error (handled below) or panicked.
            let Ok(result) = full_rx.recv() else {
                return Err(DigestError::Read {
                    path: path.to_owned(),
                    offset: hasher.position(),
                    source: std::io::Error::other("reader thread stopped"),
                });
            };
            let buf = result.map_err(|e| with_expected(e, end))?;
            hasher.feed(&buf);
            progress(buf.len() as u64);
            // The reader may have finished and dropped its receiver: the buffer is not needed.
            let _ = empty_tx.send(buf);
        }
        Ok(())
    })
}

/// Reads a pipe or device to its end (its length is not known in advance).
pub(crate) fn hash_stream(
    file: &mut File,
    path: &Path,
    hasher: &mut SegmentHasher,
    progress: &dyn Fn(u64),
) -> Result<u64, DigestError> {
    let mut buf = vec![0u8; BUFFER_BYTES];
    let mut total = 0u64;
    loop {
        let mut filled = 0;
        while filled < buf.len() {
            match file.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(DigestError::Read {
                        path: path.to_owned(),
                        offset: total + filled as u64,
                        source,
                    });
                }
            }
        }
        if filled == 0 {
            return Ok(total);
        }
        hasher.feed(&buf[..filled]);
        progress(filled as u64);
        total += filled as u64;
    }
}

fn with_expected(e: DigestError, expected: u64) -> DigestError {
    match e {
        DigestError::Truncated { path, offset, .. } => DigestError::Truncated {
            path,
            offset,
            expected,
        },
        other => other,
    }
}
