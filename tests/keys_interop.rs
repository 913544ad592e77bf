//! Keys the age and OpenSSH ecosystems already use, end to end through the CLI: OpenSSH Ed25519
//! signing keys (made by the real `ssh-keygen`), several trusted signers (rotation), repeatable
//! identities and recipients files, `-` for standard input, and age plugins (a real plugin binary,
//! `age-plugin-simplepq` from crates.io, installed by scripts/test-deps), cross-checked with the
//! real `age` CLI in both directions.

mod common;
use common::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use weightguard::fixture::{DataFill, ModelSpec, WriteOptions, write_model};

/// Not controlled (far under the threshold): the gate allows any ordinary destination.
const RECORD: &str = r#"
[model]
name = "small-open"
published = false

[[stage]]
name = "pre-training"
kind = "pretraining"
operations = 1e21
"#;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("model");
        write_model(
            &ModelSpec::tiny_llama(),
            &model,
            WriteOptions {
                fill: DataFill::Pattern(3),
                max_shard_bytes: None,
            },
        )
        .unwrap();
        std::fs::write(model.join("training-record.toml"), RECORD).unwrap();
        let f = Fixture { dir };
        for k in ["a", "b"] {
            let out = weightguard(&["keygen", "--out", s(&f.path(k))]);
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        }
        f
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `seal model --destination DE` with these key arguments, to `out`.
    fn seal(&self, keys: &[&str], out: &str) -> Output {
        let model = self.path("model");
        let envelope = self.path(out);
        let mut a = vec!["seal", s(&model), "--destination", "DE", "-o", s(&envelope)];
        a.extend_from_slice(keys);
        weightguard(&a)
    }

    /// `open envelope --site-country DE -o out` with these key arguments.
    fn open(&self, envelope: &str, keys: &[&str], out: &str) -> Output {
        let e = self.path(envelope);
        let o = self.path(out);
        let mut a = vec!["open", s(&e), "--site-country", "DE", "-o", s(&o)];
        a.extend_from_slice(keys);
        weightguard(&a)
    }
}

/// `ssh-keygen -t TYPE -N PASSPHRASE -C COMMENT -f PATH` (the real one, from openssh-client).
fn ssh_keygen(path: &Path, kind: &str, passphrase: &str) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-N", passphrase, "-C", "sealer@lab", "-f"])
        .arg(path)
        .output()
        .expect("ssh-keygen is installed by scripts/test-deps (openssh-client)");
    assert!(out.status.success(), "{}", stderr(&out));
}

/// weightguard with `input` on its standard input.
fn weightguard_stdin(args: &[&str], input: &[u8], path_env: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_weightguard"));
    c.args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(p) = path_env {
        c.env("PATH", p);
    }
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} / {}", stdout(o), stderr(o)))
}

#[test]
fn an_openssh_ed25519_key_seals_and_its_pub_line_verifies_and_opens() {
    let f = Fixture::new();
    let key = f.path("id_ed25519");
    ssh_keygen(&key, "ed25519", "");
    let public = f.path("id_ed25519.pub");
    let recipient = f.path("a/recipient.txt");
    let out = f.seal(&["-r", s(&recipient), "--signing-key", s(&key)], "ssh.age");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // The fingerprint the user knows, as ssh-keygen -l prints it.
    let listed = Command::new("ssh-keygen")
        .args(["-l", "-f"])
        .arg(&public)
        .output()
        .unwrap();
    let listed = stdout(&listed);
    let fingerprint = listed.split_whitespace().nth(1).unwrap().to_owned();
    assert!(fingerprint.starts_with("SHA256:"), "{listed}");

    let env = f.path("ssh.age");
    let out = weightguard(&["verify", s(&env), "--signer", s(&public)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "{fingerprint} (ssh-ed25519) (the expected signer)"
        )),
        "{text}"
    );
    let out = weightguard(&["verify", s(&env), "--json"]);
    let v = json(&out);
    assert_eq!(v["sealer_fingerprint"], fingerprint.as_str());
    assert!(
        v["sealer"]
            .as_str()
            .unwrap()
            .starts_with("ssh-ed25519 AAAA")
    );

    // The .pub line itself (with its comment) works as --signer too.
    let line = std::fs::read_to_string(&public).unwrap();
    let out = f.open(
        "ssh.age",
        &[
            "-i",
            s(&f.path("a/identity.txt")),
            "--signer",
            line.trim(),
            "--json",
        ],
        "opened",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = json(&out);
    assert_eq!(
        r["sealer"],
        format!("{fingerprint} (ssh-ed25519) sealer@lab").as_str()
    );
    assert!(f.path("opened/config.json").exists());
}

