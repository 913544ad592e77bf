//! Every `--json` output (and every JSON Lines record) carries `schema_version` and validates
//! against its JSON Schema in `docs/schema/`, checked with Python's `jsonschema` (an independent
//! validator, installed by scripts/test-deps). Also `--version`.

mod common;
use common::*;
use std::path::{Path, PathBuf};
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

/// Validates each (schema, file) pair; every line of a file is one instance. Prints nothing and
/// exits 0 when all are valid; otherwise names the file, the line and the first error.
const VALIDATE: &str = r#"
import json, sys
from jsonschema import Draft202012Validator
errors = []
args = sys.argv[1:]
for schema_path, out_path in zip(args[0::2], args[1::2]):
    schema = json.load(open(schema_path))
    Draft202012Validator.check_schema(schema)
    v = Draft202012Validator(schema)
    text = open(out_path).read()
    # `audit --format json` is one pretty-printed document; everything else one object a line.
    docs = [text] if text.startswith("{\n") else [l for l in text.splitlines() if l.strip()]
    if not docs:
        errors.append(f"{out_path}: no output")
    for i, d in enumerate(docs, 1):
        for e in v.iter_errors(json.loads(d)):
            errors.append(f"{out_path}:{i}: {'/'.join(map(str, e.absolute_path))}: {e.message}")
print("\n".join(errors))
"#;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn schema(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("docs/schema/{name}.schema.json"))
}

/// Runs weightguard, expects `code`, and keeps its stdout in `dir/name.out`.
fn keep(dir: &Path, name: &str, args: &[&str], code: i32) -> PathBuf {
    let out = weightguard(args);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
    let path = dir.join(format!("{name}.out"));
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

#[test]
fn every_json_output_validates_against_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = d.join("store/model");
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
    let small = d.join("store/small");
    write_model(
        &ModelSpec::tiny_llama(),
        &small,
        WriteOptions {
            fill: DataFill::Pattern(1),
            max_shard_bytes: None,
        },
    )
    .unwrap();
    let keys = d.join("keys");
    keep(d, "keygen", &["keygen", "--out", s(&keys)], 0);
    let k = |f: &str| s(&keys.join(f)).to_owned();
    let m = s(&model);
    let env = d.join("store/model.age");

    let mut pairs: Vec<(&str, PathBuf)> = vec![
        (
            "inspect",
            keep(d, "inspect", &["inspect", "--json", m, s(&small)], 0),
        ),
        (
            "estimate",
            keep(d, "estimate", &["estimate", "--json", m], 0),
        ),
        (
            "classify",
            keep(d, "classify", &["classify", "--json", m], 0),
        ),
        (
            "classify",
            keep(d, "classify-small", &["classify", "--json", s(&small)], 0),
        ),
        (
            "gate",
            keep(d, "gate", &["gate", "--json", m, "--destination", "DE"], 0),
        ),
        (
            "gate",
            keep(
                d,
                "gate-cn",
                &["gate", "--json", m, "--destination", "CN"],
                4,
            ),
        ),
        (
            "hash",
            keep(d, "hash", &["hash", "--json", m, s(&small)], 0),
        ),
    ];
    let seal = keep(
        d,
        "seal",
        &[
            "seal",
            m,
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
            "--json",
        ],
        0,
    );
    pairs.push(("seal", seal));
    let signer = k("signing.pub");
    pairs.push((
        "verify",
        keep(
            d,
            "verify",
            &["verify", s(&env), "--signer", &signer, "--json"],
            0,
        ),
    ));
    let opened = d.join("opened");
    pairs.push((
        "open",
        keep(
            d,
            "open",
            &[
                "open",
                s(&env),
                "-i",
                &k("identity.txt"),
                "--signer",
                &signer,
                "--site-country",
                "DE",
                "--site",
                "fra-1",
                "-o",
                s(&opened),
                "--json",
            ],
            0,
        ),
    ));
    let store = d.join("store");
    // Controlled weights stored in the clear: findings, exit 6.
    pairs.push((
        "audit",
        keep(d, "audit", &["audit", s(&store), "--format", "json"], 6),
    ));
    pairs.push((
        "audit-record",
        keep(
            d,
            "audit-jsonl",
            &["audit", s(&store), "--format", "jsonl"],
            6,
        ),
    ));

    // Every object and record starts with schema_version 1.
    for (name, path) in &pairs {
        let text = std::fs::read_to_string(path).unwrap();
        if *name == "audit" {
            assert!(text.starts_with("{\n  \"schema_version\": 1,"), "{text}");
            continue;
        }
        assert!(!text.is_empty(), "{name}: no output");
        for line in text.lines() {
            assert!(
                line.starts_with(r#"{"schema_version":1,"#),
                "{name}: {line}"
            );
        }
    }

    let schemas: Vec<PathBuf> = pairs.iter().map(|(n, _)| schema(n)).collect();
    let mut args: Vec<&Path> = Vec::new();
    for ((_, out), sch) in pairs.iter().zip(&schemas) {
        args.push(sch);
        args.push(out);
    }
    let errors = run_python(VALIDATE, &args);
    assert!(errors.trim().is_empty(), "schema violations:\n{errors}");
}

/// Every schema in docs/schema is a valid Draft 2020-12 schema pinned to this schema version,
/// and each is used by the test above.
#[test]
fn the_schemas_are_valid_and_versioned() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schema");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".schema.json"))
        .collect();
    names.sort();
    let expected = [
        "audit",
        "audit-record",
        "classify",
        "estimate",
        "gate",
        "hash",
        "inspect",
        "open",
        "seal",
        "verify",
    ];
    let mut want: Vec<String> = expected
        .iter()
        .map(|n| format!("{n}.schema.json"))
        .collect();
    want.sort();
    assert_eq!(names, want);
    for n in &names {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(n)).unwrap()).unwrap();
        assert_eq!(
            v["properties"]["schema_version"]["const"],
            weightguard::schema::SCHEMA_VERSION,
            "{n}"
        );
        assert_eq!(v["required"][0], "schema_version", "{n}");
    }
}

#[test]
fn version_names_the_commit_and_the_builtin_policy() {
    let out = weightguard(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        format!("weightguard {}", env!("CARGO_PKG_VERSION"))
    );
    let commit = lines[1].strip_prefix("commit ").expect("a commit line");
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
        "{commit}"
    );
    let p = weightguard::policy::Policy::builtin(weightguard::policy::DEFAULT_POLICY)
        .unwrap()
        .unwrap();
    assert_eq!(
        lines[2],
        format!(
            "policy {} {}",
            weightguard::policy::DEFAULT_POLICY,
            p.digest
        )
    );
    assert_eq!(
        lines[3],
        format!("schema {}", weightguard::schema::SCHEMA_VERSION)
    );
}
