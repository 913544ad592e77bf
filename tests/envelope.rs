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
    assert!(report.tensors_verified > 0);
    assert_eq!(report.tensors_signed_only, 0);
    // Decrypted weights are the opening account's only, whatever the umask.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&out), 0o700);
        for e in std::fs::read_dir(&out).unwrap() {
            assert_eq!(mode(&e.unwrap().path()), 0o600);
        }
    }
}

/// The envelope's plaintext (its tar stream), decrypted by the `age` crate.
fn plaintext(f: &Fixture, env: &Path) -> Vec<u8> {
    let id: age::x25519::Identity = std::fs::read_to_string(&f.identity)
        .unwrap()
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap()
        .parse()
        .unwrap();
    let bytes = std::fs::read(env).unwrap();
    let d = age::Decryptor::new(&bytes[..]).unwrap();
    let mut r = d
        .decrypt(std::iter::once(&id as &dyn age::Identity))
        .unwrap();
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut r, &mut plain).unwrap();
    plain
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
    let plain = plaintext(&f, &env);
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
        ignored: vec![],
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

/// A tar stream as the sealer writes it: `entries` in order, then the two zero blocks.
fn tar_stream(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    use weightguard::envelope::tar;
    let mut out = Vec::new();
    for (name, data) in entries {
        out.extend_from_slice(&forged_tar_header(name, data.len() as u64));
        out.extend_from_slice(data);
        out.resize(out.len() + tar::padding(data.len() as u64), 0);
    }
    out.resize(out.len() + 2 * tar::BLOCK, 0);
    out
}

