//! `weightguard hash` on GGUF files (written by the reference writer, the Python `gguf` package)
//! and PyTorch checkpoints (`tests/common/torch_like.py`): every segment and tensor digest
//! against BLAKE3 (the Python `blake3` package) of bytes located independently in Python, the
//! segments tiling the file, the model root against the specification, and `--b3sum` against the
//! whole-file digest. Run through `scripts/test`, which sets WEIGHTGUARD_PYTHON.

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const TORCH_LIKE: &str = include_str!("common/torch_like.py");

/// The root of docs/digest.md over `entries` (name, dtype, shape, digest bytes).
const ROOT: &str = r#"
import struct, blake3
def root(entries):
    enc = struct.pack("<Q", len(entries))
    for name, dtype, shape, d in sorted(entries):
        enc += struct.pack("<Q", len(name)) + name + struct.pack("<Q", len(dtype)) + dtype
        enc += struct.pack("<Q", len(shape)) + b"".join(struct.pack("<Q", x) for x in shape) + d
    return blake3.blake3(enc, derive_key_context="weightguard 2026 model root v1").hexdigest()
def gaps(data, start, ranges):
    out, pos = [], start
    for s, e in sorted(ranges):
        if s > pos:
            out.append([pos, s - pos, blake3.blake3(data[pos:s]).hexdigest()])
        pos = max(pos, e)
    if pos < len(data):
        out.append([pos, len(data) - pos, blake3.blake3(data[pos:]).hexdigest()])
    return out
"#;

/// Writes a GGUF (alignment `sys.argv[2]`, tensors of odd sizes so that padding follows them,
/// infos not in data order) and prints what the reference reader locates, with digests of the
/// bytes sliced at its offsets.
const WRITE_GGUF: &str = r#"
import sys, json, numpy as np, gguf
from gguf import GGUFWriter, GGMLQuantizationType as Q, GGML_QUANT_SIZES
path, align, big = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "big"
w = GGUFWriter(path, "llama")
if align != 32:
    w.add_custom_alignment(align)
w.add_block_count(1); w.add_string("x.str", "h\u00e9llo")
rng = np.random.default_rng(7)
types = [("token_embd.weight", Q.F32, (5, 3)), ("blk.0.attn_q.weight", Q.Q8_0, (3, 64)),
         ("blk.0.ffn_up.weight", Q.Q4_K, (2, 256)), ("blk.0.attn_norm.weight", Q.F16, (7,)),
         ("blk.0.attn_k.weight", Q.BF16, (3, 5)), ("output_norm.weight", Q.F32, (1,))]
if big:
    types.append(("output.weight", Q.F16, (1024, 33000)))
