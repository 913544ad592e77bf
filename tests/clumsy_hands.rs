//! Issue 17, as a clumsy user (or an adversary) would try it: outputs that would overwrite what is
//! there, state files that are not state files, half-written key sets, named inputs that are FIFOs
//! or devices, closed pipes and full disks, misleading messages, and audits stopped by one bad
//! directory. Each test failed before its fix.

mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use weightguard::fixture::{DataFill, ModelSpec, WriteOptions, write_model};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn small_model(path: &Path, layers: u64) {
    write_model(
        &ModelSpec::llama(16, 8, layers, 2, 1, 16),
        path,
        WriteOptions {
            fill: DataFill::Pattern(3),
            max_shard_bytes: None,
        },
    )
    .unwrap();
}

/// A model, a key set and an envelope of the model sealed for DE site fra-1.
struct Sealed {
    dir: tempfile::TempDir,
}

impl Sealed {
    fn new() -> Sealed {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        small_model(&d.join("model"), 2);
        let out = weightguard(&["keygen", "--out", s(&d.join("keys"))]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let sealed = Sealed { dir };
        let out = weightguard(&[
            "seal",
            s(&sealed.model()),
            "-r",
            s(&sealed.key("recipient.txt")),
            "--signing-key",
            s(&sealed.key("signing.key")),
            "--destination",
            "DE",
            "--site",
            "fra-1",
            "--tokens",
            "1e12",
            "-o",
            s(&sealed.envelope()),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        sealed
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn model(&self) -> PathBuf {
        self.path("model")
    }

    fn key(&self, name: &str) -> PathBuf {
        self.dir.path().join("keys").join(name)
    }

    fn envelope(&self) -> PathBuf {
        self.path("model.age")
    }

    /// `open` of the envelope into `out`, with the identity `identity`.
    fn open_args(&self, identity: &Path, out: &Path) -> Vec<String> {
        [
            "open",
            s(&self.envelope()),
            "-i",
            s(identity),
            "--signer",
            s(&self.key("signing.pub")),
            "--site-country",
            "DE",
            "--site",
            "fra-1",
            "-o",
            s(out),
        ]
        .map(String::from)
        .to_vec()
    }
}

/// Runs the binary; fails the test if it has not ended within `secs` (it is killed).
fn run_within(args: &[String], secs: u64) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weightguard"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{args:?} still running after {secs} s (waiting on a FIFO, or reading a device)"
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(ok.success());
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn is_root() -> bool {
    // The owner of a file this process creates is its effective user.
    use std::os::unix::fs::MetadataExt;
    let f = tempfile::NamedTempFile::new().unwrap();
    f.as_file().metadata().unwrap().uid() == 0
}

// ---- nothing overwritten ----

#[test]
fn audit_output_never_replaces_a_file_or_follows_a_link_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = d.join("store/model");
    small_model(&model, 2);
    let weights = model.join("model.safetensors");
    let original = std::fs::read(&weights).unwrap();
    let store = d.join("store");

    // -o naming the very weights it audits: refused, the weights untouched.
    let out = weightguard(&["audit", s(&store), "-o", s(&weights)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&weights).unwrap(), original);

    // A link at the target: refused, and neither the link nor what it names is touched.
    let precious = d.join("precious.txt");
    std::fs::write(&precious, "keep me").unwrap();
    let link = d.join("report.txt");
    std::os::unix::fs::symlink(&precious, &link).unwrap();
    let out = weightguard(&["audit", s(&store), "-o", s(&link)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep me");

    // --force replaces the link itself with the report, never its target.
    let out = weightguard(&[
        "audit",
        s(&store),
        "-o",
        s(&link),
        "--force",
        "--format",
        "jsonl",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(&link).unwrap().is_file());
    assert!(std::fs::read_to_string(&link).unwrap().contains("\"path\""));
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep me");

    // A new path is written; no temporary is left beside it.
    let report = d.join("new.jsonl");
    let out = weightguard(&["audit", s(&store), "-o", s(&report), "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let leftovers: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // `audit merge -o`: the same rules.
    let out = weightguard(&["audit", "merge", s(&report), "-o", s(&precious)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep me");
    let out = weightguard(&["audit", "merge", s(&report), "-o", s(&precious), "--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        std::fs::read_to_string(&precious)
            .unwrap()
            .contains("audit of")
    );
}

#[test]
fn resume_appends_only_to_a_state_file_it_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let store = d.join("store");
    small_model(&store.join("a"), 2);
    small_model(&store.join("b"), 3);

    // Someone else's file (a config.json): refused, not a byte appended.
    let config = d.join("config.json");
    std::fs::copy(store.join("a/config.json"), &config).unwrap();
    let before = std::fs::read(&config).unwrap();
    let out = weightguard(&["audit", s(&store), "--resume", s(&config)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("not an audit state file"), "{err}");
    assert!(err.contains("name a new file"), "{err}");
    assert_eq!(std::fs::read(&config).unwrap(), before);
    serde_json::from_slice::<serde_json::Value>(&before).unwrap();

    // A missing file is created with the header, then resumed from.
    let state = d.join("state");
    let out = weightguard(&[
        "audit",
        s(&store),
        "--resume",
        s(&state),
        "--format",
        "jsonl",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&state).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["weightguard_audit_state"], 1);
    assert_eq!(first["root"], s(&store));
    assert_eq!(text.lines().count(), 3, "{text}");
    let again = weightguard(&[
        "audit",
        s(&store),
        "--resume",
        s(&state),
        "--format",
        "jsonl",
    ]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(stdout(&again), stdout(&out));
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        text,
        "nothing redone"
    );

    // An empty file (from mktemp) is taken as new.
    let empty = d.join("empty");
    std::fs::write(&empty, "").unwrap();
    let out = weightguard(&["audit", s(&store), "--resume", s(&empty)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        std::fs::read_to_string(&empty)
            .unwrap()
            .starts_with("{\"weightguard_audit_state\":1")
    );

    // Another root's state file: refused.
    let out = weightguard(&["audit", s(&store.join("a")), "--resume", s(&state)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("not of"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&state).unwrap(), text);
}

// ---- keys: all or nothing, private whatever the umask ----

/// Runs the binary under `umask 000` (through sh: the tests use no unsafe code).
fn under_umask_000(args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg("umask 000; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_weightguard"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn keygen_writes_the_whole_key_set_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    std::fs::write(keys.join("signing.key"), "mine").unwrap();
    let out = weightguard(&["keygen", "--out", s(&keys)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("signing.key: already exists"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("nothing was written"),
        "{}",
        stderr(&out)
    );
    let mut names: Vec<String> = std::fs::read_dir(&keys)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["signing.key"], "no partial, mismatched set");
    assert_eq!(
        std::fs::read_to_string(keys.join("signing.key")).unwrap(),
        "mine"
    );
}

#[test]
fn keys_are_private_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("new/keys");
    let out = under_umask_000(&["keygen", "--out", s(&keys)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(mode(&keys), 0o700, "the key directory");
    assert_eq!(mode(&keys.join("identity.txt")), 0o600);
    assert_eq!(mode(&keys.join("signing.key")), 0o600);
    assert_eq!(mode(&keys.join("recipient.txt")), 0o644);
    assert_eq!(mode(&keys.join("signing.pub")), 0o644);

    // An existing directory keeps its mode; the secrets in it are still 0600.
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = under_umask_000(&["keygen", "--out", s(&shared)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(mode(&shared), 0o755);
    assert_eq!(mode(&shared.join("identity.txt")), 0o600);
    assert_eq!(mode(&shared.join("signing.key")), 0o600);

    // `demo --keep` writes its identity as keygen does.
    let kept = dir.path().join("demo");
    let out = under_umask_000(&["demo", "--keep", s(&kept)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(mode(&kept.join("identity.txt")), 0o600);
}

// ---- named inputs: regular files only, never a wait ----

#[test]
fn named_inputs_that_are_fifos_or_devices_are_refused_at_once() {
    let sealed = Sealed::new();
    let fifo = sealed.path("fifo");
    mkfifo(&fifo);
    let model = sealed.model();
    let opened = sealed.path("opened");
    let new_envelope = sealed.path("new.age");
    for bad in [fifo.as_path(), Path::new("/dev/zero")] {
        let b = s(bad);
        let seal = |recipient: &str, key: &str| {
            [
                "seal",
                s(&model),
                "-r",
                recipient,
                "--signing-key",
                key,
                "--destination",
                "DE",
                "--tokens",
                "1e12",
                "-o",
                s(&new_envelope),
            ]
            .map(String::from)
            .to_vec()
        };
        let strings = |a: &[&str]| a.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let m = s(&model);
        let cases = vec![
            sealed.open_args(bad, &opened),
            strings(&["verify", s(&sealed.envelope()), "--signer", b]),
            seal(b, s(&sealed.key("signing.key"))),
            seal(s(&sealed.key("recipient.txt")), b),
            strings(&["estimate", m, "--training-record", b]),
            strings(&["estimate", m, "--tokens", "1e12", "--accelerators", b]),
            strings(&[
                "gate",
                m,
                "--destination",
                "DE",
                "--tokens",
                "1e12",
                "--licenses",
                b,
            ]),
            strings(&["classify", m, "--tokens", "1e12", "--policy", b]),
            strings(&["policy", "validate", b]),
            strings(&["policy", "show", b]),
            strings(&["audit", m, "--resume", b]),
            strings(&["audit", m, "--fingerprints", b]),
            strings(&["audit", m, "--signer", b]),
            strings(&["audit", "merge", b]),
        ];
        for args in cases {
            let out = run_within(&args, 20);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
            let err = stderr(&out);
            assert!(
                err.contains("named pipe (FIFO)") || err.contains("character device"),
                "{args:?}: {err}"
            );
            assert!(!opened.exists() && !new_envelope.exists(), "{args:?}");
        }
    }
}

// ---- closed pipes and full disks ----

/// Runs the binary with standard output a pipe whose reader reads `lines` lines, then closes it.
fn with_reader_gone_after(args: &[&str], lines: usize) -> Output {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_weightguard"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    for _ in 0..lines {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
    }
    drop(reader);
    child.wait_with_output().unwrap()
}

fn to_dev_full(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weightguard"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        )
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_pipe_ends_quietly_and_a_full_disk_is_an_error() {
    let sealed = Sealed::new();
    // Many tensors, so that `hash` writes far more than a pipe holds: `| head -1`.
    let big = sealed.path("many-tensors");
    small_model(&big, 200);
    let out = with_reader_gone_after(&["hash", s(&big)], 1);
    assert_eq!(out.status.code(), Some(141), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "quietly");

    let inspect = ["inspect", "--json", s(&big)].map(String::from).to_vec();
    let opened = sealed.path("opened");
    let open = sealed.open_args(&sealed.key("identity.txt"), &opened);
    for args in [&inspect, &open] {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = with_reader_gone_after(&refs, 0);
        assert_eq!(out.status.code(), Some(141), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
        let _ = std::fs::remove_dir_all(&opened);
    }

    let hash = ["hash", s(&big)].map(String::from).to_vec();
    for args in [&hash, &inspect, &open] {
        let out = to_dev_full(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("error: standard output: No space left on device"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        let _ = std::fs::remove_dir_all(&opened);
    }
}

// ---- messages that say what went wrong ----

#[test]
fn estimate_prints_token_counts_beyond_u64_in_scientific_notation() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("tiny.safetensors");
    // 1,000 parameters: 1e26 operations would take 1e26 / 6e3 = 1.67e22 tokens.
    let header = r#"{"w":{"dtype":"F32","shape":[1000],"data_offsets":[0,4000]}}"#;
    std::fs::write(&f, safetensors_bytes(header, 4000)).unwrap();
    let out = weightguard(&["estimate", s(&f)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("would take 1.67e22 tokens"), "{text}");
    assert!(!text.contains("18446"), "{text}");
}

#[test]
fn a_gguf_alignment_of_the_wrong_type_is_named_as_such() {
    let mut v = b"GGUF".to_vec();
    v.extend_from_slice(&3u32.to_le_bytes());
    v.extend_from_slice(&0u64.to_le_bytes()); // tensors
    v.extend_from_slice(&1u64.to_le_bytes()); // metadata entries
    let key = b"general.alignment";
    v.extend_from_slice(&(key.len() as u64).to_le_bytes());
    v.extend_from_slice(key);
    v.extend_from_slice(&8u32.to_le_bytes()); // string
    v.extend_from_slice(&2u64.to_le_bytes());
    v.extend_from_slice(b"32");
    v.resize(v.len() + 32, 0);
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("m.gguf");
    std::fs::write(&f, v).unwrap();
    let out = weightguard(&["inspect", s(&f)]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(
            "`general.alignment` must be an unsigned integer (uint32), found a string `32`"
        ),
        "{err}"
    );
    assert!(!err.contains("power of two"), "{err}");
}

#[test]
fn s3_errors_say_what_went_wrong_and_what_to_do() {
    let run = |extra: &[&str]| {
        let mut args = vec![
            "audit",
            "s3://bucket/prefix",
            "--endpoint",
            "http://127.0.0.1:1",
        ];
        args.extend_from_slice(extra);
        Command::new(env!("CARGO_BIN_EXE_weightguard"))
            .args(&args)
            .env("AWS_ACCESS_KEY_ID", "id")
            .env("AWS_SECRET_ACCESS_KEY", "secret")
            .env("AWS_REGION", "us-east-1")
            .env_remove("AWS_ALLOW_HTTP")
            .env_remove("AWS_ENDPOINT_URL")
            .output()
            .unwrap()
    };
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("http://127.0.0.1:1 is a plain-HTTP endpoint"),
        "{err}"
    );
    assert!(err.contains("--allow-http"), "{err}");
    assert!(!err.contains("builder error"), "{err}");

    // Allowed, but nothing listens there.
    let out = run(&["--allow-http"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("could not connect to http://127.0.0.1:1"),
        "{err}"
    );
    assert!(err.contains("check --endpoint"), "{err}");
}

// ---- one bad directory does not stop an audit ----

#[test]
fn an_audit_goes_on_past_an_unreadable_directory_and_an_overlong_path() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    small_model(&store.join("good"), 2);

    // A path longer than PATH_MAX (4,096 bytes): 20 directories of 250-byte names, made one
    // `cd` at a time as no single path could name them.
    let name = "d".repeat(250);
    let made = Command::new("sh")
        .arg("-c")
        .arg("cd \"$1\" && for i in $(seq 20); do mkdir \"$2\" && cd -P \"$2\" || exit 1; done && echo x > deep.txt")
        .arg("sh")
        .arg(s(&store))
        .arg(&name)
        .status()
        .unwrap();
    assert!(made.success());

    let locked = store.join("locked");
    small_model(&locked, 2);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads any directory, so as root the audit runs as `nobody` (setuid through the
    // safe `CommandExt::uid`), for whom the mode holds.
    let root = is_root();
    if root {
        for p in [dir.path(), store.as_path(), &store.join("good")] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        // The generator writes through temporaries, mode 0600.
        for f in std::fs::read_dir(store.join("good")).unwrap() {
            let f = f.unwrap().path();
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_weightguard"));
    cmd.args(["audit", s(&store), "--format", "jsonl"]);
    if root {
        use std::os::unix::process::CommandExt;
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();

    assert_eq!(
        out.status.code(),
        Some(6),
        "findings, not a failed audit: {}",
        stderr(&out)
    );
    let results: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let unread = |what: &str| {
        results.iter().any(|r| {
            r["findings"].as_array().unwrap().iter().any(|f| {
                f["rule"] == "unread-path" && f["message"].as_str().unwrap_or("").contains(what)
            })
        })
    };
    assert!(unread("File name too long"), "{results:#?}");
    assert!(unread("Permission denied"), "{results:#?}");
    assert!(
        results
            .iter()
            .any(|r| r["path"] == "good" && r["kind"] == "weights"),
        "the rest of the store is still audited: {results:#?}"
    );
}

/// Issue 19's `-o -`: `seal` and `open` wrote a file (or directory) named `-`; both refuse it as a
/// usage error, since their output is renamed into place when complete.
#[test]
fn dash_as_output_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_weightguard"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let o = run(&[
        "seal",
        ".",
        "-r",
        "age1x",
        "--destination",
        "DE",
        "--signing-key",
        "k",
        "-o",
        "-",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("standard output"));
    let o = run(&[
        "open",
        "e.age",
        "-i",
        "k",
        "--signer",
        "s",
        "--site-country",
        "DE",
        "-o",
        "-",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!dir.path().join("-").exists());
}