#[test]
fn encrypted_rsa_and_ecdsa_ssh_keys_are_refused_by_name() {
    let f = Fixture::new();
    let recipient = f.path("a/recipient.txt");
    let encrypted = f.path("encrypted");
    ssh_keygen(&encrypted, "ed25519", "a passphrase");
    let out = f.seal(
        &["-r", s(&recipient), "--signing-key", s(&encrypted)],
        "x.age",
    );
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(e.contains(s(&encrypted)), "the file is named: {e}");
    assert!(e.contains("an encrypted OpenSSH private key"), "{e}");
    assert!(!f.path("x.age").exists());

    for (kind, named) in [("rsa", "RSA key (ssh-rsa)"), ("ecdsa", "ECDSA key")] {
        let key = f.path(kind);
        ssh_keygen(&key, kind, "");
        let out = f.seal(&["-r", s(&recipient), "--signing-key", s(&key)], "x.age");
        assert_eq!(out.status.code(), Some(1), "{kind}");
        let e = stderr(&out);
        assert!(e.contains(s(&key)) && e.contains(named), "{e}");
        assert!(e.contains("only Ed25519"), "{e}");
        // Its public key as --signer: refused the same way.
        let out = weightguard(&[
            "verify",
            s(&f.path("x.age")),
            "--signer",
            s(&f.path(&format!("{kind}.pub"))),
        ]);
        assert_eq!(out.status.code(), Some(1), "{kind}");
        assert!(stderr(&out).contains(named), "{}", stderr(&out));
    }
    assert!(!f.path("x.age").exists());
}

