//! The envelope commands end to end: keygen, seal (after the gate), verify, open.

mod common;
use common::*;
use std::path::Path;
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

fn setup() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    write_model(
        &ModelSpec::tiny_llama(),
        &model,
        WriteOptions {
            fill: DataFill::Pattern(5),
            max_shard_bytes: Some(8 << 20),
        },
    )
    .unwrap();
    std::fs::write(model.join("training-record.toml"), RECORD).unwrap();
    let keys = dir.path().join("keys");
    let out = weightguard(&["keygen", "--out", keys.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    (dir, keys.to_str().unwrap().to_owned())
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn keygen_seal_verify_open() {
    let (dir, keys) = setup();
    let d = dir.path();
    let model = d.join("model");
    let env = d.join("model.age");
    let k = |f: &str| format!("{keys}/{f}");
    // secrets are private
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["identity.txt", "signing.key"] {
            let mode = std::fs::metadata(k(f)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
        let again = weightguard(&["keygen", "--out", &keys]);
        assert_eq!(again.status.code(), Some(1), "keys are never overwritten");
    }

    // controlled weights to a denied destination: refused, nothing written
    let out = weightguard(&[
        "seal",
        s(&model),
        "-r",
        &k("recipient.txt"),
        "--destination",
        "CN",
        "--signing-key",
        &k("signing.key"),
        "-o",
        s(&d.join("cn.age")),
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("not sealed: the gate says denied for CN"));
    assert!(!d.join("cn.age").exists());

    // to Germany under licence exception AIA
    let out = weightguard(&[
        "seal",
        s(&model),
        "-r",
        &k("recipient.txt"),
        "--destination",
        "DE",
        "--site",
        "fra-1",
        "--signing-key",
        &k("signing.key"),
        "-o",
        s(&env),
        "--expires",
        "2099-12-31",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["claims"]["authorization"], "AIA");
    assert_eq!(r["claims"]["classification"], "controlled");

    // an envelope is never overwritten unless asked
    let out = weightguard(&[
        "seal",
        s(&model),
        "-r",
        &k("recipient.txt"),
        "--destination",
        "DE",
        "--signing-key",
        &k("signing.key"),
        "-o",
        s(&env),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already exists"));

    // verify without any key
    let out = weightguard(&["verify", s(&env), "--signer", &k("signing.pub"), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["claims"]["destination"], "DE");
    assert_eq!(v["claims"]["site"], "fra-1");
    assert_eq!(v["recipients"], 1);

    let (identity, signer) = (k("identity.txt"), k("signing.pub"));
    let open = |country: &str, out_dir: &str, extra: &[&str]| {
        let mut a = vec![
            "open",
            s(&env),
            "-i",
            &identity,
            "--signer",
            &signer,
            "--site-country",
            country,
            "--site",
            "fra-1",
            "-o",
            out_dir,
        ];
        a.extend_from_slice(extra);
        let owned: Vec<String> = a.iter().map(|x| x.to_string()).collect();
        let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
        weightguard(&refs)
    };
    let target = d.join("opened");
    // the wrong country, then a policy that no longer allows the destination
    let out = open("FR", s(&target), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("sealed for destination DE"));
    let acme = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/examples/acme-internal.toml");
    let out = open("DE", s(&target), &["--policy", s(&acme)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no longer allows"),
        "{}",
        stderr(&out)
    );
    let out = open("DE", s(&target), &["--as-of", "2100-01-01"]);
    assert!(
        stderr(&out).contains("expired on 2099-12-31"),
        "{}",
        stderr(&out)
    );
    assert!(!target.exists());

    // at the destination
    let out = open("DE", s(&target), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for f in std::fs::read_dir(&model).unwrap() {
        let f = f.unwrap();
        assert_eq!(
            std::fs::read(f.path()).unwrap(),
            std::fs::read(target.join(f.file_name())).unwrap()
        );
    }
    // a second open into the same directory is refused
    let out = open("DE", s(&target), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already exists"));
}

#[test]
fn audit_flags_envelopes_from_untrusted_sealers() {
    let (dir, keys) = setup();
    let d = dir.path();
    let store = d.join("store");
    std::fs::create_dir(&store).unwrap();
    let k = |f: &str| format!("{keys}/{f}");
    let out = weightguard(&[
        "seal",
        s(&d.join("model")),
        "-r",
        &k("recipient.txt"),
        "--destination",
        "DE",
        "--signing-key",
        &k("signing.key"),
        "-o",
        s(&store.join("m.age")),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let other = d.join("other-keys");
    assert_eq!(
        weightguard(&["keygen", "--out", s(&other)]).status.code(),
        Some(0)
    );
    let audit = |signer: &str| {
        let out = weightguard(&[
            "audit",
            s(&store),
            "--format",
            "jsonl",
            "--store-country",
            "DE",
            "--fail-on",
            "none",
            "--signer",
            signer,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out)
    };
    assert!(!audit(&k("signing.pub")).contains("envelope-unverified"));
    let flagged = audit(s(&other.join("signing.pub")));
    assert!(flagged.contains("envelope-unverified"), "{flagged}");
    assert!(
        flagged.contains("not among the trusted signers"),
        "{flagged}"
    );
}
