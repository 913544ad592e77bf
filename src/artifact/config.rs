//! Architecture facts from a Hugging Face `config.json`.
//!
//! Configs spell the same fact many ways (`num_hidden_layers`, `n_layer`, `num_layers`…) and
//! multimodal models nest the language model under `text_config`. Each fact records the key it
//! came from, so a reader can check the tool's reading against the file.

use super::ArtifactError;
use super::limits::MAX_CONFIG_BYTES;
use super::read::MeteredFile;
use super::strict_json;
use serde::Serialize;
use serde_json::Value;
use std::path::Path;

/// One integer fact and the config key it was read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fact {
    pub value: u64,
    pub key: String,
}

/// What `config.json` says about the architecture. Absent facts are `None`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ModelConfig {
    pub model_type: Option<String>,
    pub architectures: Vec<String>,
    pub layers: Option<Fact>,
    pub hidden_size: Option<Fact>,
    pub attention_heads: Option<Fact>,
    pub kv_heads: Option<Fact>,
    pub head_dim: Option<Fact>,
    pub intermediate_size: Option<Fact>,
    pub vocab_size: Option<Fact>,
    pub experts: Option<Fact>,
    pub experts_per_token: Option<Fact>,
    pub shared_experts: Option<Fact>,
    pub moe_intermediate_size: Option<Fact>,
    pub tie_word_embeddings: Option<bool>,
    pub torch_dtype: Option<String>,
    /// `quantization_config.quant_method`, when the weights are quantized.
    pub quant_method: Option<String>,
    /// The whole document, for stages that need more than the facts above.
    #[serde(skip)]
    pub raw: Value,
}

const LAYERS: &[&str] = &["num_hidden_layers", "n_layer", "num_layers", "n_layers"];
const HIDDEN: &[&str] = &["hidden_size", "n_embd", "d_model", "dim", "model_dim"];
const HEADS: &[&str] = &["num_attention_heads", "n_head", "n_heads", "num_heads"];
const KV_HEADS: &[&str] = &[
    "num_key_value_heads",
    "num_kv_heads",
    "n_kv_heads",
    "multi_query_group_num",
];
const HEAD_DIM: &[&str] = &["head_dim", "kv_channels"];
const INTERMEDIATE: &[&str] = &["intermediate_size", "ffn_hidden_size", "n_inner", "d_ff"];
const VOCAB: &[&str] = &["vocab_size", "padded_vocab_size", "n_vocab"];
const EXPERTS: &[&str] = &[
    "num_local_experts",
    "n_routed_experts",
    "num_experts",
    "moe_num_experts",
    "n_experts",
];
const EXPERTS_PER_TOKEN: &[&str] = &[
    "num_experts_per_tok",
    "num_experts_per_token",
    "moe_topk",
    "experts_per_token",
    "moe_k",
];
const SHARED_EXPERTS: &[&str] = &["n_shared_experts", "num_shared_experts"];
const MOE_INTERMEDIATE: &[&str] = &["moe_intermediate_size", "expert_intermediate_size"];

impl ModelConfig {
    /// Reads and parses `path` (a `config.json`), bounded by [`MAX_CONFIG_BYTES`].
    pub fn read(file: &mut MeteredFile) -> Result<ModelConfig, ArtifactError> {
        let bytes = file.read_all_limited("config.json", MAX_CONFIG_BYTES)?;
        ModelConfig::parse(file.path(), &bytes)
    }

