//! Exact counts of files written by the reference writer, the Python `safetensors` package.

mod common;
use common::*;

const WRITE_SINGLE: &str = r#"
import sys, json, numpy as np
from safetensors.numpy import save_file
t = {
    "embed.weight": np.ones((1000, 64), dtype=np.float16),
    "layers.0.attn.q.weight": np.ones((64, 64), dtype=np.float32),
    "layers.0.attn.q.bias": np.ones((64,), dtype=np.float32),
    "layers.0.norm.weight": np.ones((64,), dtype=np.float64),
    "embeddings.position_ids": np.arange(512, dtype=np.int64).reshape(1, 512),
    "layers.0.attn.bias": np.ones((1, 1, 8, 8), dtype=np.bool_),
    "scalar.weight": np.array(3.0, dtype=np.float32),
    "empty.weight": np.zeros((0, 64), dtype=np.float32),
}
save_file(t, sys.argv[1], metadata={"format": "pt"})
params = sum(v.size for k, v in t.items() if v.dtype.kind == "f")
print(json.dumps({"params": params, "elements": sum(v.size for v in t.values()),
                  "bytes": sum(v.nbytes for v in t.values()), "tensors": len(t)}))
"#;

#[test]
fn single_file_counts_match_the_reference_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let expected: serde_json::Value =
        serde_json::from_str(&run_python(WRITE_SINGLE, &[&path])).unwrap();
    let r = inspect_json(&path);
    assert_eq!(r["format"], "safetensors");
    assert_eq!(r["layout"], "single");
    assert_eq!(r["tensor_count"], expected["tensors"]);
    assert_eq!(r["data_bytes"], expected["bytes"]);
    assert_eq!(r["parameters"]["total"], expected["params"]);
    assert_eq!(r["elements"], expected["elements"]);
    assert_eq!(r["parameters"]["active"], serde_json::Value::Null);
    // learned vs buffers: position_ids (int64) and the causal-mask bool are buffers
    assert_eq!(r["buffers"]["tensors"], 2);
    assert_eq!(r["buffers"]["elements"], 512 + 64);
    assert_eq!(r["parameters"]["by_dtype"]["F16"], 64_000);
    assert_eq!(r["parameters"]["by_dtype"]["F32"], 64 * 64 + 64 + 1);
    assert_eq!(r["parameters"]["by_dtype"]["F64"], 64);
    assert_eq!(r["files"][0]["tensor_count"], expected["tensors"]);
}

const WRITE_SHARDED: &str = r#"
import sys, os, json, numpy as np
from safetensors.numpy import save_file
d = sys.argv[1]
shards = {
  "model-00001-of-00002.safetensors": {"a.weight": np.ones((300, 7), np.float32),
                                        "b.weight": np.ones((5,), np.float16)},
  "model-00002-of-00002.safetensors": {"c.weight": np.ones((11, 13), np.float32),
                                        "rotary.inv_freq": np.ones((32,), np.float32)},
}
wm = {}
size = 0
for name, t in shards.items():
    save_file(t, os.path.join(d, name))
    for k, v in t.items():
        wm[k] = name
        size += v.nbytes
total_size = size + int(sys.argv[2])
json.dump({"metadata": {"total_size": total_size}, "weight_map": wm},
          open(os.path.join(d, "model.safetensors.index.json"), "w"))
print(size)
"#;

#[test]
fn sharded_model_counts_every_shard_and_reports_a_wrong_index_total() {
    let dir = tempfile::tempdir().unwrap();
    // an index whose total_size is right
    let honest: u64 = run_python(WRITE_SHARDED, &[dir.path(), std::path::Path::new("0")])
        .trim()
        .parse()
        .unwrap();
    let r = inspect_json(dir.path());
    assert_eq!(r["layout"], "sharded");
    assert_eq!(r["files"].as_array().unwrap().len(), 2);
    assert_eq!(r["tensor_count"], 4);
    assert_eq!(r["data_bytes"], honest);
    assert_eq!(r["parameters"]["total"], 300 * 7 + 5 + 11 * 13);
    assert_eq!(r["buffers"]["elements"], 32);
    assert_eq!(r["warnings"].as_array().unwrap().len(), 0, "{r}");
    // the index file itself names the same model
    let via_index = inspect_json(&dir.path().join("model.safetensors.index.json"));
    assert_eq!(via_index["parameters"], r["parameters"]);

    // an index that overstates total_size: counted from headers, disagreement reported
    let dir = tempfile::tempdir().unwrap();
    run_python(WRITE_SHARDED, &[dir.path(), std::path::Path::new("1000")]);
    let r = inspect_json(dir.path());
    assert_eq!(r["data_bytes"], honest);
    assert_eq!(r["index"]["declared_total_size"], honest + 1000);
    let warnings = r["warnings"].to_string();
    assert!(warnings.contains("declares total_size"), "{warnings}");
}

#[test]
fn generated_files_read_back_with_the_reference_reader() {
    use weightguard::fixture::{DataFill, ModelSpec, WriteOptions, write_model};
    let dir = tempfile::tempdir().unwrap();
    let spec = ModelSpec::tiny_deepseek();
    let written = write_model(
        &spec,
        dir.path(),
        WriteOptions {
            fill: DataFill::Pattern(7),
            max_shard_bytes: Some(2 << 20),
        },
    )
    .unwrap();
    assert!(written.files.len() > 1);
    let script = r#"
import sys, json, math
from safetensors import safe_open
n = 0
for f in sys.argv[1:]:
    with safe_open(f, "numpy") as s:
        for k in s.keys():
            n += math.prod(s.get_slice(k).get_shape())
print(n)
"#;
    let paths: Vec<&std::path::Path> = written.files.iter().map(|p| p.as_path()).collect();
    let counted: u64 = run_python(script, &paths).trim().parse().unwrap();
    assert_eq!(counted, spec.parameters());
    assert_eq!(inspect_json(dir.path())["parameters"]["total"], counted);
}
