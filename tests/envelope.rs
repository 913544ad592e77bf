//! Envelopes: sealed, verified without the key, opened only where they belong, decrypted by
//! independent age implementations, and refused when tampered with.

use std::path::{Path, PathBuf};
use std::process::Command;
use weightguard::envelope::{self, Claims, PolicyRef, SealTerms, SigningKey, Site};
use weightguard::fixture::{DataFill, ModelSpec, WriteOptions, write_model};

struct Fixture {
    dir: tempfile::TempDir,
    model: PathBuf,
    identity: PathBuf,
    recipient: String,
    key: SigningKey,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    write_model(
        &ModelSpec::tiny_deepseek(),
        &model,
        WriteOptions {
            fill: DataFill::Pattern(11),
            max_shard_bytes: Some(3 << 20),
        },
    )
    .unwrap();
    std::fs::write(model.join("tokenizer.json"), b"{\"vocab\": {}}").unwrap();
    let (identity_text, recipient) = envelope::keys::generate_identity();
    let identity = dir.path().join("identity.txt");
    std::fs::write(&identity, identity_text).unwrap();
    Fixture {
        dir,
        model,
        identity,
        recipient,
        key: SigningKey::generate().unwrap(),
    }
}

fn terms(destination: &str, expires: Option<&str>) -> SealTerms {
    SealTerms {
        destination: destination.into(),
        site: Some("fra-1".into()),
        holder_hq: Some(destination.into()),
        decision: "allowed".into(),
        authorization: Some("AIA".into()),
        classification: "controlled".into(),
        policy: PolicyRef {
            id: "us-ear-4e091".into(),
            version: "test".into(),
            digest: format!("blake3:{}", "00".repeat(32)),
        },
        expires: expires.map(str::to_owned),
        sealed_on: "2026-11-23".into(),
        gate: serde_json::json!({"decision": "allowed"}),
    }
}

fn seal(f: &Fixture, name: &str, t: &SealTerms) -> PathBuf {
    let out = f.dir.path().join(name);
    let recipients = envelope::keys::parse_recipients(&f.recipient).unwrap();
    envelope::seal(&f.model, &out, &recipients, &f.key, t, false).unwrap();
    out
}

fn allow(_: &Claims) -> Result<(), String> {
    Ok(())
}

fn site<'a>(country: &str, policy: &'a dyn Fn(&Claims) -> Result<(), String>) -> Site<'a> {
    Site {
        country: country.into(),
        site: Some("fra-1".into()),
        today: "2026-11-23".into(),
        policy,
    }
}

fn open(
    f: &Fixture,
    env: &Path,
    out: &Path,
    site: &Site,
) -> Result<envelope::OpenReport, envelope::EnvelopeError> {
    let ids = envelope::keys::read_identities(&f.identity).unwrap();
    envelope::open(env, &ids, Some(&f.key.public()), site, out, false)
}

fn assert_same_tree(a: &Path, b: &Path) {
    let mut names: Vec<_> = std::fs::read_dir(a)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    for n in &names {
        assert_eq!(
            std::fs::read(a.join(n)).unwrap(),
            std::fs::read(b.join(n)).unwrap(),
            "{n:?}"
        );
    }
}

#[test]
fn seal_then_open_gives_back_every_byte() {
    let f = fixture();
    let env = seal(&f, "model.age", &terms("DE", None));
    let v = envelope::verify(&env, Some(&f.key.public())).unwrap();
    assert_eq!(v.claims.destination, "DE");
    assert_eq!(v.recipients, 1);
    let out = f.dir.path().join("opened");
    let report = open(&f, &env, &out, &site("DE", &allow)).unwrap();
    assert_eq!(report.files, std::fs::read_dir(&f.model).unwrap().count());
    assert_same_tree(&f.model, &out);
    assert!(report.root.is_some());
}

