//! A safetensors file (length prefix and JSON header), a shard index or a `config.json`: the
//! first byte picks which, the rest is the input.
#![no_main]
use libfuzzer_sys::fuzz_target;

// The dispatch lives in the library, so `tests/fuzz_corpus.rs` replays exactly what runs here.
fuzz_target!(|data: &[u8]| weightguard::fuzz_api::run("safetensors", data));