for name, t, shape in types:
    block, size = GGML_QUANT_SIZES[t]
    data = rng.integers(0, 255, size=(*shape[:-1], shape[-1] // block * size), dtype=np.uint8)
    w.add_tensor(name, data, raw_dtype=t)
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
r = gguf.GGUFReader(path)
data = open(path, "rb").read()
start = int(r.data_offset)
out = {"whole": blake3.blake3(data).hexdigest(), "data_offset": start,
       "header": blake3.blake3(data[:start]).hexdigest(), "tensors": {}}
entries, ranges = [], []
for t in r.tensors:
    s, n = int(t.data_offset), int(t.n_bytes)
    d = blake3.blake3(data[s:s + n]).digest()
    shape = [int(x) for x in t.shape]
    out["tensors"][t.name] = {"offset": s, "len": n, "blake3": d.hex(), "type": t.tensor_type.name,
                              "shape": shape}
    entries.append((t.name.encode(), t.tensor_type.name.encode(), shape, d))
    ranges.append((s, s + n))
out["gaps"] = gaps(data, start, ranges)
out["root"] = root(entries)
print(json.dumps(out))
"#;

/// Writes the torch-like state dict as a zip checkpoint (`sys.argv[2] == "zip"`) or a legacy one,
/// and prints each storage's and each tensor view's digest computed from the objects (not from
/// the file), the zip members' data offsets from Python's zipfile, and the root.
const WRITE_TORCH: &str = r#"
import json, blake3
path = sys.argv[1]
sd = state_dict()
(save if sys.argv[2] == "zip" else save_legacy)(sd, path)
data = open(path, "rb").read()
DTYPES = {"FloatStorage": "F32", "HalfStorage": "F16", "BFloat16Storage": "BF16",
          "DoubleStorage": "F64", "LongStorage": "I64", "BoolStorage": "BOOL"}
out = {"whole": blake3.blake3(data).hexdigest(), "storages": {}, "tensors": {}}
for key, s in storages_of(sd, {}).items():
    out["storages"][f"data/{key}"] = {"blake3": blake3.blake3(s.raw()).hexdigest(),
                                      "len": len(s.raw())}
if sys.argv[2] == "zip":
    z = zipfile.ZipFile(path)
    ranges = []
    for i in z.infolist():
        n, x = struct.unpack("<HH", data[i.header_offset + 26:i.header_offset + 30])
        start = i.header_offset + 30 + n + x
        name = i.filename[len("archive/"):]
        if name in out["storages"]:
            out["storages"][name]["offset"] = start
            ranges.append((start, start + i.file_size))
    out["gaps"] = gaps(data, 0, ranges)
entries = []
for name, t in sd.items():
    if isinstance(t, Parameter):
        t = t.tensor
    es = STORAGES[t.storage.kind][1]
    span = 0 if 0 in t.size else 1 + sum((d - 1) * s for d, s in zip(t.size, t.stride))
    d = blake3.blake3(t.storage.raw()[t.offset * es:(t.offset + span) * es]).digest()
    out["tensors"][name] = {"blake3": d.hex(), "len": span * es, "storage": f"data/{t.storage.key}",
                            "view_offset": t.offset * es}
    dtype = DTYPES[t.storage.kind]
    entries.append((name.encode(), dtype.encode(), list(t.size), d))
out["root"] = root(entries)
print(json.dumps(out))
"#;

fn hash_json(path: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["hash", "--json"];
    args.extend(extra);
    args.push(path.to_str().expect("utf-8 path"));
    let out = weightguard(&args);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("hash --json prints one JSON object")
}

/// Checks that the segments tile the file in order and returns them.
fn tiling(f: &Value) -> Vec<Value> {
    let segments = f["segments"].as_array().expect("segments").clone();
    let mut at = 0;
    for s in &segments {
        assert_eq!(s["offset"].as_u64(), Some(at), "segment {s}");
        at += s["len"].as_u64().expect("len");
    }
    assert_eq!(Some(at), f["size"].as_u64(), "segments cover the file");
    segments
}

fn gaps_of(segments: &[Value]) -> Vec<Value> {
    segments
        .iter()
        .filter(|s| s["kind"] == "gap")
        .map(|s| serde_json::json!([s["offset"], s["len"], s["blake3"]]))
        .collect()
}

fn write_gguf(dir: &Path, name: &str, align: u32, big: bool) -> (PathBuf, Value) {
    let path = dir.join(name);
    let script = format!("{ROOT}\n{WRITE_GGUF}");
    let align = align.to_string();
    let size = if big { "big" } else { "small" };
    let out = run_python(&script, &[&path, Path::new(&align), Path::new(size)]);
    (path, serde_json::from_str(&out).expect("reference JSON"))
}

fn check_gguf(path: &Path, exp: &Value, extra: &[&str]) {
    let report = hash_json(path, extra);
    assert_eq!(report["root"], exp["root"], "root {extra:?}");
    let f = &report["files"][0];
    assert_eq!(f["kind"], "gguf");
    let segments = tiling(f);
    assert_eq!(segments[0]["kind"], "header");
    assert_eq!(f["header"]["offset"], 0);
    assert_eq!(f["header"]["len"], exp["data_offset"]);
    assert_eq!(f["header"]["blake3"], exp["header"]);
    assert_eq!(segments[0]["blake3"], exp["header"]);
    let tensors = f["tensors"].as_array().expect("tensors");
    let want = exp["tensors"].as_object().expect("tensors");
    assert_eq!(tensors.len(), want.len());
    assert_eq!(report["tensor_count"].as_u64(), Some(want.len() as u64));
    let mut last = 0;
    for t in tensors {
        let name = t["name"].as_str().expect("name");
        let e = &want[name];
        assert_eq!(t["blake3"], e["blake3"], "{name} {extra:?}");
        assert_eq!(t["offset"], e["offset"], "{name}");
        assert_eq!(t["len"], e["len"], "{name}");
        assert_eq!(t["dtype"], e["type"], "{name}");
        assert_eq!(t["shape"], e["shape"], "{name}");
        assert!(t.get("storage").is_none());
        let offset = t["offset"].as_u64().expect("offset");
        assert!(offset >= last, "tensors in data order");
        last = offset;
        // Each tensor is a segment of its own with the same digest.
        let s = segments
            .iter()
            .find(|s| s["name"] == name)
            .expect("tensor segment");
        assert_eq!((&s["kind"], &s["blake3"]), (&"tensor".into(), &t["blake3"]));
    }
    assert_eq!(serde_json::json!(gaps_of(&segments)), exp["gaps"], "gaps");
    if extra.contains(&"--b3sum") {
        assert_eq!(f["blake3"], exp["whole"]);
    } else {
        assert_eq!(f["blake3"], Value::Null);
    }
}

#[test]
fn gguf_segments_tensors_and_root_match_the_reference() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, align) in [("model.gguf", 32), ("aligned-64.gguf", 64)] {
        let (path, exp) = write_gguf(dir.path(), name, align, false);
        // Padding follows the odd-sized tensors: there are gaps to digest.
        assert!(!exp["gaps"].as_array().expect("gaps").is_empty(), "{name}");
        for extra in [&[][..], &["--b3sum"][..], &["--b3sum", "--no-mmap"][..]] {
            check_gguf(&path, &exp, extra);
        }
    }
}

