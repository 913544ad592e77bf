//! classify, gate and policy through the binary: exit codes (the contract), JSON keys, usage
//! errors, validation messages.

mod common;
use common::{stderr, stdout, weightguard};
use std::path::Path;

const CONFIG: &str = r#"{"architectures":["LlamaForCausalLM"],"head_dim":128,"hidden_size":16384,
"intermediate_size":53248,"model_type":"llama","num_attention_heads":128,"num_hidden_layers":126,
"num_key_value_heads":8,"tie_word_embeddings":false,"vocab_size":128256}"#;

/// A model directory holding only config.json and a training record declaring `ops`.
fn model(dir: &Path, ops: &str) -> String {
    std::fs::write(dir.join("config.json"), CONFIG).unwrap();
    std::fs::write(
        dir.join("training-record.toml"),
        format!("[model]\nname = \"frontier\"\npublished = false\n[[stage]]\nname = \"pre\"\nkind = \"pretraining\"\n{ops}\n"),
    )
    .unwrap();
    dir.join("config.json").display().to_string()
}

#[test]
fn gate_exit_codes_follow_the_contract() {
    let d = tempfile::tempdir().unwrap();
    let m = model(d.path(), "operations = 1.2e26");
    let at = ["--as-of", "2026-07-23"];
    let code = |dest: &str| {
        let o = weightguard(&[&["gate", &m, "--destination", dest], &at[..]].concat());
        (o.status.code(), stdout(&o), stderr(&o))
    };
    assert_eq!(code("DE").0, Some(0));
    assert_eq!(code("IN").0, Some(3));
    assert_eq!(code("CN").0, Some(4));
    let (c, _, err) = code("XX");
    assert_eq!(c, Some(2), "{err}");
    assert!(err.contains("not an ISO 3166-1 alpha-2"), "{err}");

    let human = code("mo").1;
    assert!(human.contains("DENIED"), "{human}");
    assert!(human.contains("NOT ENFORCED"), "{human}");

    let lic = d.path().join("licences.toml");
    std::fs::write(&lic, "[[license]]\nid = \"L1\"\ndestinations = [\"IN\"]\nmodels = [\"frontier\"]\nexpires = 2026-12-31\n").unwrap();
    let o = weightguard(&[
        "gate",
        &m,
        "--destination",
        "IN",
        "--licenses",
        lic.to_str().unwrap(),
        "--as-of",
        "2026-07-23",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["decision"], "allowed");
    assert_eq!(j["authorization"], "license:L1");
    assert_eq!(j["destination"], "IN");
    assert_eq!(j["classification"]["decision"], "controlled");
    assert_eq!(j["classification"]["eccn"], "4E091");
    assert_eq!(j["classification"]["policy"]["enforced"], false);
    assert!(
        j["classification"]["policy"]["digest"]
            .as_str()
            .unwrap()
            .starts_with("blake3:")
    );
    assert!(
        j["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["rule"].is_string() && r["citation"].is_string())
    );
}

#[test]
fn classify_exit_codes_and_json() {
    let d = tempfile::tempdir().unwrap();
    let m = model(d.path(), "tokens = 4.0656e13");
    let o = weightguard(&["classify", &m, "--json", "--as-of", "2026-07-23"]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["decision"], "needs_review");
    assert_eq!(j["policy"]["id"], "us-ear-4e091");
    for k in ["low", "estimate", "high"] {
        assert!(j["training_operations"][k].is_number(), "{k}");
    }
    let o = weightguard(&["gate", &m, "--destination", "CN", "--as-of", "2026-07-23"]);
    assert_eq!(o.status.code(), Some(5));

    let d2 = tempfile::tempdir().unwrap();
    let m2 = model(d2.path(), "operations = 9e25");
    let o = weightguard(&["classify", &m2]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("NOT CONTROLLED"), "{}", stdout(&o));

    let o = weightguard(&["classify", &m2, "--as-of", "2026-02-30"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn policy_list_show_validate() {
    let o = weightguard(&["policy", "list"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("us-ear-4e091"));
    let o = weightguard(&["policy", "show", "us-ear-4e091"]);
    assert_eq!(stdout(&o), include_str!("../policies/us-ear-4e091.toml"));
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/policies/examples/acme-internal.toml"
    );
    let o = weightguard(&["policy", "validate", example]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("valid policy `acme-internal`"));

    let d = tempfile::tempdir().unwrap();
    let bad = d.path().join("bad.toml");
    std::fs::write(
        &bad,
        include_str!("../policies/us-ear-4e091.toml").replace(
            "citation = \"15 CFR part 740, Supp. 5(a) (18 countries)\"",
            "citation = \"\"",
        ),
    )
    .unwrap();
    let o = weightguard(&["policy", "validate", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("bad.toml:") && err.contains("group `aia`: `citation` is empty"),
        "{err}"
    );
}

/// A lab's own accelerator table reaches every command that estimates: classify, gate and seal
/// decide on the same figure `estimate` shows.
#[test]
fn a_custom_accelerator_table_is_used_by_classify_and_gate() {
    let d = tempfile::tempdir().unwrap();
    let m = model(
        d.path(),
        "[stage.hardware]\naccelerator = \"acme-npu\"\nhours = 1e8\nutilization = 0.4",
    );
    let table = d.path().join("accelerators.toml");
    std::fs::write(
        &table,
        "version = \"acme-1\"\n[[accelerator]]\nname = \"acme-npu\"\ntflops = { bf16 = 2000.0 }\nsource = \"acme datasheet\"\n",
    )
    .unwrap();
    let t = table.to_str().unwrap();
    let at = ["--as-of", "2026-07-23", "--json"];
    let o = weightguard(&[&["estimate", &m, "--accelerators", t], &at[2..]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let e: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // 1e8 h × 3600 s × 2000 TFLOP/s × 0.4 = 2.88e26
    let point = e["training_operations"]["estimate"].as_f64().unwrap();
    assert!((point / 2.88e26 - 1.0).abs() < 1e-9, "{e}");

    let o = weightguard(&[&["classify", &m, "--accelerators", t], &at[..]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let c: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(c["decision"], "controlled", "{c}");
    assert_eq!(c["training_operations"]["estimate"].as_f64(), Some(point));

    let o = weightguard(
        &[
            &["gate", &m, "--destination", "CN", "--accelerators", t],
            &at[..],
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));

    // Without the table the chip is unknown, and the tool says so rather than guessing.
    let o = weightguard(&[&["classify", &m], &at[..]].concat());
    assert_ne!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stderr(&o).contains("acme-npu") || stdout(&o).contains("acme-npu"));
}

/// Issue 15.1: with no training declared, a model too small to reach 1e26 operations on any
/// plausible training set (over 1e16 tokens at the most a token can cost) is presumed not
/// controlled, exit 0, with the presumption's scope in the reason; a large one still needs
/// review, with the minimum tokens, the ratio to the bound and the one-line declarations.
#[test]
fn a_small_model_without_training_facts_is_presumed_not_controlled() {
    let d = tempfile::tempdir().unwrap();
    let small = d.path().join("small");
    weightguard::fixture::write_model(
        &weightguard::fixture::ModelSpec::tiny_llama(),
        &small,
        weightguard::fixture::WriteOptions {
            fill: weightguard::fixture::DataFill::Sparse,
            max_shard_bytes: None,
        },
    )
    .unwrap();
    let o = weightguard(&[
        "gate",
        small.to_str().unwrap(),
        "--destination",
        "IN",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let g: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(g["decision"], "allowed");
    assert_eq!(g["authorization"], "NLR");
    let c = &g["classification"];
    assert_eq!(c["decision"], "not_controlled");
    assert!(c["training_operations"].is_null(), "{c}");
    assert!(c["presumed_max_operations"].as_f64().unwrap() < 1e26, "{c}");
    let reason = c["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "plausibility")
        .unwrap();
    assert_eq!(reason["outcome"], "presumed_not_controlled");
    let detail = reason["detail"].as_str().unwrap();
    assert!(detail.contains("own training only"), "{detail}");
    assert!(detail.contains("unpublished base model"), "{detail}");
    // Every allowed answer says what it covers.
    assert!(g["scope"].as_str().unwrap().contains("outside it"), "{g}");

    // Llama 3.1 405B's config with no training: plausible, so review, naming the declarations.
    let big = d.path().join("big");
    std::fs::create_dir(&big).unwrap();
    std::fs::write(big.join("config.json"), CONFIG).unwrap();
    let o = weightguard(&[
        "classify",
        big.join("config.json").to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let c: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let reason = c["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "plausibility")
        .unwrap();
    assert_eq!(reason["outcome"], "plausible");
    assert!(
        reason["detail"].as_str().unwrap().contains("× the bound"),
        "{reason}"
    );
    let declare = c["to_declare"].to_string();
    assert!(declare.contains("--tokens N"), "{declare}");
    assert!(declare.contains("published = true"), "{declare}");
}

/// Issue 15.5: an AIA answer for controlled weights carries § 740.27(a)(3)'s unverified
/// conditions (JSON and human output); issue 15.2: an embargoed destination needs a licence
/// whatever the classification.
#[test]
fn aia_carries_its_conditions_and_embargoes_apply_to_uncontrolled_weights() {
    let d = tempfile::tempdir().unwrap();
    let m = model(d.path(), "operations = 1.2e26");
    let o = weightguard(&["gate", &m, "--destination", "DE", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let g: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(g["authorization"], "AIA");
    assert!(
        g["conditions"][0]
            .as_str()
            .unwrap()
            .contains("740.27(a)(3)"),
        "{g}"
    );
    let human = stdout(&weightguard(&["gate", &m, "--destination", "DE"]));
    assert!(
        human.contains("conditions") && human.contains("740.27(a)(3)"),
        "{human}"
    );
    assert!(human.contains("scope"), "{human}");

    let small = tempfile::tempdir().unwrap();
    let m = model(small.path(), "operations = 1e24");
    let o = weightguard(&["gate", &m, "--destination", "IR"]);
    assert_eq!(o.status.code(), Some(3), "{}", stdout(&o));
    assert!(stdout(&o).contains("embargo"), "{}", stdout(&o));
}

/// Weights weightguard cannot count are not zero weights: a bare pickle (or a container) gives no
/// count, so `gate` refuses to decide on it (exit 1) rather than answer NLR from a count of 0 —
/// with tokens declared or with the plausibility presumption.
#[test]
fn a_model_whose_weights_cannot_be_counted_is_not_decided() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("weights.pkl");
    // A protocol-2 pickle of a dict: no tensors a state-dict reader can count.
    std::fs::write(&p, b"\x80\x02}q\x00X\x01\x00\x00\x00wq\x01K\x01s.").unwrap();
    for extra in [&["--tokens", "1e20"][..], &[][..]] {
        let o = weightguard(
            &[
                &["gate", p.to_str().unwrap(), "--destination", "CN"][..],
                extra,
            ]
            .concat(),
        );
        assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
        assert!(
            stderr(&o).contains("no tensors weightguard can count"),
            "{}",
            stderr(&o)
        );
    }
}
