//! Progress on stderr for long runs, one implementation for `hash`, `seal` and `audit`: a bar
//! redrawn in place on a terminal, and on anything else (a CI log, a file) a heartbeat line at
//! intervals, so a long run is never silent. Both show the rate and the time left.
//!
//! - Terminal (and not `TERM=dumb`): after 500 ms, one line redrawn at most every 200 ms,
//!   cleared at the end.
//! - Otherwise: a line every `WEIGHTGUARD_HEARTBEAT_SECS` seconds (default 30; `0` for none),
//!   the first after one interval, so short runs print nothing; and a last line when a run that
//!   printed one ends.
//!
//! Lines are drawn from the worker threads' calls ([`Progress::add`], [`Progress::set`]): a run
//! that stalls shows nothing new until work moves again.

use super::render::{Style, bytes, grouped};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What is counted.
#[derive(Debug, Clone, Copy)]
enum Unit {
    Bytes,
    /// Items, named in the plural ("units").
    Items(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Off,
    Bar,
    Heartbeat(Duration),
}

/// Progress of one run (see the module docs).
pub struct Progress {
    label: &'static str,
    unit: Unit,
    done: AtomicU64,
    total: AtomicU64,
    start: Instant,
    last_ms: AtomicU64,
    drawn: AtomicBool,
    mode: Mode,
}

/// `hash` and `seal` count bytes.
pub type ByteProgress = Progress;

impl Progress {
    const DELAY: Duration = Duration::from_millis(500);
    const BAR_INTERVAL: Duration = Duration::from_millis(200);
    const HEARTBEAT: Duration = Duration::from_secs(30);

    /// Progress over `total` bytes, named `label` ("hashing", "sealing").
    pub fn start(label: &'static str, total: u64) -> Progress {
        Progress::new(label, Unit::Bytes, total, true)
    }

    /// Progress over items (`audit`'s units), or none when `on` is false (`--no-progress`).
    pub fn items(label: &'static str, plural: &'static str, on: bool) -> Progress {
        Progress::new(label, Unit::Items(plural), 0, on)
    }

    fn new(label: &'static str, unit: Unit, total: u64, on: bool) -> Progress {
        let mode = if !on {
            Mode::Off
        } else if Style::stderr_redraws() {
            Mode::Bar
        } else {
            heartbeat(std::env::var("WEIGHTGUARD_HEARTBEAT_SECS").ok().as_deref())
        };
        Progress {
            label,
            unit,
            done: AtomicU64::new(0),
            total: AtomicU64::new(total),
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            drawn: AtomicBool::new(false),
            mode,
        }
    }

    /// Counts `n` more (called from worker threads).
    pub fn add(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        self.tick(done, self.total.load(Ordering::Relaxed));
    }

