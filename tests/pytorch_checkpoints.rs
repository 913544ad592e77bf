//! PyTorch checkpoints in the exact layout `torch.save` writes (zip: `archive/data.pkl`,
//! `archive/data/<key>` stored and 64-byte aligned; legacy: five pickles then raw storages), made
//! by `tests/common/torch_like.py` with Python's own pickle and zipfile: exact counts, dtypes,
//! shared storages and views, byte ranges; and malformed archives and pickles, each rejected
//! with its own message.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use weightguard::artifact::{self, Format, TensorRole};

const TORCH_LIKE: &str = include_str!("common/torch_like.py");

/// Runs `body` after the torch-like helpers; `sys.argv[1]` is `arg`.
fn torch_like(body: &str, arg: &Path) -> String {
    run_python(&format!("{TORCH_LIKE}\n{body}"), &[arg])
}

/// The member data offsets Python's zipfile computes, by member name.
const MEMBER_OFFSETS: &str = r#"
import json
z = zipfile.ZipFile(sys.argv[1])
out = {}
for i in z.infolist():
    with open(sys.argv[1], "rb") as f:
        f.seek(i.header_offset + 26)
        n, x = struct.unpack("<HH", f.read(4))
    out[i.filename] = [i.header_offset + 30 + n + x, i.file_size]
print(json.dumps(out))
"#;

fn state_dict_zip(dir: &Path) -> PathBuf {
    let path = dir.join("pytorch_model.bin");
    torch_like("save(state_dict(), sys.argv[1])", &path);
    path
}

/// Parameters: embed 100x16 F32, q 16x16 BF16, q.bias 16 F16, k and v 16x16 F32 views of one
/// storage, gate 4x16 F32 (a Parameter), head.w 2x3 F64 at an offset. Buffers: the batch
/// counter (I64 scalar), inv_freq (F32 8), a bool mask 4x4. Tied: lm_head = embed.
fn assert_state_dict_counts(r: &serde_json::Value) {
    assert_eq!(r["tensor_count"], 11);
    assert_eq!(
        r["parameters"]["total"],
        1600 + 256 + 16 + 256 + 256 + 64 + 6
    );
    assert_eq!(r["parameters"]["by_dtype"]["F32"], 1600 + 256 + 256 + 64);
    assert_eq!(r["parameters"]["by_dtype"]["BF16"], 256);
    assert_eq!(r["parameters"]["by_dtype"]["F16"], 16);
    assert_eq!(r["parameters"]["by_dtype"]["F64"], 6);
    assert_eq!(r["buffers"]["tensors"], 3);
    assert_eq!(r["buffers"]["elements"], 1 + 8 + 16);
    assert_eq!(r["tied"]["tensors"], 1);
    assert_eq!(r["tied"]["elements"], 1600);
    // Storage bytes, each once: 6400 + 512 + 32 + 2048 + 8 + 32 + 256 + 16 + 80.
    assert_eq!(r["data_bytes"], 9384);
    assert_eq!(r["safe"], true);
    assert_eq!(r["security_findings"], serde_json::json!([]));
}

#[test]
fn zip_checkpoints_are_counted_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_dict_zip(dir.path());
    let r = inspect_json(&path);
    assert_eq!(r["format"], "pytorch");
    assert_state_dict_counts(&r);
    assert_eq!(r["warnings"], serde_json::json!([]));
}

