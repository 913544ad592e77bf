//! A one-line byte-count progress bar on stderr for long runs (`hash`, `seal`).

use super::render::bytes;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A one-line progress bar on stderr, drawn only on a terminal and only for long runs.
pub struct ByteProgress {
    label: &'static str,
    done: AtomicU64,
    total: u64,
    start: Instant,
    last_draw_ms: AtomicU64,
    drawn: AtomicBool,
    enabled: bool,
}

impl ByteProgress {
    /// Runs shorter than this are not worth a bar.
    const MIN_BYTES: u64 = 1 << 30;
    const DELAY: Duration = Duration::from_millis(500);
    const INTERVAL_MS: u64 = 200;

    /// A bar for `total` bytes, named `label` ("hashing", "sealing").
    pub fn start(label: &'static str, total: u64) -> ByteProgress {
        ByteProgress {
            label,
            done: AtomicU64::new(0),
            total,
            start: Instant::now(),
            last_draw_ms: AtomicU64::new(0),
            drawn: AtomicBool::new(false),
            enabled: total >= Self::MIN_BYTES && super::render::Style::stderr_redraws(),
        }
    }

    /// Counts `n` bytes and redraws at most every INTERVAL_MS (called from worker threads).
    pub fn add(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        if !self.enabled {
            return;
        }
        let elapsed = self.start.elapsed();
        if elapsed < Self::DELAY {
            return;
        }
        let ms = elapsed.as_millis() as u64;
        let last = self.last_draw_ms.load(Ordering::Relaxed);
        if ms < last + Self::INTERVAL_MS
            || self
                .last_draw_ms
                .compare_exchange(last, ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let fraction = (done as f64 / self.total.max(1) as f64).min(1.0);
        const WIDTH: usize = 30;
        let filled = (fraction * WIDTH as f64) as usize;
        let rate = done as f64 / elapsed.as_secs_f64();
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K{} [{}{}] {:>3.0}%  {} of {}  {}/s",
            self.label,
            "#".repeat(filled),
            " ".repeat(WIDTH - filled),
            fraction * 100.0,
            bytes(done),
            bytes(self.total),
            bytes(rate as u64)
        );
        let _ = err.flush();
        self.drawn.store(true, Ordering::Relaxed);
    }

    /// Clears the bar, if one was drawn.
    pub fn finish(&self) {
        if self.drawn.load(Ordering::Relaxed) {
            eprint!("\r\x1b[2K");
        }
    }
}
