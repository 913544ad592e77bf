//! The committed envelope test vectors (docs/envelope-format.md §6): the good envelope opens with
//! weightguard, the age CLI and the age crate; every derived failure vector is refused.

use std::path::{Path, PathBuf};
use std::process::Command;
use weightguard::envelope::{self, Claims, SignerKey, Site, keys};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/envelope-v1")
}

fn allow(_: &Claims) -> Result<(), String> {
    Ok(())
}

fn site(country: &str, today: &str) -> Site<'static> {
    Site {
        country: country.into(),
        site: Some("fra-1".into()),
        today: today.into(),
        policy: &allow,
    }
}

fn open_bytes(
    bytes: &[u8],
    signer: &SignerKey,
    site: &Site,
) -> Result<(tempfile::TempDir, PathBuf), String> {
    let tmp = tempfile::tempdir().unwrap();
    let env = tmp.path().join("v.age");
    std::fs::write(&env, bytes).unwrap();
    let ids = keys::read_identities(&dir().join("identity.txt")).unwrap();
    let out = tmp.path().join("out");
    let r = envelope::open(&env, &ids, Some(signer), site, &out, false);
    match r {
        Ok(_) => Ok((tmp, out)),
        Err(e) => {
            assert!(!out.exists());
            Err(e.to_string())
        }
    }
}

fn signer() -> SignerKey {
    std::fs::read_to_string(dir().join("signing.pub"))
        .unwrap()
        .parse()
        .unwrap()
}

fn same_as_expected(out: &Path) {
    for f in ["config.json", "model.safetensors"] {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(dir().join("expected").join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn the_good_vector_opens_everywhere() {
    let bytes = std::fs::read(dir().join("good.age")).unwrap();
    let (_tmp, out) = open_bytes(&bytes, &signer(), &site("DE", "2026-11-23")).unwrap();
    same_as_expected(&out);
    // the age CLI and tar
    let x = tempfile::tempdir().unwrap();
    let tar = x.path().join("p.tar");
    assert!(
        Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(dir().join("identity.txt"))
            .arg("-o")
            .arg(&tar)
            .arg(dir().join("good.age"))
            .status()
            .unwrap()
            .success()
    );
    assert!(
        Command::new("tar")
            .arg("-xf")
            .arg(&tar)
            .arg("-C")
            .arg(x.path())
            .status()
            .unwrap()
            .success()
    );
    same_as_expected(x.path());
}

#[test]
fn derived_failure_vectors_are_refused() {
    let good = std::fs::read(dir().join("good.age")).unwrap();
    let header = envelope::header::parse(&good).unwrap();
    let text = String::from_utf8_lossy(&good[..header.len]).into_owned();
    let claims_body = text.find("-> weightguard-claims v1\n").unwrap() + 25;
    let mac = text.find("--- ").unwrap() + 5;
    let flip = |at: usize, bit: u8| {
        let mut b = good.clone();
        b[at] ^= bit;
        b
    };
    let vectors: Vec<(&str, Vec<u8>, &str)> = vec![
        ("recipient stanza", flip(30, 0x02), ""),
        ("claims body", flip(claims_body + 10, 0x01), ""),
        ("MAC", flip(mac + 3, 0x01), ""),
        (
            "first payload chunk",
            flip(header.len + 16 + 100, 0x01),
            "chunk 0",
        ),
        (
            "last payload chunk",
            flip(good.len() - 5, 0x01),
            "authentication failed",
        ),
        (
            "truncated",
            good[..good.len() - 7].to_vec(),
            "authentication failed",
        ),
        (
            "trailing bytes",
            [good.clone(), b"x".to_vec()].concat(),
            "authentication failed",
        ),
    ];
    for (name, bytes, expected) in vectors {
        let e = open_bytes(&bytes, &signer(), &site("DE", "2026-11-23")).expect_err(name);
        assert!(e.contains(expected), "{name}: {e}");
    }
    let e = open_bytes(&good, &signer(), &site("FR", "2026-11-23")).unwrap_err();
    assert!(e.contains("sealed for destination DE"), "{e}");
    let e = open_bytes(&good, &signer(), &site("DE", "2100-01-01")).unwrap_err();
    assert!(e.contains("expired on 2099-12-31"), "{e}");
    let stranger = envelope::SigningKey::generate().unwrap().public();
    let e = open_bytes(&good, &stranger, &site("DE", "2026-11-23")).unwrap_err();
    assert!(e.contains("not by the expected signer"), "{e}");
}
