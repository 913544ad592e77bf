//! The C2SP CCTV age test vectors (npm package `cctv-age`, unpacked by scripts/fetch-cctv into
//! target/cctv-age, one file per vector: a `key: value` preamble, a blank line, the age file).

use std::path::PathBuf;

pub struct Vector {
    pub name: String,
    /// `success`, `no match`, `header failure`, `payload failure`, …
    pub expect: String,
    pub payload_sha256: Option<String>,
    pub identities: Vec<String>,
    pub armored: bool,
    pub passphrase: bool,
    pub age: Vec<u8>,
}

/// Where scripts/fetch-cctv put the vectors.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/cctv-age")
}

/// Every vector's file name (hidden files left out), sorted.
pub fn names() -> Vec<String> {
    let dir = dir();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run the tests with scripts/test (it runs scripts/fetch-cctv)",
            dir.display()
        )
    });
    let mut names: Vec<String> = entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

/// Reads and parses the vector `name`.
pub fn read(name: &str) -> Vector {
    let bytes = std::fs::read(dir().join(name)).unwrap();
    let split = bytes
        .windows(2)
        .position(|w| w == b"\n\n")
        .expect("a preamble");
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut v = Vector {
        name: name.to_owned(),
        expect: String::new(),
        payload_sha256: None,
        identities: vec![],
        armored: false,
        passphrase: false,
        age: bytes[split + 2..].to_vec(),
    };
    for line in head.lines() {
        let (k, val) = line.split_once(": ").unwrap_or((line, ""));
        match k {
            "expect" => v.expect = val.to_owned(),
            "payload" => v.payload_sha256 = Some(val.to_owned()),
            "identity" => v.identities.push(val.to_owned()),
            "armored" => v.armored = val == "yes",
            "passphrase" => v.passphrase = true,
            _ => {}
        }
    }
    v
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}