#[test]
fn large_gguf_is_segmented_on_the_mapped_and_buffered_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, exp) = write_gguf(dir.path(), "big.gguf", 32, true);
    assert!(std::fs::metadata(&path).expect("meta").len() >= 64 << 20);
    for extra in [&["--b3sum"][..], &["--b3sum", "--no-mmap"][..]] {
        check_gguf(&path, &exp, extra);
        let read = hash_json(&path, extra)["files"][0]["read"].clone();
        if cfg!(target_os = "linux") {
            let want = if extra.contains(&"--no-mmap") {
                "buffered"
            } else {
                "mmap"
            };
            assert_eq!(read, want);
        }
    }
}

#[test]
fn gguf_is_recognised_by_content_not_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, exp) = write_gguf(dir.path(), "model.gguf", 32, false);
    let renamed = dir.path().join("weights.txt");
    std::fs::rename(&path, &renamed).expect("rename");
    check_gguf(&renamed, &exp, &[]);
}

#[test]
fn malformed_gguf_fails_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _) = write_gguf(dir.path(), "model.gguf", 32, false);
    let data = std::fs::read(&path).expect("read");
    // Cut inside the tensor data: the last tensor runs past the end.
    let cut = dir.path().join("cut.bin");
    std::fs::write(&cut, &data[..data.len() - 40]).expect("write");
    // Named .gguf, content unrecognisable: parsed as what the name claims.
    let named = dir.path().join("junk.gguf");
    std::fs::write(&named, b"not a gguf at all").expect("write");
    for p in [&cut, &named] {
        let out = weightguard(&["hash", p.to_str().expect("utf-8")]);
        assert_eq!(out.status.code(), Some(1), "{}", p.display());
        assert!(
            stderr(&out).contains(p.to_str().expect("utf-8")),
            "{}",
            stderr(&out)
        );
        assert!(stdout(&out).is_empty());
    }
}

fn write_torch(dir: &Path, name: &str, kind: &str) -> (PathBuf, Value) {
    let path = dir.join(name);
    let script = format!("{TORCH_LIKE}\n{ROOT}\n{WRITE_TORCH}");
    let out = run_python(&script, &[&path, Path::new(kind)]);
    (path, serde_json::from_str(&out).expect("reference JSON"))
}

fn check_torch(path: &Path, exp: &Value, kind: &str, extra: &[&str]) -> Value {
    let report = hash_json(path, extra);
    assert_eq!(report["root"], exp["root"], "root");
    let f = &report["files"][0];
    assert_eq!(f["kind"], kind);
    assert_eq!(f["header"], Value::Null);
    let segments = tiling(f);
    let storages = exp["storages"].as_object().expect("storages");
    let got: Vec<&Value> = segments.iter().filter(|s| s["kind"] == "storage").collect();
    assert_eq!(got.len(), storages.len(), "one segment per storage");
    for s in got {
        let e = &storages[s["name"].as_str().expect("name")];
        assert_eq!(s["blake3"], e["blake3"], "{}", s["name"]);
        assert_eq!(s["len"], e["len"], "{}", s["name"]);
        if kind == "pytorch" {
            assert_eq!(s["offset"], e["offset"], "{}", s["name"]);
        }
    }
    if kind == "pytorch" {
        assert_eq!(serde_json::json!(gaps_of(&segments)), exp["gaps"], "gaps");
    }
    let tensors = f["tensors"].as_array().expect("tensors");
    let want = exp["tensors"].as_object().expect("tensors");
    assert_eq!(tensors.len(), want.len());
    for t in tensors {
        let name = t["name"].as_str().expect("name");
        let e = &want[name];
        assert_eq!(t["blake3"], e["blake3"], "{name}");
        assert_eq!(t["len"], e["len"], "{name}");
        assert_eq!(t["storage"], e["storage"], "{name}");
        let storage = segments
            .iter()
            .find(|s| s["name"] == e["storage"])
            .expect("storage segment");
        assert_eq!(
            t["offset"].as_u64(),
            Some(storage["offset"].as_u64().unwrap() + e["view_offset"].as_u64().unwrap()),
            "{name}"
        );
    }
    if extra.contains(&"--b3sum") {
        assert_eq!(f["blake3"], exp["whole"]);
    }
    report
}