/// A ustar header as the sealer writes it, but for any name up to 100 bytes, even one the sealer
/// refuses (`../x`).
fn forged_tar_header(name: &str, size: u64) -> [u8; 512] {
    use weightguard::envelope::tar;
    if let Ok(h) = tar::file_header(name, size) {
        return h;
    }
    let mut h = tar::file_header(&"x".repeat(name.len()), size).unwrap();
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

/// Tar entries: names and contents, in order.
type Entries = Vec<(String, Vec<u8>)>;

/// The entries of a tar stream the sealer wrote.
fn tar_entries(stream: &[u8]) -> Entries {
    use weightguard::envelope::tar::{self, Entry};
    let mut out = Vec::new();
    let mut at = 0;
    while let Entry::File { name, size } =
        tar::parse_header(stream[at..at + tar::BLOCK].try_into().unwrap()).unwrap()
    {
        at += tar::BLOCK;
        let size = size as usize;
        out.push((name, stream[at..at + size].to_vec()));
        at += size + tar::padding(size as u64);
    }
    out
}

/// Payloads that no honest sealer writes, sealed under authentic claims with a manifest signed
/// for them by the trusted key: `open` must refuse every payload that is not exactly the files
/// its signed manifest lists, for exactly these claims, and write nothing.
#[test]
fn forged_payloads_under_authentic_claims_are_refused() {
    use weightguard::envelope::{manifest, seal::seal_raw_payload};
    let f = fixture();
    let t = terms("DE", None);
    let good = seal(&f, "model.age", &t);
    let plain = plaintext(&f, &good);
    let entries = tar_entries(&plain);
    assert_eq!(entries.last().unwrap().0, manifest::ENTRY_NAME);
    // The forgeries are rebuilt with the sealer's own tar layout.
    assert_eq!(tar_stream(&entries), plain);
    let original = manifest::verify(&entries.last().unwrap().1, &f.key.public()).unwrap();
    let files = entries[..entries.len() - 1].to_vec();
    let weights = files
        .iter()
        .position(|(n, _)| n.ends_with(".safetensors"))
        .unwrap();

    // `files` with a manifest as the sealer signs it for the claims whose digest is given.
    type Forge = Box<dyn Fn(&str) -> Vec<u8>>;
    let with_manifest = |files: Entries, key: SigningKey| -> Forge {
        let original = original.clone();
        Box::new(move |claims: &str| {
            let mut m = original.clone();
            m.claims_blake3 = claims.to_owned();
            let mut list = files.clone();
            list.push((manifest::ENTRY_NAME.into(), manifest::sign(&m, &key)));
            tar_stream(&list)
        })
    };
    let key = || SigningKey::parse(&f.key.to_secret_string()).unwrap();
    let changed = |change: &dyn Fn(&mut Entries)| {
        let mut list = files.clone();
        change(&mut list);
        list
    };

    let recipients = envelope::keys::parse_recipients(&f.recipient).unwrap();
    let forge = |payload: &Forge| {
        let env = f.dir.path().join("forged.age");
        let _ = std::fs::remove_file(&env);
        seal_raw_payload(|c| payload(c), &env, &recipients, &f.key, &t).unwrap();
        let out = f.dir.path().join("out");
        let result = open(&f, &env, &out, &site("DE", &allow));
        (result, out)
    };

    // The forging is faithful: the same files under a manifest signed for the new claims open.
    let (result, out) = forge(&with_manifest(files.clone(), key()));
    result.unwrap();
    assert_same_tree(&f.model, &out);
    std::fs::remove_dir_all(&out).unwrap();

    let edited: Forge = {
        let (original, files, key) = (original.clone(), files.clone(), key());
        Box::new(move |claims: &str| {
            let mut m = original.clone();
            m.claims_blake3 = claims.to_owned();
            let signed = String::from_utf8(manifest::sign(&m, &key)).unwrap();
            let altered = signed.replacen("\"size\":", "\"size\":1", 1);
            assert_ne!(altered, signed);
            let mut list = files.clone();
            list.push((manifest::ENTRY_NAME.into(), altered.into_bytes()));
            tar_stream(&list)
        })
    };
    let raw = |bytes: Vec<u8>| -> Forge { Box::new(move |_: &str| bytes.clone()) };
    let no_manifest = tar_stream(&files);
    let mut unterminated = plain.clone();
    unterminated.truncate(plain.len() - 1024);
    let cases: Vec<(&str, Forge, &str)> = vec![
        (
            "a weight byte changed",
            with_manifest(
                changed(&|l| *l[weights].1.last_mut().unwrap() ^= 0x01),
                key(),
            ),
            "does not match the manifest",
        ),
        (
            "a byte changed in a file checked whole",
            with_manifest(
                changed(&|l| {
                    let side = l.iter_mut().find(|(n, _)| n == "tokenizer.json").unwrap();
                    side.1[0] ^= 0x01;
                }),
                key(),
            ),
            "`tokenizer.json`: digest does not match the manifest",
        ),
        (
            "a file the manifest does not list",
            with_manifest(
                changed(&|l| l.push(("extra.bin".into(), b"smuggled".to_vec()))),
                key(),
            ),
            "the manifest lists",
        ),
        (
            "a listed file left out",
            with_manifest(changed(&|l| drop(l.remove(weights))), key()),
            "the manifest lists",
        ),
        (
            "a file renamed",
            with_manifest(changed(&|l| l[0].0.push_str(".renamed")), key()),
            "where the manifest lists",
        ),
        (
            "a path out of the output directory",
            with_manifest(
                changed(&|l| l.insert(0, ("../escaped.txt".into(), b"out".to_vec()))),
                key(),
            ),
            "`..` path component",
        ),
        (
            "a file twice",
            with_manifest(changed(&|l| l.insert(1, l[0].clone())), key()),
            "appears twice",
        ),
        (
            "an entry after the manifest",
            {
                let inner = with_manifest(files.clone(), key());
                Box::new(move |c: &str| {
                    let mut s = inner(c);
                    s.truncate(s.len() - 1024);
                    s.extend(tar_stream(&[("late.txt".into(), b"late".to_vec())]));
                    s
                })
            },
            "must be last",
        ),
        (
            "a manifest signed by another key",
            with_manifest(files.clone(), SigningKey::generate().unwrap()),
            "does not verify",
        ),
        ("a manifest edited after signing", edited, "does not verify"),
        (
            "the manifest of the original seal (other claims)",
            raw(plain.clone()),
            "signed for other claims",
        ),
        (
            "no manifest",
            raw(no_manifest),
            "without the signed manifest",
        ),
        (
            "no end of archive",
            raw(unterminated),
            "ends inside the archive",
        ),
        ("not a tar stream", raw(b"weights".repeat(1000)), ""),
        ("empty", raw(Vec::new()), ""),
    ];
    for (name, payload, expected) in &cases {
        let (result, out) = forge(payload);
        let e = result.expect_err(name).to_string();
        assert!(e.contains(expected), "{name}: {e}");
        assert!(!out.exists(), "{name}");
        assert!(!f.dir.path().join("escaped.txt").exists(), "{name}");
        assert_no_partial(f.dir.path());
    }
}

/// A checkpoint still being written (appended to, or rewritten in place) while it is sealed is
/// refused, and no envelope is left: the seal would otherwise hold a half-written model whose
/// digests look authentic.
#[test]
fn a_file_changing_while_sealed_is_refused() {
    use std::io::Write;
    let f = fixture();
    let recipients = envelope::keys::parse_recipients(&f.recipient).unwrap();
    let weights = std::fs::read_dir(&f.model)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .unwrap();
    let original = std::fs::read(&weights).unwrap();
    type Change = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Change, &str)> = vec![
        (
            "appended to",
            Box::new(|p: &Path| {
                let mut w = std::fs::OpenOptions::new().append(true).open(p).unwrap();
                w.write_all(b"more").unwrap();
            }),
            "length",
        ),
        (
            "rewritten in place",
            Box::new(|p: &Path| {
                let w = std::fs::OpenOptions::new().write(true).open(p).unwrap();
                // The last byte: tensor data, so the file still parses.
                let last = w.metadata().unwrap().len() - 1;
                std::os::unix::fs::FileExt::write_at(&w, b"\x55", last).unwrap();
                let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
                w.set_modified(later).unwrap();
            }),
            "modified",
        ),
    ];
    // Sealing the weights file alone, the change lands in the file being read. Sealing the
    // directory, the first bytes read are another file's, so the change lands before the file is
    // opened: it is no longer the file listed and gated (a new length, a new modification time),
    // and is refused before a byte of it is sealed.
    let inputs = [(&weights, "while read"), (&f.model, "before read")];
    for ((name, change, expected), (input, when)) in cases
        .iter()
        .flat_map(|c| inputs.iter().map(move |i| (c, i)))
    {
        let name = format!("{name} {when}");
        std::fs::write(&weights, &original).unwrap();
        let expected = match (*when, *expected) {
            ("before read", "length") => Some("when listed"),
            ("before read", _) => Some("modified since it was listed"),
            (_, e) => Some(e),
        };
        let out = f.dir.path().join("changing.age");
        let changed = std::cell::Cell::new(false);
        let r = envelope::seal_with_progress(
            input,
            &out,
            &recipients,
            &f.key,
            &terms("DE", None),
            false,
            &|_| {
                // Once the first bytes were read, as a trainer still writing would.
                if !changed.replace(true) {
                    change(&weights);
                }
            },
        );
        let Some(expected) = expected else {
            r.unwrap();
            let opened = f.dir.path().join("opened-changing");
            open(&f, &out, &opened, &site("DE", &allow)).unwrap();
            let back = opened.join(weights.file_name().unwrap());
            assert_eq!(
                std::fs::read(back).unwrap(),
                std::fs::read(&weights).unwrap()
            );
            std::fs::remove_dir_all(&opened).unwrap();
            std::fs::remove_file(&out).unwrap();
            continue;
        };
        let e = r.expect_err(&name).to_string();
        assert!(e.contains("changed while being sealed"), "{name}: {e}");
        assert!(e.contains(expected), "{name}: {e}");
        assert!(!out.exists(), "{name}");
        for entry in std::fs::read_dir(f.dir.path()).unwrap() {
            let n = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                !n.starts_with(".weightguard-seal-"),
                "{name}: {n} left behind"
            );
        }
    }
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

