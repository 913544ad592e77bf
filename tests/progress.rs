//! Progress when stderr is not a terminal (a CI log): heartbeat lines with the rate and time
//! left, a last line at the end, nothing for a run shorter than the interval.

use std::process::Command;
use weightguard::fixture::{DataFill, ModelSpec, WriteOptions, write_model};

fn run(args: &[&str], heartbeat: &str) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_weightguard"))
        .args(args)
        .env("WEIGHTGUARD_HEARTBEAT_SECS", heartbeat)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn heartbeat_lines_in_ci_logs() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a", "b", "c"] {
        write_model(
            &ModelSpec::tiny_llama(),
            &dir.path().join(name),
            WriteOptions {
                fill: DataFill::Pattern(2),
                max_shard_bytes: None,
            },
        )
        .unwrap();
    }
    let root = dir.path().to_str().unwrap();
    let model = dir.path().join("a");
    let model = model.to_str().unwrap();

    let (code, err) = run(&["hash", model], "0.000001");
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines.len() >= 2, "{err}");
    assert!(
        lines[0].starts_with("hashing: ") && lines[0].contains("B/s"),
        "{err}"
    );
    assert!(
        !err.contains('\x1b') && !err.contains('\r'),
        "no terminal codes in a log"
    );
    assert!(
        lines.last().unwrap().starts_with("hashing: done, 39.3"),
        "{err}"
    );

    let (code, err) = run(&["audit", "--format", "jsonl", root], "0.000001");
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("auditing: "), "{err}");
    assert!(err.contains(" units of "), "{err}");
    assert!(err.ends_with("auditing: done, 3 units in 0:00\n"), "{err}");

    // Shorter than the interval: silent. And --no-progress, or 0, silences it.
    assert_eq!(run(&["hash", model], "3600").1, "");
    assert_eq!(run(&["audit", "--no-progress", root], "0.000001").1, "");
    assert_eq!(run(&["hash", model], "0").1, "");
}

/// `open` shows progress too (issue 20: it showed nothing for the minutes a large model takes):
/// heartbeat lines in a CI log, then a final one.
#[test]
fn open_reports_progress() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m");
    write_model(
        &ModelSpec::tiny_llama(),
        &model,
        WriteOptions {
            fill: DataFill::Pattern(3),
            max_shard_bytes: None,
        },
    )
    .unwrap();
    let keys = dir.path().join("keys");
    let k = keys.to_str().unwrap();
    assert_eq!(run(&["keygen", "--out", k], "0").0, Some(0));
    let env = dir.path().join("m.age");
    let (code, err) = run(
        &[
            "seal",
            model.to_str().unwrap(),
            "-r",
            &format!("{k}/recipient.txt"),
            "--destination",
            "DE",
            "--signing-key",
            &format!("{k}/signing.key"),
            "-o",
            env.to_str().unwrap(),
            "--tokens",
            "1e9",
        ],
        "0",
    );
    assert_eq!(code, Some(0), "{err}");
    let out = dir.path().join("opened");
    let (code, err) = run(
        &[
            "open",
            env.to_str().unwrap(),
            "-i",
            &format!("{k}/identity.txt"),
            "--signer",
            &format!("{k}/signing.pub"),
            "--site-country",
            "DE",
            "-o",
            out.to_str().unwrap(),
        ],
        "0.000001",
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("opening: "), "{err}");
    assert!(
        err.lines().last().unwrap().starts_with("opening: done"),
        "{err}"
    );
}
