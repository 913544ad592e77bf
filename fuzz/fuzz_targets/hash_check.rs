//! A `hash --check` file: digest lines, escaped names, model root lines.
#![no_main]
use libfuzzer_sys::fuzz_target;

// The dispatch lives in the library, so `tests/fuzz_corpus.rs` replays exactly what runs here.
fuzz_target!(|data: &[u8]| weightguard::fuzz_api::run("hash_check", data));
