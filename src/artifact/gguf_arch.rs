//! What a GGUF's own metadata says about the model: architecture facts for the estimator, and
//! the split (multi-file) layout.
//!
//! GGUF keeps the config inside the weights file, under `<arch>.…` keys where `<arch>` is
//! `general.architecture`. The facts land in the same [`ModelConfig`] that `config.json` fills,
//! each with the GGUF key it came from, so the estimator reads one shape of facts.

use super::config::{Fact, ModelConfig};
use super::gguf::{GgufFile, MetaValue};
use std::path::{Path, PathBuf};

/// Architecture facts from the metadata; `None` when the file names no architecture.
pub fn model_config(g: &GgufFile) -> Option<ModelConfig> {
    let arch = match g.get("general.architecture") {
        Some(MetaValue::Str(a)) => a.clone(),
        _ => return None,
    };
    let fact = |suffix: &str| -> Option<Fact> {
        let key = format!("{arch}.{suffix}");
        // Some architectures store per-layer arrays (head counts of OpenELM); the largest value
        // is the one that bounds the model.
        let value = match g.get(&key)? {
            MetaValue::Array { items, .. } => items.iter().filter_map(MetaValue::as_u64).max(),
            v => v.as_u64(),
        }?;
        Some(Fact { value, key })
    };
    let vocab = fact("vocab_size").or_else(|| match g.get("tokenizer.ggml.tokens") {
        Some(MetaValue::Array { len, .. }) => Some(Fact {
            value: *len,
            key: "tokenizer.ggml.tokens".into(),
        }),
        _ => None,
    });
    Some(ModelConfig {
        model_type: Some(arch.clone()),
        architectures: Vec::new(),
        layers: fact("block_count"),
        hidden_size: fact("embedding_length"),
        attention_heads: fact("attention.head_count"),
        kv_heads: fact("attention.head_count_kv"),
        head_dim: fact("attention.key_length"),
        intermediate_size: fact("feed_forward_length"),
        vocab_size: vocab,
        experts: fact("expert_count"),
        experts_per_token: fact("expert_used_count"),
        shared_experts: fact("expert_shared_count"),
        moe_intermediate_size: fact("expert_feed_forward_length"),
        tie_word_embeddings: None,
        torch_dtype: None,
        // Quantization is per tensor in GGUF and does not change parameter counts; the
        // per-tensor types are in `by_dtype`, `general.file_type` in the file's metadata.
        quant_method: None,
        raw: serde_json::Value::Null,
    })
}

/// `split.count`, when the file is one part of a split model.
pub fn split_count(g: &GgufFile) -> Option<u64> {
    g.get("split.count")
        .and_then(MetaValue::as_u64)
        .filter(|&n| n > 1)
}

/// The sibling file names of a split model, as llama.cpp names them
/// (`<prefix>-00001-of-00003.gguf`), when `path` follows that pattern.
pub fn split_siblings(path: &Path, count: u64) -> Option<Vec<PathBuf>> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".gguf")?;
    // "<prefix>-NNNNN-of-MMMMM"
    let (rest, total) = stem.rsplit_once("-of-")?;
    let (prefix, _no) = rest.rsplit_once('-')?;
    if total.parse::<u64>().ok()? != count || count > super::limits::MAX_SHARDS as u64 {
        return None;
    }
    let dir = path.parent().unwrap_or(Path::new(""));
    Some(
        (1..=count)
            .map(|i| dir.join(format!("{prefix}-{i:05}-of-{count:05}.gguf")))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_names_follow_llama_cpp() {
        let s = split_siblings(Path::new("/m/q-00002-of-00003.gguf"), 3).unwrap();
        assert_eq!(s[0], Path::new("/m/q-00001-of-00003.gguf"));
        assert_eq!(s.len(), 3);
        assert!(split_siblings(Path::new("/m/q-00002-of-00003.gguf"), 4).is_none());
        assert!(split_siblings(Path::new("/m/q.gguf"), 3).is_none());
    }
}
