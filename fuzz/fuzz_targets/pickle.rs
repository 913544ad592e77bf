//! The symbolic pickle machine and tensor walker on a bare pickle, then the same bytes as a file
//! (a legacy checkpoint when they start with torch's magic number, else a bare pickle).
#![no_main]
use libfuzzer_sys::fuzz_target;

// The dispatch lives in the library, so `tests/fuzz_corpus.rs` replays exactly what runs here.
fuzz_target!(|data: &[u8]| weightguard::fuzz_api::run("pickle", data));
