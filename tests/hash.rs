//! `weightguard hash` against an independent BLAKE3 (the Python `blake3` package, the Rust
//! reference implementation's bindings) and independent tensor extraction (offset arithmetic in
//! Python over the raw header). Run through `scripts/test`, which sets WEIGHTGUARD_PYTHON.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use weightguard::fixture::{DataFill, Family, ModelSpec, WriteOptions, write_model};

/// Prints, for each path: whole-file BLAKE3, and for `*.safetensors` the header and per-tensor
/// digests from slicing the file at the header's offsets, and the model root computed from the
/// specification in docs/digest.md.
const REFERENCE: &str = r#"
import json, struct, sys, blake3
out = {}
entries = []
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    rec = {"whole": blake3.blake3(data).hexdigest()}
    if path.endswith(".safetensors"):
        (n,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8:8 + n])
        start = 8 + n
        rec["header"] = blake3.blake3(data[:start]).hexdigest()
        rec["tensors"] = {}
        for name, t in header.items():
            if name == "__metadata__":
                continue
            b, e = t["data_offsets"]
            d = blake3.blake3(data[start + b:start + e]).digest()
            rec["tensors"][name] = d.hex()
            entries.append((name.encode(), t["dtype"].encode(), t["shape"], d))
    out[path] = rec
enc = struct.pack("<Q", len(entries))
for name, dtype, shape, d in sorted(entries):
    enc += struct.pack("<Q", len(name)) + name + struct.pack("<Q", len(dtype)) + dtype
    enc += struct.pack("<Q", len(shape)) + b"".join(struct.pack("<Q", x) for x in shape) + d
out["root"] = blake3.blake3(enc, derive_key_context="weightguard 2026 model root v1").hexdigest()
print(json.dumps(out))
"#;

fn python() -> PathBuf {
    PathBuf::from(std::env::var_os("WEIGHTGUARD_PYTHON").expect(
        "WEIGHTGUARD_PYTHON is unset: run the tests with scripts/test, which installs the \
         Python blake3 reference into .venv and sets it",
    ))
}

fn reference(paths: &[PathBuf]) -> Value {
    let out = Command::new(python())
        .arg("-c")
        .arg(REFERENCE)
        .args(paths)
        .output()
        .expect("run the Python reference");
    assert!(
        out.status.success(),
        "reference failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("reference JSON")
}

fn weightguard(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weightguard"))
        .args(args)
        .output()
        .expect("run weightguard")
}

fn hash_json(path: &Path, extra: &[&str]) -> Value {
    let mut args: Vec<&std::ffi::OsStr> = vec!["hash".as_ref(), "--json".as_ref()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    args.push(path.as_os_str());
    let out = weightguard(&args);
    assert!(
        out.status.success(),
        "weightguard failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("weightguard JSON")
}

/// Deterministic bytes that differ at every position (xorshift).
fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s as u8
        })
        .collect()
}

fn files_by_path(report: &Value) -> BTreeMap<String, Value> {
    report["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| (f["path"].as_str().expect("path").to_owned(), f.clone()))
        .collect()
}

#[test]
fn whole_file_digests_equal_reference_at_chunk_and_tree_boundaries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sizes: &[usize] = &[
        0,
        1,
        1023,
        1024,
        1025,
        2048,
        2049,
        65535,
        65536,
        65537,
        1_000_003,
        (16 << 20) + 7,
        (64 << 20) + 12_345, // the large-file path: mapped, or buffered in 16 MiB reads
    ];
    let mut paths = Vec::new();
    for (i, &n) in sizes.iter().enumerate() {
        let p = dir.path().join(format!("f{i:02}-{n}.bin"));
        std::fs::write(&p, bytes(n, i as u64 + 1)).expect("write");
        paths.push(p);
    }
    let expected = reference(&paths);
    for mode in [&[][..], &["--no-mmap"][..], &["--b3sum"][..]] {
        let got = files_by_path(&hash_json(dir.path(), mode));
        assert_eq!(got.len(), paths.len());
        for p in &paths {
            let key = p.to_str().expect("utf-8 path");
            assert_eq!(
                got[key]["blake3"], expected[key]["whole"],
                "{key} with {mode:?}"
            );
            assert_eq!(got[key]["kind"], "other");
        }
        let big = paths.last().expect("sizes").to_str().expect("utf-8");
        let read = if mode == ["--no-mmap"] {
            "buffered"
        } else {
            "mmap"
        };
        if cfg!(target_os = "linux") {
            assert_eq!(got[big]["read"], read, "{mode:?}");
        }
    }
}