#[test]
fn several_signers_are_a_trusted_set_and_a_wrong_one_is_refused() {
    let f = Fixture::new();
    let new = f.path("new_ed25519");
    ssh_keygen(&new, "ed25519", "");
    let out = f.seal(
        &[
            "-r",
            s(&f.path("a/recipient.txt")),
            "--signing-key",
            s(&new),
        ],
        "rotated.age",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let env = f.path("rotated.age");
    let old = f.path("a/signing.pub");
    let new_pub = f.path("new_ed25519.pub");

    // Rotation: the old key and the new one are both trusted; the report says which sealed it.
    let out = weightguard(&[
        "verify",
        s(&env),
        "--signer",
        s(&old),
        "--signer",
        s(&new_pub),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["signer_trusted"], true);
    assert_eq!(v["trusted_signer"], s(&new_pub));
    let out = weightguard(&[
        "verify",
        s(&env),
        "--signer",
        s(&old),
        "--signer",
        s(&new_pub),
    ]);
    assert!(
        stdout(&out).contains(&format!("(a trusted signer: --signer {})", s(&new_pub))),
        "{}",
        stdout(&out)
    );
    let identity = f.path("a/identity.txt");
    let out = f.open(
        "rotated.age",
        &[
            "-i",
            s(&identity),
            "--signer",
            s(&old),
            "--signer",
            s(&new_pub),
        ],
        "opened",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("(trusted: --signer"),
        "{}",
        stdout(&out)
    );

    // Neither of two other signers sealed it: refused, each named, nothing written.
    let other = f.path("b/signing.pub");
    let out = f.open(
        "rotated.age",
        &[
            "-i",
            s(&identity),
            "--signer",
            s(&old),
            "--signer",
            s(&other),
        ],
        "refused",
    );
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(e.contains("not by any of the 2 trusted signers"), "{e}");
    assert!(
        e.contains("(ssh-ed25519)"),
        "the sealer shown by fingerprint: {e}"
    );
    assert!(!f.path("refused").exists());
    let out = weightguard(&["verify", s(&env), "--signer", s(&old)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not by the expected signer"),
        "{}",
        stderr(&out)
    );
    // A private key where the public one belongs: said so.
    let out = weightguard(&["verify", s(&env), "--signer", s(&new)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("a private key; --signer takes the public key"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn identities_are_repeatable_recipients_files_are_read_and_stdin_is_named_once() {
    let f = Fixture::new();
    // A recipients file as age reads one: comments, blank lines, one recipient a line.
    let recipients = f.path("recipients.txt");
    let a = std::fs::read_to_string(f.path("a/recipient.txt")).unwrap();
    std::fs::write(&recipients, format!("# the lab\n\n{}\n", a.trim())).unwrap();
    let signing = f.path("a/signing.key");
    let out = f.seal(
        &["-R", s(&recipients), "--signing-key", s(&signing)],
        "r.age",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let signer = f.path("a/signing.pub");
    let (ida, idb) = (f.path("a/identity.txt"), f.path("b/identity.txt"));

    // Every identity is tried: the wrong one first does not matter.
    let out = f.open(
        "r.age",
        &["-i", s(&idb), "-i", s(&ida), "--signer", s(&signer)],
        "both",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The wrong identity alone: refused.
    let out = f.open("r.age", &["-i", s(&idb), "--signer", s(&signer)], "wrong");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("wrong identity"), "{}", stderr(&out));
    assert!(!f.path("wrong").exists());

    // `-i -`: the identity from standard input.
    let env = f.path("r.age");
    let o = f.path("stdin");
    let args = [
        "open",
        s(&env),
        "-i",
        "-",
        "--signer",
        s(&signer),
        "--site-country",
        "DE",
        "-o",
        s(&o),
    ];
    let out = weightguard_stdin(&args, &std::fs::read(&ida).unwrap(), None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Standard input named twice: a refusal before anything is read.
    let o2 = f.path("twice");
    let args = [
        "open",
        s(&env),
        "-i",
        "-",
        "--signer",
        "-",
        "--site-country",
        "DE",
        "-o",
        s(&o2),
    ];
    let out = weightguard_stdin(&args, b"", None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("read only once"), "{}", stderr(&out));

    // `-R -` and a recipients file with a line that is no recipient: refused with its number.
    let out = weightguard_stdin(
        &[
            "seal",
            s(&f.path("model")),
            "--destination",
            "DE",
            "-R",
            "-",
            "--signing-key",
            s(&signing),
            "-o",
            s(&f.path("bad.age")),
        ],
        format!("{}\n# ok\nnot-a-recipient\n", a.trim()).as_bytes(),
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("(standard input):3: not an age1…"),
        "{}",
        stderr(&out)
    );
    assert!(!f.path("bad.age").exists());
}

/// The plugin binary scripts/test-deps installs (crates.io `age-plugin-simplepq`, pure software).
fn plugin_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/age-plugins/bin");
    assert!(
        dir.join("age-plugin-simplepq").exists(),
        "{}: missing; run scripts/test-deps (it installs age-plugin-simplepq)",
        dir.display()
    );
    dir
}

fn path_with(dir: &Path) -> String {
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn an_age_plugin_seals_and_opens_and_the_age_cli_agrees_both_ways() {
    let f = Fixture::new();
    let path = path_with(&plugin_dir());
    let id = f.path("plugin.key");
    let out = Command::new("age-plugin-simplepq")
        .env("PATH", &path)
        .arg("-o")
        .arg(&id)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = Command::new("age-plugin-simplepq")
        .env("PATH", &path)
        .args(["-y", "-o"])
        .arg(f.path("plugin.pub"))
        .arg(&id)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let recipient = std::fs::read_to_string(f.path("plugin.pub")).unwrap();
    let recipient = recipient.trim();
    assert!(recipient.starts_with("age1simplepq1"), "{recipient}");

    let run = |args: &[&str]| weightguard_stdin(args, b"", Some(&path));
    let model = f.path("model");
    let env = f.path("plugin.age");
    let signing = f.path("a/signing.key");
    let signer = f.path("a/signing.pub");
    // Sealed to the plugin's recipient (and, through a recipients file, the same one again).
    let out = run(&[
        "seal",
        s(&model),
        "--destination",
        "DE",
        "-r",
        recipient,
        "--signing-key",
        s(&signing),
        "-o",
        s(&env),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(&[
        "open",
        s(&env),
        "-i",
        s(&id),
        "--signer",
        s(&signer),
        "--site-country",
        "DE",
        "-o",
        s(&f.path("opened")),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(f.path("opened/config.json")).unwrap(),
        std::fs::read(model.join("config.json")).unwrap()
    );

    // The plugin recipient in a recipients file beside an X25519 one; an identity file holding
    // an X25519 identity and the plugin's: each opens it.
    let a = std::fs::read_to_string(f.path("a/recipient.txt")).unwrap();
    std::fs::write(
        f.path("both.txt"),
        format!("# plugin and X25519\n{recipient}\n{}\n", a.trim()),
    )
    .unwrap();
    let both = f.path("both.age");
    let out = run(&[
        "seal",
        s(&model),
        "--destination",
        "DE",
        "-R",
        s(&f.path("both.txt")),
        "--signing-key",
        s(&signing),
        "-o",
        s(&both),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["claims"]["recipients"], 2);
    let mixed = f.path("mixed.txt");
    let b = std::fs::read_to_string(f.path("b/identity.txt")).unwrap();
    std::fs::write(
        &mixed,
        format!("{b}{}", std::fs::read_to_string(&id).unwrap()),
    )
    .unwrap();
    for (identity, out_dir) in [
        (&mixed, "via-plugin"),
        (&f.path("a/identity.txt"), "via-x25519"),
    ] {
        let out = run(&[
            "open",
            s(&both),
            "-i",
            s(identity),
            "--signer",
            s(&signer),
            "--site-country",
            "DE",
            "-o",
            s(&f.path(out_dir)),
        ]);
        assert_eq!(out.status.code(), Some(0), "{out_dir}: {}", stderr(&out));
    }

    // The age CLI opens our envelope with the plugin identity (to the tar of the files).
    let out = Command::new("age")
        .env("PATH", &path)
        .args(["-d", "-i"])
        .arg(&id)
        .arg(&env)
        .output()
        .unwrap();
    assert!(out.status.success(), "age -d: {}", stderr(&out));
    assert!(
        out.stdout.windows(11).any(|w| w == b"config.json"),
        "the plaintext is the tar of the model"
    );

    // And the age CLI seals to the plugin recipient (in a recipients file) what we open.
    std::fs::write(f.path("recipients.txt"), format!("{recipient}\n")).unwrap();
    let plain = f.path("note.age");
    let out = Command::new("age")
        .env("PATH", &path)
        .arg("-R")
        .arg(f.path("recipients.txt"))
        .arg("-o")
        .arg(&plain)
        .arg(model.join("config.json"))
        .output()
        .unwrap();
    assert!(out.status.success(), "age -R: {}", stderr(&out));
    let out = run(&[
        "open",
        s(&plain),
        "--allow-plain-age",
        "-i",
        s(&id),
        "--site-country",
        "DE",
        "-o",
        s(&f.path("note.json")),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(f.path("note.json")).unwrap(),
        std::fs::read(model.join("config.json")).unwrap()
    );

    // Without the plugin on PATH: the binary and PATH are named, nothing is written.
    let bare = "/usr/bin:/bin";
    let out = weightguard_stdin(
        &[
            "seal",
            s(&model),
            "--destination",
            "DE",
            "-r",
            recipient,
            "--signing-key",
            s(&signing),
            "-o",
            s(&f.path("none.age")),
        ],
        b"",
        Some(bare),
    );
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(
        e.contains("`age-plugin-simplepq`") && e.contains(bare),
        "{e}"
    );
    assert!(!f.path("none.age").exists());
    let out = weightguard_stdin(
        &[
            "open",
            s(&env),
            "-i",
            s(&id),
            "--signer",
            s(&signer),
            "--site-country",
            "DE",
            "-o",
            s(&f.path("none")),
        ],
        b"",
        Some(bare),
    );
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(
        e.contains("`age-plugin-simplepq`") && e.contains(s(&id)),
        "{e}"
    );
    assert!(!f.path("none").exists());
    // A plugin binary that fails (a broken install, a token pulled out): the identity's failure,
    // said as such, not a malformed header; nothing is written.
    let broken = f.path("broken-bin");
    std::fs::create_dir_all(&broken).unwrap();
    let script = broken.join("age-plugin-simplepq");
    std::fs::write(
        &script,
        "#!/bin/sh\necho 'the token was removed' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = weightguard_stdin(
        &[
            "open",
            s(&env),
            "-i",
            s(&id),
            "--signer",
            s(&signer),
            "--site-country",
            "DE",
            "-o",
            s(&f.path("none")),
        ],
        b"",
        Some(&format!("{}:{bare}", broken.display())),
    );
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(
        e.contains("unwrapping the file key with an identity") && !e.contains("age v1 header"),
        "{e}"
    );
    assert!(!f.path("none").exists());
}