#[test]
fn tensors_and_storages_have_exact_byte_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_dict_zip(dir.path());
    let offsets: serde_json::Value =
        serde_json::from_str(&torch_like(MEMBER_OFFSETS, &path)).unwrap();
    let a = artifact::open(&path).unwrap();
    assert_eq!(a.format, Format::Pytorch);
    assert_eq!(a.regions.len(), 9, "one region per storage");
    for region in &a.regions {
        let member = &offsets[format!("archive/{}", region.name)];
        assert_eq!(
            region.offset,
            member[0].as_u64().unwrap(),
            "{}",
            region.name
        );
        assert_eq!(region.len, member[1].as_u64().unwrap(), "{}", region.name);
        assert_eq!(region.offset % 64, 0, "torch aligns storages to 64 bytes");
        assert!(region.exact);
    }
    let t = |name: &str| a.tensors.iter().find(|t| t.name == name).unwrap();
    let (k, v) = (t("layers.0.k.weight"), t("layers.0.v.weight"));
    assert_eq!(k.region, v.region, "views of one storage share its region");
    let storage = &a.regions[k.region];
    assert_eq!(k.offset, storage.offset + 256 * 4);
    assert_eq!(k.len, 256 * 4);
    // The transposed view reaches elements 0..=255 of the storage.
    assert_eq!((v.offset, v.len), (storage.offset, 256 * 4));
    let head = t("head.w");
    assert_eq!(head.offset, a.regions[head.region].offset + 4 * 8);
    assert_eq!((head.len, head.shape.clone()), (6 * 8, vec![2, 3]));
    let scalar = t("bn.num_batches_tracked");
    assert_eq!((scalar.elements, scalar.len), (1, 8));
    assert_eq!(t("lm_head.weight").role, TensorRole::Tied);
    assert_eq!(t("lm_head.weight").region, t("embed.weight").region);
    assert_eq!(t("layers.0.gate.weight").role, TensorRole::Parameter);
    assert_eq!(t("layers.0.q.weight").dtype.name(), "BF16");
    assert_eq!(a.files[0].metadata["pytorch.version"], "3");
    assert_eq!(a.files[0].metadata["pytorch.byteorder"], "little");
}

#[test]
fn legacy_checkpoints_are_detected_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.pt");
    torch_like("save_legacy(state_dict(), sys.argv[1])", &path);
    let r = inspect_json(&path);
    assert_eq!(r["format"], "pytorch_legacy");
    assert_state_dict_counts(&r);
    // Storages follow the pickles, each after its 8-byte element count.
    let a = artifact::open(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    for region in &a.regions {
        let count = u64::from_le_bytes(
            bytes[region.offset as usize - 8..region.offset as usize]
                .try_into()
                .unwrap(),
        );
        assert!(count > 0 && region.len % count == 0, "{}", region.name);
    }
    let last = a.regions.iter().map(|r| r.offset + r.len).max().unwrap();
    assert_eq!(last, bytes.len() as u64);
}

#[test]
fn format_is_detected_by_content_in_files_and_directories() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_dict_zip(dir.path());
    let renamed = dir.path().join("weights");
    std::fs::rename(&path, &renamed).unwrap();
    assert_eq!(inspect_json(&renamed)["format"], "pytorch");
    let r = inspect_json(dir.path());
    assert_eq!(r["format"], "pytorch");
    assert_eq!(r["parameters"]["total"], 2454);
    // A zip that is no checkpoint beside it is not counted.
    std::fs::write(dir.path().join("other.zip"), empty_zip()).unwrap();
    assert_eq!(inspect_json(dir.path())["parameters"]["total"], 2454);
}

fn empty_zip() -> Vec<u8> {
    let mut v = b"PK\x03\x04".to_vec();
    v.resize(4, 0);
    v.extend_from_slice(b"PK\x05\x06");
    v.resize(v.len() + 18, 0);
    v
}

#[test]
fn the_human_report_names_the_format_and_tied_weights() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_dict_zip(dir.path());
    let out = weightguard(&["inspect", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("PyTorch zip checkpoint, single file"),
        "{text}"
    );
    assert!(
        text.contains("1 tensor naming another tensor's bytes"),
        "{text}"
    );
    assert!(!text.contains("UNSAFE"), "{text}");
}

