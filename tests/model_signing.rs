//! OpenSSF model signing interop against the real `model_signing` package (PyPI, in .venv):
//! bundles it signs (CLI and library, SEC1 and PKCS#8 keys from `openssl`) verify with
//! `weightguard verify-signature`; bundles `weightguard sign` writes verify with its library and
//! CLI; every refusal (wrong key, wrong curve, tampered bundle, changed, extra and missing files)
//! is checked; and `seal --require-signature` carries the bundle to the destination, where it
//! verifies after `open`. Models are real safetensors files written by the Python package.

mod common;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A model directory written by the reference writer: two safetensors shards, their index, a
/// config, a tokenizer, a file in a subdirectory, and `.gitattributes` (left out by both tools).
fn model(dir: &Path) -> PathBuf {
    let m = dir.join("model");
    run_python(
        r#"
import json, os, sys
import numpy as np
from safetensors.numpy import save_file
d = sys.argv[1]
os.makedirs(os.path.join(d, "extra"), exist_ok=True)
rng = np.random.default_rng(7)
save_file({"embed.weight": rng.standard_normal((64, 32)).astype(np.float32)},
          os.path.join(d, "model-00001-of-00002.safetensors"), metadata={"format": "pt"})
save_file({"lm_head.weight": rng.standard_normal((64, 32)).astype(np.float16)},
          os.path.join(d, "model-00002-of-00002.safetensors"), metadata={"format": "pt"})
index = {"metadata": {}, "weight_map": {"embed.weight": "model-00001-of-00002.safetensors",
                                        "lm_head.weight": "model-00002-of-00002.safetensors"}}
json.dump(index, open(os.path.join(d, "model.safetensors.index.json"), "w"))
json.dump({"architectures": ["LlamaForCausalLM"], "hidden_size": 32, "vocab_size": 64},
          open(os.path.join(d, "config.json"), "w"))
open(os.path.join(d, "tokenizer.json"), "w").write('{"version": "1.0"}')
open(os.path.join(d, "extra", "notes.txt"), "w").write("notes\n")
open(os.path.join(d, ".gitattributes"), "w").write("*.safetensors filter=lfs\n")
"#,
        &[&m],
    );
    m
}

/// The files of [`model`], as a signature names them.
const MODEL_FILES: [&str; 6] = [
    "config.json",
    "extra/notes.txt",
    "model-00001-of-00002.safetensors",
    "model-00002-of-00002.safetensors",
    "model.safetensors.index.json",
    "tokenizer.json",
];

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Keys as a publisher makes them with OpenSSL.
struct Keys {
    /// SEC1 (`EC PARAMETERS` + `EC PRIVATE KEY`), as `openssl ecparam -genkey` writes it.
    sec1: PathBuf,
    /// The same key in PKCS#8.
    pkcs8: PathBuf,
    public: PathBuf,
}

fn keys(dir: &Path, name: &str, curve: &str) -> Keys {
    let sec1 = dir.join(format!("{name}.pem"));
    let pkcs8 = dir.join(format!("{name}.p8.pem"));
    let public = dir.join(format!("{name}.pub"));
    openssl(&["ecparam", "-genkey", "-name", curve, "-out", s(&sec1)]);
    openssl(&[
        "pkcs8",
        "-topk8",
        "-nocrypt",
        "-in",
        s(&sec1),
        "-out",
        s(&pkcs8),
    ]);
    openssl(&["ec", "-in", s(&sec1), "-pubout", "-out", s(&public)]);
    Keys {
        sec1,
        pkcs8,
        public,
    }
}

/// The `model_signing` CLI installed beside the test Python.
fn model_signing_cli(args: &[&str]) -> Output {
    let cli = python().parent().unwrap().join("model_signing");
    Command::new(cli)
        .args(args)
        .output()
        .expect("model_signing")
}

