//! GGUF files written by the reference writer (the Python `gguf` package): exact parameter counts
//! across quantization types, metadata of every value type, architecture facts, versions, split
//! models, unknown types; and hand-made malformed files, each rejected with its own message.

mod common;
use common::*;
use std::path::Path;
use weightguard::artifact;

/// Writes a GGUF with one tensor per quantization type (bytes of the right size for each type's
/// blocks), metadata of every value type, and prints what the reference reader sees.
const WRITE_QUANTS: &str = r#"
import sys, json, numpy as np, gguf
from gguf import GGUFWriter, GGMLQuantizationType as Q, GGML_QUANT_SIZES
path = sys.argv[1]
w = GGUFWriter(path, "llama")
w.add_block_count(2); w.add_embedding_length(256); w.add_head_count(8); w.add_head_count_kv(2)
w.add_expert_count(4); w.add_expert_used_count(2); w.add_feed_forward_length(512)
w.add_token_list([f"t{i}" for i in range(300)])
w.add_uint8("x.u8", 7); w.add_int8("x.i8", -7); w.add_uint16("x.u16", 700)
w.add_int16("x.i16", -700); w.add_uint32("x.u32", 70000); w.add_int32("x.i32", -70000)
w.add_float32("x.f32", 1.5); w.add_bool("x.bool", True); w.add_string("x.str", "h\u00e9llo")
w.add_uint64("x.u64", 2**40); w.add_int64("x.i64", -2**40); w.add_float64("x.f64", 2.25)
w.add_array("x.nested", [[1, 2], [3]])
types = [("token_embd.weight", Q.F32, (64, 256)), ("blk.0.attn_q.weight", Q.F16, (256, 256)),
         ("blk.0.attn_k.weight", Q.BF16, (64, 256)), ("blk.0.attn_v.weight", Q.Q8_0, (64, 256)),
         ("blk.0.ffn_up.weight", Q.Q4_K, (512, 256)), ("blk.0.ffn_down.weight", Q.Q6_K, (256, 512)),
         ("blk.0.ffn_gate_exps.weight", Q.MXFP4, (4, 128, 256)),
         ("blk.1.attn_q.weight", Q.Q4_0, (256, 256)), ("blk.1.attn_k.weight", Q.IQ4_XS, (64, 256)),
         ("blk.1.ffn_up.weight", Q.TQ2_0, (3, 256)), ("blk.1.attn_v.weight", Q.Q2_K, (8, 256)),
         ("blk.1.ffn_down.weight", Q.IQ2_XXS, (8, 256)), ("blk.1.ffn_gate.weight", Q.Q5_1, (8, 64)),
         ("output_norm.weight", Q.F32, (256,))]
