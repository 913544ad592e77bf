//! Issue 17: an interrupted `open` or `seal` leaves nothing behind. SIGINT, SIGTERM and SIGHUP
//! (Ctrl-C, `timeout`, systemd, the kubelet) remove every temporary (the partly decrypted,
//! unverified weights; the half envelope) and exit 130, 143 or 129. A run killed outright leaves
//! its temporaries named with its process id and host; the next run in that directory removes
//! them.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Big enough that decryption takes a while in a debug build, small enough for a test.
const DATA_BYTES: usize = 192 << 20;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

struct Setup {
    dir: tempfile::TempDir,
    keys: PathBuf,
    model: PathBuf,
    envelope: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    std::fs::create_dir(&model).unwrap();
    // One F32 tensor of patterned bytes (not zeros: nothing may be faster than real data).
    let n = DATA_BYTES / 4;
    let header =
        format!(r#"{{"w":{{"dtype":"F32","shape":[{n}],"data_offsets":[0,{DATA_BYTES}]}}}}"#);
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend((0..DATA_BYTES).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    std::fs::write(model.join("model.safetensors"), bytes).unwrap();
    let keys = dir.path().join("keys");
    let out = weightguard(&["keygen", "--out", s(&keys)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let envelope = dir.path().join("model.age");
    let args = seal_args(&keys, &model, &envelope);
    let out = weightguard(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    Setup {
        dir,
        keys,
        model,
        envelope,
    }
}

fn seal_args(keys: &Path, model: &Path, out: &Path) -> Vec<String> {
    [
        "seal",
        s(model),
        "-r",
        &format!("{}/recipient.txt", s(keys)),
        "--destination",
        "DE",
        "--signing-key",
        &format!("{}/signing.key", s(keys)),
        "-o",
        s(out),
        "--tokens",
        "1e9",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect()
}

fn open_args(setup: &Setup, out: &Path) -> Vec<String> {
    [
        "open",
        s(&setup.envelope),
        "-i",
        &format!("{}/identity.txt", s(&setup.keys)),
        "--signer",
        &format!("{}/signing.pub", s(&setup.keys)),
        "--site-country",
        "DE",
        "-o",
        s(out),
    ]
    .iter()
    .map(|a| a.to_string())
    .collect()
}

fn spawn(args: &[String]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_weightguard"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Entries of `dir` whose names contain `marker`.
fn temporaries(dir: &Path, marker: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(marker))
        .collect()
}

/// Waits until a temporary with `marker` exists in `dir` (the run is writing), then sends
/// `signal`; returns the exit code and stderr.
fn interrupt_while_writing(
    child: Child,
    dir: &Path,
    marker: &str,
    signal: &str,
) -> (Option<i32>, String) {
    interrupt_after(child, dir, marker, signal, Duration::from_millis(30))
}

/// [`interrupt_while_writing`], `delay` after the temporary appears (0: the signal races the
/// creation of the first file in it).
fn interrupt_after(
    mut child: Child,
    dir: &Path,
    marker: &str,
    signal: &str,
    delay: Duration,
) -> (Option<i32>, String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while temporaries(dir, marker).is_empty() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be interrupted"
        );
        assert!(Instant::now() < deadline, "no temporary appeared");
        std::thread::sleep(Duration::from_millis(2));
    }
    // Let it write some of its output first.
    std::thread::sleep(delay);
    let ok = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_interrupted_open_leaves_no_plaintext() {
    let setup = setup();
    for (signal, code) in [("TERM", 143), ("INT", 130), ("HUP", 129)] {
        let out = setup.dir.path().join(format!("opened-{signal}"));
        let child = spawn(&open_args(&setup, &out));
        let (got, err) =
            interrupt_while_writing(child, setup.dir.path(), ".weightguard-partial-", signal);
        assert_eq!(got, Some(code), "SIG{signal}: {err}");
        assert!(
            err.contains(&format!("interrupted by SIG{signal}")),
            "{err}"
        );
        assert!(
            temporaries(setup.dir.path(), ".weightguard-partial-").is_empty(),
            "SIG{signal}: decrypted weights left behind"
        );
        assert!(!out.exists(), "SIG{signal}: no output");
    }
}

/// A signal that lands as the first file is being created: the temporary directory is removed
/// and never recreated (it was, once, by the directory builder's recursive mode).
#[test]
fn an_open_interrupted_at_once_leaves_nothing() {
    let setup = setup();
    for i in 0..3 {
        let out = setup.dir.path().join(format!("opened-{i}"));
        let child = spawn(&open_args(&setup, &out));
        let (got, err) = interrupt_after(
            child,
            setup.dir.path(),
            ".weightguard-partial-",
            "INT",
            Duration::ZERO,
        );
        assert_eq!(got, Some(130), "{err}");
        // The handler exits while the main thread may still be running: give a recreated
        // directory, if any, the time to appear.
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            temporaries(setup.dir.path(), ".weightguard-partial-").is_empty(),
            "run {i}: decrypted weights left behind"
        );
        assert!(!out.exists());
    }
}

#[test]
fn an_interrupted_seal_leaves_no_half_envelope() {
    let setup = setup();
    let out_dir = setup.dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    for (signal, code) in [("TERM", 143), ("INT", 130)] {
        let out = out_dir.join(format!("sealed-{signal}.age"));
        let child = spawn(&seal_args(&setup.keys, &setup.model, &out));
        let (got, err) = interrupt_while_writing(child, &out_dir, ".weightguard-seal-", signal);
        assert_eq!(got, Some(code), "SIG{signal}: {err}");
        let left: Vec<_> = std::fs::read_dir(&out_dir).unwrap().collect();
        assert!(left.is_empty(), "SIG{signal}: {left:?} left behind");
    }
}

#[test]
fn temporaries_of_a_killed_run_are_found_and_removed_by_the_next() {
    let setup = setup();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let host: String = host
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '_')
        .collect();
    let out = setup.dir.path().join("opened");
    // What a SIGKILLed open leaves: its partial directory, named for a process that is gone.
    let stale = setup
        .dir
        .path()
        .join(format!(".opened.weightguard-partial-9999999@{host}-Ab12Cd"));
    std::fs::create_dir(&stale).unwrap();
    std::fs::write(stale.join("model.safetensors"), b"decrypted, unverified").unwrap();
    let r = weightguard(
        &open_args(&setup, &out)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    assert!(stderr(&r).contains("removed"), "{}", stderr(&r));
    assert!(stderr(&r).contains("9999999"), "{}", stderr(&r));
    assert!(!stale.exists());
}

/// Issue 17: an envelope cut short while `open` reads it is an error that names the file and
/// says it was truncated (it used to say "failed to fill whole buffer"), and nothing is written.
#[test]
fn an_envelope_truncated_during_open_is_named_as_truncated() {
    let setup = setup();
    let out = setup.dir.path().join("opened");
    let child = spawn(&open_args(&setup, &out));
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut child = child;
    while temporaries(setup.dir.path(), ".weightguard-partial-").is_empty() {
        assert!(child.try_wait().unwrap().is_none(), "open ended too soon");
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(2));
    }
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&setup.envelope)
        .unwrap();
    f.set_len(64 << 20).unwrap();
    let r = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(
        err.contains("model.age") && err.contains("truncated"),
        "{err}"
    );
    assert!(!out.exists());
    assert!(temporaries(setup.dir.path(), ".weightguard-partial-").is_empty());
}

/// Issue 17: what a SIGKILLed open leaves is a finding of `audit`: decrypted, unverified weights.
#[test]
fn audit_reports_a_decrypted_remnant() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let remnant = store.join(".opened.weightguard-partial-4242@elsewhere-Xy12ab");
    std::fs::create_dir_all(&remnant).unwrap();
    std::fs::write(
        remnant.join("model.safetensors"),
        safetensors_bytes(
            r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
            8,
        ),
    )
    .unwrap();
    let r = weightguard(&[
        "audit",
        store.to_str().unwrap(),
        "--format",
        "json",
        "--no-progress",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    let text = report.to_string();
    assert!(text.contains("decrypted-remnant"), "{text}");
    assert!(
        text.contains(".opened.weightguard-partial-4242@elsewhere-Xy12ab"),
        "{text}"
    );
    assert_eq!(r.status.code(), Some(6), "a high finding fails the audit");
}