/// `model_signing`'s library: `verifying.Config().use_elliptic_key_verifier(...).verify(...)`
/// (hashing configuration guessed from the signature); exit status 0 when it verified.
fn library_verifies(model: &Path, bundle: &Path, public: &Path) -> Result<(), String> {
    let out = Command::new(python())
        .arg("-c")
        .arg(
            r#"
import sys, model_signing
model_signing.verifying.Config().use_elliptic_key_verifier(public_key=sys.argv[3]).verify(sys.argv[1], sys.argv[2])
"#,
        )
        .args([model, bundle, public])
        .output()
        .expect("python");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// `model_signing`'s library signs `model` with `key` into `bundle`, hashing with `algorithm`.
fn library_signs(model: &Path, key: &Path, bundle: &Path, algorithm: &str) {
    run_python(
        r#"
import sys, model_signing
hashing = model_signing.hashing.Config().use_file_serialization(hashing_algorithm=sys.argv[4])
model_signing.signing.Config().use_elliptic_key_signer(private_key=sys.argv[2]).set_hashing_config(hashing).sign(sys.argv[1], sys.argv[3])
"#,
        &[model, key, bundle, Path::new(algorithm)],
    );
}

fn verify_signature(model: &Path, bundle: &Path, public: &Path) -> Output {
    weightguard(&[
        "verify-signature",
        s(model),
        "--bundle",
        s(bundle),
        "--public-key",
        s(public),
    ])
}

fn assert_verified(out: &Output, files: usize) {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    let text = stdout(out);
    assert!(text.contains("signature verified"), "{text}");
    assert!(text.contains(&format!("{files} files")), "{text}");
}

/// The statement inside a bundle.
fn statement(bundle: &Path) -> serde_json::Value {
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(bundle).unwrap()).unwrap();
    let payload = STANDARD
        .decode(b["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

#[test]
fn bundles_signed_by_model_signing_verify() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let k = keys(dir.path(), "ec", "prime256v1");

    // Its CLI, a SEC1 key, the bundle inside the model (model_signing's habit: model.sig).
    let bundle = m.join("model.sig");
    let out = model_signing_cli(&[
        "sign",
        "key",
        s(&m),
        "--private_key",
        s(&k.sec1),
        "--signature",
        s(&bundle),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = verify_signature(&m, &bundle, &k.public);
    assert_verified(&out, MODEL_FILES.len());
    assert!(stdout(&out).contains("model.sig (the signature itself)"));

    // Its library, a PKCS#8 key, the bundle beside the model; SHA-256 and BLAKE3.
    for algorithm in ["sha256", "blake3"] {
        let bundle = dir.path().join(format!("lib-{algorithm}.sig"));
        library_signs(&m, &k.pkcs8, &bundle, algorithm);
        assert_eq!(
            statement(&bundle)["predicate"]["serialization"]["hash_type"],
            algorithm
        );
        let out = verify_signature(&m, &bundle, &k.public);
        // model.sig from the CLI run is a file of the model now, signed like the others.
        assert_verified(&out, MODEL_FILES.len() + 1);
        assert!(stdout(&out).contains(algorithm));
    }
}

#[test]
fn bundles_signed_by_weightguard_verify_with_model_signing() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let k = keys(dir.path(), "ec", "prime256v1");
    std::fs::write(
        m.join("README.md"),
        "# a model card left out with --exclude\n",
    )
    .unwrap();

    // SEC1 key, default digest (SHA-256), the bundle inside the model, README.md excluded.
    let bundle = m.join("model.sig");
    let out = weightguard(&[
        "sign",
        s(&m),
        "--key",
        s(&k.sec1),
        "-o",
        s(&bundle),
        "--exclude",
        "README.md",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("signed"));
    let st = statement(&bundle);
    assert_eq!(st["predicateType"], "https://model_signing/signature/v1.0");
    let names: Vec<&str> = st["predicate"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, MODEL_FILES);
    // What weightguard left out is recorded as model_signing records it, so it leaves it out.
    let ignored = st["predicate"]["serialization"]["ignore_paths"]
        .as_array()
        .unwrap()
        .clone();
    for p in [".gitattributes", ".git", "README.md", "model.sig"] {
        assert!(ignored.iter().any(|i| i == p), "{p} in {ignored:?}");
    }
    let out = model_signing_cli(&[
        "verify",
        "key",
        s(&m),
        "--public_key",
        s(&k.public),
        "--signature",
        s(&bundle),
    ]);
    assert!(
        out.status.success(),
        "model_signing verify key: {}{}",
        stdout(&out),
        stderr(&out)
    );
    library_verifies(&m, &bundle, &k.public).unwrap();
    assert_verified(&verify_signature(&m, &bundle, &k.public), MODEL_FILES.len());

    // Never overwritten without --force.
    let again = weightguard(&["sign", s(&m), "--key", s(&k.sec1), "-o", s(&bundle)]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("exists"), "{}", stderr(&again));
    let forced = weightguard(&[
        "sign",
        s(&m),
        "--key",
        s(&k.sec1),
        "-o",
        s(&bundle),
        "--force",
    ]);
    assert_eq!(forced.status.code(), Some(0), "{}", stderr(&forced));
    // README.md is a file of the model now and signed; the old bundle is not (it is the output).
    let names = statement(&bundle)["predicate"]["resources"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(names, MODEL_FILES.len() + 1);

    // PKCS#8 key, BLAKE3: model_signing's library verifies it; its CLI hashes with SHA-256
    // whatever the signature says, so it refuses (why SHA-256 is the default).
    let b3 = dir.path().join("model.b3.sig");
    let out = weightguard(&[
        "sign",
        s(&m),
        "--key",
        s(&k.pkcs8),
        "-o",
        s(&b3),
        "--digest",
        "blake3",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    library_verifies(&m, &b3, &k.public).unwrap();
    let cli = model_signing_cli(&[
        "verify",
        "key",
        s(&m),
        "--public_key",
        s(&k.public),
        "--signature",
        s(&b3),
    ]);
    assert!(!cli.status.success());
    // The BLAKE3 digests are the ones `hash --b3sum` prints.
    let hashed = stdout(&weightguard(&["hash", "--b3sum", s(&m)]));
    let st = statement(&b3);
    for r in st["predicate"]["resources"].as_array().unwrap() {
        let line = format!(
            "{}  {}",
            r["digest"].as_str().unwrap(),
            m.join(r["name"].as_str().unwrap()).display()
        );
        assert!(
            hashed.lines().any(|l| l == line),
            "{line} not in hash --b3sum output:\n{hashed}"
        );
    }
}

#[test]
fn refusals() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let k = keys(dir.path(), "ec", "prime256v1");
    let other = keys(dir.path(), "other", "prime256v1");
    let p384 = keys(dir.path(), "p384", "secp384r1");
    let bundle = dir.path().join("model.sig");
    let out = model_signing_cli(&[
        "sign",
        "key",
        s(&m),
        "--private_key",
        s(&k.sec1),
        "--signature",
        s(&bundle),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let refused = |bundle: &Path, public: &Path, want: &str| {
        let out = verify_signature(&m, bundle, public);
        assert_eq!(out.status.code(), Some(1), "{want}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(err.contains(want), "expected `{want}` in: {err}");
        assert!(!stdout(&out).contains("signature verified"));
    };

    // Another P-256 key: its hint is not the bundle's.
    refused(&bundle, &other.public, "signed by another key");
    // A P-384 key: named as such, for verifying and for signing.
    refused(&bundle, &p384.public, "P-384");
    let out = weightguard(&[
        "sign",
        s(&m),
        "--key",
        s(&p384.sec1),
        "-o",
        s(&dir.path().join("p384.sig")),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("P-384"), "{}", stderr(&out));
    assert!(!dir.path().join("p384.sig").exists());
    // A private key where the public key belongs, and the reverse.
    refused(&bundle, &k.sec1, "private key");
    let out = weightguard(&["sign", s(&m), "--key", s(&k.public), "-o", "x.sig"]);
    assert!(stderr(&out).contains("public key"), "{}", stderr(&out));

    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    let tampered = |name: &str, edit: &dyn Fn(&mut serde_json::Value)| {
        let mut b = original.clone();
        edit(&mut b);
        let path = dir.path().join(name);
        std::fs::write(&path, serde_json::to_vec(&b).unwrap()).unwrap();
        path
    };
    // A statement changed (a file's digest swapped for another's), the signature kept.
    let st = statement(&bundle);
    let resources = st["predicate"]["resources"].as_array().unwrap();
    let (d0, d1) = (
        resources[0]["digest"].as_str().unwrap().to_owned(),
        resources[1]["digest"].as_str().unwrap().to_owned(),
    );
    let text = serde_json::to_string(&st).unwrap().replace(&d0, &d1);
    let payload = tampered("payload.sig", &|b| {
        b["dsseEnvelope"]["payload"] = STANDARD.encode(&text).into();
    });
    refused(&payload, &k.public, "does not verify");
    // The signature altered.
    let sig = tampered("sig.sig", &|b| {
        let mut raw = STANDARD
            .decode(b["dsseEnvelope"]["signatures"][0]["sig"].as_str().unwrap())
            .unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        b["dsseEnvelope"]["signatures"][0]["sig"] = STANDARD.encode(raw).into();
    });
    refused(&sig, &k.public, "does not verify");
    // The payload type altered (PAE binds it).
    let ptype = tampered("ptype.sig", &|b| {
        b["dsseEnvelope"]["payloadType"] = "application/json".into();
    });
    refused(&ptype, &k.public, "payload type");
    // The hint removed and the signature from another key: still refused.
    let resigned = dir.path().join("other.sig");
    let out = model_signing_cli(&[
        "sign",
        "key",
        s(&m),
        "--private_key",
        s(&other.sec1),
        "--signature",
        s(&resigned),
    ]);
    assert!(out.status.success());
    let mut b: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&resigned).unwrap()).unwrap();
    b["verificationMaterial"]["publicKey"]
        .as_object_mut()
        .unwrap()
        .remove("hint");
    std::fs::write(&resigned, serde_json::to_vec(&b).unwrap()).unwrap();
    refused(&resigned, &k.public, "does not verify");
    // Not a bundle at all; a duplicate key; a certificate bundle.
    let junk = dir.path().join("junk.sig");
    std::fs::write(&junk, b"\x00\x01 not json").unwrap();
    refused(&junk, &k.public, "not a JSON bundle");
    let dup = dir.path().join("dup.sig");
    let text = String::from_utf8(std::fs::read(&bundle).unwrap()).unwrap();
    std::fs::write(
        &dup,
        text.replacen('{', "{\"mediaType\":\"x\",", 1).as_bytes(),
    )
    .unwrap();
    refused(&dup, &k.public, "duplicate key");
    let cert = tampered("cert.sig", &|b| {
        b["verificationMaterial"]["certificate"] = serde_json::json!({"rawBytes": "AAAA"});
    });
    refused(&cert, &k.public, "certificate");

    // The model changed: a file altered, a file added, a file removed; each named.
    assert_verified(&verify_signature(&m, &bundle, &k.public), MODEL_FILES.len());
    std::fs::write(m.join("tokenizer.json"), r#"{"version": "1.1"}"#).unwrap();
    std::fs::write(m.join("extra").join("added.bin"), b"new").unwrap();
    std::fs::remove_file(m.join("config.json")).unwrap();
    let out = verify_signature(&m, &bundle, &k.public);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    for line in [
        "changed       tokenizer.json",
        "extra         extra/added.bin",
        "missing       config.json",
    ] {
        assert!(text.contains(line), "`{line}` in:\n{text}");
    }
    assert!(
        stderr(&out).contains("1 changed, 1 missing, 1 extra"),
        "{}",
        stderr(&out)
    );
    // model_signing agrees.
    let out = model_signing_cli(&[
        "verify",
        "key",
        s(&m),
        "--public_key",
        s(&k.public),
        "--signature",
        s(&bundle),
    ]);
    assert!(!out.status.success());
}

const RECORD: &str = r#"
[model]
name = "acme-frontier"
published = false

[[stage]]
name = "pre-training"
kind = "pretraining"
operations = 2e26
"#;

#[test]
fn seal_requires_the_publishers_signature_and_carries_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = model(d);
    let k = keys(d, "ec", "prime256v1");
    let wg_keys = d.join("keys");
    let out = weightguard(&["keygen", "--out", s(&wg_keys)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let bundle = m.join("model.sig");
    let out = model_signing_cli(&[
        "sign",
        "key",
        s(&m),
        "--private_key",
        s(&k.sec1),
        "--signature",
        s(&bundle),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The training record the gate needs, added after the publisher signed.
    std::fs::write(m.join("training-record.toml"), RECORD).unwrap();
    let recipient = wg_keys.join("recipient.txt");
    let signing_key = wg_keys.join("signing.key");
    let seal = |env: &Path, bundle: &Path, extra: &[&str]| {
        let mut args = vec![
            "seal",
            s(&m),
            "-r",
            s(&recipient),
            "--destination",
            "DE",
            "--signing-key",
            s(&signing_key),
            "-o",
            s(env),
            "--require-signature",
            s(bundle),
            "--public-key",
            s(&k.public),
        ];
        args.extend_from_slice(extra);
        weightguard(&args)
    };

    // The training record was added after signing: it would be sealed unsigned, so the seal is
    // refused, with nothing written.
    let env = d.join("model.age");
    let out = seal(&env, &bundle, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("not sealed"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("training-record.toml"),
        "{}",
        stderr(&out)
    );
    assert!(!env.exists());

    // Signed again with the record: sealed, the bundle inside.
    let out = model_signing_cli(&[
        "sign",
        "key",
        s(&m),
        "--private_key",
        s(&k.sec1),
        "--signature",
        s(&bundle),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = seal(&env, &bundle, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("publisher signature model.sig verified"),
        "{}",
        stderr(&out)
    );

    // At the destination: open, then the publisher's signature over the opened files, with
    // weightguard and with model_signing.
    let opened = d.join("opened");
    let out = weightguard(&[
        "open",
        s(&env),
        "-i",
        s(&wg_keys.join("identity.txt")),
        "--signer",
        s(&wg_keys.join("signing.pub")),
        "--site-country",
        "DE",
        "-o",
        s(&opened),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_verified(
        &verify_signature(&opened, &opened.join("model.sig"), &k.public),
        MODEL_FILES.len() + 1,
    );
    let out = model_signing_cli(&[
        "verify",
        "key",
        s(&opened),
        "--public_key",
        s(&k.public),
        "--signature",
        s(&opened.join("model.sig")),
    ]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));

    // A changed file: refused before anything is written.
    let env2 = d.join("changed.age");
    std::fs::write(m.join("extra").join("notes.txt"), "altered\n").unwrap();
    let out = seal(&env2, &bundle, &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("changed       extra/notes.txt"), "{err}");
    assert!(err.contains("not sealed"), "{err}");
    assert!(!env2.exists());
    std::fs::write(m.join("extra").join("notes.txt"), "notes\n").unwrap();
    // A signed file left out with --exclude: missing at the destination, so refused.
    let out = seal(&env2, &bundle, &["--exclude", "tokenizer.json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("missing       tokenizer.json"),
        "{}",
        stderr(&out)
    );
    assert!(!env2.exists());
    // A bundle outside the model would not travel: refused.
    let outside = d.join("outside.sig");
    std::fs::copy(&bundle, &outside).unwrap();
    let out = seal(&env2, &outside, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("would not travel in the envelope"),
        "{}",
        stderr(&out)
    );
    assert!(!env2.exists());
    // Another publisher's key: refused.
    let other = keys(d, "other", "prime256v1");
    let out = weightguard(&[
        "seal",
        s(&m),
        "-r",
        s(&wg_keys.join("recipient.txt")),
        "--destination",
        "DE",
        "--signing-key",
        s(&wg_keys.join("signing.key")),
        "-o",
        s(&env2),
        "--require-signature",
        s(&bundle),
        "--public-key",
        s(&other.public),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("signed by another key"),
        "{}",
        stderr(&out)
    );
    assert!(!env2.exists());
}

/// The seed bundle of the `model_signature` fuzz target verifies under the fuzzing key, so that
/// mutations of it start from a bundle that gets past every check.
#[test]
fn the_fuzz_seed_bundle_verifies() {
    use weightguard::signing::{Bundle, PublicKey, Statement};
    let seed = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/model_signature/bundle"),
    )
    .unwrap();
    let bundle = Bundle::parse(&seed[1..]).unwrap();
    let key = PublicKey::from_pem(weightguard::fuzz_api::FUZZ_EC_PUBLIC).unwrap();
    let statement = Statement::parse(bundle.verify(&key).unwrap()).unwrap();
    assert!(!statement.resources.is_empty());
}

/// Each cap on a model signature's inputs, refused before the input is read.
#[test]
fn caps_on_bundles_and_keys() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let k = keys(dir.path(), "ec", "prime256v1");
    // A sparse bundle one byte over 64 MiB.
    let big = dir.path().join("big.sig");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(64 * 1024 * 1024 + 1)
        .unwrap();
    let out = verify_signature(&m, &big, &k.public);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("a bundle of 67108865 bytes (at most 67108864 are read)"),
        "{}",
        stderr(&out)
    );
    // Key files over 64 KiB, public and private.
    let big_key = dir.path().join("big.pem");
    let mut text = std::fs::read_to_string(&k.public).unwrap();
    text.push_str(&"#".repeat(64 * 1024));
    std::fs::write(&big_key, text).unwrap();
    let out = verify_signature(&m, &m.join("config.json"), &big_key);
    assert!(
        stderr(&out).contains("(at most 65536 are read)"),
        "{}",
        stderr(&out)
    );
    let out = weightguard(&[
        "sign",
        s(&m),
        "--key",
        s(&big_key),
        "-o",
        s(&dir.path().join("x.sig")),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("a key file of"), "{}", stderr(&out));
    // Seventeen signatures.
    let bundle = dir.path().join("model.sig");
    let out = weightguard(&["sign", s(&m), "--key", s(&k.sec1), "-o", s(&bundle)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut b: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    let one = b["dsseEnvelope"]["signatures"][0].clone();
    b["dsseEnvelope"]["signatures"] = serde_json::Value::Array(vec![one; 17]);
    std::fs::write(&bundle, serde_json::to_vec(&b).unwrap()).unwrap();
    let out = verify_signature(&m, &bundle, &k.public);
    assert!(
        stderr(&out).contains("17 signatures (at most 16 are read)"),
        "{}",
        stderr(&out)
    );
}
