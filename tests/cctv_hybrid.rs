//! The C2SP CCTV age vectors for the post-quantum hybrid recipient type `mlkem768x25519` (every
//! file named `*hybrid*` in target/cctv-age, unpacked from the npm package `cctv-age` by
//! scripts/fetch-cctv): each gives its expected outcome through our opener, with the identities
//! its preamble names: `success` with the payload's SHA-256; `no match` as "no identity
//! matched"; `header failure` as a refused header. The one armored vector is skipped: envelopes
//! are binary age files, and weightguard does not read ASCII armor.

mod common;

use common::cctv;
use weightguard::envelope::{self, Claims, EnvelopeError, Site};

const ARMORED: &[&str] = &["armor_hybrid"];

#[test]
fn every_cctv_hybrid_vector_gives_its_expected_outcome() {
    let names: Vec<String> = cctv::names()
        .into_iter()
        .filter(|n| n.contains("hybrid"))
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let allow = |_: &Claims| Ok(());
    let site = Site {
        country: "DE".into(),
        site: None,
        today: "2026-11-23".into(),
        policy: &allow,
    };
    let (mut ran, mut skipped, mut failures) = (Vec::new(), Vec::new(), Vec::new());
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for name in names {
        let v = cctv::read(&name);
        assert!(!v.passphrase, "{name}: a passphrase in a hybrid vector");
        if v.armored {
            skipped.push(name);
            continue;
        }
        assert!(
            v.identities
                .iter()
                .any(|i| i.starts_with("AGE-SECRET-KEY-PQ-1")),
            "{name}: no post-quantum identity"
        );
        *outcomes.entry(v.expect.clone()).or_default() += 1;
        let file = tmp.path().join(&name);
        std::fs::write(&file, &v.age).unwrap();
        let ids = envelope::keys::read_identities_from((v.identities.join("\n") + "\n").as_bytes())
            .unwrap_or_else(|e| panic!("{name}: the vector's identities: {e}"));
        let out = tmp.path().join(format!("{name}.out"));
        let result = envelope::open(&file, &ids, None, &site, &out, true);
        let ok = match (&result, v.expect.as_str()) {
            (Ok(_), "success") => {
                Some(cctv::sha256_hex(&std::fs::read(&out).unwrap())) == v.payload_sha256
            }
            (Err(EnvelopeError::NoMatchingIdentity { .. }), "no match") => true,
            (Err(EnvelopeError::Header { .. }), "header failure") => true,
            _ => false,
        };
        if result.is_err() {
            assert!(
                !out.exists(),
                "{name}: refused, but wrote {}",
                out.display()
            );
        }
        if !ok {
            failures.push(format!(
                "{name} (expect {}): {:?}",
                v.expect,
                result.map(|_| "opened").map_err(|e| e.to_string())
            ));
        }
        ran.push(name);
    }
    assert!(
        failures.is_empty(),
        "{} of {} hybrid vectors failed:\n{}",
        failures.len(),
        ran.len(),
        failures.join("\n")
    );
    assert_eq!(skipped, ARMORED, "only the armored vector is skipped");
    // cctv-age 0.2.0 (scripts/fetch-cctv): 19 hybrid vectors, 18 binary ones.
    assert_eq!(ran.len(), 18, "hybrid vectors run: {ran:?}");
    let count = |k: &str| outcomes.get(k).copied().unwrap_or(0);
    assert_eq!(
        (count("success"), count("no match"), count("header failure")),
        (4, 5, 9),
        "{outcomes:?}"
    );
}
