//! Envelopes straight into and out of object storage (issue 18), against a real S3 server
//! (SeaweedFS on loopback) and independent tools (boto3, the `age` CLI): seal to a bucket,
//! verify and open from it; the object decrypts with `age` to the same tar; an existing key, a
//! refused seal and a SIGTERM leave no new object and no pending multipart upload; a tampered
//! object is refused; wrong credentials and a plain-HTTP endpoint get clear errors.

mod common;
use common::seaweed::Seaweed;
use common::*;
use std::path::Path;
use std::process::{Command, Output};
use weightguard::fixture::{DataFill, Family, ModelSpec, WriteOptions, write_model};

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

fn run(server: &Seaweed, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weightguard"))
        .args(args)
        .envs(server.env())
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

struct Setup {
    dir: tempfile::TempDir,
    keys: String,
}

impl Setup {
    fn new(spec: &ModelSpec) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("model");
        write_model(
            spec,
            &model,
            WriteOptions {
                fill: DataFill::Pattern(5),
                max_shard_bytes: Some(24 << 20),
            },
        )
        .unwrap();
        std::fs::write(model.join("training-record.toml"), RECORD).unwrap();
        let keys = dir.path().join("keys");
        let out = weightguard(&["keygen", "--out", s(&keys)]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        Setup {
            keys: s(&keys).to_owned(),
            dir,
        }
    }

    fn k(&self, f: &str) -> String {
        format!("{}/{f}", self.keys)
    }

    fn model(&self) -> String {
        s(&self.dir.path().join("model")).to_owned()
    }

    fn seal_args(&self, out: &str) -> Vec<String> {
        [
            "seal",
            &self.model(),
            "-r",
            &self.k("recipient.txt"),
            "--destination",
            "DE",
            "--site",
            "fra-1",
            "--signing-key",
            &self.k("signing.key"),
            "-o",
            out,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn open_args(&self, env: &str, out: &Path) -> Vec<String> {
        [
            "open",
            env,
            "-i",
            &self.k("identity.txt"),
            "--signer",
            &self.k("signing.pub"),
            "--site-country",
            "DE",
            "--site",
            "fra-1",
            "-o",
            s(out),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Every file under `dir`, by relative path, with its bytes.
fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// One server at a time: two starting at once on a small machine may pick the same free ports.
static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn seal_verify_open_through_a_bucket() {
    let _one = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let server = Seaweed::start();
    server.create_bucket("exports");
    let st = Setup::new(&ModelSpec::tiny_llama());
    let d = st.dir.path();

    // Sealed straight into the bucket: a multipart upload of several parts (39 MB, 16 MiB parts).
    let url = "s3://exports/de/tiny.age";
    let mut seal = st.seal_args(url);
    seal.push("--json".into());
    let out = run(&server, &args(&seal));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["output"], url);
    assert_eq!(server.objects("exports"), vec!["de/tiny.age"]);
    assert!(server.pending_uploads("exports").is_empty());

    // The same model sealed locally, for comparison.
    let local = d.join("tiny.age");
    let out = run(&server, &args(&st.seal_args(s(&local))));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // Downloaded with boto3, the object is an age file the age CLI decrypts to the tar of the
    // model, as the local envelope does.
    let fetched = d.join("fetched.age");
    server.download("exports", "de/tiny.age", &fetched);
    assert_eq!(
        std::fs::metadata(&fetched).unwrap().len(),
        r["envelope_bytes"].as_u64().unwrap()
    );
    let untar = |env: &Path, to: &Path| {
        std::fs::create_dir(to).unwrap();
        let sh = format!(
            "age -d -i '{}' '{}' | tar -x -C '{}'",
            st.k("identity.txt"),
            s(env),
            s(to)
        );
        let o = Command::new("sh").arg("-c").arg(sh).output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        tree(to)
    };
    let by_age = untar(&fetched, &d.join("by-age"));
    let mut model = tree(Path::new(&st.model()));
    assert!(by_age.contains_key(".weightguard-manifest.json"));
    for (k, v) in &model {
        assert_eq!(by_age.get(k), Some(v), "{k}");
    }

    // verify from the bucket says what verify of a local file says.
    let vr = |env: &str| {
        let o = run(
            &server,
            &["verify", env, "--signer", &st.k("signing.pub"), "--json"],
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let mut v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["path"] = serde_json::Value::Null;
        v
    };
    let remote_v = vr(url);
    let local_v = vr(s(&fetched));
    assert_eq!(remote_v, local_v);

    // open from the bucket gives the files a local open gives.
    let opened = d.join("opened");
    let out = run(&server, &args(&st.open_args(url, &opened)));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let opened_local = d.join("opened-local");
    let out = run(&server, &args(&st.open_args(s(&local), &opened_local)));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(tree(&opened), tree(&opened_local));
    model.remove("nothing");
    assert_eq!(tree(&opened), model);

    // Refusals before decryption are the local ones, in the same order: the wrong site.
    let mut wrong = st.open_args(url, &d.join("wrong"));
    wrong[7] = "FR".into();
    let out = run(&server, &args(&wrong));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("sealed for destination DE, but this site is in FR"),
        "{}",
        stderr(&out)
    );
    assert!(!d.join("wrong").exists());

    // An existing key is refused, and nothing is left pending.
    let out = run(&server, &args(&st.seal_args(url)));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert!(server.pending_uploads("exports").is_empty());
    // …unless --force.
    let mut force = st.seal_args(url);
    force.push("--force".into());
    let out = run(&server, &args(&force));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // A tampered object: one byte of the payload changed (uploaded with boto3) is refused by
    // open with nothing written; one byte of the claims, by verify.
    let mut bytes = std::fs::read(&fetched).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    let t = d.join("tampered.age");
    std::fs::write(&t, &bytes).unwrap();
    server.upload(&t, "exports", "tampered/payload.age");
    let out = run(
        &server,
        &args(&st.open_args("s3://exports/tampered/payload.age", &d.join("t1"))),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("authentication failed"),
        "{}",
        stderr(&out)
    );
    assert!(!d.join("t1").exists());
    let mut bytes = std::fs::read(&fetched).unwrap();
    let claims = bytes
        .windows(21)
        .position(|w| w == b"-> weightguard-claims")
        .unwrap();
    bytes[claims + 40] ^= 1;
    std::fs::write(&t, &bytes).unwrap();
    server.upload(&t, "exports", "tampered/claims.age");
    let out = run(
        &server,
        &[
            "verify",
            "s3://exports/tampered/claims.age",
            "--signer",
            &st.k("signing.pub"),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));

    // audit of the bucket recognises the envelope written by the multipart writer.
    let out = run(&server, &["audit", "s3://exports/de", "--format", "jsonl"]);
    assert!(
        stdout(&out).contains("tiny.age") && stdout(&out).contains("envelope"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );

    // SIGTERM in the middle of a seal (of a larger model, so that it is still running): exit
    // 143, no object, no pending upload.
    let big = Setup::new(&ModelSpec::with_parameters(Family::Llama, 250_000_000));
    let mut child = Command::new(env!("CARGO_BIN_EXE_weightguard"))
        .args(args(&big.seal_args("s3://exports/de/interrupted.age")))
        .envs(server.env())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while server.pending_uploads("exports").is_empty() {
        assert!(std::time::Instant::now() < deadline, "no upload started");
        assert!(child.try_wait().unwrap().is_none(), "the seal ended first");
    }
    unsafe_kill(child.id(), 15);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("aborted the multipart upload"),
        "{}",
        stderr(&out)
    );
    assert!(server.pending_uploads("exports").is_empty());
    assert!(
        !server
            .objects("exports")
            .contains(&"de/interrupted.age".to_string())
    );

    // Wrong credentials: said, with what to do.
    let out = Command::new(env!("CARGO_BIN_EXE_weightguard"))
        .args(["verify", url])
        .envs(server.env())
        .env("AWS_SECRET_ACCESS_KEY", "wrong")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("access denied") && stderr(&out).contains("check the credentials"),
        "{}",
        stderr(&out)
    );
    // A plain-HTTP endpoint without --allow-http.
    let out = Command::new(env!("CARGO_BIN_EXE_weightguard"))
        .args(["verify", url, "--endpoint-url", &server.endpoint()])
        .envs(server.env())
        .env_remove("AWS_ALLOW_HTTP")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--allow-http"), "{}", stderr(&out));
}

/// Sends `signal` to `pid` with the `kill` command (no unsafe code in the tests).
fn unsafe_kill(pid: u32, signal: i32) {
    let ok = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

/// A seal refused after its upload started (a file changed between the gate and the seal)
/// aborts the upload: no object, no pending upload.
#[test]
fn a_refused_seal_leaves_no_object_and_no_pending_upload() {
    let _one = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let server = Seaweed::start();
    server.create_bucket("refused");
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m");
    std::fs::create_dir(&model).unwrap();
    // Read first, and larger than a part: the upload starts before the refusal.
    std::fs::write(model.join("a.bin"), vec![7u8; 40 << 20]).unwrap();
    std::fs::write(model.join("b.bin"), b"small").unwrap();
    let set = weightguard::artifact_set::collect(&model, &Default::default()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(model.join("b.bin"), b"changed").unwrap();
    for (k, v) in server.env() {
        // SAFETY: this test binary's other test holds LOCK and runs its clients as child
        // processes; nothing else reads the environment meanwhile.
        unsafe { std::env::set_var(k, v) };
    }
    let target = std::sync::Arc::new(
        weightguard::envelope::ObjectTarget::connect(
            "s3://refused/m.age",
            &weightguard::audit::s3::S3Options {
                allow_http: true,
                ..Default::default()
            },
        )
        .unwrap(),
    );
    let keys = tempfile::tempdir().unwrap();
    let out = weightguard(&["keygen", "--out", s(keys.path())]);
    assert_eq!(out.status.code(), Some(0));
    let key = weightguard::envelope::SigningKey::read(&keys.path().join("signing.key")).unwrap();
    let recipients =
        weightguard::envelope::keys::parse_recipients(s(&keys.path().join("recipient.txt")))
            .unwrap();
    let terms = weightguard::envelope::SealTerms {
        destination: "DE".into(),
        site: None,
        holder_hq: Some("DE".into()),
        decision: "allowed".into(),
        authorization: Some("NLR".into()),
        classification: "not_controlled".into(),
        policy: weightguard::envelope::PolicyRef {
            id: "us-ear-4e091".into(),
            version: "test".into(),
            digest: format!("blake3:{}", "00".repeat(32)),
        },
        expires: None,
        sealed_on: "2026-01-02".into(),
        gate: serde_json::json!({"decision": "allowed"}),
    };
    let r = weightguard::envelope::seal_set_to_object(
        &set,
        &target,
        &recipients,
        &key,
        &terms,
        false,
        &|_| {},
    );
    let e = r.expect_err("refused").to_string();
    assert!(e.contains("changed"), "{e}");
    assert!(server.objects("refused").is_empty());
    assert!(server.pending_uploads("refused").is_empty());
}
