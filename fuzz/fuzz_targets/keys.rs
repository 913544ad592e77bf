//! Key files: signing keys (ours and OpenSSH), signer key lines, identity files.
#![no_main]
use libfuzzer_sys::fuzz_target;

// The dispatch lives in the library, so `tests/fuzz_corpus.rs` replays exactly what runs here.
fuzz_target!(|data: &[u8]| weightguard::fuzz_api::run("keys", data));
