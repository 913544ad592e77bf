//! The C2SP CCTV age test vectors (npm package `cctv-age`, unpacked by scripts/fetch-cctv into
//! target/cctv-age) that apply to X25519: our opener must succeed exactly on the `success`
//! vectors, with the payload's SHA-256, and refuse every other.

mod common;

use common::cctv;
use weightguard::envelope::{self, Claims, Site};

/// Vectors for X25519 only: armor, passphrases and other recipient types are not ours to test.
fn applies(v: &cctv::Vector) -> bool {
    !v.armored
        && !v.passphrase
        && !v.identities.is_empty()
        && v.identities
            .iter()
            .all(|i| i.starts_with("AGE-SECRET-KEY-1"))
}

#[test]
fn cctv_x25519_vectors_give_the_expected_result() {
    let tmp = tempfile::tempdir().unwrap();
    let allow = |_: &Claims| Ok(());
    let site = Site {
        country: "DE".into(),
        site: None,
        today: "2026-11-23".into(),
        policy: &allow,
    };
    let (mut ran, mut failures) = (0, Vec::new());
    for name in cctv::names() {
        let v = cctv::read(&name);
        if !applies(&v) {
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
                Some(cctv::sha256_hex(&std::fs::read(&out).unwrap())) == v.payload_sha256
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