/// Issue 13: a file that appears in the model directory after the set was built (and gated) is
/// never sealed under the earlier decision: the seal lists the path again at the end and refuses,
/// leaving no envelope and no temporary behind. So does a file that disappears.
#[test]
fn a_file_added_or_removed_during_the_seal_is_refused() {
    let f = fixture();
    let recipients = envelope::keys::parse_recipients(&f.recipient).unwrap();
    let set = weightguard::artifact_set::collect(&f.model, &Default::default()).unwrap();
    let late = f.model.join("checkpoint-late.safetensors");
    let gone = f.model.join("gone.txt");
    std::fs::write(&gone, b"here when listed").unwrap();
    let set_with_gone = weightguard::artifact_set::collect(&f.model, &Default::default()).unwrap();
    for (name, set, change, expected) in [
        (
            "added",
            &set,
            Box::new(|| std::fs::write(&late, b"{}").unwrap()) as Box<dyn Fn()>,
            "checkpoint-late.safetensors",
        ),
        (
            "removed",
            &set_with_gone,
            Box::new(|| std::fs::remove_file(&gone).unwrap()) as Box<dyn Fn()>,
            "gone.txt",
        ),
    ] {
        let out = f.dir.path().join(format!("{name}.age"));
        let changed = std::cell::Cell::new(false);
        // `set` was built before `gone.txt` was written for the first case: write it back out of
        // the way so only the change under test differs.
        if name == "added" {
            std::fs::remove_file(&gone).unwrap();
        }
        let r = envelope::seal_set(
            set,
            &out,
            &recipients,
            &f.key,
            &terms("DE", None),
            false,
            &|_| {
                if !changed.replace(true) {
                    change();
                }
            },
        );
        let e = r.expect_err(name).to_string();
        // An added file is found by the last listing; a removed one as soon as it is opened.
        if name == "added" {
            assert!(
                e.contains("changed between the gate and the end of the seal: it appeared"),
                "{name}: {e}"
            );
        }
        assert!(e.contains(expected), "{name}: {e}");
        assert!(!out.exists(), "{name}: no envelope");
        for entry in std::fs::read_dir(f.dir.path()).unwrap() {
            let n = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                !n.starts_with(".weightguard-seal-"),
                "{name}: {n} left behind"
            );
        }
        if name == "added" {
            std::fs::remove_file(&late).unwrap();
            std::fs::write(&gone, b"here when listed").unwrap();
        }
    }
}

