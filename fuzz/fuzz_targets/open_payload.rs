//! `open` on an authentic envelope (sealed for the fuzzing site, header and claims intact) whose
//! decrypted plaintext is the fuzzer's input: the tar reader, the manifest's signature and
//! limits, and the digest checks, which mutations of ciphertext (`open`) never reach past
//! authentication. It must refuse anything but a well-formed payload and leave nothing behind.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| weightguard::fuzz_api::run("open_payload", data));
