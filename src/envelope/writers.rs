//! Parallel positioned writes of opened plaintext: the kernel's copy into the page cache is the
//! largest cost of opening, so it runs on every core while the main thread parses and hashes.
//!
//! Batches are shared (`Arc<Batch>`) between the parser and the writers; a batch's buffer goes
//! back to the reader for reuse when the last reference to it is dropped. The job queue is
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

struct Job {
    file: Arc<File>,
    name: Arc<str>,
    offset: u64,
    data: Arc<Batch>,
    range: Range<usize>,
}

/// Writer threads taking positioned writes from a bounded queue.
pub struct WritePool {
    tx: Option<mpsc::SyncSender<Job>>,
    handles: Vec<std::thread::JoinHandle<()>>,
    error: Arc<Mutex<Option<String>>>,
}

/// Jobs queued at most (each a chunk of up to 64 KiB).
const QUEUE: usize = 256;

impl WritePool {
    pub fn new() -> WritePool {
        let workers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 8);
        let (tx, rx) = mpsc::sync_channel::<Job>(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        let error = Arc::new(Mutex::new(None));
        let handles = (0..workers)
            .map(|_| {
                let rx = rx.clone();
                let error = error.clone();
                std::thread::spawn(move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        let failed = error.lock().map(|e| e.is_some()).unwrap_or(true);
                        if failed {
                            continue;
                        }
                        if let Err(e) = job.file.write_all_at(&job.data.buf[job.range], job.offset)
                            && let Ok(mut slot) = error.lock()
                        {
                            slot.get_or_insert(format!("writing `{}`: {e}", job.name));
                        }
                    }
                })
            })
            .collect();
        WritePool {
            tx: Some(tx),
            handles,
            error,
        }
    }

    /// Queues `data.buf[range]` to be written to `file` at `offset`; fails fast if a write failed.
    pub fn submit(
        &self,
        file: &Arc<File>,
        name: &Arc<str>,
        offset: u64,
        data: &Arc<Batch>,
        range: Range<usize>,
    ) -> Result<(), String> {
        if let Some(e) = self.error.lock().ok().and_then(|e| e.clone()) {
            return Err(e);
        }
        let job = Job {
            file: file.clone(),
            name: name.clone(),
            offset,
            data: data.clone(),
            range,
        };
        self.tx
            .as_ref()
            .ok_or("the write pool is closed")?
            .send(job)
            .map_err(|_| "a writer thread stopped".to_string())
    }

    /// Waits for every queued write; the first error, if any.
    pub fn finish(mut self) -> Result<(), String> {
        drop(self.tx.take());
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
        drop(self.tx.take());
        for h in std::mem::take(&mut self.handles) {
            let _ = h.join();
        }
    }
}

/// Bytes written between two background flushes.
pub const WRITEBACK_EVERY: u64 = 256 << 20;

/// Background writeback of a file being written: every [`WRITEBACK_EVERY`] bytes, a thread of its
/// own asks the kernel to write the file's dirty pages (`fdatasync`), while the writers go on.
/// The final `fsync` (which durability needs, and keeps) then has little left to do, instead of
/// writing the whole file at the end on one thread.
pub struct Writeback {
    written: Arc<std::sync::atomic::AtomicU64>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Writeback {
    /// Starts flushing `file` (a second handle on the file being written).
    pub fn start(file: File) -> Writeback {
        use std::sync::atomic::Ordering;
        let written = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (w, s) = (written.clone(), stop.clone());
        let handle = std::thread::Builder::new()
            .name("writeback".into())
            .spawn(move || {
                let mut flushed = 0;
                while !s.load(Ordering::Relaxed) {
                    let now = w.load(Ordering::Relaxed);
                    if now - flushed >= WRITEBACK_EVERY {
                        // An error here is found again by the final fsync, which reports it.
                        let _ = file.sync_data();
                        flushed = now;
                    } else {
                        std::thread::sleep(std::time::Duration::from_millis(10));
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
