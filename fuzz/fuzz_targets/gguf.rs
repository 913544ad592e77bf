//! A GGUF file: header, metadata, tensor infos, then the conversion into an artifact.
#![no_main]
use libfuzzer_sys::fuzz_target;

// The dispatch lives in the library, so `tests/fuzz_corpus.rs` replays exactly what runs here.
fuzz_target!(|data: &[u8]| weightguard::fuzz_api::run("gguf", data));