/// Malformed checkpoints: (name, Python body writing sys.argv[1], expected message).
const MALFORMED: &[(&str, &str, &str)] = &[
    (
        "truncated zip",
        "save(state_dict(), sys.argv[1]); b = open(sys.argv[1],'rb').read(); open(sys.argv[1],'wb').write(b[:-30])",
        "no end of central directory record",
    ),
    (
        "entry count beyond the directory",
        "save(state_dict(), sys.argv[1]); b = bytearray(open(sys.argv[1],'rb').read()); b[-12:-10] = (60000).to_bytes(2,'little'); open(sys.argv[1],'wb').write(b)",
        "entries cannot fit",
    ),
    (
        "local name differs",
        "save(state_dict(), sys.argv[1]); b = bytearray(open(sys.argv[1],'rb').read()); i = b.index(b'archive/version'); b[i:i+7] = b'ARCHIVE'; open(sys.argv[1],'wb').write(b)",
        "local header names `ARCHIVE/version`",
    ),
    (
        "compressed data.pkl",
        "save(state_dict(), sys.argv[1], compress=('data.pkl',))",
        "is compressed or encrypted",
    ),
    (
        "pickle without STOP",
        "save(state_dict(), sys.argv[1], data_pkl=dumps(state_dict())[:-1])",
        "an opcode needs 1 bytes but only 0 remain",
    ),
    (
        "memo key never stored",
        r"save({}, sys.argv[1], data_pkl=b'\x80\x02h\x07.')",
        "memo key 7 was never stored",
    ),
    (
        "huge LONG4",
        r"save({}, sys.argv[1], data_pkl=b'\x80\x02\x8b\xff\xff\xff\x7f.')",
        "integer of 2147483647 bytes, over the limit of 64",
    ),
    (
        "marks nested past the stack limit",
        r"save({}, sys.argv[1], data_pkl=b'\x80\x02' + b'(' * 1000001 + b'.')",
        "stack deeper than 1000000",
    ),
    (
        "unknown opcode",
        r"save({}, sys.argv[1], data_pkl=b'\x80\x02\xff.')",
        "unknown opcode 0xff",
    ),
    (
        "stack underflow",
        r"save({}, sys.argv[1], data_pkl=b'\x80\x02R.')",
        "stack underflow",
    ),
    (
        "view beyond its storage",
        "sd = {'w': Tensor(Storage(0, 'FloatStorage', 4), 2, (4,), (1,))}; save(sd, sys.argv[1])",
        "runs past its storage `0`",
    ),
    (
        "storage size differs from its member",
        "sd = {'w': contiguous(Storage(0, 'FloatStorage', 4), (4,))}; save(sd, sys.argv[1], data_pkl=dumps({'w': contiguous(Storage(0, 'FloatStorage', 5), (5,))}))",
        "5 elements of torch.FloatStorage need 20 bytes, but the file holds 16",
    ),
    (
        "missing storage",
        "save({}, sys.argv[1], data_pkl=dumps({'w': contiguous(Storage(9, 'FloatStorage', 4), (4,))}))",
        "storage `9` is not in the file",
    ),
];

