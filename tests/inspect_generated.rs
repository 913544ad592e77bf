//! The generator's models: exact published counts, sparse giants read by their headers only, and
//! files the Rust reference reader (the `safetensors` crate) accepts.

mod common;
use common::*;
use weightguard::artifact;
use weightguard::fixture::{DataFill, Family, ModelSpec, WriteOptions, write_model};

fn sparse(spec: &ModelSpec, shard: Option<u64>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_model(
        spec,
        dir.path(),
        WriteOptions {
            fill: DataFill::Sparse,
            max_shard_bytes: shard,
        },
    )
    .unwrap();
    dir
}

#[test]
fn published_architectures_have_their_published_parameter_counts() {
    let cases = [
        (ModelSpec::llama31_8b(), 8_030_261_248u64),
        (ModelSpec::mixtral_8x7b(), 46_702_792_704),
    ];
    for (spec, published) in cases {
        assert_eq!(spec.parameters(), published);
        let dir = sparse(&spec, Some(5_000_000_000));
        let r = inspect_json(dir.path());
        assert_eq!(r["parameters"]["total"], published);
        assert_eq!(r["data_bytes"], published * 2);
        assert_eq!(r["parameters"]["by_dtype"]["BF16"], published);
    }
    // Mixtral: 2 of 8 experts per token → 12.9 B active (published)
    assert_eq!(
        ModelSpec::mixtral_8x7b().active_parameters(),
        12_879_925_248
    );
}

#[test]
fn an_800_gb_sharded_model_is_inspected_from_its_headers() {
    let spec = ModelSpec::llama31_405b();
    let dir = sparse(&spec, Some(5_000_000_000));
    let a = artifact::open(dir.path()).unwrap();
    assert_eq!(a.parameters().total, 405_853_388_800);
    assert_eq!(a.data_bytes(), 811_706_777_600);
    assert_eq!(a.files.len(), 191);
    // Exactly the headers, the index and config.json were read, a few hundred KB in all.
    let headers: u64 = a.files.iter().map(|f| f.header_bytes).sum();
    let side = std::fs::metadata(dir.path().join("model.safetensors.index.json"))
        .unwrap()
        .len()
        + std::fs::metadata(dir.path().join("config.json"))
            .unwrap()
            .len();
    assert_eq!(a.bytes_read, headers + side);
    assert!(a.bytes_read < 512 * 1024, "{}", a.bytes_read);
    let r = inspect_json(dir.path());
    assert_eq!(r["bytes_read"], a.bytes_read);
    assert_eq!(r["architecture"]["layers"]["value"], 126);
    assert_eq!(r["architecture"]["kv_heads"]["value"], 8);
}

#[test]
fn config_facts_are_reported_beside_tensor_facts() {
    let dir = sparse(&ModelSpec::deepseek_v3(), Some(20_000_000_000));
    let r = inspect_json(dir.path());
    let c = &r["architecture"];
    assert_eq!(c["model_type"], "deepseek_v3");
    assert_eq!(c["experts"]["value"], 256);
    assert_eq!(c["experts"]["key"], "n_routed_experts");
    assert_eq!(c["experts_per_token"]["value"], 8);
    assert_eq!(c["shared_experts"]["value"], 1);
    assert_eq!(
        r["parameters"]["total"],
        ModelSpec::deepseek_v3().parameters()
    );
    // DeepSeek-V3's main model: 671 B parameters (the MTP layer, not generated, adds 14 B)
    let total = ModelSpec::deepseek_v3().parameters();
    assert!(
        (670_000_000_000..672_000_000_000).contains(&total),
        "{total}"
    );
}

#[test]
fn scaled_models_land_near_the_requested_size_and_are_counted_exactly() {
    for family in [Family::Llama, Family::Mixtral, Family::DeepSeekV3] {
        for target in [5_000_000u64, 1_000_000_000, 70_000_000_000] {
            let spec = ModelSpec::with_parameters(family, target);
            let got = spec.parameters() as f64;
            assert!(
                (got / target as f64 - 1.0).abs() < 0.5,
                "{family:?} {target}: {got}"
            );
            if target == 5_000_000 {
                let dir = sparse(&spec, None);
                assert_eq!(
                    inspect_json(dir.path())["parameters"]["total"],
                    spec.parameters()
                );
            }
        }
    }
}

#[test]
fn the_rust_reference_reader_accepts_generated_files() {
    let dir = tempfile::tempdir().unwrap();
    let spec = ModelSpec::tiny_llama();
    let written = write_model(
        &spec,
        dir.path(),
        WriteOptions {
            fill: DataFill::Pattern(3),
            max_shard_bytes: None,
        },
    )
    .unwrap();
    let bytes = std::fs::read(&written.files[0]).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let n: usize = st
        .tensors()
        .iter()
        .map(|(_, v)| v.shape().iter().product::<usize>())
        .sum();
    assert_eq!(n as u64, spec.parameters());
    // tied embeddings drop lm_head
    let tied = ModelSpec {
        tie_embeddings: true,
        ..spec.clone()
    };
    assert_eq!(
        tied.parameters(),
        spec.parameters() - spec.vocab * spec.hidden
    );
}

#[test]
fn existing_files_are_never_overwritten_by_the_generator() {
    let dir = tempfile::tempdir().unwrap();
    let opts = WriteOptions {
        fill: DataFill::Sparse,
        max_shard_bytes: None,
    };
    write_model(&ModelSpec::tiny_llama(), dir.path(), opts).unwrap();
    let err = write_model(&ModelSpec::tiny_llama(), dir.path(), opts).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
}

#[test]
fn inspect_hash_reports_the_same_root_as_hash() {
    let dir = tempfile::tempdir().unwrap();
    write_model(
        &ModelSpec::tiny_deepseek(),
        dir.path(),
        WriteOptions {
            fill: DataFill::Pattern(9),
            max_shard_bytes: Some(2 << 20),
        },
    )
    .unwrap();
    let p = dir.path().to_str().unwrap();
    let out = weightguard(&["inspect", "--json", "--hash", p]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let inspected: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let out = weightguard(&["hash", "--json", p]);
    let hashed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(inspected["root"].is_string());
    assert_eq!(inspected["root"], hashed["root"]);
    // without --hash, no data is read and there is no root key
    assert!(inspect_json(dir.path()).get("root").is_none());
}

/// Regression (found by the generator → parser property test): a safetensors file whose header
/// is 640 bytes long starts with 0x80 0x02, a pickle's PROTO 2, and was read as a pickle.
#[test]
fn regression_safetensors_header_length_like_pickle_proto() {
    let dir = tempfile::tempdir().unwrap();
    let tensor = r#""w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#;
    let mut header = format!("{{{tensor}}}");
    header.push_str(&" ".repeat(0x280 - header.len()));
    let path = dir.path().join("model.safetensors");
    std::fs::write(&path, common::safetensors_bytes(&header, 8)).unwrap();
    assert_eq!(std::fs::read(&path).unwrap()[..2], [0x80, 0x02]);
    let a = weightguard::artifact::open(&path).unwrap();
    assert_eq!(a.format, weightguard::artifact::Format::Safetensors);
    assert_eq!(a.tensors.len(), 1);
}
