//! The memory all pickle machines of the process may hold at once.
//!
//! One machine is bounded by the pickle caps ([`MAX_PICKLE_VALUES`], the stack and memo caps),
//! but `audit` runs many units at once: without a shared bound, its peak would be one machine's
//! worst case times its concurrency. Each scan reserves its worst case here before it starts
//! (a pickle cannot hold more values than it has bytes) and waits while the reservations of
//! other scans would take the total past [`MAX_PICKLE_MEMORY_TOTAL`]. A scan never reserves
//! while holding a reservation, so waiting cannot deadlock; a lone scan always proceeds.

use crate::artifact::limits::{MAX_PICKLE_MEMORY_TOTAL, MAX_PICKLE_VALUES};
use std::sync::{Condvar, Mutex};

/// Bytes one held value may cost at most: the value, its slot in a container or the memo, and
/// the container's own share.
const BYTES_PER_VALUE: u64 = 48;

static RESERVED: Mutex<u64> = Mutex::new(0);
static RELEASED: Condvar = Condvar::new();

/// A reservation, returned on drop.
pub struct Reservation(u64);

/// Reserves the most a scan of a pickle of `len` bytes can hold, waiting for other scans to
/// finish while the total would pass [`MAX_PICKLE_MEMORY_TOTAL`].
pub fn reserve(len: usize) -> Reservation {
    let values = len.min(MAX_PICKLE_VALUES) as u64;
    let want = values
        .saturating_mul(BYTES_PER_VALUE)
        .min(MAX_PICKLE_MEMORY_TOTAL);
    // A poisoned lock only means another scan panicked; the count itself stays consistent.
    let mut held = RESERVED.lock().unwrap_or_else(|e| e.into_inner());
    while *held > 0 && *held + want > MAX_PICKLE_MEMORY_TOTAL {
        held = RELEASED.wait(held).unwrap_or_else(|e| e.into_inner());
    }
    *held += want;
    Reservation(want)
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut held = RESERVED.lock().unwrap_or_else(|e| e.into_inner());
        *held = held.saturating_sub(self.0);
        RELEASED.notify_all();
    }
}