#[test]
fn independent_age_implementations_decrypt_our_envelopes() {
    let f = fixture();
    let env = seal(&f, "model.age", &terms("DE", None));
    // the age CLI
    let tar = f.dir.path().join("cli.tar");
    let st = Command::new("age")
        .args(["-d", "-i"])
        .arg(&f.identity)
        .arg("-o")
        .arg(&tar)
        .arg(&env)
        .status()
        .expect("the age CLI is installed by scripts/test-deps");
    assert!(st.success());
    let x = f.dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    assert!(
        Command::new("tar")
            .arg("-xf")
            .arg(&tar)
            .arg("-C")
            .arg(&x)
            .status()
            .unwrap()
            .success()
    );
    assert_same_tree(&f.model, &x);
    assert!(x.join(".weightguard-manifest.json").is_file());
    // the age crate
    let id: age::x25519::Identity = std::fs::read_to_string(&f.identity)
        .unwrap()
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap()
        .parse()
        .unwrap();
    let bytes = std::fs::read(&env).unwrap();
    let d = age::Decryptor::new(&bytes[..]).unwrap();
    let mut r = d
        .decrypt(std::iter::once(&id as &dyn age::Identity))
        .unwrap();
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut r, &mut plain).unwrap();
    assert_eq!(plain, std::fs::read(&tar).unwrap());
}

#[test]
fn envelopes_open_only_where_they_belong() {
    let f = fixture();
    let env = seal(&f, "model.age", &terms("DE", Some("2026-12-31")));
    let out = f.dir.path().join("o");
    let e = open(&f, &env, &out, &site("FR", &allow))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("sealed for destination DE, but this site is in FR"),
        "{e}"
    );
    let mut other_site = site("DE", &allow);
    other_site.site = Some("muc-2".into());
    assert!(
        open(&f, &env, &out, &other_site)
            .unwrap_err()
            .to_string()
            .contains("site fra-1")
    );
    let mut later = site("DE", &allow);
    later.today = "2027-01-01".into();
    assert!(
        open(&f, &env, &out, &later)
            .unwrap_err()
            .to_string()
            .contains("expired on 2026-12-31")
    );
    let deny = |_: &Claims| Err("DE is now denied".to_string());
    let e = open(&f, &env, &out, &site("DE", &deny))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no longer allows") && e.contains("DE is now denied"),
        "{e}"
    );
    // wrong signer
    let stranger = SigningKey::generate().unwrap();
    let ids = envelope::keys::read_identities(&f.identity).unwrap();
    let e = envelope::open(
        &env,
        &ids,
        Some(&stranger.public()),
        &site("DE", &allow),
        &out,
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("not by the expected signer"), "{e}");
    // wrong identity
    let (other, _) = envelope::keys::generate_identity();
    let other_path = f.dir.path().join("other.txt");
    std::fs::write(&other_path, other).unwrap();
    let ids = envelope::keys::read_identities(&other_path).unwrap();
    let e = envelope::open(
        &env,
        &ids,
        Some(&f.key.public()),
        &site("DE", &allow),
        &out,
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("wrong identity"), "{e}");
    // an output that exists
    std::fs::create_dir(&out).unwrap();
    assert!(
        open(&f, &env, &out, &site("DE", &allow))
            .unwrap_err()
            .to_string()
            .contains("already exists")
    );
    std::fs::remove_dir(&out).unwrap();
    // nothing was left behind by any refusal
    assert_no_partial(f.dir.path());
}

fn assert_no_partial(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !name.contains("weightguard-partial") && !name.contains("weightguard-open"),
            "{name}"
        );
    }
}

#[test]
fn tampered_envelopes_are_refused_and_leave_no_plaintext() {
    let f = fixture();
    let env = seal(&f, "model.age", &terms("DE", None));
    let bytes = std::fs::read(&env).unwrap();
    let header = weightguard::envelope::header::parse(&bytes).unwrap();
    let text = String::from_utf8_lossy(&bytes[..header.len]).into_owned();
    let claims_at = text.find("-> weightguard-claims").unwrap();
    type Tamper = Box<dyn Fn(&mut Vec<u8>)>;
    let cases: Vec<(&str, Tamper, &str)> = vec![
        (
            "header (recipient stanza)",
            Box::new(|b: &mut Vec<u8>| b[40] ^= 0x01),
            "",
        ),
        (
            "claims",
            Box::new(move |b: &mut Vec<u8>| b[claims_at + 40] ^= 0x04),
            "",
        ),
        (
            "payload start",
            Box::new(move |b: &mut Vec<u8>| b[header.len + 100] ^= 0x01),
            "authentication failed",
        ),
        (
            "payload end",
            Box::new(|b: &mut Vec<u8>| {
                let n = b.len();
                b[n - 30] ^= 0x80;
            }),
            "authentication failed",
        ),
        (
            "truncated",
            Box::new(|b: &mut Vec<u8>| {
                let n = b.len();
                b.truncate(n - 1000);
            }),
            "authentication failed",
        ),
        (
            "truncated at a chunk",
            Box::new(move |b: &mut Vec<u8>| b.truncate(header.len + 16 + 65552)),
            "authentication failed",
        ),
        (
            "trailing bytes",
            Box::new(|b: &mut Vec<u8>| b.extend_from_slice(b"extra")),
            "authentication failed",
        ),
    ];
    for (name, tamper, expected) in cases {
        let mut b = bytes.clone();
        tamper(&mut b);
        let bad = f.dir.path().join("bad.age");
        std::fs::write(&bad, &b).unwrap();
        let out = f.dir.path().join("out");
        let e = open(&f, &bad, &out, &site("DE", &allow))
            .expect_err(name)
            .to_string();
        assert!(e.contains(expected), "{name}: {e}");
        assert!(!out.exists(), "{name}");
        assert_no_partial(f.dir.path());
    }
}