#[test]
fn malformed_checkpoints_are_rejected_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (name, body, expected) in MALFORMED {
        let path = dir.path().join(format!("{}.bin", name.replace(' ', "-")));
        torch_like(body, &path);
        let out = weightguard(&["inspect", path.to_str().unwrap()]);
        // A pickle that cannot be scanned to its end is unsafe (issue 14): a security finding
        // naming the cause, exit 6; the other malformations are errors, exit 1.
        let unscannable = [
            "pickle without STOP",
            "memo key never stored",
            "huge LONG4",
            "marks nested past the stack limit",
            "unknown opcode",
            "stack underflow",
        ]
        .contains(name);
        let (err, code) = if unscannable {
            (stdout(&out), 6)
        } else {
            (stderr(&out), 1)
        };
        let ok = out.status.code() == Some(code)
            && err.contains(expected)
            && err.contains(path.to_str().unwrap())
            && !err.contains("panicked");
        if !ok {
            failures.push(format!("{name}: expected `{expected}` in: {err}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Issue 14 item 5: what torch's weights-only unpickler accepts is no finding: bytes through
/// `_codecs.encode`, devices, dtypes, sets, Counters, quantized tensors, torch <= 0.3 tensors.
#[test]
fn what_torch_weights_only_accepts_is_not_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accepted.bin");
    torch_like(
        r#"
s = [Storage(0, "QInt8Storage", 16), Storage(1, "FloatStorage", 6)]
sd = collections.OrderedDict()
sd["q.weight"] = QTensor(s[0], 0, (4, 4), (4, 1))
sd["old.weight"] = OldTensor(s[1], 0, (2, 3), (3, 1))
extra = {"bytes": b"\x00\x01abc", "set": {1, 2}, "counter": collections.Counter(a=2),
         "dtype": _global("torch", "bfloat16"), "device": _global("torch", "device")}
save({"state_dict": sd, "extra": extra}, sys.argv[1])
"#,
        &path,
    );
    let r = inspect_json(&path);
    assert_eq!(r["safe"], true, "{r}");
    assert_eq!(r["tensor_count"], 2, "{r}");
    // torch.device called, as torch pickles a device.
    let dev = dir.path().join("device.bin");
    let pkl = "80027d58010000006463746f7263680a6465766963650a5803000000637075855273";
    torch_like(
        &format!("save({{}}, sys.argv[1], data_pkl=bytes.fromhex('{pkl}') + b'.')"),
        &dev,
    );
    assert_eq!(inspect_json(&dev)["safe"], true);
}

/// Issue 14 item 7: a Python 2-era state dict, `OrderedDict([[key, tensor], …])`, counts its
/// tensors (it counted none).
#[test]
fn ordered_dict_from_pairs_counts_its_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("py2.bin");
    torch_like(
        r#"
s = [Storage(0, "FloatStorage", 12), Storage(1, "FloatStorage", 4)]
save(PairsDict([("fc.weight", contiguous(s[0], (3, 4))), ("fc.bias", contiguous(s[1], (4,)))]),
     sys.argv[1])
"#,
        &path,
    );
    let r = inspect_json(&path);
    assert_eq!(r["tensor_count"], 2, "{r}");
    assert_eq!(r["parameters"]["total"], 16, "{r}");
    assert_eq!(r["safe"], true, "{r}");
}

/// Issue 14 item 8: a training checkpoint's optimizer state is reported apart and an EMA copy
/// of the weights is counted once (Adam moments were counted as parameters: 3x too many).
#[test]
fn optimizer_state_and_ema_copies_are_not_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.pt");
    torch_like(
        r#"
def t(key, size):
    n = 1
    for d in size: n *= d
    return contiguous(Storage(key, "FloatStorage", n), size)
model = {"fc.weight": t(0, (4, 8)), "fc.bias": t(1, (4,))}
ema = {"fc.weight": t(2, (4, 8)), "fc.bias": t(3, (4,))}
opt = {"state": {0: {"step": t(4, ()), "exp_avg": t(5, (4, 8)), "exp_avg_sq": t(6, (4, 8))},
                 1: {"step": t(7, ()), "exp_avg": t(8, (4,)), "exp_avg_sq": t(9, (4,))}},
       "param_groups": [{"lr": 0.1, "params": [0, 1]}]}
save({"model": model, "optimizer": opt, "model_ema": ema, "epoch": 3}, sys.argv[1])
"#,
        &path,
    );
    let r = inspect_json(&path);
    assert_eq!(r["parameters"]["total"], 36, "{r}");
    assert_eq!(r["optimizer_state"]["tensors"], 6, "{r}");
    assert_eq!(r["optimizer_state"]["elements"], 2 + 2 * 36, "{r}");
    assert_eq!(r["ema_copies"]["elements"], 36, "{r}");
}

/// Issue 14 item 9: an int8 `weight` beside its `SCB` scales (bitsandbytes LLM.int8) is a
/// quantized learned parameter, one per element.
#[test]
fn int8_weights_with_scb_are_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("int8.bin");
    torch_like(
        r#"
sd = {"q.weight": contiguous(Storage(0, "CharStorage", 32), (4, 8)),
      "q.SCB": contiguous(Storage(1, "FloatStorage", 4), (4,)),
      "q.bias": contiguous(Storage(2, "HalfStorage", 4), (4,))}
save(sd, sys.argv[1])
"#,
        &path,
    );
    let r = inspect_json(&path);
    assert_eq!(r["parameters"]["total"], 36, "{r}");
    assert_eq!(r["packed_weights"]["tensors"], 0, "{r}");
    assert_eq!(r["quantization_aux"]["elements"], 4, "{r}");
}

/// Issue 14 item 10: a view of part of another tensor's storage is counted by the elements it
/// adds; every name's elements stay in `elements`.
#[test]
fn overlapping_views_count_each_storage_element_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("views.bin");
    torch_like(
        r#"
s = Storage(0, "FloatStorage", 100)
save({"a": Tensor(s, 0, (6, 10), (10, 1)), "b": Tensor(s, 40, (6, 10), (10, 1)),
      "c": Tensor(s, 40, (6, 10), (10, 1))}, sys.argv[1])
"#,
        &path,
    );
    let r = inspect_json(&path);
    assert_eq!(r["parameters"]["total"], 100, "{r}");
    assert_eq!(r["tied"]["tensors"], 1, "{r}");
    assert_eq!(r["elements"], 180, "{r}");
}
