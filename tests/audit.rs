//! `weightguard audit`: a store holding safetensors (single and sharded), GGUF and PyTorch
//! models, envelopes and junk, audited from local disk and from a real S3 server (SeaweedFS on
//! loopback, started and stopped by the test), with the same findings; bytes read per artifact
//! are header-sized; sharding, resume, merge and every output format.

mod common;
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use weightguard::envelope::{self, PolicyRef, SealTerms, SigningKey};
use weightguard::fixture::{DataFill, Family, ModelSpec, WriteOptions, write_model};

const TORCH_LIKE: &str = include_str!("common/torch_like.py");

fn model(dir: &Path, spec: &ModelSpec, seed: u64, shard: Option<u64>) {
    write_model(
        spec,
        dir,
        WriteOptions {
            fill: DataFill::Pattern(seed),
            max_shard_bytes: shard,
        },
    )
    .unwrap();
}

fn small() -> ModelSpec {
    ModelSpec::with_parameters(Family::Llama, 1_000_000)
}

fn terms(destination: &str, expires: Option<&str>) -> SealTerms {
    SealTerms {
        destination: destination.into(),
        site: Some("site-1".into()),
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
        sealed_on: "2026-01-02".into(),
        gate: serde_json::json!({"decision": "allowed"}),
    }
}

/// The store every audit test reads. `root` must not exist yet.
fn build_store(root: &Path) {
    // Sharded, declared controlled by its training record.
    let frontier = root.join("models/frontier");
    model(&frontier, &ModelSpec::tiny_deepseek(), 1, Some(3 << 20));
    std::fs::write(
        frontier.join("training-record.toml"),
        "[model]\nname = \"frontier\"\npublished = false\n[[stage]]\nname = \"pre-training\"\nkind = \"pretraining\"\noperations = 2e26\n",
    )
    .unwrap();
    // A git-LFS clone keeps a second copy of every weight under .git/: left out by default (as
    // every command leaves it out), locally and in a bucket, so it is no second artifact.
    let lfs = frontier.join(".git/lfs/objects/ab/cd");
    std::fs::create_dir_all(&lfs).unwrap();
    let shard = std::fs::read_dir(&frontier)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .unwrap();
    std::fs::copy(&shard, lfs.join("abcd0123")).unwrap();
    // Single file, no record: what the weights alone establish.
    model(&root.join("models/small"), &small(), 2, None);
    // Declared well under the threshold: no finding.
    let declared = root.join("models/declared");
    // (Seeds differing only in bit 0 write the same bytes: 8, not 3.)
    model(&declared, &small(), 8, None);
    std::fs::write(
        declared.join("training-record.toml"),
        "[model]\nname = \"declared\"\npublished = false\n[[stage]]\nname = \"pre-training\"\nkind = \"pretraining\"\ntokens = 1e9\n",
    )
    .unwrap();
    // The small model again, re-sharded into another folder: same tensors, other files.
    model(&root.join("copies/renamed"), &small(), 2, Some(1 << 20));
    std::fs::create_dir_all(root.join("gguf")).unwrap();
    run_python(
        "import sys, numpy as np, gguf\n\
         w = gguf.GGUFWriter(sys.argv[1], 'llama')\n\
         w.add_block_count(1)\n\
         w.add_tensor('token_embd.weight', np.arange(64 * 16, dtype=np.float32).reshape(64, 16))\n\
         w.add_tensor('blk.0.attn_q.weight', np.ones((16, 16), dtype=np.float32))\n\
         w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()",
        &[&root.join("gguf/model.gguf")],
    );
    std::fs::create_dir_all(root.join("pytorch")).unwrap();
    run_python(
        &format!("{TORCH_LIKE}\nsave(state_dict(), sys.argv[1])"),
        &[&root.join("pytorch/pytorch_model.bin")],
    );
    // GLOBAL os.system, then calls it: what `torch.load` would run.
    std::fs::write(
        root.join("pytorch/evil.pkl"),
        b"\x80\x02cos\nsystem\nq\x00X\x07\x00\x00\x00echo hiq\x01\x85q\x02Rq\x03.",
    )
    .unwrap();
    // Envelopes.
    let sealed = root.join("sealed");
    std::fs::create_dir_all(&sealed).unwrap();
    let src = tempfile::tempdir().unwrap();
    model(src.path(), &small(), 9, None);
    let (_identity, recipient) = envelope::keys::generate_identity();
    let recipients = envelope::keys::parse_recipients(&recipient).unwrap();
    let key = SigningKey::generate().unwrap();
    for (name, t) in [
        ("for-de.age", terms("DE", Some("2020-01-01"))),
        ("for-us.age", terms("US", None)),
    ] {
        envelope::seal(src.path(), &sealed.join(name), &recipients, &key, &t, false).unwrap();
    }
    // Claims altered after signing: a forged destination.
    let mut bytes = std::fs::read(sealed.join("for-us.age")).unwrap();
    let header = envelope::header::parse(&bytes).unwrap();
    let text = String::from_utf8_lossy(&bytes[..header.len]).into_owned();
    let claims_at = text.find("-> weightguard-claims").unwrap();
    let body_at = claims_at + text[claims_at..].find('\n').unwrap() + 10;
    bytes[body_at] = if bytes[body_at] == b'A' { b'B' } else { b'A' };
    std::fs::write(sealed.join("tampered.age"), bytes).unwrap();
    let r: age::x25519::Recipient = recipient.parse().unwrap();
    let enc = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient)).unwrap();
    let mut w = enc
        .wrap_output(std::fs::File::create(sealed.join("plain.age")).unwrap())
        .unwrap();
    w.write_all(b"not weights, no claims").unwrap();
    w.finish().unwrap();
    // Junk.
    let junk = root.join("junk");
    std::fs::create_dir_all(&junk).unwrap();
    std::fs::write(junk.join("fake.safetensors"), b"this is not a model").unwrap();
    std::fs::write(junk.join("notes.txt"), b"ignored").unwrap();
    let mut broken = b"GGUF\x03\x00\x00\x00".to_vec();
    broken.extend_from_slice(&[0xff; 40]);
    std::fs::write(junk.join("broken.gguf"), broken).unwrap();
}