    /// Sets the count and the total (`audit`'s callback reports both).
    pub fn set(&self, done: u64, total: u64) {
        self.done.store(done, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
        self.tick(done, total);
    }

    fn tick(&self, done: u64, total: u64) {
        let (first, interval) = match self.mode {
            Mode::Off => return,
            Mode::Bar => (Self::DELAY, Self::BAR_INTERVAL),
            Mode::Heartbeat(every) => (every, every),
        };
        let elapsed = self.start.elapsed();
        if elapsed < first {
            return;
        }
        // One thread draws per interval: the one that moves `last_ms` forward.
        let ms = elapsed.as_millis() as u64;
        let last = self.last_ms.load(Ordering::Relaxed);
        if (last > 0 && ms < last + interval.as_millis() as u64)
            || self
                .last_ms
                .compare_exchange(last, ms.max(1), Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let text = status(self.unit, done, total, elapsed);
        let mut err = std::io::stderr().lock();
        let _ = match self.mode {
            Mode::Bar => write!(err, "\r\x1b[2K{} {}{text}", self.label, bar(done, total)),
            _ => writeln!(err, "{}: {text}", self.label),
        };
        let _ = err.flush();
        self.drawn.store(true, Ordering::Relaxed);
    }

    /// Clears the bar, or ends a heartbeat with a last line, if anything was drawn.
    pub fn finish(&self) {
        if !self.drawn.load(Ordering::Relaxed) {
            return;
        }
        match self.mode {
            Mode::Bar => eprint!("\r\x1b[2K"),
            Mode::Heartbeat(_) => {
                let done = self.done.load(Ordering::Relaxed);
                eprintln!(
                    "{}: done, {} in {}",
                    self.label,
                    amount(self.unit, done),
                    clock(self.start.elapsed())
                );
            }
            Mode::Off => {}
        }
    }
}

/// The heartbeat's mode from `WEIGHTGUARD_HEARTBEAT_SECS` (seconds, fractions allowed; `0` or
/// less for none; unset or unreadable for the default).
fn heartbeat(var: Option<&str>) -> Mode {
    match var.and_then(|v| v.trim().parse::<f64>().ok()) {
        Some(s) if !s.is_finite() || s <= 0.0 => Mode::Off,
        Some(s) => Mode::Heartbeat(Duration::from_secs_f64(s.min(86_400.0))),
        None => Mode::Heartbeat(Progress::HEARTBEAT),
    }
}

fn amount(unit: Unit, n: u64) -> String {
    match unit {
        Unit::Bytes => bytes(n),
        Unit::Items(plural) => format!("{} {plural}", grouped(n)),
    }
}

/// `[#######                       ] `
fn bar(done: u64, total: u64) -> String {
    const WIDTH: u64 = 30;
    let filled = (done.min(total) * WIDTH).checked_div(total).unwrap_or(0) as usize;
    format!(
        "[{}{}] ",
        "#".repeat(filled),
        " ".repeat(WIDTH as usize - filled)
    )
}

/// ` 45%  1.800 GB of 4.000 GB  512.0 MB/s  ETA 0:04`
fn status(unit: Unit, done: u64, total: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-3);
    let rate = done as f64 / secs;
    let rate = match unit {
        Unit::Bytes => weightguard::units::rate(rate),
        Unit::Items(_) => format!("{rate:.0}/s"),
    };
    let mut s = String::new();
    if total > 0 {
        let pct = (done as f64 / total as f64 * 100.0).min(100.0);
        s.push_str(&format!(
            "{pct:>3.0}%  {} of {}",
            amount(unit, done),
            match unit {
                Unit::Bytes => bytes(total),
                Unit::Items(_) => grouped(total),
            }
        ));
    } else {
        s.push_str(&amount(unit, done));
    }
    s.push_str(&format!("  {rate}"));
    if done > 0 && total > done {
        let left = (total - done) as f64 * secs / done as f64;
        s.push_str(&format!(
            "  ETA {}",
            clock(Duration::from_secs_f64(left.min(1e9)))
        ));
    }
    s
}

/// `0:04`, `12:30`, `3:02:05`.
fn clock(d: Duration) -> String {
    let t = d.as_secs();
    let (h, m, s) = (t / 3600, t / 60 % 60, t % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_show_rate_and_time_left() {
        let s = status(
            Unit::Bytes,
            1_000_000_000,
            4_000_000_000,
            Duration::from_secs(2),
        );
        assert_eq!(s, " 25%  1.000 GB of 4.000 GB  500.0 MB/s  ETA 0:06");
        let s = status(Unit::Items("units"), 30, 120, Duration::from_secs(10));
        assert_eq!(s, " 25%  30 units of 120  3/s  ETA 0:30");
        assert_eq!(clock(Duration::from_secs(3 * 3600 + 125)), "3:02:05");
        assert_eq!(
            bar(5, 10),
            format!("[{}{}] ", "#".repeat(15), " ".repeat(15))
        );
        assert_eq!(bar(1, 0), format!("[{}] ", " ".repeat(30)));
    }

    #[test]
    fn the_heartbeat_interval_comes_from_the_environment() {
        assert_eq!(heartbeat(None), Mode::Heartbeat(Duration::from_secs(30)));
        assert_eq!(heartbeat(Some("0")), Mode::Off);
        assert_eq!(
            heartbeat(Some("2.5")),
            Mode::Heartbeat(Duration::from_millis(2500))
        );
        assert_eq!(
            heartbeat(Some("x")),
            Mode::Heartbeat(Duration::from_secs(30))
        );
    }
}
