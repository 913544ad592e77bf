//! Parameters from the tensors themselves: logical totals (packed weights unpacked) and active
//! parameters per token for mixtures of experts.
//!
//! Routed experts are recognised by name in the layouts checkpoints use: one tensor per expert
//! (`…experts.7.w1.weight`, `…experts.7.gate_proj.weight`) and fused tensors holding every expert
//! (`…experts.gate_up_proj` with a leading expert dimension, DBRX's `…experts.mlp.w1`). Shared
//! experts (`shared_expert`, `shared_experts`) and routers are always active.

use super::quantization::{self, QuantScheme};
use crate::artifact::{Artifact, TensorRole, TensorType};
use serde::Serialize;

/// What the tensors say about parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TensorCount {
    /// Learned parameters, packed weights counted by their logical values.
    pub total: u64,
    /// Parameters used per token; `None` when experts exist but the config lacks experts per token.
    pub active: Option<u64>,
    /// Parameters in routed-expert tensors.
    pub routed_expert_parameters: u64,
    /// Experts (from the config, else from the highest expert index seen).
    pub experts: Option<u64>,
    pub experts_per_token: Option<u64>,
    /// Input embedding parameters (`embed_tokens`, `wte`, `word_embeddings`, `tok_embeddings`).
    pub embedding: u64,
    /// Packed weights: stored elements and the logical values they hold.
    pub packed_stored: u64,
    pub packed_logical: u64,
    pub quantization: Option<QuantScheme>,
}

/// Counts parameters from `artifact`'s tensors.
pub fn count(artifact: &Artifact) -> TensorCount {
    let config = artifact.config.as_ref();
    let scheme = quantization::scheme(config);
    let mut total = 0u64;
    let mut routed = 0u64;
    let mut embedding = 0u64;
    let mut packed_stored = 0u64;
    let mut packed_logical = 0u64;
    let mut max_expert_index: Option<u64> = None;
    for t in &artifact.tensors {
        let n = match t.role {
            TensorRole::Parameter => t.unique_elements(),
            TensorRole::PackedWeights => {
                let logical = quantization::logical_elements(
                    t.elements,
                    storage_bits(t.dtype),
                    scheme.as_ref(),
                );
                packed_stored = packed_stored.saturating_add(t.elements);
                packed_logical = packed_logical.saturating_add(logical);
                logical
            }
            TensorRole::QuantizationAux
            | TensorRole::Buffer
            | TensorRole::Tied
            | TensorRole::OptimizerState
            | TensorRole::EmaCopy => continue,
        };
        total = total.saturating_add(n);
        match expert_slot(&t.name) {
            Some(ExpertSlot::Indexed(i)) => {
                routed = routed.saturating_add(n);
                max_expert_index = Some(max_expert_index.map_or(i, |m| m.max(i)));
            }
            Some(ExpertSlot::Fused) => routed = routed.saturating_add(n),
            None => {}
        }
        if is_input_embedding(&t.name) {
            embedding = embedding.saturating_add(n);
        }
    }
    let experts = config
        .and_then(|c| c.experts.as_ref())
        .map(|f| f.value)
        .or(max_expert_index.map(|i| i + 1));
    let experts_per_token = config
        .and_then(|c| c.experts_per_token.as_ref())
        .map(|f| f.value);
    let active = if routed == 0 {
        Some(total)
    } else {
        match (experts, experts_per_token) {
            (Some(e), Some(k)) if e > 0 && k <= e => {
                // Exact when every expert has the same size, as in every layout above.
                let active_routed = (u128::from(routed) * u128::from(k) / u128::from(e)) as u64;
                Some(total - routed + active_routed)
            }
            _ => None,
        }
    };
    TensorCount {
        total,
        active,
        routed_expert_parameters: routed,
        experts,
        experts_per_token,
        embedding,
        packed_stored,
        packed_logical,
        quantization: scheme,
    }
}

/// Bits per stored element of a packed tensor (packing happens in integer safetensors/PyTorch
/// dtypes; ggml types already count logical elements).
fn storage_bits(t: TensorType) -> u64 {
    match t {
        TensorType::Dtype(d) => d.bits(),
        TensorType::Ggml(_) => 1,
    }
}

enum ExpertSlot {
    /// One expert's tensor, with the expert's index.
    Indexed(u64),
    /// A tensor holding every expert.
    Fused,
}

/// Whether `name` is a routed expert's tensor: a path segment `experts` followed by an index
/// (one tensor per expert) or by a projection name (fused experts).
fn expert_slot(name: &str) -> Option<ExpertSlot> {
    let parts: Vec<&str> = name.split('.').collect();
    // GGUF fuses a layer's experts into one tensor per projection: `blk.N.ffn_gate_exps`,
    // `ffn_up_exps`, `ffn_down_exps`, `ffn_gate_up_exps` (shared experts are `_shexp`).
    if parts
        .iter()
        .any(|p| p.starts_with("ffn_") && p.ends_with("_exps"))
    {
        return Some(ExpertSlot::Fused);
    }
    let at = parts.iter().position(|p| *p == "experts")?;
    let next = parts.get(at + 1)?;
    match next.parse::<u64>() {
        Ok(i) => Some(ExpertSlot::Indexed(i)),
        Err(_) => Some(ExpertSlot::Fused),
    }
}

fn is_input_embedding(name: &str) -> bool {
    [
        "embed_tokens.weight",
        "wte.weight",
        "word_embeddings.weight",
        "tok_embeddings.weight",
        "wpe.weight",
        "token_embd.weight",
    ]
    .iter()
    .any(|s| name.ends_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expert_layouts() {
        assert!(matches!(
            expert_slot("model.layers.3.block_sparse_moe.experts.7.w1.weight"),
            Some(ExpertSlot::Indexed(7))
        ));
        assert!(matches!(
            expert_slot("model.layers.3.mlp.experts.gate_up_proj"),
            Some(ExpertSlot::Fused)
        ));
        assert!(matches!(
            expert_slot("transformer.blocks.0.ffn.experts.mlp.w1"),
            Some(ExpertSlot::Fused)
        ));
        assert!(expert_slot("model.layers.3.mlp.shared_experts.up_proj.weight").is_none());
        assert!(matches!(
            expert_slot("blk.0.ffn_gate_exps.weight"),
            Some(ExpertSlot::Fused)
        ));
        assert!(expert_slot("blk.0.ffn_up_shexp.weight").is_none());
        assert!(expert_slot("model.layers.3.mlp.shared_expert.up_proj.weight").is_none());
        assert!(expert_slot("model.layers.3.mlp.gate.weight").is_none());
        assert!(expert_slot("model.layers.3.mlp.experts").is_none());
    }
}