/// Issue 17: `open --as-of` cannot move the clock back: an envelope past its expiry date stays
/// refused, even with a date before it expired (or before it was sealed).
#[test]
fn an_expired_envelope_cannot_be_opened_by_naming_an_earlier_day() {
    let f = fixture();
    let recipients = envelope::keys::parse_recipients(&f.recipient).unwrap();
    let env = f.dir.path().join("expired.age");
    envelope::seal(
        &f.model,
        &env,
        &recipients,
        &f.key,
        &terms("DE", Some("2020-01-01")),
        false,
    )
    .unwrap();
    let signer = f.dir.path().join("signing.pub");
    std::fs::write(&signer, f.key.public().to_string()).unwrap();
    for as_of in [None, Some("2019-12-31"), Some("1999-01-01")] {
        let out = f.dir.path().join("opened");
        let mut args = vec![
            "open".to_owned(),
            env.display().to_string(),
            "-i".into(),
            f.identity.display().to_string(),
            "--signer".into(),
            signer.display().to_string(),
            "--site-country".into(),
            "DE".into(),
            "--site".into(),
            "fra-1".into(),
            "-o".into(),
            out.display().to_string(),
        ];
        if let Some(d) = as_of {
            args.extend(["--as-of".to_owned(), d.to_owned()]);
        }
        let r = std::process::Command::new(env!("CARGO_BIN_EXE_weightguard"))
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(1), "--as-of {as_of:?}: {err}");
        assert!(
            err.contains("expired") || err.contains("2020-01-01"),
            "{err}"
        );
        assert!(!out.exists(), "--as-of {as_of:?}");
    }
}

