//! Pickles that would run code when loaded with `torch.load` (or `pickle.load`) are reported as
//! security findings naming the global and the opcode's offset, the file is marked unsafe, the
//! scan goes on past the first finding, and nothing is ever executed.

mod common;
use common::*;
use std::path::Path;

const TORCH_LIKE: &str = include_str!("common/torch_like.py");

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A string pushed with SHORT_BINUNICODE.
fn s(text: &str) -> Vec<u8> {
    let mut v = vec![0x8c, text.len() as u8];
    v.extend_from_slice(text.as_bytes());
    v
}

/// `GLOBAL module name`, then `(arg,)`, then REDUCE: the classic payload.
fn global_call(module: &str, name: &str, arg: &str) -> Vec<u8> {
    let mut v = vec![0x80, 2];
    v.extend_from_slice(format!("c{module}\n{name}\n").as_bytes());
    v.extend(s(arg));
    v.extend_from_slice(b"\x85R.");
    v
}

/// `STACK_GLOBAL module name`, then `(arg,)`, then REDUCE (protocol 4).
fn stack_global_call(module: &str, name: &str, arg: &str) -> Vec<u8> {
    let mut v = vec![0x80, 4];
    v.extend(s(module));
    v.extend(s(name));
    v.push(0x93);
    v.extend(s(arg));
    v.extend_from_slice(b"\x85R.");
    v
}

fn offset_of(haystack: &[u8], needle: &[u8]) -> u64 {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap() as u64
}

/// Writes a torch-layout checkpoint with `data_pkl` as its pickle (hex) and the given extra
/// members (name, hex), or a bare file with `bare` bytes.
const WRITE: &str = r#"
import json
spec = json.loads(sys.argv[2])
if spec.get("raw_members") is not None:
    write_zip(sys.argv[1], [(n, bytes.fromhex(h)) for n, h in spec["raw_members"]], root="")
elif spec.get("legacy_sys_info") is not None:
    save_legacy(state_dict(), sys.argv[1], sys_info_pkl=bytes.fromhex(spec["legacy_sys_info"]))
elif spec.get("bare") is not None:
    open(sys.argv[1], "wb").write(bytes.fromhex(spec["bare"]))
else:
    pkl = bytes.fromhex(spec["data_pkl"]) if spec.get("data_pkl") else None
    extra = [(n, bytes.fromhex(h)) for n, h in spec.get("extra", [])]
    save(state_dict(), sys.argv[1], data_pkl=pkl, extra_members=extra)
"#;

fn write(path: &Path, spec: serde_json::Value) {
    let script = format!("{TORCH_LIKE}\n{WRITE}");
    let spec_file = path.with_extension("json-spec");
    std::fs::write(&spec_file, spec.to_string()).unwrap();
    run_python(
        &format!("import sys\nsys.argv[2] = open(sys.argv[2]).read()\n{script}"),
        &[path, &spec_file],
    );
}

/// Inspects `path`: exit 0, unsafe, and the findings.
fn findings(path: &Path) -> Vec<serde_json::Value> {
    let r = inspect_json(path);
    assert_eq!(r["safe"], false, "{r}");
    r["security_findings"].as_array().unwrap().clone()
}

