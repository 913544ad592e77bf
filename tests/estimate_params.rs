//! Parameter counts (total and active per token) from config.json for public architectures,
//! against each developer's published figure, and the same counts from generated tensors.

use std::path::Path;
use weightguard::artifact::{self, ModelConfig};
use weightguard::compute::{self, params_config};
use weightguard::fixture::{DataFill, ModelSpec, Quantization, WriteOptions, write_model};

struct Case {
    name: &'static str,
    config: &'static str,
    /// The developer's published total and active counts.
    total: f64,
    active: f64,
    /// Relative tolerance on `active` where the published figure is coarsely rounded.
    active_tolerance: f64,
}

const CASES: &[Case] = &[
    Case {
        name: "Llama 2 7B (6.74 B, Meta model card)",
        config: r#"{"model_type":"llama","hidden_size":4096,"intermediate_size":11008,"num_attention_heads":32,"num_hidden_layers":32,"num_key_value_heads":32,"vocab_size":32000,"tie_word_embeddings":false}"#,
        total: 6.74e9,
        active: 6.74e9,
        active_tolerance: 0.01,
    },
    Case {
        name: "Llama 2 70B (69 B on the model card)",
        config: r#"{"model_type":"llama","hidden_size":8192,"intermediate_size":28672,"num_attention_heads":64,"num_hidden_layers":80,"num_key_value_heads":8,"vocab_size":32000,"tie_word_embeddings":false}"#,
        total: 6.9e10,
        active: 6.9e10,
        active_tolerance: 0.01,
    },
    Case {
        name: "Llama 3.1 8B (8.03 B)",
        config: r#"{"model_type":"llama","hidden_size":4096,"intermediate_size":14336,"num_attention_heads":32,"num_hidden_layers":32,"num_key_value_heads":8,"vocab_size":128256,"tie_word_embeddings":false,"max_position_embeddings":131072}"#,
        total: 8.03e9,
        active: 8.03e9,
        active_tolerance: 0.01,
    },
    Case {
        name: "Llama 3.1 405B (405 B)",
        config: r#"{"model_type":"llama","hidden_size":16384,"intermediate_size":53248,"num_attention_heads":128,"num_hidden_layers":126,"num_key_value_heads":8,"vocab_size":128256,"tie_word_embeddings":false}"#,
        total: 405e9,
        active: 405e9,
        active_tolerance: 0.01,
    },
    Case {
        name: "Mixtral 8x7B (46.7 B total, 12.9 B active; Mistral AI)",
        config: r#"{"model_type":"mixtral","hidden_size":4096,"intermediate_size":14336,"num_attention_heads":32,"num_hidden_layers":32,"num_key_value_heads":8,"vocab_size":32000,"num_local_experts":8,"num_experts_per_tok":2,"tie_word_embeddings":false}"#,
        total: 46.7e9,
        active: 12.9e9,
        active_tolerance: 0.01,
    },
    Case {
        name: "Qwen2.5 7B (7.61 B; Qwen model card)",
        config: r#"{"model_type":"qwen2","hidden_size":3584,"intermediate_size":18944,"num_attention_heads":28,"num_hidden_layers":28,"num_key_value_heads":4,"vocab_size":152064,"tie_word_embeddings":false}"#,
        total: 7.61e9,
        active: 7.61e9,
        active_tolerance: 0.01,
    },
    Case {
        name: "Qwen2.5 72B (72.7 B)",
        config: r#"{"model_type":"qwen2","hidden_size":8192,"intermediate_size":29568,"num_attention_heads":64,"num_hidden_layers":80,"num_key_value_heads":8,"vocab_size":152064,"tie_word_embeddings":false}"#,
        total: 72.7e9,
        active: 72.7e9,
        active_tolerance: 0.01,
    },
    Case {
        name: "Qwen3 30B-A3B (30.5 B total, 3.3 B active)",
        config: r#"{"model_type":"qwen3_moe","hidden_size":2048,"intermediate_size":6144,"moe_intermediate_size":768,"num_attention_heads":32,"num_hidden_layers":48,"num_key_value_heads":4,"head_dim":128,"vocab_size":151936,"num_experts":128,"num_experts_per_tok":8,"decoder_sparse_step":1,"mlp_only_layers":[],"tie_word_embeddings":false}"#,
        total: 30.5e9,
        active: 3.3e9,
        // "3.3B" is rounded to two figures; the count is 3.35 B.
        active_tolerance: 0.02,
    },
    Case {
        name: "Qwen3 235B-A22B (235 B total, 22 B active)",
        config: r#"{"model_type":"qwen3_moe","hidden_size":4096,"intermediate_size":12288,"moe_intermediate_size":1536,"num_attention_heads":64,"num_hidden_layers":94,"num_key_value_heads":4,"head_dim":128,"vocab_size":151936,"num_experts":128,"num_experts_per_tok":8,"decoder_sparse_step":1,"mlp_only_layers":[],"tie_word_embeddings":false}"#,
        total: 235e9,
        active: 22e9,
        active_tolerance: 0.02,
    },
    Case {
        name: "DeepSeek-V3 (671 B total, 37 B active; without the 14 B MTP module)",
        config: r#"{"model_type":"deepseek_v3","hidden_size":7168,"intermediate_size":18432,"moe_intermediate_size":2048,"num_attention_heads":128,"num_hidden_layers":61,"num_key_value_heads":128,"vocab_size":129280,"n_routed_experts":256,"n_shared_experts":1,"num_experts_per_tok":8,"first_k_dense_replace":3,"moe_layer_freq":1,"q_lora_rank":1536,"kv_lora_rank":512,"qk_nope_head_dim":128,"qk_rope_head_dim":64,"v_head_dim":128,"tie_word_embeddings":false}"#,
        total: 671e9,
        active: 37e9,
        // "37B activated" is rounded; the count (embeddings and head included) is 37.6 B.
        active_tolerance: 0.02,
    },
    Case {
        name: "Gemma 2 9B (Gemma 2 report: 917,504,000 embedding + 8,324,201,984 non-embedding)",
        config: r#"{"model_type":"gemma2","hidden_size":3584,"intermediate_size":14336,"num_attention_heads":16,"num_hidden_layers":42,"num_key_value_heads":8,"head_dim":256,"vocab_size":256000}"#,
        total: 9_241_705_984.0,
        active: 9_241_705_984.0,
        active_tolerance: 0.0,
    },
    Case {
        name: "Gemma 2 27B (1,179,648,000 + 26,047,480,320)",
        config: r#"{"model_type":"gemma2","hidden_size":4608,"intermediate_size":36864,"num_attention_heads":32,"num_hidden_layers":46,"num_key_value_heads":16,"head_dim":128,"vocab_size":256000}"#,
        total: 27_227_128_320.0,
        active: 27_227_128_320.0,
        active_tolerance: 0.0,
    },
    Case {
        name: "Falcon 7B (6.92 B)",
        config: r#"{"model_type":"falcon","hidden_size":4544,"num_attention_heads":71,"num_hidden_layers":32,"vocab_size":65024,"multi_query":true,"parallel_attn":true,"bias":false,"new_decoder_architecture":false}"#,
        total: 6.92e9,
        active: 6.92e9,
        active_tolerance: 0.01,
    },
    Case {
        name: "DBRX (132 B total, 36 B active; Databricks)",
        config: r#"{"model_type":"dbrx","d_model":6144,"n_heads":48,"n_layers":40,"vocab_size":100352,"attn_config":{"kv_n_heads":8},"ffn_config":{"ffn_hidden_size":10752,"moe_num_experts":16,"moe_top_k":4},"tie_word_embeddings":false}"#,
        total: 132e9,
        active: 36e9,
        // "36B active" is rounded to two figures; the count is 36.5 B.
        active_tolerance: 0.015,
    },
    Case {
        name: "GPT-3 175B (Brown et al. 2020)",
        config: r#"{"model_type":"gpt2","n_embd":12288,"n_layer":96,"n_head":96,"vocab_size":50257,"n_positions":2048}"#,
        total: 175e9,
        active: 175e9,
        active_tolerance: 0.01,
    },
];

