//! `open` on a mutated envelope, with the identity, signer and site the seed envelopes were
//! sealed for: it must refuse (or, for an intact envelope, succeed) and never leave a file
//! behind when it refuses.
#![no_main]
use libfuzzer_sys::fuzz_target;

// The dispatch lives in the library, so `tests/fuzz_corpus.rs` replays exactly what runs here.
fuzz_target!(|data: &[u8]| weightguard::fuzz_api::run("open", data));
