//! Post-quantum hybrid recipients (`age1pq1…`, age's `mlkem768x25519`) through the CLI:
//! `keygen --pq`, seal and open, each refusal (a wrong identity, classic and post-quantum
//! recipients mixed, a tampered stanza, malformed keys), and interoperability with typage (npm
//! `age-encryption`, an independent implementation of the type, run with node; installed by
//! scripts/fetch-typage): it opens what we seal, we open what it encrypts, and both derive the
//! same recipient from an identity.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use weightguard::fixture::{DataFill, ModelSpec, WriteOptions, write_model};

const RECORD: &str = r#"
[model]
name = "acme-frontier"
published = false

[[stage]]
name = "pre-training"
kind = "pretraining"
operations = 2e26
"#;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A small model (with its training record) in `dir/model`.
fn model(dir: &Path) -> PathBuf {
    let model = dir.join("model");
    write_model(
        &ModelSpec::tiny_llama(),
        &model,
        WriteOptions {
            fill: DataFill::Pattern(7),
            max_shard_bytes: Some(8 << 20),
        },
    )
    .unwrap();
    std::fs::write(model.join("training-record.toml"), RECORD).unwrap();
    model
}

fn keygen(dir: &Path, name: &str, pq: bool) -> PathBuf {
    let keys = dir.join(name);
    let mut args = vec!["keygen", "--out", s(&keys)];
    if pq {
        args.push("--pq");
    }
    let out = weightguard(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    keys
}

/// `seal MODEL -r R… --destination DE --site fra-1 --signing-key KEY -o OUT`.
fn seal(model: &Path, recipients: &[&str], key: &Path, out: &Path) -> std::process::Output {
    let mut args = vec![
        "seal",
        s(model),
        "--destination",
        "DE",
        "--site",
        "fra-1",
        "--signing-key",
        s(key),
        "-o",
        s(out),
    ];
    for r in recipients {
        args.extend(["-r", r]);
    }
    weightguard(&args)
}

fn open(env: &Path, identity: &Path, signer: &Path, out: &Path) -> std::process::Output {
    weightguard(&[
        "open",
        s(env),
        "-i",
        s(identity),
        "--signer",
        s(signer),
        "--site-country",
        "DE",
        "--site",
        "fra-1",
        "-o",
        s(out),
    ])
}

fn assert_same_files(model: &Path, opened: &Path) {
    let mut n = 0;
    for f in std::fs::read_dir(model).unwrap() {
        let f = f.unwrap();
        assert_eq!(
            std::fs::read(f.path()).unwrap(),
            std::fs::read(opened.join(f.file_name())).unwrap(),
            "{:?}",
            f.file_name()
        );
        n += 1;
    }
    assert!(n >= 2);
}

/// The recipient stanzas' first lines (`-> type args…`) of an age file.
fn stanza_lines(age_file: &Path) -> Vec<String> {
    let bytes = std::fs::read(age_file).unwrap();
    let end = bytes.windows(4).position(|w| w == b"\n---").unwrap();
    String::from_utf8_lossy(&bytes[..end])
        .lines()
        .filter(|l| l.starts_with("-> "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn keygen_pq_seal_open_and_every_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = model(d);
    let pq = keygen(d, "pq", true);
    let classic = keygen(d, "classic", false);

    // keygen --pq: an AGE-SECRET-KEY-PQ-1 identity (0600) and its age1pq1 recipient.
    let identity = std::fs::read_to_string(pq.join("identity.txt")).unwrap();
    let recipient = std::fs::read_to_string(pq.join("recipient.txt")).unwrap();
    let recipient = recipient.trim();
    assert!(recipient.starts_with("age1pq1"), "{recipient}");
    assert!(
        recipient.len() > 1900,
        "a 1,216-byte key: {}",
        recipient.len()
    );
    assert!(
        identity
            .lines()
            .any(|l| l.starts_with("AGE-SECRET-KEY-PQ-1") && l.len() < 100)
    );
    assert!(identity.contains(&format!("# public key: {recipient}")));
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(pq.join("identity.txt"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Sealed to the recipient file and to the recipient given inline: one mlkem768x25519
    // stanza each, opened with the identity.
    let key = pq.join("signing.key");
    let signer = pq.join("signing.pub");
    for (name, r) in [
        ("file.age", s(&pq.join("recipient.txt"))),
        ("inline.age", recipient),
    ] {
        let env = d.join(name);
        let out = seal(&model, &[r], &key, &env);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let stanzas = stanza_lines(&env);
        assert_eq!(stanzas.len(), 2, "{stanzas:?}");
        assert!(stanzas[0].starts_with("-> mlkem768x25519 "), "{stanzas:?}");
        assert!(stanzas[1].starts_with("-> weightguard-claims "));
        let opened = d.join(format!("{name}.out"));
        let out = open(&env, &pq.join("identity.txt"), &signer, &opened);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_same_files(&model, &opened);
    }
    // Two post-quantum recipients together are fine.
    let pq2 = keygen(d, "pq2", true);
    let both = d.join("both.age");
    let out = seal(
        &model,
        &[recipient, s(&pq2.join("recipient.txt"))],
        &key,
        &both,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = open(
        &both,
        &pq2.join("identity.txt"),
        &signer,
        &d.join("both.out"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // Refused: another post-quantum identity, and a classic one; nothing written.
    let env = d.join("file.age");
    for wrong in [pq2.join("identity.txt"), classic.join("identity.txt")] {
        let target = d.join("wrong.out");
        let out = open(&env, &wrong, &signer, &target);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(stderr(&out).contains("wrong identity"), "{}", stderr(&out));
        assert!(!target.exists());
    }

    // Refused: post-quantum and classic recipients in one envelope, in either order, given
    // separately or in one recipients file, X25519 or SSH; nothing written.
    let ssh = d.join("ssh");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f", s(&ssh)])
        .output()
        .expect("ssh-keygen (scripts/test-deps installs openssh-client)");
    assert!(made.status.success());
    let ssh_pub = std::fs::read_to_string(d.join("ssh.pub")).unwrap();
    let mixed_file = d.join("mixed.txt");
    std::fs::write(
        &mixed_file,
        format!(
            "# one of each\n{recipient}\n{}",
            std::fs::read_to_string(classic.join("recipient.txt")).unwrap()
        ),
    )
    .unwrap();
    let classic_r = classic.join("recipient.txt");
    let mixes: [Vec<&str>; 4] = [
        vec![recipient, s(&classic_r)],
        vec![s(&classic_r), recipient],
        vec![s(&mixed_file)],
        vec![ssh_pub.trim(), recipient],
    ];
    for mix in mixes {
        let env = d.join("mixed.age");
        let out = seal(&model, &mix, &key, &env);
        assert_eq!(out.status.code(), Some(1), "{mix:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("post-quantum recipients (age1pq1…) cannot be combined"),
            "{}",
            stderr(&out)
        );
        assert!(!env.exists());
        let leftovers: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    // Refused: a tampered stanza (one character of its encapsulated key changed); nothing
    // written.
    let bytes = std::fs::read(&env).unwrap();
    let at = bytes
        .windows(18)
        .position(|w| w == b"-> mlkem768x25519 ")
        .unwrap()
        + 30;
    let mut tampered = bytes.clone();
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered_env = d.join("tampered.age");
    std::fs::write(&tampered_env, &tampered).unwrap();
    let target = d.join("tampered.out");
    let out = open(&tampered_env, &pq.join("identity.txt"), &signer, &target);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!target.exists());

    // Refused: a malformed recipient (checksum broken), named as post-quantum; a malformed
    // identity, by file and line and without echoing the secret.
    let mut broken = recipient.to_owned();
    let last = broken.pop().unwrap();
    broken.push(if last == 'q' { 'p' } else { 'q' });
    let out = seal(&model, &[&broken], &key, &d.join("broken.age"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("malformed post-quantum recipient"),
        "{}",
        stderr(&out)
    );
    assert!(
        !stderr(&out).contains(&broken),
        "the whole key is not echoed"
    );
    let secret = identity
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-PQ-1"))
        .unwrap();
    let bad_identity = d.join("bad-identity.txt");
    let truncated = &secret[..secret.len() - 1];
    std::fs::write(&bad_identity, format!("# comment\n{truncated}\n")).unwrap();
    let out = open(&env, &bad_identity, &signer, &d.join("bad.out"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("bad-identity.txt:2"), "{err}");
    assert!(err.contains("malformed post-quantum identity"), "{err}");
    assert!(!err.contains(truncated), "the secret is not echoed: {err}");
}

/// An identity file holding a post-quantum and a classic identity opens envelopes sealed to
/// either.
#[test]
fn identity_files_mix_post_quantum_and_classic_identities() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = model(d);
    let pq = keygen(d, "pq", true);
    let classic = keygen(d, "classic", false);
    let both = d.join("both.txt");
    std::fs::write(
        &both,
        std::fs::read_to_string(pq.join("identity.txt")).unwrap()
            + &std::fs::read_to_string(classic.join("identity.txt")).unwrap(),
    )
    .unwrap();
    for keys in [&pq, &classic] {
        let env = d.join("m.age");
        let _ = std::fs::remove_file(&env);
        let out = seal(
            &model,
            &[s(&keys.join("recipient.txt"))],
            &pq.join("signing.key"),
            &env,
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let target = d.join(format!(
            "{}.out",
            keys.file_name().unwrap().to_str().unwrap()
        ));
        let out = open(&env, &both, &pq.join("signing.pub"), &target);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_same_files(&model, &target);
    }
}

fn typage_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/typage");
    assert!(
        dir.join("node_modules/age-encryption").is_dir(),
        "{} is missing: run the tests with scripts/test (scripts/test-deps runs scripts/fetch-typage)",
        dir.display()
    );
    dir
}

/// `node tests/typage.mjs ARGS…`; its standard output.
fn typage(args: &[&str]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/typage.mjs");
    let out = Command::new("node")
        .arg(&script)
        .args(args)
        .env("TYPAGE_DIR", typage_dir())
        .output()
        .expect("node");
    assert!(
        out.status.success(),
        "typage {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn typage_interoperates_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = model(d);
    let ours = keygen(d, "ours", true);

    // The same recipient from the same identity: the seed expands the same way.
    let recipient = std::fs::read_to_string(ours.join("recipient.txt")).unwrap();
    assert_eq!(
        typage(&["recipient", s(&ours.join("identity.txt"))]).trim(),
        recipient.trim()
    );

    // typage's identity and recipient: we seal to it, typage decrypts the envelope (ignoring
    // the claims stanza, as age identities do), and its plaintext is the tar of the model.
    let theirs = typage(&["keygen"]);
    let mut lines = theirs.lines();
    let (their_identity, their_recipient) = (lines.next().unwrap(), lines.next().unwrap());
    assert!(their_recipient.starts_with("age1pq1"));
    let their_identity_file = d.join("typage-identity.txt");
    std::fs::write(&their_identity_file, format!("{their_identity}\n")).unwrap();
    let env = d.join("to-typage.age");
    let out = seal(&model, &[their_recipient], &ours.join("signing.key"), &env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let tar = d.join("by-typage.tar");
    typage(&["decrypt", s(&their_identity_file), s(&env), s(&tar)]);
    let extracted = d.join("extracted");
    std::fs::create_dir(&extracted).unwrap();
    let untar = Command::new("tar")
        .args(["-x", "-f", s(&tar), "-C", s(&extracted)])
        .output()
        .unwrap();
    assert!(untar.status.success());
    assert_same_files(&model, &extracted);
    // And we open it with typage's identity.
    let opened = d.join("opened-with-theirs");
    let out = open(
        &env,
        &their_identity_file,
        &ours.join("signing.pub"),
        &opened,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_same_files(&model, &opened);

    // typage encrypts to our recipient; we open it (a plain age file) with our identity.
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let plain = d.join("payload.bin");
    std::fs::write(&plain, &payload).unwrap();
    let from_typage = d.join("from-typage.age");
    typage(&["encrypt", recipient.trim(), s(&plain), s(&from_typage)]);
    assert!(stanza_lines(&from_typage)[0].starts_with("-> mlkem768x25519 "));
    let out_file = d.join("from-typage.out");
    let out = weightguard(&[
        "open",
        s(&from_typage),
        "-i",
        s(&ours.join("identity.txt")),
        "--allow-plain-age",
        "--site-country",
        "DE",
        "-o",
        s(&out_file),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read(&out_file).unwrap(), payload);
    // Refused once its stanza is tampered with (one body byte: it no longer authenticates), as
    // a plain age file, where no signed claims stand in front of the stanza; nothing written.
    let mut tampered = std::fs::read(&from_typage).unwrap();
    let stanza = tampered
        .windows(18)
        .position(|w| w == b"-> mlkem768x25519 ")
        .unwrap();
    let body = stanza + tampered[stanza..].iter().position(|&b| b == b'\n').unwrap() + 1;
    tampered[body] = if tampered[body] == b'A' { b'B' } else { b'A' };
    let tampered_file = d.join("tampered.age");
    std::fs::write(&tampered_file, &tampered).unwrap();
    let out = weightguard(&[
        "open",
        s(&tampered_file),
        "-i",
        s(&ours.join("identity.txt")),
        "--allow-plain-age",
        "--site-country",
        "DE",
        "-o",
        s(&d.join("tampered.out")),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!d.join("tampered.out").exists());
    // Not with another identity.
    let other = keygen(d, "other", true);
    let out = weightguard(&[
        "open",
        s(&from_typage),
        "-i",
        s(&other.join("identity.txt")),
        "--allow-plain-age",
        "--site-country",
        "DE",
        "-o",
        s(&d.join("other.out")),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!d.join("other.out").exists());
}

/// The `age_pq` fuzz target's seeds start where mutations reach every check: the recipient
/// parses, the identity file holds both kinds of identity, and the stanza unwraps with the
/// fuzzing post-quantum identity.
#[test]
fn age_pq_fuzz_seeds_reach_decryption() {
    use age::Identity as _;
    use weightguard::envelope::pq;
    use weightguard::fuzz_api;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/age_pq");
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let recipient = read("recipient");
    assert_eq!(recipient[0] % 3, 0);
    let id: pq::Identity = fuzz_api::FUZZ_PQ_IDENTITY.parse().unwrap();
    assert_eq!(
        std::str::from_utf8(&recipient[1..]).unwrap(),
        id.to_public().to_string()
    );
    let ids = read("identities");
    assert_eq!(ids[0] % 3, 1);
    assert_eq!(
        weightguard::envelope::keys::read_identities_from(&ids[1..])
            .unwrap()
            .len(),
        2
    );
    let stanza = read("stanza");
    assert_eq!(stanza[0] % 3, 2);
    let at = stanza.iter().position(|&b| b == b'\n').unwrap();
    let line = std::str::from_utf8(&stanza[1..at]).unwrap();
    let mut words = line.split(' ').map(str::to_owned);
    let s = age_core::format::Stanza {
        tag: words.next().unwrap(),
        args: words.collect(),
        body: stanza[at + 1..].to_vec(),
    };
    let key = id.unwrap_stanza(&s).expect("ours").expect("unwraps");
    use age::secrecy::ExposeSecret;
    assert_eq!(key.expose_secret(), &[0x5a; 16]);
}