fn config(json: &str) -> ModelConfig {
    ModelConfig::parse(Path::new("config.json"), json.as_bytes()).unwrap()
}

fn within(got: u64, published: f64, tolerance: f64) -> bool {
    (got as f64 / published - 1.0).abs() <= tolerance
}

#[test]
fn config_counts_match_published_figures() {
    for case in CASES {
        let c = params_config::count(&config(case.config))
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert!(
            within(c.total, case.total, 0.01),
            "{}: total {} vs published {:e}",
            case.name,
            c.total,
            case.total
        );
        assert!(
            within(c.active, case.active, case.active_tolerance.max(1e-12)),
            "{}: active {} vs published {:e}",
            case.name,
            c.active,
            case.active
        );
        assert!(
            !c.fields.is_empty(),
            "{}: fields used are reported",
            case.name
        );
    }
}

#[test]
fn exact_counts_where_the_developer_published_them_exactly() {
    let exact = [
        (CASES[2].config, 8_030_261_248u64), // Llama 3.1 8B
        (CASES[3].config, 405_853_388_800),  // Llama 3.1 405B
        (CASES[4].config, 46_702_792_704),   // Mixtral 8x7B
        (CASES[9].config, 671_026_419_200),  // DeepSeek-V3 main model
        (CASES[12].config, 6_921_720_704),   // Falcon 7B
    ];
    for (json, n) in exact {
        assert_eq!(params_config::count(&config(json)).unwrap().total, n);
    }
}

