//! `hash --check` re-verifies a previous `hash` output (per-tensor lines, whole-file lines, the
//! model root) and b3sum's own lines; `hash --whole-files` prints lines the real `b3sum --check`
//! accepts (Debian's `b3sum`, installed by scripts/test-deps), names with a newline and a
//! backslash included.

mod common;
use common::*;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use weightguard::fixture::{DataFill, ModelSpec, WriteOptions, write_model};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A model directory with a side file whose name holds a newline and a backslash.
fn model() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("model");
    write_model(
        &ModelSpec::tiny_llama(),
        &m,
        WriteOptions {
            fill: DataFill::Pattern(9),
            max_shard_bytes: None,
        },
    )
    .unwrap();
    let odd = m.join("notes\\v1\nfinal.txt");
    std::fs::write(&odd, b"a side file with an awkward name\n").unwrap();
    (dir, m, odd)
}

fn with_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weightguard"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn b3sum(args: &[&str]) -> Output {
    Command::new("b3sum")
        .args(args)
        .output()
        .expect("b3sum is installed by scripts/test-deps (Debian package b3sum)")
}

#[test]
fn a_hash_output_checks_ok_and_a_tampered_tensor_fails_by_name() {
    let (dir, m, _) = model();
    let out = weightguard(&["hash", "--b3sum", s(&m)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sums = dir.path().join("SUMS");
    std::fs::write(&sums, &out.stdout).unwrap();
    let lines = out.stdout.iter().filter(|b| **b == b'\n').count();

    let out = weightguard(&["hash", "--check", s(&sums)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let text = stdout(&out);
    assert_eq!(text.lines().count(), lines);
    assert!(text.lines().all(|l| l.ends_with(": OK")), "{text}");
    assert!(text.contains(":(header): OK"), "{text}");
    assert!(text.contains(" (model root): OK"), "{text}");
    assert!(
        text.contains("\\n"),
        "the odd name is shown escaped: {text}"
    );
    // From standard input too.
    let out = with_stdin(&["hash", "--check", "-"], &std::fs::read(&sums).unwrap());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // One tensor's byte changes: that tensor, its file and the root fail; the rest pass.
    let weights = m.join("model.safetensors");
    let v: serde_json::Value =
        serde_json::from_slice(&weightguard(&["hash", "--json", s(&weights)]).stdout).unwrap();
    let file = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == s(&weights))
        .unwrap();
    let t = &file["tensors"][1];
    let (name, offset) = (t["name"].as_str().unwrap(), t["offset"].as_u64().unwrap());
    let mut bytes = std::fs::read(&weights).unwrap();
    bytes[offset as usize] ^= 1;
    std::fs::write(&weights, bytes).unwrap();
    let out = weightguard(&["hash", "--check", s(&sums)]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let failed: Vec<&str> = text.lines().filter(|l| !l.ends_with(": OK")).collect();
    assert_eq!(
        failed,
        [
            format!("{}: FAILED", s(&weights)),
            format!("{}:{name}: FAILED", s(&weights)),
            format!("{} (model root): FAILED", s(&m)),
        ],
        "{text}"
    );
    assert!(stderr(&out).contains(&format!("3 of {lines} lines FAILED")));

    // A missing file fails with the reason.
    std::fs::remove_file(m.join("config.json")).unwrap();
    let out = weightguard(&["hash", "--check", s(&sums)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains(&format!(
            "{}: FAILED (no such file)",
            s(&m.join("config.json"))
        )),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_malformed_line_is_refused_with_its_number_before_anything_is_checked() {
    let (dir, m, _) = model();
    let out = weightguard(&["hash", s(&m.join("config.json"))]);
    let good = stdout(&out);
    let sums = dir.path().join("SUMS");
    for (bad, why) in [
        ("0123  short", "64 lowercase hex"),
        (&*format!("{} x", "0".repeat(64)), "two spaces"),
        (&*format!("\\{}  a\\qb", "0".repeat(64)), "invalid escape"),
    ] {
        std::fs::write(&sums, format!("{good}{bad}\n")).unwrap();
        let out = weightguard(&["hash", "--check", s(&sums)]);
        assert_eq!(out.status.code(), Some(1), "{bad}");
        let e = stderr(&out);
        assert!(
            e.contains(&format!("{}:2: ", s(&sums))) && e.contains(why),
            "{e}"
        );
        assert!(stdout(&out).is_empty(), "nothing checked: {}", stdout(&out));
    }
}

#[test]
fn whole_file_lines_are_b3sums_own_both_ways() {
    let (dir, m, odd) = model();
    let out = weightguard(&["hash", "--whole-files", s(&m)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ours = stdout(&out);
    // b3sum prints the same lines for the same files (ours are sorted by path).
    let mut files: Vec<_> = std::fs::read_dir(&m)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let names: Vec<&str> = files.iter().map(|p| s(p)).collect();
    let theirs = b3sum(&names);
    assert!(theirs.status.success(), "{}", stderr(&theirs));
    let sorted = |t: &str| {
        let mut l: Vec<String> = t.lines().map(str::to_owned).collect();
        l.sort();
        l
    };
    assert_eq!(sorted(&ours), sorted(&stdout(&theirs)));
    assert!(
        ours.lines()
            .any(|l| l.starts_with('\\') && l.ends_with("notes\\\\v1\\nfinal.txt")),
        "b3sum's escaping: {ours}"
    );

    // b3sum --check accepts ours.
    let sums = dir.path().join("B3SUMS");
    std::fs::write(&sums, &ours).unwrap();
    let checked = b3sum(&["--check", s(&sums)]);
    assert!(
        checked.status.success(),
        "{}{}",
        stdout(&checked),
        stderr(&checked)
    );
    assert_eq!(stdout(&checked).lines().count(), files.len());

    // And we accept b3sum's.
    let theirs_file = dir.path().join("THEIRS");
    std::fs::write(&theirs_file, &theirs.stdout).unwrap();
    let out = weightguard(&["hash", "--check", s(&theirs_file)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).lines().all(|l| l.ends_with(": OK")));

    // Both see the same change to the oddly named file.
    std::fs::write(&odd, b"changed\n").unwrap();
    let checked = b3sum(&["--check", s(&sums)]);
    assert!(!checked.status.success());
    let out = weightguard(&["hash", "--check", s(&sums)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("notes\\\\v1\\nfinal.txt: FAILED"),
        "{}",
        stdout(&out)
    );
}