/// The findings expected of the store: path → [(rule, severity)].
fn expected() -> BTreeMap<&'static str, Vec<(&'static str, &'static str)>> {
    BTreeMap::from([
        (
            "models/frontier",
            vec![("controlled-unencrypted", "critical")],
        ),
        // Small models without a training record are presumed not controlled (no plausible
        // training set reaches 1e26 operations): no finding (issue 15.1).
        ("models/small", vec![]),
        ("models/declared", vec![]),
        ("copies/renamed", vec![]),
        ("gguf/model.gguf", vec![]),
        ("pytorch/pytorch_model.bin", vec![]),
        ("pytorch/evil.pkl", vec![("unsafe-pickle", "high")]),
        (
            "sealed/for-de.age",
            vec![
                ("destination-mismatch", "high"),
                ("envelope-expired", "medium"),
            ],
        ),
        ("sealed/for-us.age", vec![]),
        ("sealed/tampered.age", vec![("envelope-unverified", "high")]),
        ("sealed/plain.age", vec![("envelope-no-claims", "low")]),
        ("junk/fake.safetensors", vec![("parse-failure", "low")]),
        ("junk/broken.gguf", vec![("parse-failure", "medium")]),
    ])
}

fn jsonl(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

/// path → [(rule, severity)] of audit results.
fn findings(results: &[Value]) -> BTreeMap<String, Vec<(String, String)>> {
    results
        .iter()
        .map(|r| {
            let f = r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    (
                        f["rule"].as_str().unwrap().to_owned(),
                        f["severity"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            (r["path"].as_str().unwrap().to_owned(), f)
        })
        .collect()
}

fn assert_expected(results: &[Value]) {
    let got = findings(results);
    let want: BTreeMap<String, Vec<(String, String)>> = expected()
        .into_iter()
        .map(|(p, f)| {
            (
                p.to_owned(),
                f.into_iter()
                    .map(|(a, b)| (a.to_owned(), b.to_owned()))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(got, want);
}

fn by_path<'a>(results: &'a [Value], path: &str) -> &'a Value {
    results
        .iter()
        .find(|r| r["path"] == path)
        .unwrap_or_else(|| panic!("no result for {path}"))
}

const AUDIT: &[&str] = &[
    "--store-country",
    "US",
    "--as-of",
    "2026-06-01",
    "--no-progress",
];

fn audit(root: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["audit", root];
    args.extend_from_slice(AUDIT);
    args.extend_from_slice(extra);
    weightguard(&args)
}

#[test]
fn a_local_store_gets_each_finding_reading_headers_only() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    build_store(&root);
    let out = audit(root.to_str().unwrap(), &["--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(6), "stderr: {}", stderr(&out));
    let results = jsonl(&stdout(&out));
    assert_expected(&results);

    let frontier = by_path(&results, "models/frontier");
    assert_eq!(frontier["classification"], "controlled");
    assert_eq!(frontier["files"], 4);
    assert_eq!(
        frontier["training_record"],
        "models/frontier/training-record.toml"
    );
    let small = by_path(&results, "models/small");
    assert_eq!(small["classification"], "not_controlled", "{small}");
    assert!(small["tokens_to_threshold"].as_f64().unwrap() > 1e18);
    assert!(small["parameters"].as_u64().unwrap() > 500_000);
    let de = by_path(&results, "sealed/for-de.age");
    assert_eq!(de["envelope"]["destination"], "DE");
    assert!(
        de["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("sealed for DE (site site-1) but stored in US")
    );
    // Header-only: each weight artifact's reads are a few KiB, whatever its size.
    for r in &results {
        let read = r["bytes_read"].as_u64().unwrap();
        let files = r["files"].as_u64().unwrap().max(1);
        assert!(read > 0, "{}", r["path"]);
        if r["kind"] == "weights" {
            assert!(read <= 64 * 1024 * files, "{}: {read} bytes", r["path"]);
        }
    }
    let frontier_read = frontier["bytes_read"].as_u64().unwrap();
    assert!(frontier_read * 100 < frontier["size"].as_u64().unwrap());
    // Without --store-country, no destination finding; --fail-on critical still fails.
    let out = weightguard(&[
        "audit",
        root.to_str().unwrap(),
        "--as-of",
        "2026-06-01",
        "--format",
        "jsonl",
        "--fail-on",
        "critical",
    ]);
    assert_eq!(out.status.code(), Some(6));
    let rules = findings(&jsonl(&stdout(&out)));
    assert_eq!(
        rules["sealed/for-de.age"],
        [("envelope-expired".into(), "medium".into())]
    );
    // Nothing at or above --fail-on: exit 0.
    let out = audit(
        root.join("models/declared").to_str().unwrap(),
        &["--fail-on", "info"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn a_sparse_800_gb_model_is_audited_from_its_headers() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("llama-405b");
    write_model(
        &ModelSpec::llama31_405b(),
        &big,
        WriteOptions {
            fill: DataFill::Sparse,
            max_shard_bytes: Some(5_000_000_000),
        },
    )
    .unwrap();
    let out = audit(dir.path().to_str().unwrap(), &["--format", "jsonl"]);
    let results = jsonl(&stdout(&out));
    assert_eq!(results.len(), 1);
    let r = &results[0];
    let read = r["bytes_read"].as_u64().unwrap();
    assert!(r["size"].as_u64().unwrap() > 800_000_000_000);
    assert!(read < 1 << 20, "{read} bytes read");
    // No record: what the weights alone establish.
    assert_eq!(r["classification"], "needs_review");
    assert_eq!(r["findings"][0]["severity"], "high");
    let msg = r["findings"][0]["message"].as_str().unwrap();
    assert!(msg.contains("405.9 B parameters"), "{msg}");
    assert!(msg.contains("training tokens"), "{msg}");
}

#[test]
fn fingerprints_find_renamed_and_resharded_copies() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    build_store(&root);
    let known = dir.path().join("known");
    model(&known, &small(), 2, Some(2 << 20));
    let out = weightguard(&["hash", "--json", known.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let fp = dir.path().join("fingerprints.json");
    std::fs::write(&fp, &out.stdout).unwrap();
    let out = audit(
        root.to_str().unwrap(),
        &["--format", "jsonl", "--fingerprints", fp.to_str().unwrap()],
    );
    let results = jsonl(&stdout(&out));
    let matched: Vec<&str> = results
        .iter()
        .filter(|r| !r["fingerprint"].is_null())
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(matched, ["copies/renamed", "models/small"]);
    let copy = by_path(&results, "copies/renamed");
    assert!(
        copy["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "fingerprint-match" && f["severity"] == "critical")
    );
    // Fingerprinting reads the data it fingerprints.
    assert!(copy["bytes_read"].as_u64().unwrap() >= copy["size"].as_u64().unwrap() / 2);
}

#[test]
fn shards_resume_merge_and_formats() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    build_store(&root);
    let r = root.to_str().unwrap();
    let mut parts = Vec::new();
    let mut count = 0;
    for k in 1..=3 {
        let part = dir.path().join(format!("part-{k}.jsonl"));
        let shard = format!("{k}/3");
        let out = audit(
            r,
            &[
                "--format",
                "jsonl",
                "--shard",
                &shard,
                "-o",
                part.to_str().unwrap(),
            ],
        );
        assert!(matches!(out.status.code(), Some(0 | 6)), "{}", stderr(&out));
        count += jsonl(&std::fs::read_to_string(&part).unwrap()).len();
        parts.push(part);
    }
    assert_eq!(
        count,
        expected().len(),
        "every artifact in exactly one shard"
    );
    let mut args = vec!["audit", "merge"];
    args.extend(parts.iter().map(|p| p.to_str().unwrap()));
    args.extend(["--format", "jsonl"]);
    let merged = weightguard(&args);
    assert_eq!(merged.status.code(), Some(6));
    assert_expected(&jsonl(&stdout(&merged)));

    // Resume: a state file with one unit done is not audited again, and its results come back.
    let state = dir.path().join("state.jsonl");
    let out = audit(
        r,
        &["--format", "jsonl", "--resume", state.to_str().unwrap()],
    );
    let first = jsonl(&stdout(&out));
    let lines = std::fs::read_to_string(&state).unwrap();
    // The header, then one line per unit: 13 artifacts and junk/notes.txt, a unit that holds
    // none.
    assert_eq!(lines.lines().count(), 15);
    assert!(lines.starts_with("{\"weightguard_audit_state\":1,"));
    // Keep the header, the first two units and a torn third line, as if the audit had been killed.
    let kept: Vec<&str> = lines.lines().take(3).collect();
    std::fs::write(&state, format!("{}\n{{\"root\":", kept.join("\n"))).unwrap();
    let out = audit(
        r,
        &["--format", "jsonl", "--resume", state.to_str().unwrap()],
    );
    assert_eq!(jsonl(&stdout(&out)), first);

    // Formats.
    let sarif: Value = serde_json::from_slice(&audit(r, &["--format", "sarif"]).stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(sarif["$schema"].as_str().unwrap().contains("sarif"));
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "weightguard");
    let results = run["results"].as_array().unwrap();
    let total: usize = expected().values().map(Vec::len).sum();
    assert_eq!(results.len(), total);
    let crit = results
        .iter()
        .find(|x| x["ruleId"] == "controlled-unencrypted")
        .unwrap();
    assert_eq!(crit["level"], "error");
    assert!(
        crit["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("models/frontier")
    );
    let csv = stdout(&audit(r, &["--format", "csv"]));
    assert!(csv.starts_with("path,uri,kind,format,"));
    assert!(csv.lines().any(|l| l.starts_with("sealed/for-us.age,")));
    let html = stdout(&audit(r, &["--format", "html"]));
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg") && html.contains("findings by location"));
    assert!(
        !html.contains("http://") || !html.contains("src=\"http"),
        "self-contained"
    );
    assert!(!html.contains("<script"));
    let table = stdout(&audit(r, &[]));
    assert!(
        table.contains("findings: 8 (1 critical, 3 high, 2 medium, 2 low, 0 info)"),
        "{table}"
    );
    let json: Value = serde_json::from_slice(&audit(r, &["--format", "json"]).stdout).unwrap();
    assert_eq!(json["summary"]["artifacts"], expected().len());
}

// The SeaweedFS server (on loopback ports, killed when dropped) and its test credentials.
use common::seaweed::{ACCESS_KEY, SECRET_KEY, Seaweed};

/// Uploads every file under `root` to `bucket/prefix/…`, retrying while the server starts.
fn upload(endpoint: &str, bucket: &str, prefix: &str, root: &Path) {
    use object_store::{ObjectStoreExt, PutPayload, aws::AmazonS3Builder, path::Path as Key};
    let store = AmazonS3Builder::new()
        .with_endpoint(endpoint)
        .with_allow_http(true)
        .with_bucket_name(bucket)
        .with_region("us-east-1")
        .with_access_key_id(ACCESS_KEY)
        .with_secret_access_key(SECRET_KEY)
        .build()
        .unwrap();
    let mut files = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for f in files {
            let rel = f.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let key = Key::from(format!("{prefix}/{rel}"));
            let bytes = std::fs::read(&f).unwrap();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
            loop {
                match store.put(&key, PutPayload::from(bytes.clone())).await {
                    Ok(_) => break,
                    Err(e) if std::time::Instant::now() < deadline => {
                        let _ = e;
                        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                    }
                    Err(e) => panic!("upload {key}: {e}"),
                }
            }
        }
    });
}

#[test]
fn an_s3_bucket_gets_the_same_findings_as_the_same_tree_on_disk() {
    let server = Seaweed::start();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    build_store(&root);
    upload(&server.endpoint(), "weights", "team-a", &root);

    let s3 = |extra: &[&str]| {
        let mut args = vec!["audit", "s3://weights/team-a"];
        args.extend_from_slice(AUDIT);
        args.extend_from_slice(extra);
        std::process::Command::new(env!("CARGO_BIN_EXE_weightguard"))
            .args(&args)
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", server.endpoint())
            .env("AWS_ALLOW_HTTP", "true")
            .output()
            .unwrap()
    };
    let out = s3(&["--format", "jsonl", "--concurrency", "4"]);
    assert_eq!(out.status.code(), Some(6), "stderr: {}", stderr(&out));
    let remote = jsonl(&stdout(&out));
    assert_expected(&remote);
    for r in &remote {
        assert!(
            r["uri"]
                .as_str()
                .unwrap()
                .starts_with("s3://weights/team-a/")
        );
    }
    let local = jsonl(&stdout(&audit(
        root.to_str().unwrap(),
        &["--format", "jsonl"],
    )));
    // Same artifacts, same facts, same findings; only where they are and the bytes read differ
    // (object reads come in 64 KiB blocks).
    let strip = |v: &[Value]| -> Vec<Value> {
        v.iter()
            .map(|r| {
                let mut r = r.clone();
                r["uri"] = Value::Null;
                r["bytes_read"] = Value::Null;
                r
            })
            .collect()
    };
    assert_eq!(strip(&remote), strip(&local));
    // Header-only over S3 too: a few blocks per file, far less than the weights.
    for r in &remote {
        let read = r["bytes_read"].as_u64().unwrap();
        let files = r["files"].as_u64().unwrap().max(1);
        assert!(read <= 2 * 64 * 1024 * files, "{}: {read}", r["path"]);
    }
    let frontier = by_path(&remote, "models/frontier");
    assert!(frontier["bytes_read"].as_u64().unwrap() * 10 < frontier["size"].as_u64().unwrap());

    // A wrong secret is an error (exit 1), not an empty audit.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weightguard"))
        .args([
            "audit",
            "s3://weights/team-a",
            "--endpoint",
            &server.endpoint(),
            "--allow-http",
        ])
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", "wrong")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    // …and says which, and what to do (issue 17: it said "Generic S3 error: …").
    let err = stderr(&out);
    assert!(
        err.contains("refused the credentials (SignatureDoesNotMatch)"),
        "{err}"
    );
    assert!(
        err.contains("check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
        "{err}"
    );

    // A bucket that does not exist is named as such.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weightguard"))
        .args([
            "audit",
            "s3://no-such-bucket/team-a",
            "--endpoint",
            &server.endpoint(),
            "--allow-http",
        ])
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("the bucket does not exist"),
        "{}",
        stderr(&out)
    );
}