    /// Parses config JSON text; duplicate keys are rejected.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<ModelConfig, ArtifactError> {
        let err = |message: String| ArtifactError::Config {
            path: path.to_owned(),
            message,
        };
        let raw = strict_json::parse(bytes)
            .map_err(|(offset, msg)| err(format!("offset {offset}: {msg}")))?;
        let Value::Object(top) = &raw else {
            return Err(err("expected a JSON object".to_owned()));
        };
        // Multimodal configs (Llama 4, Gemma 3, Qwen-VL) keep the language model in a nested
        // `text_config`; its facts win where present, the top level fills the rest.
        let text = top.get("text_config").and_then(Value::as_object);
        let fact = |keys: &[&str]| -> Result<Option<Fact>, ArtifactError> {
            for (scope, prefix) in [(text, "text_config."), (Some(top), "")] {
                let Some(scope) = scope else { continue };
                for key in keys {
                    match scope.get(*key) {
                        None | Some(Value::Null) => continue,
                        Some(v) => {
                            let Some(value) = v.as_u64() else {
                                return Err(err(format!(
                                    "`{prefix}{key}` should be a non-negative integer, found {v}"
                                )));
                            };
                            return Ok(Some(Fact {
                                value,
                                key: format!("{prefix}{key}"),
                            }));
                        }
                    }
                }
            }
            Ok(None)
        };
        let string = |key: &str| -> Option<String> {
            text.and_then(|t| t.get(key))
                .or_else(|| top.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let tie = text
            .and_then(|t| t.get("tie_word_embeddings"))
            .or_else(|| top.get("tie_word_embeddings"))
            .and_then(Value::as_bool);
        let architectures = top
            .get("architectures")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let quant_method = top
            .get("quantization_config")
            .and_then(|q| q.get("quant_method"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(ModelConfig {
            model_type: string("model_type"),
            architectures,
            layers: fact(LAYERS)?,
            hidden_size: fact(HIDDEN)?,
            attention_heads: fact(HEADS)?,
            kv_heads: fact(KV_HEADS)?,
            head_dim: fact(HEAD_DIM)?,
            intermediate_size: fact(INTERMEDIATE)?,
            vocab_size: fact(VOCAB)?,
            experts: fact(EXPERTS)?,
            experts_per_token: fact(EXPERTS_PER_TOKEN)?,
            shared_experts: fact(SHARED_EXPERTS)?,
            moe_intermediate_size: fact(MOE_INTERMEDIATE)?,
            tie_word_embeddings: tie,
            torch_dtype: string("torch_dtype").or_else(|| string("dtype")),
            quant_method,
            raw,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_aliases_and_nested_text_config() {
        let json = br#"{"model_type":"llama4","architectures":["Llama4ForConditionalGeneration"],
            "text_config":{"num_hidden_layers":48,"hidden_size":5120,"num_attention_heads":40,
            "num_key_value_heads":8,"vocab_size":202048,"num_local_experts":16,
            "num_experts_per_tok":1},"tie_word_embeddings":false}"#;
        let c = ModelConfig::parse(Path::new("config.json"), json).unwrap();
        assert_eq!(c.layers.unwrap().key, "text_config.num_hidden_layers");
        assert_eq!(c.experts.unwrap().value, 16);
        assert_eq!(c.experts_per_token.unwrap().value, 1);
        assert_eq!(c.tie_word_embeddings, Some(false));

        let gpt2 = br#"{"model_type":"gpt2","n_layer":12,"n_embd":768,"n_head":12}"#;
        let c = ModelConfig::parse(Path::new("config.json"), gpt2).unwrap();
        assert_eq!(
            c.layers.unwrap(),
            Fact {
                value: 12,
                key: "n_layer".into()
            }
        );
        assert_eq!(c.kv_heads, None);
    }

    #[test]
    fn wrong_types_and_duplicates_are_errors() {
        let e = ModelConfig::parse(Path::new("c.json"), br#"{"hidden_size":-1}"#).unwrap_err();
        assert!(
            e.to_string()
                .contains("`hidden_size` should be a non-negative integer"),
            "{e}"
        );
        let e = ModelConfig::parse(Path::new("c.json"), br#"{"a":1,"a":1}"#).unwrap_err();
        assert!(e.to_string().contains("duplicate key `a`"), "{e}");
    }
}
