//! Positioned writes of opened plaintext on threads of their own: the kernel's copy into the page
//! cache is the largest cost of opening, so it runs beside the decryption and the main thread's
//! parsing and hashing.
//!
//! Batches are shared (`Arc<Batch>`) between the parser and the writers; a batch's buffer goes
//! back to the reader for reuse when the last reference to it is dropped. The job queues are
//! bounded, so memory stays a small multiple of the batch size however large the model.

use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// A decrypted batch, returned to `free` for reuse when dropped.
pub struct Batch {
    pub buf: Vec<u8>,
    free: Option<mpsc::Sender<Vec<u8>>>,
}

impl Batch {
    pub fn new(buf: Vec<u8>, free: mpsc::Sender<Vec<u8>>) -> Arc<Batch> {
        Arc::new(Batch {
            buf,
            free: Some(free),
        })
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        if let Some(free) = self.free.take() {
            let _ = free.send(std::mem::take(&mut self.buf));
        }
    }
}

/// One queued write: pieces of one batch, each written at its offset in one file.
struct Job {
    file: Arc<File>,
    name: Arc<str>,
    data: Arc<Batch>,
    /// (offset in the file, range of `data.buf`), in file order.
    pieces: Vec<(u64, Range<usize>)>,
}

/// Writer threads, each with its own bounded queue; every file is written by one of them only.
///
/// One writer per file because two threads writing the same file take turns on its inode lock
/// (issue 16: ~95k futex calls and optimistic spinning on the lock per 2 GiB opened, with two
/// writers on one file), and because whole-batch jobs cost one queue operation per batch instead
/// of one per 64 KiB chunk. The pieces are still written 64 KiB at a time: large writes measured
/// about 5× slower on this machine's ext4.
pub struct WritePool {
    queues: Vec<mpsc::SyncSender<Job>>,
    handles: Vec<std::thread::JoinHandle<()>>,
    error: Arc<Mutex<Option<String>>>,
    /// The writer the next file is given to.
    next: usize,
}

/// Jobs queued per writer (each at most one batch).
const QUEUE: usize = 8;

impl WritePool {
    pub fn new() -> WritePool {
        let workers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 8);
        let error = Arc::new(Mutex::new(None));
        let mut queues = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (tx, rx) = mpsc::sync_channel::<Job>(QUEUE);
            let error = error.clone();
            queues.push(tx);
            handles.push(std::thread::spawn(move || {
                for job in rx {
                    if error.lock().map(|e| e.is_some()).unwrap_or(true) {
                        continue;
                    }
                    for (offset, range) in job.pieces {
                        if let Err(e) = job.file.write_all_at(&job.data.buf[range], offset) {
                            if let Ok(mut slot) = error.lock() {
                                slot.get_or_insert(format!("writing `{}`: {e}", job.name));
                            }
                            break;
                        }
                    }
                }
            }));
        }
        WritePool {
            queues,
            handles,
            error,
            next: 0,
        }
    }

    /// The writer a new file is given to (files are spread over the writers in turn).
    pub fn assign(&mut self) -> usize {
        let w = self.next;
        self.next = (self.next + 1) % self.queues.len().max(1);
        w
    }

    /// Queues `pieces` of `data` to be written to `file` by `writer` (from [`WritePool::assign`]
    /// for that file); fails fast if a write failed.
    pub fn submit(
        &self,
        writer: usize,
        file: &Arc<File>,
        name: &Arc<str>,
        data: &Arc<Batch>,
        pieces: Vec<(u64, Range<usize>)>,
    ) -> Result<(), String> {
        if let Some(e) = self.error.lock().ok().and_then(|e| e.clone()) {
            return Err(e);
        }
        let job = Job {
            file: file.clone(),
            name: name.clone(),
            data: data.clone(),
            pieces,
        };
        self.queues
            .get(writer)
            .ok_or("no such writer")?
            .send(job)
            .map_err(|_| "a writer thread stopped".to_string())
    }

    /// Waits for every queued write; the first error, if any.
    pub fn finish(mut self) -> Result<(), String> {
        self.queues.clear();
        for h in std::mem::take(&mut self.handles) {
            h.join()
                .map_err(|_| "a writer thread panicked".to_string())?;
        }
        match self.error.lock().ok().and_then(|e| e.clone()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Drop for WritePool {
    fn drop(&mut self) {
        self.queues.clear();
        for h in std::mem::take(&mut self.handles) {
            let _ = h.join();
        }
    }
}

/// Files at least this large are written back in the background while they are written.
pub const WRITEBACK_FILES_FROM: u64 = 64 << 20;
/// Bytes written between two requests for writeback.
const WRITEBACK_STEP: u64 = 16 << 20;
/// How far behind the bytes counted the requested range ends: bytes are counted when they are
/// queued for writing (open) or written by one of several workers out of order (seal), so the
/// last few MiB may not be in the page cache yet; what this misses, the final fsync writes.
const WRITEBACK_LAG: u64 = 32 << 20;

/// Background writeback of a file being written: every [`WRITEBACK_STEP`] bytes, a thread of its
/// own asks the kernel to start writing the range written since (`posix_fadvise(DONTNEED)`: the
/// kernel starts asynchronous writeback of the range's dirty pages and drops the pages already
/// clean; it does not wait for the device). The disk is then kept busy from the first megabytes,
/// and the final `fsync` (which durability needs, and keeps) has only the last few MiB left to
/// write, instead of the whole file on one thread at the end. An `fdatasync` every 256 MiB, the
/// earlier design, waited for the device with dirty pages growing behind it (issue 16).
/// Dropping the written pages also keeps an 800 GB output from evicting the rest of the cache.
pub struct Writeback {
    written: Arc<std::sync::atomic::AtomicU64>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Writeback {
    /// Starts writing back `file` (a second handle on the file being written).
    pub fn start(file: File) -> Writeback {
        use std::sync::atomic::Ordering;
        let written = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (w, s) = (written.clone(), stop.clone());
        let handle = std::thread::Builder::new()
            .name("writeback".into())
            .spawn(move || {
                let mut requested = 0u64;
                while !s.load(Ordering::Relaxed) {
                    let upto = w.load(Ordering::Relaxed).saturating_sub(WRITEBACK_LAG);
                    if upto >= requested + WRITEBACK_STEP {
                        // Advice only: an error leaves the bytes to the final fsync, which
                        // reports any failure to write them.
                        if let (Ok(from), Ok(len)) =
                            (i64::try_from(requested), i64::try_from(upto - requested))
                        {
                            let _ = nix::fcntl::posix_fadvise(
                                &file,
                                from,
                                len,
                                nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
                            );
                        }
                        requested = upto;
                    } else {
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                }
            })
            .ok();
        Writeback {
            written,
            stop,
            handle,
        }
    }

    /// Counts `n` more bytes written.
    pub fn add(&self, n: u64) {
        self.written
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// Asks the thread to stop after any flush under way, without waiting for it.
    pub fn retire(&self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether the thread has ended (after [`Writeback::retire`]).
    pub fn is_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(|h| h.is_finished())
    }

    /// A counter the writer threads can share.
    pub fn counter(&self) -> Arc<std::sync::atomic::AtomicU64> {
        self.written.clone()
    }
}

impl Drop for Writeback {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