/// Issue 17: an envelope of many more files than `ulimit -n` allows open at once opens: only the
/// files being written are open (every written file used to stay open until the end).
#[test]
fn an_envelope_of_thousands_of_files_opens_under_a_low_file_limit() {
    let f = fixture();
    let many = f.dir.path().join("many");
    std::fs::create_dir(&many).unwrap();
    for i in 0..1500 {
        std::fs::write(many.join(format!("part-{i:04}.txt")), format!("part {i}\n")).unwrap();
    }
    let recipients = envelope::keys::parse_recipients(&f.recipient).unwrap();
    let env = f.dir.path().join("many.age");
    envelope::seal(&many, &env, &recipients, &f.key, &terms("DE", None), false).unwrap();
    let signer = f.dir.path().join("signing.pub");
    std::fs::write(&signer, f.key.public().to_string()).unwrap();
    let out = f.dir.path().join("opened-many");
    let script = format!(
        "ulimit -n 128 && exec '{}' open '{}' -i '{}' --signer '{}' --site-country DE --site fra-1 -o '{}'",
        env!("CARGO_BIN_EXE_weightguard"),
        env.display(),
        f.identity.display(),
        signer.display(),
        out.display()
    );
    let r = std::process::Command::new("sh")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1500);
    assert_eq!(
        std::fs::read_to_string(out.join("part-1499.txt")).unwrap(),
        "part 1499\n"
    );
}

/// Issue 17: a genuine envelope header copied in front of cleartext passes every header and
/// claims check; `verify` and `audit` now look at what follows it: cleartext weights, the
/// envelope's own decrypted tar, or bytes far from random are refused (verify, exit 1) and an
/// `envelope-cleartext` finding (audit, critical). A genuine envelope still verifies.
#[test]
fn a_genuine_header_in_front_of_cleartext_is_caught() {
    let f = fixture();
    let recipients = envelope::keys::parse_recipients(&f.recipient).unwrap();
    let store = f.dir.path().join("store");
    std::fs::create_dir(&store).unwrap();
    let genuine = store.join("genuine.age");
    envelope::seal(
        &f.model,
        &genuine,
        &recipients,
        &f.key,
        &terms("DE", None),
        false,
    )
    .unwrap();
    let bytes = std::fs::read(&genuine).unwrap();
    let header_len = envelope::header::parse(&bytes).unwrap().len;
    let weights = std::fs::read_dir(&f.model)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .unwrap();
    let weights = std::fs::read(weights).unwrap();
    // The envelope's own plaintext, as `age -d` gives it: a tar stream.
    let out = f.dir.path().join("opened");
    open(&f, &genuine, &out, &site("DE", &|_| Ok(()))).unwrap();
    let mut tar = vec![0u8; 512];
    tar[..17].copy_from_slice(b"model.safetensors");
    tar[257..263].copy_from_slice(b"ustar\0");
    tar.extend(std::iter::repeat_n(7u8, 70_000));
    let mut text = Vec::new();
    while text.len() < 100_000 {
        text.extend_from_slice(b"the quick brown fox jumps over the lazy dog ");
    }
    let cases: [(&str, Vec<u8>, &str); 4] = [
        // Cleartext weights right after the header, and after a 16-byte "nonce".
        ("weights.age", weights.clone(), "cleartext"),
        (
            "nonce-then-weights.age",
            [vec![0x42; 16], weights].concat(),
            "cleartext",
        ),
        ("tar.age", tar, "tar archive"),
        (
            "text.age",
            text[..(16 + 65_552 + 100)].to_vec(),
            "far from random",
        ),
    ];
    let signer = f.key.public();
    for (name, payload, expected) in &cases {
        let p = store.join(name);
        std::fs::write(&p, [&bytes[..header_len], payload].concat()).unwrap();
        let e = envelope::verify(&p, Some(&signer))
            .err()
            .unwrap_or_else(|| panic!("{name} verified"))
            .to_string();
        assert!(e.contains(expected), "{name}: {e}");
        assert!(e.contains("not ciphertext"), "{name}: {e}");
    }
    envelope::verify(&genuine, Some(&signer)).unwrap();

    let r = std::process::Command::new(env!("CARGO_BIN_EXE_weightguard"))
        .args([
            "audit",
            store.to_str().unwrap(),
            "--format",
            "json",
            "--no-progress",
        ])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    let text = report.to_string();
    for (name, _, _) in &cases {
        let found = report["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["path"] == *name)
            .unwrap_or_else(|| panic!("{name} in {text}"));
        assert!(
            found["findings"].to_string().contains("envelope-cleartext"),
            "{name}: {found}"
        );
    }
    let genuine = report["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["path"] == "genuine.age")
        .unwrap();
    assert!(
        !genuine["findings"]
            .to_string()
            .contains("envelope-cleartext"),
        "{genuine}"
    );
}

/// Issue 17: `verify` of a pipe printed "payload 18.45 EB" (an unchecked subtraction); it now
/// refuses a non-regular file at once, saying what to name instead (it never waits on a FIFO).
#[test]
fn verify_refuses_a_pipe_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("envelope.age");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let r = std::process::Command::new("timeout")
        .args(["20", env!("CARGO_BIN_EXE_weightguard"), "verify"])
        .arg(&fifo)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(
        err.contains("FIFO") && err.contains("name the envelope file"),
        "{err}"
    );
    // A header that claims more bytes than the file has is an error, not a huge payload.
    let env = envelope::inspect::parse(
        Path::new("short.age"),
        b"age-encryption.org/v1\n-> X25519 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n".to_vec(),
        10,
        None,
    );
    let e = env.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("the file only 10"), "{e}");
}