#[test]
fn classic_payloads_are_flagged_with_global_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwned");
    let cmd = format!("touch {}", marker.display());
    let cases: Vec<(&str, Vec<u8>, &str, &[u8])> = vec![
        (
            "os-system",
            global_call("os", "system", &cmd),
            "os.system",
            b"cos\n",
        ),
        (
            "posix-system",
            global_call("posix", "system", &cmd),
            "posix.system",
            b"cposix\n",
        ),
        (
            "builtins-exec",
            stack_global_call("builtins", "exec", "import os"),
            "builtins.exec",
            b"\x93",
        ),
        (
            "builtins-eval",
            stack_global_call("builtins", "eval", "1+1"),
            "builtins.eval",
            b"\x93",
        ),
        (
            "subprocess",
            global_call("subprocess", "Popen", &cmd),
            "subprocess.Popen",
            b"csubprocess",
        ),
        (
            "runpy",
            global_call("runpy", "_run_code", "x"),
            "runpy._run_code",
            b"crunpy",
        ),
        (
            "collect-env",
            global_call("torch.utils.collect_env", "run", &cmd),
            "torch.utils.collect_env.run",
            b"ctorch.utils",
        ),
        (
            "spawnv",
            global_call("multiprocessing.util", "spawnv_passfds", "x"),
            "multiprocessing.util.spawnv_passfds",
            b"cmulti",
        ),
    ];
    for (name, pkl, global, at) in cases {
        let path = dir.path().join(format!("{name}.bin"));
        write(&path, serde_json::json!({"data_pkl": hex(&pkl)}));
        let f = findings(&path);
        assert_eq!(f.len(), 1, "{name}: {f:?}");
        assert_eq!(f[0]["global"], global, "{name}");
        assert_eq!(f[0]["member"], "archive/data.pkl", "{name}");
        assert_eq!(f[0]["offset"], offset_of(&pkl, at), "{name}");
        let op = if at == b"\x93" {
            "STACK_GLOBAL"
        } else {
            "GLOBAL"
        };
        assert_eq!(f[0]["opcode"], op, "{name}");
    }
    assert!(!marker.exists(), "nothing may ever be executed");
}