#[test]
fn pytorch_storages_views_gaps_and_root_match_the_reference() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (zip, exp_zip) = write_torch(dir.path(), "pytorch_model.bin", "zip");
    let (legacy, exp_legacy) = write_torch(dir.path(), "old.pt", "legacy");
    for extra in [&[][..], &["--b3sum"][..], &["--b3sum", "--no-mmap"][..]] {
        check_torch(&zip, &exp_zip, "pytorch", extra);
        check_torch(&legacy, &exp_legacy, "pytorch_legacy", extra);
    }
    // The same tensors in either container: the same root.
    assert_eq!(exp_zip["root"], exp_legacy["root"]);
    // A full view of its storage has the storage's digest; partial views their own bytes'.
    let report = hash_json(&zip, &[]);
    let f = &report["files"][0];
    let tensor = |n: &str| {
        f["tensors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == n)
            .unwrap()
            .clone()
    };
    let storage = |n: &Value| {
        f["segments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == *n)
            .unwrap()
            .clone()
    };
    let embed = tensor("embed.weight");
    assert_eq!(embed["blake3"], storage(&embed["storage"])["blake3"]);
    assert_eq!(tensor("lm_head.weight")["blake3"], embed["blake3"]);
    let k = tensor("layers.0.k.weight");
    assert_ne!(k["blake3"], storage(&k["storage"])["blake3"]);
    assert_eq!(report["tensor_count"], 11);
    // Human output: storages, gaps and tensor views, named.
    let out = weightguard(&["hash", zip.to_str().unwrap()]);
    let text = stdout(&out);
    assert!(text.contains(":(storage data/0)"), "{text}");
    assert!(text.contains(":(gap 0+"), "{text}");
    assert!(text.contains(":layers.0.k.weight"), "{text}");
    assert!(text.contains("(model root: 11 tensors, 1 files"), "{text}");
}

#[test]
fn zip_that_is_no_checkpoint_gets_a_whole_file_digest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("archive.zip");
    let script = format!(
        "{TORCH_LIKE}\nwrite_zip(sys.argv[1], [(\"readme.txt\", b\"hello\")], root=\"docs\")"
    );
    run_python(&script, &[&path]);
    let report = hash_json(&path, &[]);
    let f = &report["files"][0];
    assert_eq!(f["kind"], "other");
    assert_eq!(
        f["blake3"].as_str(),
        Some(
            blake3::hash(&std::fs::read(&path).unwrap())
                .to_hex()
                .as_str()
        )
    );
    assert_eq!(f["segments"], serde_json::json!([]));
    assert_eq!(report["root"], Value::Null);
}

/// GGUF and PyTorch checkpoints in an envelope carry the same per-tensor digests as `hash`: the
/// model root that `seal` and `open` report equals the reference's root. (`open` checks these
/// files by their whole-file digest: `tests/envelope.rs` refuses a changed byte in one.)
#[test]
fn envelopes_of_gguf_and_pytorch_carry_their_tensor_digests() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let keys = d.join("keys");
    let k = |f: &str| keys.join(f).display().to_string();
    let o = weightguard(&["keygen", "--out", keys.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for (name, kind) in [("gguf", "gguf"), ("zip", "zip"), ("legacy", "legacy")] {
        let model = d.join(format!("model-{name}"));
        std::fs::create_dir(&model).unwrap();
        let (file, exp) = match kind {
            "gguf" => write_gguf(&model, "model.gguf", 32, false),
            _ => write_torch(&model, "pytorch_model.bin", kind),
        };
        std::fs::write(model.join("notes.txt"), b"side file\n").unwrap();
        let env = d.join(format!("{name}.age"));
        let o = weightguard(&[
            "seal",
            model.to_str().unwrap(),
            "-r",
            &k("recipient.txt"),
            "--destination",
            "DE",
            "--signing-key",
            &k("signing.key"),
            "-o",
            env.to_str().unwrap(),
            "--tokens",
            "1e12",
            "--json",
        ]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        let sealed: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(sealed["root"], exp["root"], "{name}: seal's root");
        assert_eq!(
            hash_json(&model, &[])["root"],
            exp["root"],
            "{name}: hash's root"
        );

        let out = d.join(format!("opened-{name}"));
        let open = |env: &Path, out: &Path| {
            weightguard(&[
                "open",
                env.to_str().unwrap(),
                "-i",
                &k("identity.txt"),
                "--signer",
                &k("signing.pub"),
                "--site-country",
                "DE",
                "-o",
                out.to_str().unwrap(),
                "--json",
            ])
        };
        let o = open(&env, &out);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        let opened: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(opened["root"], exp["root"], "{name}: open's root");
        // Checked whole, not recomputed per tensor, and the report says so.
        assert_eq!(opened["tensors_verified"], 0, "{name}");
        assert!(
            opened["tensors_signed_only"].as_u64().unwrap() > 0,
            "{name}"
        );
        let back = out.join(file.file_name().unwrap());
        assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&file).unwrap());
    }
}
