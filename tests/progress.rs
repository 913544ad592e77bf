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