fn check_model(dir: &Path, extra: &[&str]) {
    let report = hash_json(dir, extra);
    let files = files_by_path(&report);
    let paths: Vec<PathBuf> = files.keys().map(PathBuf::from).collect();
    let expected = reference(&paths);
    assert_eq!(report["root"], expected["root"], "root digest");
    let mut tensors = 0;
    for (key, f) in &files {
        let exp = &expected[key.as_str()];
        if key.ends_with(".safetensors") {
            assert_eq!(f["kind"], "safetensors");
            assert_eq!(f["header"]["blake3"], exp["header"], "{key} header");
            assert_eq!(f["header"]["offset"], 0);
            // Header and tensors tile the file.
            let mut at = f["header"]["len"].as_u64().expect("len");
            for t in f["tensors"].as_array().expect("tensors") {
                let name = t["name"].as_str().expect("name");
                assert_eq!(t["blake3"], exp["tensors"][name], "{key}:{name}");
                assert_eq!(t["offset"].as_u64(), Some(at));
                at += t["len"].as_u64().expect("len");
                tensors += 1;
            }
            assert_eq!(Some(at), f["size"].as_u64());
            if extra.contains(&"--b3sum") {
                assert_eq!(f["blake3"], exp["whole"], "{key} whole");
            } else {
                assert_eq!(f["blake3"], Value::Null);
            }
        } else {
            assert_eq!(f["blake3"], exp["whole"], "{key}");
        }
    }
    assert_eq!(report["tensor_count"].as_u64(), Some(tensors));
}

#[test]
fn generated_models_match_reference_per_tensor_whole_file_and_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let single = dir.path().join("single");
    write_model(
        &ModelSpec::tiny_llama(),
        &single,
        WriteOptions {
            fill: DataFill::Pattern(7),
            max_shard_bytes: None,
        },
    )
    .expect("write model");
    // Large enough that some tensors take the parallel path (≥ 64 MiB file, big tensors).
    let sharded = dir.path().join("sharded");
    write_model(
        &ModelSpec::with_parameters(Family::Mixtral, 60_000_000),
        &sharded,
        WriteOptions {
            fill: DataFill::Pattern(9),
            max_shard_bytes: Some(70 << 20),
        },
    )
    .expect("write model");
    for model in [&single, &sharded] {
        for extra in [&[][..], &["--b3sum"][..], &["--b3sum", "--no-mmap"][..]] {
            check_model(model, extra);
        }
    }
}

#[test]
fn root_is_independent_of_sharding() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = ModelSpec::tiny_llama();
    let mut roots = Vec::new();
    for (name, shard) in [("one", None), ("many", Some(100_000))] {
        let d = dir.path().join(name);
        write_model(
            &spec,
            &d,
            WriteOptions {
                fill: DataFill::Pattern(3),
                max_shard_bytes: shard,
            },
        )
        .expect("write");
        roots.push(hash_json(&d, &[])["root"].clone());
    }
    assert!(roots[0].is_string());
    assert_eq!(roots[0], roots[1]);
}

#[test]
fn malformed_weight_file_fails_naming_it_and_other_paths_still_hash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("model.safetensors");
    let mut f = std::fs::File::create(&bad).expect("create");
    f.write_all(&100u64.to_le_bytes()).expect("write");
    f.write_all(b"{\"a\":").expect("write");
    let good = dir.path().join("notes.txt");
    std::fs::write(&good, b"hello").expect("write");
    let out = weightguard(&["hash".as_ref(), bad.as_os_str(), good.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("model.safetensors"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let expected = reference(std::slice::from_ref(&good));
    let line = format!(
        "{}  {}",
        expected[good.to_str().expect("utf-8")]["whole"]
            .as_str()
            .expect("hex"),
        good.display()
    );
    assert!(stdout.contains(&line), "{stdout}");
}

#[test]
fn missing_path_is_an_error_naming_it() {
    let out = weightguard(&["hash".as_ref(), "/nonexistent/weights.safetensors".as_ref()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/nonexistent/weights.safetensors"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn pipe_gets_the_whole_stream_digest() {
    let data = bytes(3 << 20, 42);
    let mut child = Command::new(env!("CARGO_BIN_EXE_weightguard"))
        .args(["hash", "--json", "/dev/stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = {
        let data = data.clone();
        std::thread::spawn(move || stdin.write_all(&data))
    };
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("writer").expect("write");
    assert!(out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    let f = &report["files"][0];
    assert_eq!(f["read"], "stream");
    assert_eq!(f["size"].as_u64(), Some(data.len() as u64));
    assert_eq!(
        f["blake3"].as_str(),
        Some(blake3_hex_via_python(&data).as_str())
    );
}

fn blake3_hex_via_python(data: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("d.bin");
    std::fs::write(&p, data).expect("write");
    reference(std::slice::from_ref(&p))[p.to_str().expect("utf-8")]["whole"]
        .as_str()
        .expect("hex")
        .to_owned()
}