#[test]
fn a_manifest_altered_after_signing_is_refused() {
    use weightguard::envelope::manifest;
    let key = SigningKey::generate().unwrap();
    let m = manifest::Manifest {
        version: 1,
        claims_blake3: "ab".repeat(32),
        files: vec![manifest::FileEntry {
            path: "config.json".into(),
            size: 2,
            blake3: Some("cd".repeat(32)),
            header: None,
            tensors: vec![],
        }],
        root: None,
        decision: serde_json::json!({"decision": "allowed"}),
    };
    let signed = manifest::sign(&m, &key);
    assert_eq!(manifest::verify(&signed, &key.public()).unwrap(), m);
    let text = String::from_utf8(signed.clone()).unwrap();
    let altered = text.replace("\"size\":2", "\"size\":3");
    assert_ne!(altered, text);
    let e = manifest::verify(altered.as_bytes(), &key.public()).unwrap_err();
    assert!(e.contains("does not verify"), "{e}");
    let other = SigningKey::generate().unwrap();
    assert!(manifest::verify(&signed, &other.public()).is_err());
    let dup = text.replacen("{\"manifest\":", "{\"signature\":\"x\",\"manifest\":", 1);
    assert!(
        manifest::verify(dup.as_bytes(), &key.public())
            .unwrap_err()
            .contains("duplicate")
    );
}

#[test]
fn plain_age_files_open_only_with_the_explicit_flag() {
    let f = fixture();
    let plain = f.dir.path().join("plain.txt");
    std::fs::write(&plain, b"hello weights").unwrap();
    let enc = f.dir.path().join("plain.age");
    assert!(
        Command::new("age")
            .arg("-r")
            .arg(&f.recipient)
            .arg("-o")
            .arg(&enc)
            .arg(&plain)
            .status()
            .unwrap()
            .success()
    );
    let ids = envelope::keys::read_identities(&f.identity).unwrap();
    let out = f.dir.path().join("plain.out");
    let e = envelope::open(
        &enc,
        &ids,
        Some(&f.key.public()),
        &site("DE", &allow),
        &out,
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("plain age file"), "{e}");
    let r = envelope::open(&enc, &ids, None, &site("DE", &allow), &out, true).unwrap();
    assert!(r.plain);
    assert_eq!(std::fs::read(&out).unwrap(), b"hello weights");
}

#[test]
fn ssh_keys_work_as_recipients_and_identities() {
    let f = fixture();
    let key = f.dir.path().join("id_ed25519");
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status();
    let Ok(st) = st else {
        panic!("ssh-keygen (openssh-client) is needed for this test");
    };
    assert!(st.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let recipients = envelope::keys::parse_recipients(public.trim()).unwrap();
    let env = f.dir.path().join("ssh.age");
    envelope::seal(
        &f.model,
        &env,
        &recipients,
        &f.key,
        &terms("DE", None),
        false,
    )
    .unwrap();
    let ids = envelope::keys::read_identities(&key).unwrap();
    let out = f.dir.path().join("ssh-opened");
    envelope::open(
        &env,
        &ids,
        Some(&f.key.public()),
        &site("DE", &allow),
        &out,
        false,
    )
    .unwrap();
    assert_same_tree(&f.model, &out);
}
