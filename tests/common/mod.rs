//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the built `weightguard` binary.
pub fn weightguard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weightguard"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run weightguard")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `inspect --json` of one path, parsed: exit 0 when it is safe, 6 when it has security
/// findings.
pub fn inspect_json(path: &Path) -> serde_json::Value {
    let out = weightguard(&["inspect", "--json", path.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "inspect --json prints one JSON object ({e}); exit {:?}, stderr: {}",
            out.status.code(),
            stderr(&out)
        )
    });
    let want = if v["safe"] == false { 6 } else { 0 };
    assert_eq!(out.status.code(), Some(want), "stderr: {}", stderr(&out));
    v
}

/// The Python interpreter with the reference writers, set up by `scripts/test`.
pub fn python() -> PathBuf {
    match std::env::var_os("WEIGHTGUARD_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => panic!(
            "WEIGHTGUARD_PYTHON is not set: run the tests with scripts/test, which installs the \
             reference writers (Python safetensors, gguf) and sets it"
        ),
    }
}

/// Runs a Python script with the reference writers; returns its stdout.
pub fn run_python(script: &str, args: &[&Path]) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A safetensors file from a literal header and `data_len` zero bytes of data.
pub fn safetensors_bytes(header: &str, data_len: usize) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.resize(out.len() + data_len, 0);
    out
}
pub mod cctv;
pub mod seaweed;
