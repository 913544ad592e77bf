//! OpenSSF model signatures: a Sigstore bundle, PEM EC keys (SEC1, PKCS#8, SPKI), an in-toto
//! statement.
#![no_main]
use libfuzzer_sys::fuzz_target;

// The dispatch lives in the library, so `tests/fuzz_corpus.rs` replays exactly what runs here.
fuzz_target!(|data: &[u8]| weightguard::fuzz_api::run("model_signature", data));
