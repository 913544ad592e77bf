//! The CI integrations as users run them: the pre-commit hooks of `.pre-commit-hooks.yaml` run by
//! pre-commit itself on a sample repository, the GitHub Action's definition, the SARIF fields
//! code scanning reads, and `audit --shard-from-env`.

mod common;
use common::*;
use std::path::Path;
use std::process::{Command, Output};
use weightguard::fixture::{DataFill, ModelSpec, WriteOptions, write_model};

fn record(operations: &str) -> String {
    format!(
        "[model]\nname = \"acme\"\npublished = false\n\n[[stage]]\nname = \"pre\"\n\
         kind = \"pretraining\"\noperations = {operations}\n"
    )
}

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A model directory: tiny Llama weights, its config and a training record.
fn model(dir: &Path, operations: &str) {
    write_model(
        &ModelSpec::tiny_llama(),
        dir,
        WriteOptions {
            fill: DataFill::Pattern(3),
            max_shard_bytes: None,
        },
    )
    .unwrap();
    std::fs::write(dir.join("training-record.toml"), record(operations)).unwrap();
}

fn git(repo: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(repo)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
}

/// Writes the sample repository's `.pre-commit-config.yaml`: this repository's hooks exactly as
/// `.pre-commit-hooks.yaml` defines them (entry, files, arguments), as `repo: local` hooks of
/// `language: system` running the built binary, since `language: rust` would `cargo install`
/// this repository for every test run.
const CONFIG: &str = r#"
import sys, yaml
hooks = yaml.safe_load(open(sys.argv[1]))
binary, out = sys.argv[2], sys.argv[3]
for h in hooks:
    assert h["language"] == "rust", h
    assert h["entry"].startswith("weightguard "), h
    h["language"] = "system"
    h["entry"] = binary + h["entry"][len("weightguard"):]
yaml.safe_dump({"repos": [{"repo": "local", "hooks": hooks}]}, open(out, "w"))
print(",".join(h["id"] for h in hooks))
"#;

fn pre_commit(repo: &Path, home: &Path, hook: &str) -> Output {
    let bin = python().parent().unwrap().join("pre-commit");
    Command::new(bin)
        .args(["run", hook, "--color", "never"])
        .current_dir(repo)
        .env("PRE_COMMIT_HOME", home)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn pre_commit_hooks_run_on_a_sample_repository() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let home = dir.path().join("pre-commit-home");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    let ids = run_python(
        CONFIG,
        &[
            &repo_root().join(".pre-commit-hooks.yaml"),
            Path::new(env!("CARGO_BIN_EXE_weightguard")),
            &repo.join(".pre-commit-config.yaml"),
        ],
    );
    assert_eq!(ids.trim(), "weightguard-audit,weightguard-inspect");
    std::fs::write(repo.join("README.md"), "# models\n").unwrap();
    model(&repo.join("small"), "1e20");
    git(
        &repo,
        &["add", ".pre-commit-config.yaml", "README.md", "small"],
    );

    // A model far below the threshold: both hooks pass.
    for hook in ["weightguard-audit", "weightguard-inspect"] {
        let out = pre_commit(&repo, &home, hook);
        let text = format!("{}{}", stdout(&out), stderr(&out));
        assert_eq!(out.status.code(), Some(0), "{hook}: {text}");
        assert!(text.contains("Passed"), "{hook}: {text}");
    }
    git(&repo, &["commit", "-q", "-m", "small model"]);

    // A frontier model's weights staged: the audit hook judges them with their training record
    // (--parent-dirs) and fails the commit.
    model(&repo.join("frontier"), "2e26");
    git(&repo, &["add", "frontier/model.safetensors"]);
    let out = pre_commit(&repo, &home, "weightguard-audit");
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("Failed"), "{text}");
    assert!(text.contains("controlled-unencrypted"), "{text}");
    assert!(text.contains("- exit code: 6"), "{text}");
    git(&repo, &["reset", "-q"]);

    // A pickle that would run a command: the inspect hook fails the commit.
    std::fs::create_dir_all(repo.join("ckpt")).unwrap();
    std::fs::write(
        repo.join("ckpt/model.pkl"),
        b"cos\nsystem\n(S'echo hi'\ntR.",
    )
    .unwrap();
    git(&repo, &["add", "ckpt/model.pkl"]);
    let out = pre_commit(&repo, &home, "weightguard-inspect");
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("os.system"), "{text}");
    assert!(text.contains("- exit code: 6"), "{text}");
}