#[test]
fn the_fields_used_and_the_defaults_assumed_are_reported() {
    let c = params_config::count(&config(CASES[10].config)).unwrap();
    assert!(
        c.fields.iter().any(|f| f == "head_dim=256"),
        "{:?}",
        c.fields
    );
    assert!(
        c.assumptions
            .iter()
            .any(|a| a.contains("tie_word_embeddings = true")),
        "{:?}",
        c.assumptions
    );
    let e = params_config::count(&config(r#"{"model_type":"llama","hidden_size":8}"#)).unwrap_err();
    assert!(e.contains("num_hidden_layers"), "{e}");
    let e = params_config::count(&config(
        r#"{"model_type":"mixtral","hidden_size":8,"num_hidden_layers":1,"num_attention_heads":1,"vocab_size":1,"intermediate_size":1,"num_local_experts":2,"num_experts_per_tok":3}"#,
    ))
    .unwrap_err();
    assert!(e.contains("contradicts"), "{e}");
    let e = params_config::count(&config(
        r#"{"model_type":"llama","hidden_size":18446744073709551615,"num_hidden_layers":9,"num_attention_heads":1,"vocab_size":9,"intermediate_size":9}"#,
    ))
    .unwrap_err();
    assert!(e.contains("overflow"), "{e}");
}

fn tensors_estimate(spec: &ModelSpec) -> compute::Estimate {
    let dir = tempfile::tempdir().unwrap();
    write_model(
        spec,
        dir.path(),
        WriteOptions {
            fill: DataFill::Sparse,
            max_shard_bytes: Some(20_000_000_000),
        },
    )
    .unwrap();
    let a = artifact::open(dir.path()).unwrap();
    compute::estimate(&compute::EstimateInput {
        artifact: Some(&a),
        config: None,
        record: None,
        tokens: None,
        accelerators: &compute::AcceleratorTable::builtin(),
        disagreement_factor: 2.0,
        threshold: Some(1e26),
    })
    .unwrap()
}

#[test]
fn tensors_give_the_same_counts_as_the_config() {
    for spec in [
        ModelSpec::llama31_8b(),
        ModelSpec::llama31_405b(),
        ModelSpec::mixtral_8x7b(),
        ModelSpec::deepseek_v3(),
        ModelSpec::qwen25_7b(),
        ModelSpec::qwen3_30b_a3b(),
        ModelSpec::gemma2_9b(),
    ] {
        let e = tensors_estimate(&spec);
        let p = &e.parameters;
        let c = p.from_config.as_ref().unwrap();
        assert_eq!(p.source, "tensors");
        assert_eq!(p.total, spec.parameters());
        assert_eq!(p.total, c.total, "{:?}", spec.family);
        assert_eq!(p.active, Some(c.active), "{:?}", spec.family);
        assert_eq!(p.active, Some(spec.active_parameters()));
        assert!(
            e.warnings
                .iter()
                .all(|w| !w.contains("config.json describes")),
            "{:?}",
            e.warnings
        );
    }
    // Mixtral: 12.9 B active of 46.7 B
    assert_eq!(
        ModelSpec::mixtral_8x7b().active_parameters(),
        12_879_925_248
    );
}

#[test]
fn a_model_quantized_from_405b_counts_as_405b() {
    for q in [
        Quantization::Gptq {
            bits: 4,
            group_size: 128,
        },
        Quantization::Gptq {
            bits: 8,
            group_size: 128,
        },
        Quantization::BnbNf4,
        Quantization::Fp8Block,
    ] {
        let spec = ModelSpec {
            quantization: Some(q),
            ..ModelSpec::llama31_405b()
        };
        let e = tensors_estimate(&spec);
        assert_eq!(e.parameters.total, 405_853_388_800, "{q:?}");
        // the file really is smaller than BF16: the count is not a storage artefact
        assert!(
            spec.data_bytes() < ModelSpec::llama31_405b().data_bytes(),
            "{q:?}"
        );
    }
}

#[test]
fn a_config_that_disagrees_with_the_tensors_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let spec = ModelSpec::tiny_llama();
    write_model(
        &spec,
        dir.path(),
        WriteOptions {
            fill: DataFill::Sparse,
            max_shard_bytes: None,
        },
    )
    .unwrap();
    // a config claiming twice the layers
    let mut cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("config.json")).unwrap()).unwrap();
    cfg["num_hidden_layers"] = 8.into();
    std::fs::write(dir.path().join("config.json"), cfg.to_string()).unwrap();
    let a = artifact::open(dir.path()).unwrap();
    let e = compute::estimate(&compute::EstimateInput {
        artifact: Some(&a),
        config: None,
        record: None,
        tokens: None,
        accelerators: &compute::AcceleratorTable::builtin(),
        disagreement_factor: 2.0,
        threshold: None,
    })
    .unwrap();
    assert_eq!(e.parameters.total, spec.parameters());
    assert!(
        e.warnings
            .iter()
            .any(|w| w.contains("config.json describes")),
        "{:?}",
        e.warnings
    );
}
