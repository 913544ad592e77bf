//! The C2SP CCTV age test vectors (npm package `cctv-age`, unpacked by scripts/fetch-cctv into
//! target/cctv-age) that apply to X25519: our opener must succeed exactly on the `success`
//! vectors, with the payload's SHA-256, and refuse every other.

use std::path::PathBuf;
use weightguard::envelope::{self, Claims, Site};

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/cctv-age")
}

struct Vector {
    name: String,
    expect: String,
    payload_sha256: Option<String>,
    identities: Vec<String>,
    skip: bool,
    age: Vec<u8>,
}

fn parse(name: String, bytes: &[u8]) -> Vector {
    let split = bytes
        .windows(2)
        .position(|w| w == b"\n\n")
        .expect("preamble");
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut v = Vector {
        name,
        expect: String::new(),
        payload_sha256: None,
        identities: vec![],
        skip: false,
        age: bytes[split + 2..].to_vec(),
    };
    for line in head.lines() {
        let (k, val) = line.split_once(": ").unwrap_or((line, ""));
        match k {
            "expect" => v.expect = val.to_owned(),
            "payload" => v.payload_sha256 = Some(val.to_owned()),
            "identity" => v.identities.push(val.to_owned()),
            // armor, passphrases and other recipient types are not ours to test
            "armored" | "passphrase" => v.skip = true,
            _ => {}
        }
    }
    if v.identities.is_empty()
        || !v
            .identities
            .iter()
            .all(|i| i.starts_with("AGE-SECRET-KEY-1"))
    {
        v.skip = true;
    }
    v
}

#[test]
fn cctv_x25519_vectors_give_the_expected_result() {
    let dir = vectors_dir();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run the tests with scripts/test (it runs scripts/fetch-cctv)",
            dir.display()
        )
    });
    let tmp = tempfile::tempdir().unwrap();
    let allow = |_: &Claims| Ok(());
    let site = Site {
        country: "DE".into(),
        site: None,
        today: "2026-11-23".into(),
        policy: &allow,
    };
    let (mut ran, mut failures) = (0, Vec::new());
    for e in entries {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let v = parse(name, &std::fs::read(e.path()).unwrap());
        if v.skip {
            continue;
        }
        ran += 1;
        let file = tmp.path().join(&v.name);
        std::fs::write(&file, &v.age).unwrap();
        let ids_file = tmp.path().join(format!("{}.key", v.name));
        std::fs::write(&ids_file, v.identities.join("\n") + "\n").unwrap();
        let ids = envelope::keys::read_identities(&ids_file).unwrap();
        let out = tmp.path().join(format!("{}.out", v.name));
        let result = envelope::open(&file, &ids, None, &site, &out, true);
        let ok = match (&result, v.expect.as_str()) {
            (Ok(_), "success") => {
                let plain = std::fs::read(&out).unwrap();
                let digest = ring::digest::digest(&ring::digest::SHA256, &plain);
                let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
                Some(hex) == v.payload_sha256
            }
            (Err(_), expect) => expect != "success" && !out.exists(),
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{} (expect {}): {:?}",
                v.name,
                v.expect,
                result.err().map(|e| e.to_string())
            ));
        }
    }
    assert!(ran >= 60, "only {ran} vectors applied");
    assert!(
        failures.is_empty(),
        "{} of {ran} vectors failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