#[test]
fn getattr_chains_inst_obj_and_extensions_are_each_flagged() {
    let dir = tempfile::tempdir().unwrap();
    // getattr(__import__('os'), 'system')('id'): three findings, the scan does not stop.
    let mut chain = b"\x80\x02c__builtin__\ngetattr\nc__builtin__\n__import__\n".to_vec();
    chain.extend(s("os"));
    chain.extend_from_slice(b"\x85R");
    chain.extend(s("system"));
    chain.extend_from_slice(b"\x86R");
    chain.extend(s("id"));
    chain.extend_from_slice(b"\x85R.");
    // INST and OBJ import and call in one opcode.
    let inst = b"\x80\x02(X\x02\x00\x00\x00idisubprocess\ncheck_output\n.".to_vec();
    let obj = b"\x80\x02(cbuiltins\nexec\nX\x01\x00\x00\x001o.".to_vec();
    // EXT1 resolves a callable through copyreg's registry, with no name in the file.
    let ext = b"\x80\x02\x82\x01)R.".to_vec();
    // A state-dict global called where no state dict calls it.
    let called = b"\x80\x02ctorch\nFloatStorage\n)R.".to_vec();
    type Expected<'a> = Vec<(&'a str, Option<&'a str>)>;
    let cases: Vec<(&str, Vec<u8>, Expected)> = vec![
        (
            "getattr-chain",
            chain,
            vec![
                ("GLOBAL", Some("__builtin__.getattr")),
                ("GLOBAL", Some("__builtin__.__import__")),
            ],
        ),
        (
            "inst",
            inst,
            vec![("INST", Some("subprocess.check_output"))],
        ),
        ("obj", obj, vec![("GLOBAL", Some("builtins.exec"))]),
        ("ext", ext, vec![("EXT", None)]),
        (
            "called-storage",
            called,
            vec![("REDUCE", Some("torch.FloatStorage"))],
        ),
    ];
    for (name, pkl, expected) in cases {
        let path = dir.path().join(format!("{name}.bin"));
        write(&path, serde_json::json!({"data_pkl": hex(&pkl)}));
        let f = findings(&path);
        let got: Vec<(String, Option<String>)> = f
            .iter()
            .map(|x| {
                (
                    x["opcode"].as_str().unwrap().to_owned(),
                    x["global"].as_str().map(str::to_owned),
                )
            })
            .collect();
        let want: Vec<(String, Option<String>)> = expected
            .iter()
            .map(|(o, g)| (o.to_string(), g.map(str::to_owned)))
            .collect();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn pickles_hidden_in_other_members_are_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let payload = global_call("os", "system", "id");
    let path = dir.path().join("hidden.bin");
    write(
        &path,
        serde_json::json!({"extra": [["data/99", hex(&payload)], ["extra.pkl", hex(&payload)],
                                     ["notes.txt", hex(&payload)]]}),
    );
    let r = inspect_json(&path);
    // The real state dict is still read.
    assert_eq!(r["parameters"]["total"], 2454);
    assert_eq!(r["safe"], false);
    let members: Vec<&str> = r["security_findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["member"].as_str().unwrap())
        .collect();
    assert_eq!(members, ["archive/data/99", "archive/extra.pkl"]);
    let out = weightguard(&["inspect", path.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(6),
        "findings are reported (exit 6), not errors (exit 1)"
    );
    let text = stdout(&out);
    assert!(text.contains("UNSAFE:"), "{text}");
    assert!(
        text.contains("archive/data/99 offset 2: GLOBAL os.system"),
        "{text}"
    );
}

#[test]
fn bare_and_legacy_pickles_and_side_files_are_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let bare = dir.path().join("model.pkl");
    write(
        &bare,
        serde_json::json!({"bare": hex(&global_call("os", "system", "id"))}),
    );
    let r = inspect_json(&bare);
    assert_eq!(r["format"], "pickle");
    assert_eq!(r["safe"], false);
    assert_eq!(r["security_findings"][0]["global"], "os.system");

    // A legacy checkpoint whose system-info pickle carries the payload: tensors still read.
    let legacy = dir.path().join("legacy.pt");
    let evil = global_call("os", "system", "id");
    write(&legacy, serde_json::json!({"legacy_sys_info": hex(&evil)}));
    let r = inspect_json(&legacy);
    assert_eq!(r["format"], "pytorch_legacy");
    assert_eq!(r["parameters"]["total"], 2454);
    assert_eq!(r["safe"], false);
    assert_eq!(r["security_findings"][0]["member"], "system info");
    assert_eq!(r["security_findings"][0]["global"], "os.system");

    // A malicious pytorch_model.bin beside safetensors weights: a second model of the directory
    // (a loader may pick either), counted and scanned; the safetensors model stays safe.
    let model = tempfile::tempdir().unwrap();
    std::fs::write(
        model.path().join("model.safetensors"),
        safetensors_bytes(
            r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
            8,
        ),
    )
    .unwrap();
    let bin = model.path().join("pytorch_model.bin");
    write(
        &bin,
        serde_json::json!({"data_pkl": hex(&global_call("os", "system", "id"))}),
    );
    let out = weightguard(&["inspect", "--json", model.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let models: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(models.len(), 2, "{}", stdout(&out));
    let st = models
        .iter()
        .find(|m| m["format"] == "safetensors")
        .unwrap();
    assert_eq!(st["parameters"]["total"], 2);
    assert_eq!(st["safe"], true);
    let pt = models.iter().find(|m| m["format"] == "pytorch").unwrap();
    assert!(pt["name"].as_str().unwrap().ends_with("pytorch_model.bin"));
    assert_eq!(pt["safe"], false);
    assert_eq!(pt["security_findings"][0]["global"], "os.system");
}

#[test]
fn a_clean_state_dict_is_safe() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clean.bin");
    write(&path, serde_json::json!({}));
    let r = inspect_json(&path);
    assert_eq!(r["safe"], true);
}

#[test]
fn memo_abuse_stays_linear() {
    // Each list holds 10 references to the previous one: 10^40 paths, 41 containers.
    let mut pkl = b"\x80\x02]q\x00".to_vec();
    for _ in 0..40 {
        pkl.push(b'(');
        pkl.extend(std::iter::repeat_n(*b"h\x00", 10).flatten());
        pkl.extend_from_slice(b"lq\x00");
    }
    pkl.extend_from_slice(b"0}");
    pkl.extend(s("a"));
    pkl.extend_from_slice(b"h\x00s.");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.bin");
    write(&path, serde_json::json!({"data_pkl": hex(&pkl)}));
    let start = std::time::Instant::now();
    let r = inspect_json(&path);
    assert!(start.elapsed().as_secs() < 5);
    assert_eq!(r["safe"], true);
    assert_eq!(r["tensor_count"], 0);
}

#[test]
fn the_pickle_read_is_the_one_torch_would_load() {
    // torch takes the root from the first central directory entry: `evil/data.pkl` here, even
    // though a clean `archive/data.pkl` follows. Both are scanned; the first is the state dict.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two-roots.bin");
    let evil = global_call("os", "system", "id");
    let clean = b"\x80\x02}.".to_vec();
    write(
        &path,
        serde_json::json!({"raw_members": [["evil/data.pkl", hex(&evil)],
                                           ["archive/data.pkl", hex(&clean)]]}),
    );
    let f = findings(&path);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["member"], "evil/data.pkl");
}

/// Writes the fixtures of issue 14's techniques into `dir` with Python's pickle, gzip, bz2,
/// lzma, zlib, tarfile and numpy (payloads name `os.system` but are never loaded).
const TECHNIQUES: &str = r#"
import sys, os, io, gzip, bz2, lzma, zlib, tarfile, pickle, numpy as np
d = sys.argv[1]
EVIL2 = b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R"
def w(name, data):
    open(os.path.join(d, name), "wb").write(data)
# 1. protocols 0 and 1 (no PROTO), and PROTO 1
w("p0.pkl", b"cos\nsystem\n(S'id'\ntR.")
w("p0-noext", b"cos\nsystem\n(S'id'\ntR.")
w("p1.bin", b"cos\nsystem\nq\x00(X\x02\x00\x00\x00idq\x01tq\x02Rq\x03.")
w("proto1.pkl", b"\x80\x01cos\nsystem\n(X\x02\x00\x00\x00idtR.")
# 2. a call, then malformed: invalid opcode, truncation, bad memo index, no STOP
w("bad-opcode.pkl", EVIL2 + b"\xff.")
w("truncated.pkl", EVIL2 + b"X\xff\x00\x00\x00ab")
w("bad-memo.pkl", EVIL2 + b"h\x07.")
w("no-stop.pkl", EVIL2)
# 3. a second pickle after STOP, and trailing bytes
w("second.pkl", b"\x80\x02}." + EVIL2 + b".")
w("trailing.pkl", b"\x80\x02}." + b"\x00\x01junk")
# 4. containers
w("evil.pkl.gz", gzip.compress(EVIL2 + b"."))
w("evil.pkl.bz2", bz2.compress(EVIL2 + b"."))
w("evil.pkl.xz", lzma.compress(EVIL2 + b"."))
w("evil.joblib.lzma", lzma.compress(EVIL2 + b".", format=lzma.FORMAT_ALONE))
w("evil.joblib", zlib.compress(EVIL2 + b"."))
w("evil.7z", b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 24)
class Evil:
    def __reduce__(self):
        return (os.system, ("id",))
arr = np.empty(2, dtype=object)
arr[0] = Evil()
np.save(os.path.join(d, "objects.npy"), arr, allow_pickle=True)
np.savez(os.path.join(d, "objects.npz"), a=arr, b=np.arange(4))
np.save(os.path.join(d, "plain.npy"), np.arange(4))
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
    for name, data in [("sys_info", pickle.dumps({"protocol_version": 1001}, protocol=2)),
                       ("pickle", EVIL2 + b"."),
                       ("storages", pickle.dumps(0, protocol=2)),
                       ("tensors", pickle.dumps(0, protocol=2))]:
        info = tarfile.TarInfo(name); info.size = len(data)
        t.addfile(info, io.BytesIO(data))
w("legacy-tar.pt", buf.getvalue())
w("tar.pt.gz", gzip.compress(buf.getvalue()))
"#;

fn techniques() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    run_python(TECHNIQUES, &[dir.path()]);
    dir
}

fn globals_of(r: &serde_json::Value) -> Vec<String> {
    r["security_findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["global"].as_str().map(str::to_owned))
        .collect()
}

/// Issue 14 item 1: pickles of protocols 0 and 1 (no PROTO) and PROTO 1 are recognised and
/// scanned, not "not a recognised weight format".
#[test]
fn protocol_0_and_1_pickles_are_detected() {
    let dir = techniques();
    for name in ["p0.pkl", "p0-noext", "p1.bin", "proto1.pkl"] {
        let r = inspect_json(&dir.path().join(name));
        assert_eq!(globals_of(&r), ["os.system"], "{name}: {r}");
    }
    // Text that starts with an opcode's letter is no pickle.
    let text = dir.path().join("README");
    std::fs::write(&text, "Version 1.0 of the model card\nSee (c) notes\n").unwrap();
    let out = weightguard(&["inspect", text.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
}

/// Issue 14 item 2: a call made before the pickle turns malformed is reported, and the pickle
/// that cannot be scanned to its end is a finding of its own (nullifAI).
#[test]
fn findings_before_a_malformed_byte_survive_it() {
    let dir = techniques();
    for name in [
        "bad-opcode.pkl",
        "truncated.pkl",
        "bad-memo.pkl",
        "no-stop.pkl",
    ] {
        let r = inspect_json(&dir.path().join(name));
        let f = r["security_findings"].as_array().unwrap();
        assert_eq!(f[0]["global"], "os.system", "{name}: {r}");
        assert!(
            f.iter().any(|x| x["message"]
                .as_str()
                .unwrap()
                .contains("could not be scanned to its end")),
            "{name}: {r}"
        );
    }
    // The same inside a checkpoint's data.pkl: unsafe, and its tensors are not counted.
    let path = dir.path().join("nullifai.bin");
    let mut pkl = global_call("os", "system", "id");
    pkl.pop(); // no STOP
    pkl.push(0xff);
    write(&path, serde_json::json!({"data_pkl": hex(&pkl)}));
    let r = inspect_json(&path);
    assert_eq!(globals_of(&r), ["os.system"], "{r}");
    assert_eq!(r["tensor_count"], 0);
    // Estimation refuses an incomplete count rather than report zero parameters.
    let out = weightguard(&["estimate", path.to_str().unwrap(), "--tokens", "1e12"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("could not all be counted"),
        "{}",
        stderr(&out)
    );
}

/// Issue 14 item 3: every pickle in a file is scanned, and bytes after STOP are a finding.
#[test]
fn pickles_and_bytes_after_stop_are_findings() {
    let dir = techniques();
    let r = inspect_json(&dir.path().join("second.pkl"));
    assert_eq!(globals_of(&r), ["os.system"], "{r}");
    assert_eq!(r["security_findings"][0]["offset"], 4 + 2, "{r}");
    let r = inspect_json(&dir.path().join("trailing.pkl"));
    assert_eq!(r["safe"], false, "{r}");
    // In a checkpoint's data.pkl too.
    let path = dir.path().join("trailing.bin");
    let mut pkl = b"\x80\x02}.".to_vec();
    pkl.extend(global_call("os", "system", "id"));
    write(&path, serde_json::json!({"data_pkl": hex(&pkl)}));
    assert_eq!(globals_of(&inspect_json(&path)), ["os.system"]);
}

/// Issue 14 item 4: containers that hide pickles are recognised by content and scanned; what
/// cannot be opened is an unscannable finding.
#[test]
fn containers_hiding_pickles_are_scanned() {
    let dir = techniques();
    for name in [
        "evil.pkl.gz",
        "evil.pkl.bz2",
        "evil.pkl.xz",
        "evil.joblib.lzma",
        "evil.joblib",
        "objects.npy",
        "objects.npz",
        "legacy-tar.pt",
        "tar.pt.gz",
    ] {
        let r = inspect_json(&dir.path().join(name));
        assert_eq!(r["format"], "container", "{name}: {r}");
        // np.save pickles os.system under its module, posix.
        assert!(
            globals_of(&r).iter().any(|g| g.ends_with(".system")),
            "{name}: {r}"
        );
    }
    let r = inspect_json(&dir.path().join("evil.7z"));
    assert_eq!(r["safe"], false, "{r}");
    assert!(
        r["security_findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("7z")
    );
    // A plain numeric array hides nothing.
    let r = inspect_json(&dir.path().join("plain.npy"));
    assert_eq!(r["safe"], true, "{r}");
}

/// Issue 14 item 12: `inspect` exits 6 when a file it read has a security finding.
#[test]
fn inspect_exits_6_on_findings() {
    let dir = techniques();
    let out = weightguard(&["inspect", dir.path().join("p0.pkl").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let clean = dir.path().join("clean.bin");
    write(&clean, serde_json::json!({}));
    let out = weightguard(&["inspect", clean.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}
