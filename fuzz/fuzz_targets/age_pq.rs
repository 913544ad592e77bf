//! The post-quantum hybrid age keys and stanzas (`envelope::pq`): recipient strings, identity
//! files, `mlkem768x25519` stanzas unwrapped with the fuzzing post-quantum identity.
#![no_main]
use libfuzzer_sys::fuzz_target;

// The dispatch lives in the library, so `tests/fuzz_corpus.rs` replays exactly what runs here.
fuzz_target!(|data: &[u8]| weightguard::fuzz_api::run("age_pq", data));