for name, t, shape in types:
    block, size = GGML_QUANT_SIZES[t]
    data = np.random.randint(0, 255, size=(*shape[:-1], shape[-1] // block * size), dtype=np.uint8)
    w.add_tensor(name, data, raw_dtype=t)
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
r = gguf.GGUFReader(path)
print(json.dumps([{"name": t.name, "type": t.tensor_type.name, "elements": int(t.n_elements),
    "bytes": int(t.n_bytes), "offset": int(t.data_offset), "shape": [int(x) for x in t.shape]}
    for t in r.tensors]))
"#;

fn write_quants(dir: &Path) -> (std::path::PathBuf, serde_json::Value) {
    let path = dir.join("model-q.gguf");
    let out = run_python(WRITE_QUANTS, &[&path]);
    (path, serde_json::from_str(&out).unwrap())
}

#[test]
fn quantized_tensors_are_counted_by_their_dimensions() {
    let dir = tempfile::tempdir().unwrap();
    let (path, expected) = write_quants(dir.path());
    let expected = expected.as_array().unwrap();
    let r = inspect_json(&path);
    assert_eq!(r["format"], "gguf");
    assert_eq!(r["safe"], true);
    assert_eq!(r["tensor_count"], expected.len());
    let params: u64 = expected
        .iter()
        .map(|t| t["elements"].as_u64().unwrap())
        .sum();
    let bytes: u64 = expected.iter().map(|t| t["bytes"].as_u64().unwrap()).sum();
    assert_eq!(r["parameters"]["total"], params);
    // Issue 14 item 11: the fused experts (4 experts, 2 used) count half as active.
    let experts: u64 = expected
        .iter()
        .filter(|t| t["name"].as_str().unwrap().contains("_exps"))
        .map(|t| t["elements"].as_u64().unwrap())
        .sum();
    assert_eq!(r["parameters"]["active"], params - experts / 2, "{r}");
    assert_eq!(r["data_bytes"], bytes);
    assert_eq!(r["warnings"], serde_json::json!([]));
    for (ty, n) in [
        ("MXFP4", 4 * 128 * 256),
        ("Q4_K", 512 * 256),
        ("Q6_K", 256 * 512),
        ("Q8_0", 64 * 256),
        ("BF16", 64 * 256),
        ("F16", 256 * 256),
        ("F32", 64 * 256 + 256),
        ("TQ2_0", 3 * 256),
    ] {
        assert_eq!(r["parameters"]["by_dtype"][ty], n, "{ty}");
    }
    // Every tensor sits exactly where the reference reader finds it: the ranges `hash` digests.
    let a = artifact::open(&path).unwrap();
    for (t, e) in a.tensors.iter().zip(expected) {
        assert_eq!(t.name, e["name"].as_str().unwrap());
        assert_eq!(t.dtype.name(), e["type"].as_str().unwrap());
        assert_eq!(t.elements, e["elements"].as_u64().unwrap(), "{}", t.name);
        assert_eq!(t.offset, e["offset"].as_u64().unwrap(), "{}", t.name);
        assert_eq!(t.len, e["bytes"].as_u64().unwrap(), "{}", t.name);
        let region = &a.regions[t.region];
        assert_eq!(
            (region.offset, region.len, region.exact),
            (t.offset, t.len, true)
        );
    }
    assert_eq!(a.regions.len(), a.tensors.len());
    // Header, metadata and tensor infos only (plus at most one chunk of read-ahead).
    assert!(a.bytes_read < a.files[0].header_bytes + 64 * 1024 + 1);
}

#[test]
fn architecture_facts_come_from_gguf_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_quants(dir.path());
    let r = inspect_json(&path);
    let arch = &r["architecture"];
    assert_eq!(arch["model_type"], "llama");
    for (fact, value, key) in [
        ("layers", 2, "llama.block_count"),
        ("hidden_size", 256, "llama.embedding_length"),
        ("attention_heads", 8, "llama.attention.head_count"),
        ("kv_heads", 2, "llama.attention.head_count_kv"),
        ("experts", 4, "llama.expert_count"),
        ("experts_per_token", 2, "llama.expert_used_count"),
        ("intermediate_size", 512, "llama.feed_forward_length"),
        ("vocab_size", 300, "tokenizer.ggml.tokens"),
    ] {
        assert_eq!(arch[fact]["value"], value, "{fact}");
        assert_eq!(arch[fact]["key"], key, "{fact}");
    }
    let a = artifact::open(&path).unwrap();
    let m = &a.files[0].metadata;
    assert_eq!(m["x.i8"], "-7");
    assert_eq!(m["x.i64"], "-1099511627776");
    assert_eq!(m["x.f32"], "1.5");
    assert_eq!(m["x.bool"], "true");
    assert_eq!(m["x.str"], "h\u{e9}llo");
    assert_eq!(m["x.nested"], "[array of 2 array]");
    assert_eq!(m["tokenizer.ggml.tokens"], "[array of 300 string]");
    assert_eq!(m["gguf.version"], "3");
}

/// Byte offset of the first tensor info's type field, found by its name.
fn type_field_offset(bytes: &[u8], name: &str) -> usize {
    let at = bytes
        .windows(name.len())
        .position(|w| w == name.as_bytes())
        .unwrap();
    let n_dims = u32::from_le_bytes(bytes[at + name.len()..][..4].try_into().unwrap()) as usize;
    at + name.len() + 4 + 8 * n_dims
}

#[test]
fn versions_two_and_three_are_read_and_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_quants(dir.path());
    let v3 = std::fs::read(&path).unwrap();
    let total = inspect_json(&path)["parameters"]["total"].clone();
    let mut v2 = v3.clone();
    v2[4] = 2;
    let p2 = dir.path().join("v2.gguf");
    std::fs::write(&p2, &v2).unwrap();
    assert_eq!(inspect_json(&p2)["parameters"]["total"], total);
    let mut v1 = v3;
    v1[4] = 1;
    let p1 = dir.path().join("v1.gguf");
    std::fs::write(&p1, &v1).unwrap();
    let out = weightguard(&["inspect", p1.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("GGUF version 1 is not supported"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_unknown_tensor_type_is_a_warning_and_the_rest_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (path, expected) = write_quants(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    let at = type_field_offset(&bytes, "blk.1.ffn_up.weight");
    bytes[at..at + 4].copy_from_slice(&99u32.to_le_bytes());
    let p = dir.path().join("unknown-type.gguf");
    std::fs::write(&p, &bytes).unwrap();
    let r = inspect_json(&p);
    assert_eq!(r["tensor_count"], expected.as_array().unwrap().len());
    assert_eq!(r["parameters"]["by_dtype"]["ggml_type_99"], 3 * 256);
    let warnings = r["warnings"].to_string();
    assert!(
        warnings.contains("blk.1.ffn_up.weight` (type id 99)"),
        "{warnings}"
    );
    let a = artifact::open(&p).unwrap();
    let t = a
        .tensors
        .iter()
        .find(|t| t.name == "blk.1.ffn_up.weight")
        .unwrap();
    let next = a
        .tensors
        .iter()
        .map(|t| t.offset)
        .filter(|&o| o > t.offset)
        .min()
        .unwrap();
    assert_eq!(
        t.offset + t.len,
        next,
        "an unknown type spans to the next tensor"
    );
    assert!(!a.regions[t.region].exact);
}

const WRITE_SPLIT: &str = r#"
import sys, os, json, numpy as np
from gguf import GGUFWriter
d = sys.argv[1]
w = GGUFWriter(os.path.join(d, "m.gguf"), "qwen2", split_max_tensors=2)
w.add_block_count(3)
n = 0
for i in range(5):
    t = np.ones((7 + i, 32), dtype=np.float16)
    n += t.size
    w.add_tensor(f"blk.{i}.w.weight", t)
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
print(json.dumps({"params": n, "files": sorted(os.listdir(d))}))
"#;

#[test]
fn split_models_are_read_whole_from_any_part_or_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let expected: serde_json::Value =
        serde_json::from_str(&run_python(WRITE_SPLIT, &[dir.path()])).unwrap();
    assert_eq!(expected["files"][0], "m-00001-of-00003.gguf");
    for path in [
        dir.path().to_owned(),
        dir.path().join("m-00002-of-00003.gguf"),
    ] {
        let r = inspect_json(&path);
        assert_eq!(r["layout"], "sharded", "{}", path.display());
        assert_eq!(r["files"].as_array().unwrap().len(), 3);
        assert_eq!(r["parameters"]["total"], expected["params"]);
        assert_eq!(r["tensor_count"], 5);
        assert_eq!(r["architecture"]["layers"]["value"], 3);
        assert_eq!(r["warnings"], serde_json::json!([]));
    }
    std::fs::remove_file(dir.path().join("m-00003-of-00003.gguf")).unwrap();
    let r = inspect_json(&dir.path().join("m-00001-of-00003.gguf"));
    assert!(r["warnings"].to_string().contains("1 parts are missing"));
}

#[test]
fn detection_is_by_content_not_name() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_quants(dir.path());
    let renamed = dir.path().join("weights.bin");
    std::fs::rename(&path, &renamed).unwrap();
    assert_eq!(inspect_json(&renamed)["format"], "gguf");
    assert_eq!(inspect_json(dir.path())["format"], "gguf");
    let text = dir.path().join("notes.gguf.txt");
    std::fs::write(&text, "hello").unwrap();
    let out = weightguard(&["inspect", text.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not a recognised weight format"));
}

// ---- malformed files, built byte by byte ----

fn s(v: &mut Vec<u8>, text: &str) {
    v.extend_from_slice(&(text.len() as u64).to_le_bytes());
    v.extend_from_slice(text.as_bytes());
}

fn header(tensors: u64, kvs: u64) -> Vec<u8> {
    let mut v = b"GGUF".to_vec();
    v.extend_from_slice(&3u32.to_le_bytes());
    v.extend_from_slice(&tensors.to_le_bytes());
    v.extend_from_slice(&kvs.to_le_bytes());
    v
}

/// One tensor info: name, dims, type, offset.
fn tensor(v: &mut Vec<u8>, name: &str, dims: &[u64], ty: u32, offset: u64) {
    s(v, name);
    v.extend_from_slice(&(dims.len() as u32).to_le_bytes());
    for d in dims {
        v.extend_from_slice(&d.to_le_bytes());
    }
    v.extend_from_slice(&ty.to_le_bytes());
    v.extend_from_slice(&offset.to_le_bytes());
}

fn padded(mut v: Vec<u8>, data: usize) -> Vec<u8> {
    v.resize(v.len().next_multiple_of(32) + data, 0);
    v
}

fn malformed_cases() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let mut cases = Vec::new();
    let mut ok = header(1, 0);
    tensor(&mut ok, "w", &[32, 2], 8, 0);
    let ok = padded(ok, 68);
    cases.push((
        "truncated header",
        ok[..10].to_vec(),
        "the tensor count needs 8 bytes",
    ));
    cases.push((
        "truncated data",
        ok[..ok.len() - 1].to_vec(),
        "runs past the end",
    ));
    cases.push((
        "huge metadata count",
        header(0, u64::MAX),
        "metadata count is 18446744073709551615, over the limit",
    ));
    cases.push((
        "huge tensor count",
        header(u64::MAX / 2, 0),
        "tensor count is 9223372036854775807, over the limit",
    ));
    cases.push((
        "counts beyond the file",
        header(1000, 1000),
        "the metadata entries needs 13000 bytes",
    ));
    let mut v = header(0, 1);
    v.extend_from_slice(&u64::MAX.to_le_bytes());
    v.resize(v.len() + 16, 0);
    cases.push((
        "huge string",
        v,
        "length of a metadata key is 18446744073709551615, over the limit",
    ));
    let mut v = header(0, 1);
    s(&mut v, "k");
    v.extend_from_slice(&8u32.to_le_bytes());
    v.extend_from_slice(&1000u64.to_le_bytes());
    cases.push((
        "string beyond the file",
        v,
        "a string value needs 1000 bytes",
    ));
    let mut v = header(0, 1);
    s(&mut v, "k");
    v.extend_from_slice(&9u32.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&(1u64 << 40).to_le_bytes());
    cases.push((
        "huge array",
        v,
        "metadata array length is 1099511627776, over the limit",
    ));
    let mut v = header(0, 1);
    s(&mut v, "k");
    v.extend_from_slice(&9u32.to_le_bytes());
    for _ in 0..6 {
        v.extend_from_slice(&9u32.to_le_bytes());
        v.extend_from_slice(&1u64.to_le_bytes());
    }
    v.resize(v.len() + 64, 0);
    cases.push((
        "deep nesting",
        v,
        "nesting of metadata arrays is 5, over the limit of 4",
    ));
    let mut v = header(0, 1);
    s(&mut v, "k");
    v.extend_from_slice(&13u32.to_le_bytes());
    v.extend_from_slice(&[0; 8]);
    cases.push(("unknown value type", v, "unknown metadata value type 13"));
    let mut v = header(0, 1);
    s(&mut v, "k");
    v.extend_from_slice(&7u32.to_le_bytes());
    v.extend_from_slice(&[2; 13]);
    cases.push(("bad bool", v, "a bool value must be 0 or 1, found 2"));
    let mut v = header(0, 2);
    for _ in 0..2 {
        s(&mut v, "k");
        v.extend_from_slice(&0u32.to_le_bytes());
        v.push(1);
    }
    cases.push(("duplicate key", v, "duplicate metadata key `k`"));
    let mut v = header(0, 1);
    s(&mut v, "general.alignment");
    v.extend_from_slice(&4u32.to_le_bytes());
    v.extend_from_slice(&24u32.to_le_bytes());
    v.resize(v.len() + 16, 0);
    cases.push((
        "bad alignment",
        v,
        "`general.alignment` must be a power of two, found 24",
    ));
    let mut v = header(1, 0);
    tensor(&mut v, "w", &[1, 1, 1, 1, 1], 0, 0);
    cases.push((
        "too many dims",
        padded(v, 4),
        "tensor `w`: dimension count is 5, over the limit of 4",
    ));
    let mut v = header(1, 0);
    tensor(&mut v, "w", &[1 << 32, 1 << 32], 0, 0);
    cases.push((
        "dims overflow",
        padded(v, 4),
        "tensor `w`: dimensions [4294967296, 4294967296] overflow",
    ));
    let mut v = header(1, 0);
    tensor(&mut v, "w", &[32], 0, 8);
    cases.push((
        "misaligned tensor",
        padded(v, 200),
        "data offset 8 is not a multiple of the alignment 32",
    ));
    let mut v = header(1, 0);
    tensor(&mut v, "w", &[48], 8, 0);
    cases.push((
        "partial block",
        padded(v, 200),
        "first dimension 48 is not a whole number of Q8_0 blocks of 32",
    ));
    let mut v = header(2, 0);
    tensor(&mut v, "a", &[16], 0, 0);
    tensor(&mut v, "b", &[16], 0, 32);
    cases.push(("overlap", padded(v, 128), "tensors `a` and `b` overlap"));
    let mut v = header(2, 0);
    tensor(&mut v, "a", &[8], 0, 0);
    tensor(&mut v, "a", &[8], 0, 32);
    cases.push((
        "duplicate tensor",
        padded(v, 64),
        "duplicate tensor name `a`",
    ));
    let mut v = b"GGUX".to_vec();
    v.resize(64, 0);
    cases.push(("bad magic", v, "expected the magic `GGUF`"));
    cases
}

#[test]
fn malformed_gguf_is_rejected_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures: Vec<String> = Vec::new();
    for (name, bytes, expected) in malformed_cases() {
        let path = dir.path().join(format!("{}.gguf", name.replace(' ', "-")));
        std::fs::write(&path, &bytes).unwrap();
        let out = weightguard(&["inspect", path.to_str().unwrap()]);
        let err = stderr(&out);
        let ok = out.status.code() == Some(1)
            && err.contains(expected)
            && err.contains(path.to_str().unwrap())
            && !err.contains("panicked");
        if !ok {
            failures.push(format!("{name}: expected `{expected}` in: {err}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
