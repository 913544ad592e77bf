//! Training operations reproduced from published inputs, through the `estimate` command.

mod common;
use common::*;
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn estimate(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["estimate", "--json"];
    all.extend_from_slice(args);
    let out = weightguard(&all);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ops(v: &serde_json::Value) -> (f64, f64, f64) {
    (
        v["low"].as_f64().unwrap(),
        v["estimate"].as_f64().unwrap(),
        v["high"].as_f64().unwrap_or(f64::INFINITY),
    )
}

const GPT3: &str = r#"{"model_type":"gpt2","n_embd":12288,"n_layer":96,"n_head":96,"vocab_size":50257,"n_positions":2048}"#;
const LLAMA_405B: &str = r#"{"model_type":"llama","hidden_size":16384,"intermediate_size":53248,"num_attention_heads":128,"num_hidden_layers":126,"num_key_value_heads":8,"vocab_size":128256,"tie_word_embeddings":false}"#;

#[test]
fn gpt3_from_its_published_inputs() {
    // Brown et al. 2020: 175 B parameters, 300 B tokens, 3.14e23 FLOP.
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "config.json", GPT3);
    let e = estimate(&[config.to_str().unwrap(), "--tokens", "300B"]);
    assert_eq!(e["parameters"]["source"], "config");
    let (low, point, high) = ops(&e["training_operations"]);
    assert!(
        low <= 3.14e23 && 3.14e23 <= high,
        "{low:e} {point:e} {high:e}"
    );
    assert!((point / 3.14e23 - 1.0).abs() < 0.01, "{point:e}");
    assert_eq!(e["methods"][0]["name"], "operation_counting");
    assert!(
        e["methods"][0]["inputs"]["D (tokens)"]
            .as_str()
            .unwrap()
            .contains("3.0000e11")
    );
}

#[test]
fn llama_405b_by_tokens_and_by_hardware_time() {
    // Meta: 3.8e25 FLOP, 15.6 T tokens, 30.84 M H100-hours.
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "config.json", LLAMA_405B);
    write(
        dir.path(),
        "training-record.toml",
        r#"
[model]
name = "llama-3.1-405b"
published = true

[[stage]]
name = "pre-training"
kind = "pretraining"
tokens = 15.6e12
evidence = ["Llama 3 herd of models, arXiv:2407.21783"]

[stage.hardware]
accelerator = "H100-SXM"
hours = 30.84e6
"#,
    );
    let e = estimate(&[config.to_str().unwrap()]);
    assert!(
        e["training_record"]
            .as_str()
            .unwrap()
            .ends_with("training-record.toml")
    );
    let (low, point, high) = ops(&e["training_operations"]);
    assert!(
        low <= 3.8e25 && 3.8e25 <= high,
        "{low:e} {point:e} {high:e}"
    );
    let methods = e["methods"].as_array().unwrap();
    assert_eq!(methods.len(), 2);
    for m in methods {
        let (low, _, high) = ops(&m["result"]);
        assert!(
            low <= 3.8e25 && 3.8e25 <= high,
            "{}: {low:e}..{high:e}",
            m["name"]
        );
    }
    // the range is honest, not defensive: tens of percent at most with N and D known
    assert!(high / low < 1.2, "{low:e}..{high:e}");
    assert_eq!(e["model"]["published"], true);
    // no disagreement warning: 6ND and hardware time agree within 2×
    assert!(
        !e["warnings"].to_string().contains("apart"),
        "{}",
        e["warnings"]
    );
}

