//! Lineage a model's own files suggest (issue 15 item 10): a Hugging Face model card's
//! `base_model`, `base_model_relation` and `license`, and `config.json`'s `_name_or_path`, shown
//! as suggested facts by `classify`, `gate` and `audit` (human and JSON) and in the hint of a
//! decision that needs review — and never changing a decision.

mod common;
use common::{stderr, stdout, weightguard};
use serde_json::Value;
use std::path::Path;
use weightguard::fixture::{DataFill, ModelSpec, WriteOptions, write_model};

const AS_OF: &str = "2026-07-23";

/// A fine-tune's card as the hub's trainer writes it, with keys this reader skips around the
/// ones it reads, and `base_model:` in the prose below (not front matter: not read).
const CARD: &str = "---
language:
- en
license: llama3.1
base_model: meta-llama/Llama-3.1-8B
base_model_relation: finetune
tags:
- llama
- trl
- sft
datasets:
- HuggingFaceH4/ultrachat_200k
model-index:
- name: acme/llama-3.1-8b-chat
  results: []
widget:
- text: 'Hello: who are you?'
---

# acme/llama-3.1-8b-chat

This model is a fine-tuned version of
[meta-llama/Llama-3.1-8B](https://huggingface.co/meta-llama/Llama-3.1-8B).

base_model: someone/else
";

/// Llama 3.1 8B's exact layout, sparse: with no training declared it is too large for the
/// plausibility bound to settle, so it needs review.
fn fine_tune(dir: &Path) {
    write_model(
        &ModelSpec::llama31_8b(),
        dir,
        WriteOptions {
            fill: DataFill::Sparse,
            max_shard_bytes: None,
        },
    )
    .unwrap();
}

/// Adds `_name_or_path` to the config the fixture wrote.
fn set_name_or_path(dir: &Path, value: &str) {
    let path = dir.join("config.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    config["_name_or_path"] = value.into();
    std::fs::write(&path, serde_json::to_vec(&config).unwrap()).unwrap();
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let o = weightguard(args);
    (o.status.code(), stdout(&o), stderr(&o))
}

fn json(args: &[&str]) -> (Option<i32>, Value) {
    let (code, out, err) = run(args);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    (code, v)
}

/// The output with every `suggested` removed: what must not change when a card is added.
fn without_suggested(mut v: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.remove("suggested");
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

fn fact<'a>(v: &'a Value, key: &str) -> &'a Value {
    v["suggested"]["facts"]
        .as_array()
        .unwrap_or_else(|| panic!("no suggested facts: {v}"))
        .iter()
        .find(|f| f["key"] == key)
        .unwrap_or_else(|| panic!("no suggested `{key}`: {}", v["suggested"]))
}

#[test]
fn classify_and_gate_show_the_card_as_suggested_and_decide_as_without_it() {
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("llama-3.1-8b-chat");
    fine_tune(&m);
    let path = m.to_str().unwrap();
    let classify = ["classify", path, "--as-of", AS_OF, "--json"];
    let gate = [
        "gate",
        path,
        "--destination",
        "IN",
        "--as-of",
        AS_OF,
        "--json",
    ];
    let (c0, bare) = json(&classify);
    let (g0, bare_gate) = json(&gate);
    assert_eq!(c0, Some(5), "{bare}");
    assert_eq!(bare["decision"], "needs_review");
    assert!(
        bare.get("suggested").is_none(),
        "no card, nothing suggested"
    );

    std::fs::write(m.join("README.md"), CARD).unwrap();
    set_name_or_path(&m, "meta-llama/Llama-3.1-8B");
    let (c1, carded) = json(&classify);
    assert_eq!(c1, c0);
    assert_eq!(
        without_suggested(carded.clone()),
        bare,
        "the card changed a decision"
    );
    let card = m.join("README.md").display().to_string();
    for (key, value) in [
        ("base_model", "meta-llama/Llama-3.1-8B"),
        ("base_model_relation", "finetune"),
        ("license", "llama3.1"),
    ] {
        let f = fact(&carded, key);
        assert_eq!(f["value"], value, "{f}");
        assert_eq!(f["source"], card.as_str(), "{f}");
    }
    let f = fact(&carded, "_name_or_path");
    assert_eq!(f["source"], m.join("config.json").display().to_string());
    assert_eq!(
        carded["suggested"]["facts"].as_array().unwrap().len(),
        4,
        "the prose's `base_model:` is not front matter: {}",
        carded["suggested"]
    );
    let hint = carded["suggested"]["hint"].as_str().unwrap();
    assert!(
        hint.starts_with(
            "the model card names meta-llama/Llama-3.1-8B as its base (finetune); if that base is published, declare it: a training record with [base_model] name = \"meta-llama/Llama-3.1-8B\", published = true, operations = …"
        ),
        "{hint}"
    );
    assert_eq!(carded["models"][0]["suggested"], carded["suggested"]);
    // Suggested, not declared: the policy's own list of what to declare is unchanged.
    assert_eq!(carded["to_declare"], bare["to_declare"]);

    let (_, human, _) = run(&classify[..4]);
    assert!(
        human.contains("suggested    base_model = meta-llama/Llama-3.1-8B  (")
            && human.contains("README.md; suggested, not declared: not used in the decision)"),
        "{human}"
    );
    assert!(
        human.contains(
            "suggestion   the model card names meta-llama/Llama-3.1-8B as its base (finetune)"
        ),
        "{human}"
    );

    let (g1, carded_gate) = json(&gate);
    assert_eq!(g1, g0);
    assert_eq!(without_suggested(carded_gate.clone()), bare_gate);
    assert_eq!(carded_gate["suggested"]["hint"], hint);
    assert_eq!(carded_gate["models"][0]["suggested"], carded["suggested"]);
    let (_, human, _) = run(&gate[..6]);
    assert!(
        human.contains("suggested      base_model = meta-llama/Llama-3.1-8B"),
        "{human}"
    );
    assert!(
        human.contains("suggestion     the model card names"),
        "{human}"
    );
}

#[test]
fn a_settled_decision_shows_the_card_without_a_hint() {
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("m");
    write_model(
        &ModelSpec::tiny_llama(),
        &m,
        WriteOptions {
            fill: DataFill::Pattern(1),
            max_shard_bytes: None,
        },
    )
    .unwrap();
    std::fs::write(
        m.join("training-record.toml"),
        "[model]\npublished = false\n[[stage]]\nname = \"sft\"\nkind = \"fine_tuning\"\ntokens = 1e9\n",
    )
    .unwrap();
    let args = ["classify", m.to_str().unwrap(), "--as-of", AS_OF, "--json"];
    let (code, bare) = json(&args);
    std::fs::write(
        m.join("README.md"),
        "---\nbase_model:\n  - Qwen/Qwen2.5-7B\n  - mistralai/Mistral-7B-v0.1\nbase_model_relation: merge\n---\n",
    )
    .unwrap();
    let (code2, carded) = json(&args);
    assert_eq!((code, code2), (Some(0), Some(0)));
    assert_eq!(carded["decision"], "not_controlled");
    assert_eq!(without_suggested(carded.clone()), bare);
    let bases: Vec<&Value> = carded["suggested"]["facts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["key"] == "base_model")
        .map(|f| &f["value"])
        .collect();
    assert_eq!(bases, ["Qwen/Qwen2.5-7B", "mistralai/Mistral-7B-v0.1"]);
    assert!(carded["suggested"].get("hint").is_none(), "{carded}");
}

#[test]
fn a_malformed_or_hostile_card_is_a_warning_never_an_error() {
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("m");
    fine_tune(&m);
    let path = m.to_str().unwrap();
    let args = ["classify", path, "--as-of", AS_OF, "--json"];
    let (code, bare) = json(&args);
    let long_front_matter = format!("---\ntags:\n{}", "- x\n".repeat(20_000));
    let cases: [(&str, &[u8]); 5] = [
        ("---\nbase_model: a/b\n", "no closing `---`"),
        (
            long_front_matter.as_str(),
            "does not close within the first 65536 bytes",
        ),
        ("---\nbase_model: &anchor a/b\n---\n", "YAML construct"),
        (
            "---\nbase_model: \"\x1b]0;owned\x07\"\n---\n",
            "control or bidirectional",
        ),
        (
            "---\nbase_model: [a/b, \x00]\n---\n",
            "control or bidirectional",
        ),
    ]
    .map(|(card, want)| (want, card.as_bytes()));
    for (want, card) in cases {
        std::fs::write(m.join("README.md"), card).unwrap();
        let (c, v) = json(&args);
        assert_eq!(c, code, "{want}");
        assert_eq!(without_suggested(v.clone()), bare, "{want}");
        let warnings = v["suggested"]["warnings"].as_array().unwrap();
        assert!(
            warnings.iter().any(|w| w.as_str().unwrap().contains(want)),
            "{want}: {warnings:?}"
        );
        assert!(v["suggested"]["facts"].as_array().unwrap().is_empty());
        let (_, human, _) = run(&args[..4]);
        assert!(human.contains("card warning"), "{human}");
        assert!(!human.contains('\x1b'), "an escape reached the terminal");
    }
    // Not UTF-8, and a card that is a directory's worth of junk: still only warnings.
    std::fs::write(m.join("README.md"), b"---\nlicense: \xff\xfe\n---\n").unwrap();
    let (c, v) = json(&args);
    assert_eq!(c, code);
    assert!(
        v["suggested"]["warnings"][0]
            .as_str()
            .unwrap()
            .contains("not UTF-8")
    );
}

#[test]
fn audit_shows_the_card_and_its_hint_and_classifies_as_without_it() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("store");
    let m = root.join("llama-3.1-8b-chat");
    fine_tune(&m);
    let audit = || {
        let o = weightguard(&[
            "audit",
            root.to_str().unwrap(),
            "--as-of",
            AS_OF,
            "--format",
            "jsonl",
            "--no-progress",
        ]);
        let text = stdout(&o);
        let result: Value = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|v| v["path"] == "llama-3.1-8b-chat")
            .unwrap_or_else(|| panic!("no result: {text} {}", stderr(&o)));
        (o.status.code(), result)
    };
    let (code, bare) = audit();
    std::fs::write(m.join("README.md"), CARD).unwrap();
    let (code2, carded) = audit();
    assert_eq!(code, code2);
    assert_eq!(carded["classification"], "needs_review");
    assert_eq!(carded["classification"], bare["classification"]);
    assert_eq!(carded["findings"].as_array().unwrap().len(), 1);
    assert_eq!(
        carded["findings"][0]["severity"],
        bare["findings"][0]["severity"]
    );
    let f = fact(&carded, "base_model");
    assert_eq!(f["value"], "meta-llama/Llama-3.1-8B");
    assert_eq!(f["source"], "llama-3.1-8b-chat/README.md");
    let message = carded["findings"][0]["message"].as_str().unwrap();
    let before = bare["findings"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with(before)
            && message.contains("; the model card names meta-llama/Llama-3.1-8B as its base (finetune); if that base is published, declare it"),
        "{message}"
    );
    // The card's front matter costs one step of reading, not the card.
    let extra = carded["bytes_read"].as_u64().unwrap() - bare["bytes_read"].as_u64().unwrap();
    assert!(extra <= 4096, "{extra}");
}