/// Issue 17: `seal X -o X --force` replaced the input weights with their own envelope; an output
/// that is the input, or inside it, is refused whatever `--force` says, and the input is intact.
#[test]
fn the_output_may_not_be_the_input_or_inside_it() {
    let f = fixture();
    let recipients = envelope::keys::parse_recipients(&f.recipient).unwrap();
    let weights = std::fs::read_dir(&f.model)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .unwrap();
    let before = std::fs::read(&weights).unwrap();
    for (input, output) in [
        (weights.clone(), weights.clone()),
        (f.model.clone(), f.model.join("model.age")),
        (f.model.clone(), f.model.clone()),
    ] {
        let e = envelope::seal(
            &input,
            &output,
            &recipients,
            &f.key,
            &terms("DE", None),
            true,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("inside what it seals"), "{e}");
    }
    assert_eq!(std::fs::read(&weights).unwrap(), before);
    assert!(!f.model.join("model.age").exists());
}

/// Files of 64 MiB and more are written back in the background while they are written (seal's
/// envelope and each large opened file; the kernel drops the pages once written): every byte
/// must still come back, in place.
#[test]
fn a_file_large_enough_for_background_writeback_comes_back_whole() {
    let f = fixture();
    let model = f.dir.path().join("large");
    std::fs::create_dir(&model).unwrap();
    // 80 MiB and a few bytes, so that the last batch and the last page are partial; every 8-byte
    // word differs, so a page written twice or dropped before it was written shows.
    let n: usize = (80 << 20) + 12_345;
    let header = format!(r#"{{"w":{{"dtype":"U8","shape":[{n}],"data_offsets":[0,{n}]}}}}"#);
    let mut bytes = Vec::with_capacity(8 + header.len() + n);
    bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    while bytes.len() < 8 + header.len() + n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.truncate(8 + header.len() + n);
    std::fs::write(model.join("model.safetensors"), &bytes).unwrap();

    let env = f.dir.path().join("large.age");
    let recipients = envelope::keys::parse_recipients(&f.recipient).unwrap();
    envelope::seal(&model, &env, &recipients, &f.key, &terms("DE", None), false).unwrap();
    assert!(std::fs::metadata(&env).unwrap().len() > n as u64);
    let out = f.dir.path().join("opened-large");
    let report = open(&f, &env, &out, &site("DE", &allow)).unwrap();
    assert_eq!(report.files, 1);
    assert!(std::fs::read(out.join("model.safetensors")).unwrap() == bytes);
}