#[test]
fn moe_operations_use_active_parameters_and_threshold_tokens_are_answered() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "config.json",
        r#"{"model_type":"mixtral","hidden_size":4096,"intermediate_size":14336,"num_attention_heads":32,"num_hidden_layers":32,"num_key_value_heads":8,"vocab_size":32000,"num_local_experts":8,"num_experts_per_tok":2,"tie_word_embeddings":false}"#,
    );
    let e = estimate(&[config.to_str().unwrap()]);
    assert_eq!(e["training_operations"], serde_json::Value::Null);
    let active = e["parameters"]["active"].as_f64().unwrap();
    assert_eq!(active, 12_879_925_248.0);
    let tokens = e["threshold"]["tokens_to_reach"].as_f64().unwrap();
    assert!((tokens - 1e26 / (6.0 * active)).abs() / tokens < 1e-9);
    assert!(
        e["warnings"]
            .to_string()
            .contains("only parameters are known")
    );

    let e = estimate(&[config.to_str().unwrap(), "--tokens", "1e12"]);
    let (_, point, _) = ops(&e["training_operations"]);
    assert!((point / (6.0 * active * 1e12) - 1.0).abs() < 1e-9);
}

#[test]
fn lineage_and_disagreement() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "config.json", LLAMA_405B);
    let record = write(
        dir.path(),
        "r.toml",
        r#"
[[stage]]
name = "fine-tuning"
kind = "fine_tuning"
tokens = 1e11
[stage.hardware]
accelerator = "H100"
hours = 1e7
utilization = 0.4
[base_model]
name = "secret-base"
published = false
"#,
    );
    let e = estimate(&[
        config.to_str().unwrap(),
        "--training-record",
        record.to_str().unwrap(),
    ]);
    let w = e["warnings"].to_string();
    // 6ND = 2.4e23 vs hardware 1.4e25: far more than 2× apart
    assert!(w.contains("more than 2× apart"), "{w}");
    // an unpublished base with undeclared operations leaves the total unbounded above
    assert!(w.contains("no upper bound"), "{w}");
    assert_eq!(e["training_operations"]["high"], serde_json::Value::Null);
    assert_eq!(e["components"]["base_model"]["published"], false);
}

#[test]
fn bad_training_records_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "config.json", LLAMA_405B);
    let cases = [
        (
            "[[stage]]\nname = 'a'\nkind = 'pretraining'\ntokenz = 5",
            "unknown field `tokenz`",
        ),
        (
            "[[stage]]\nname = 'a'\nkind = 'pretraining'\n[stage.hardware]\naccelerator = 'Z80'\nhours = 5",
            "hardware.accelerator: `Z80` is not in the accelerator table",
        ),
        (
            "[[synthetic_data]]\ngenerator = 'g'\nshare_of_operations = 1.5\ngenerator_published = false",
            "share_of_operations: a fraction",
        ),
        (
            "[[stage]]\nname = 'a'\nkind = 'pretraining'",
            "declares none of",
        ),
        (
            "[[stage]]\nname = 'a'\nkind = 'pretraining'\ntokens = 1\n[stage.hardware]\naccelerator = 'H100'\nhours = 1\nutilization_low = 0.5\nutilization_high = 0.2",
            "utilization_low 0.5 is above utilization_high 0.2",
        ),
    ];
    for (text, expected) in cases {
        let record = write(dir.path(), "bad.toml", text);
        let out = weightguard(&[
            "estimate",
            config.to_str().unwrap(),
            "--training-record",
            record.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{text}");
        let err = stderr(&out);
        assert!(err.contains(expected), "{text}\n→ {err}");
        assert!(
            err.contains("bad.toml") || expected.contains("Z80"),
            "{err}"
        );
    }
    // --tokens beside a record that declares stages is ambiguous
    let record = write(
        dir.path(),
        "ok.toml",
        "[[stage]]\nname='a'\nkind='rl'\ntokens=1",
    );
    let out = weightguard(&[
        "estimate",
        config.to_str().unwrap(),
        "--training-record",
        record.to_str().unwrap(),
        "--tokens",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("drop one"));
    // a token count that is not a number is a usage error
    let out = weightguard(&["estimate", config.to_str().unwrap(), "--tokens", "lots"]);
    assert_eq!(out.status.code(), Some(2));
}