#[test]
fn audit_takes_several_roots_and_parent_dirs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    model(&d.join("a"), "1e20");
    model(&d.join("b"), "2e26");
    let a = d.join("a");
    let b = d.join("b");
    let p = |p: &Path| p.to_str().unwrap().to_owned();
    // The file alone has no training record beside it in the audit's eyes; its directory has.
    let out = weightguard(&[
        "audit",
        "--format",
        "jsonl",
        "--fail-on",
        "none",
        &p(&a),
        &p(&b.join("model.safetensors")),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 2);
    let out = weightguard(&[
        "audit",
        "--format",
        "json",
        "--parent-dirs",
        &p(&a.join("config.json")),
        &p(&b.join("model.safetensors")),
        &p(&b.join("config.json")),
    ]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["root"], format!("{} + {}", p(&a), p(&b)));
    assert_eq!(v["summary"]["by_rule"]["controlled-unencrypted"], 1);
    let out = weightguard(&["audit", &p(&a), &p(&b), "--resume", &p(&d.join("s"))]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

fn audit_env(root: &Path, env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_weightguard"));
    c.args([
        "audit",
        "--shard-from-env",
        "--format",
        "jsonl",
        "--fail-on",
        "none",
    ])
    .arg(root)
    .env_remove("JOB_COMPLETION_INDEX")
    .env_remove("JOB_COMPLETIONS");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn shard_from_env_splits_like_shard() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..6 {
        model(&dir.path().join(format!("m{i}")), "1e20");
    }
    let mut all = Vec::new();
    for k in 0..3 {
        let index = k.to_string();
        let out = audit_env(
            dir.path(),
            &[("JOB_COMPLETION_INDEX", &index), ("JOB_COMPLETIONS", "3")],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let shard = format!("{}/3", k + 1);
        let same = weightguard(&[
            "audit",
            "--shard",
            &shard,
            "--format",
            "jsonl",
            "--fail-on",
            "none",
            dir.path().to_str().unwrap(),
        ]);
        assert_eq!(stdout(&out), stdout(&same), "shard {shard}");
        all.extend(stdout(&out).lines().map(str::to_owned));
    }
    all.sort();
    assert_eq!(all.len(), 6, "every unit in exactly one shard");
    let out = audit_env(dir.path(), &[("JOB_COMPLETION_INDEX", "0")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("JOB_COMPLETIONS is not set"));
}

#[test]
fn sarif_carries_what_code_scanning_reads() {
    let dir = tempfile::tempdir().unwrap();
    model(&dir.path().join("frontier"), "2e26");
    let run = |root: &Path| -> serde_json::Value {
        let out = weightguard(&["audit", "--format", "sarif", root.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
        serde_json::from_str(&stdout(&out)).unwrap()
    };
    let v = run(dir.path());
    let rules = v["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    for r in rules {
        assert!(
            r["helpUri"].as_str().unwrap().starts_with("https://"),
            "{r}"
        );
        assert!(!r["fullDescription"]["text"].as_str().unwrap().is_empty());
        assert!(!r["help"]["text"].as_str().unwrap().is_empty());
    }
    let result = &v["runs"][0]["results"][0];
    let fp = result["partialFingerprints"]["weightguardFinding/v1"]
        .as_str()
        .unwrap();
    assert_eq!(fp.len(), 32);
    // The same finding in another checkout (another absolute path) keeps its fingerprint.
    let other = tempfile::tempdir().unwrap();
    model(&other.path().join("frontier"), "2e26");
    let w = run(other.path());
    assert_eq!(
        w["runs"][0]["results"][0]["partialFingerprints"],
        result["partialFingerprints"]
    );
}

#[test]
fn the_action_is_a_composite_that_uploads_sarif() {
    let check = r#"
import sys, yaml
a = yaml.safe_load(open(sys.argv[1]))
assert a["runs"]["using"] == "composite", a["runs"]
steps = a["runs"]["steps"]
assert any(s.get("uses", "").startswith("github/codeql-action/upload-sarif@") for s in steps)
install = next(s for s in steps if s.get("name") == "Install weightguard")
assert "cargo install --locked --path" in install["run"], install
for name in ["command", "paths", "destination", "args", "fail-on", "upload-sarif", "install"]:
    assert name in a["inputs"], name
# No input is spliced into a script: each reaches it through env.
for s in steps:
    assert "${{ inputs." not in s.get("run", ""), s
print("ok")
"#;
    let out = run_python(check, &[&repo_root().join("action.yml")]);
    assert_eq!(out.trim(), "ok");
}

/// The Dockerfile the Kubernetes example names exists, is multi-stage, starts from the official
/// images unless told otherwise and runs the binary as its entrypoint. The image itself is built
/// and run by scripts/test-container (podman, from scripts/test), which substitutes local base
/// images through the two arguments checked here: no container registry is reachable in CI.
#[test]
fn the_dockerfile_is_multi_stage() {
    let text = std::fs::read_to_string(repo_root().join("Dockerfile")).unwrap();
    let stages: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(
        stages,
        ["FROM ${BUILD_IMAGE} AS build", "FROM ${RUNTIME_IMAGE}"]
    );
    assert!(text.contains("\nARG BUILD_IMAGE=docker.io/library/rust:1.95-slim-bookworm\n"));
    assert!(text.contains("\nARG RUNTIME_IMAGE=docker.io/library/debian:bookworm-slim\n"));
    assert!(text.contains("cargo build --release --locked"));
    assert!(text.contains("COPY --from=build"));
    assert!(text.contains(r#"ENTRYPOINT ["/usr/local/bin/weightguard"]"#));
    let audit = std::fs::read_to_string(repo_root().join("docs/audit.md")).unwrap();
    assert!(audit.contains("--shard-from-env"));
    let ignore = std::fs::read_to_string(repo_root().join(".dockerignore")).unwrap();
    assert!(
        ignore.lines().any(|l| l == "target/"),
        "the context leaves out build outputs"
    );
}
