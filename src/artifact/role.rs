//! What a tensor is to the model: a learned parameter, packed quantized weights, quantization
//! bookkeeping, or a buffer that training never learned.
//!
//! The export rule counts "parameters", values learned during training (weights, biases). A state
//! dict also carries buffers (rotary `inv_freq`, `position_ids`, batch-norm statistics) and, in
//! quantized checkpoints, scales and zero points. Counting those as parameters overstates a model;
//! counting packed integer weights element by element understates it. The name and the dtype
//! decide here; the estimator refines packed counts from the quantization config.

use super::dtype::TensorType;
use serde::Serialize;

/// The role of one tensor in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TensorRole {
    /// A learned value (weight, bias, norm scale, embedding).
    Parameter,
    /// Learned weights stored packed into integers (GPTQ/AWQ `qweight`, bitsandbytes, MXFP4
    /// blocks): the stored element count is not the logical parameter count.
    PackedWeights,
    /// Quantization bookkeeping (scales, zero points, group indices): derived, not learned.
    QuantizationAux,
    /// A non-learned buffer (position ids, rotary frequencies, running statistics, masks).
    Buffer,
    /// Another name for exactly the bytes of an earlier tensor (tied weights in a PyTorch state
    /// dict, where both names view one storage): counted once, under the first name.
    Tied,
}

/// Last name components of tensors that are buffers whatever their dtype.
const BUFFER_NAMES: &[&str] = &[
    "position_ids",
    "token_type_ids",
    "inv_freq",
    "cos_cached",
    "sin_cached",
    "_cos_cached",
    "_sin_cached",
    "num_batches_tracked",
    "running_mean",
    "running_var",
    "masked_bias",
    "_float_tensor",
];

/// Last name components of quantization bookkeeping tensors.
const QUANT_AUX_NAMES: &[&str] = &[
    "qzeros",
    "scales",
    "g_idx",
    "weight_scale",
    "weight_scale_inv",
    "input_scale",
    "output_scale",
    "weight_zero_point",
    "weight_g_idx",
    "weight_shape",
    "absmax",
    "quant_map",
    "nested_absmax",
    "nested_quant_map",
    "k_scale",
    "v_scale",
    "SCB",
    "weight_format",
];

/// Last name components of integer tensors that hold packed weights.
const PACKED_NAMES: &[&str] = &["qweight", "weight", "weight_packed", "blocks", "qdata"];

/// Decides a tensor's role from its name and dtype.
pub fn classify(name: &str, dtype: impl Into<TensorType>) -> TensorRole {
    let dtype = dtype.into();
    let last = name.rsplit('.').next().unwrap_or(name);
    if BUFFER_NAMES.contains(&last) {
        return TensorRole::Buffer;
    }
    // bitsandbytes stores its state as `<weight>.quant_state.bitsandbytes__nf4` and friends.
    if QUANT_AUX_NAMES.contains(&last)
        || name.contains(".quant_state.")
        || last.ends_with("_scales")
        || last.ends_with("_scale_inv")
    {
        return TensorRole::QuantizationAux;
    }
    if dtype.is_integer_or_bool() {
        if PACKED_NAMES.contains(&last) || last.ends_with("_blocks") {
            return TensorRole::PackedWeights;
        }
        return TensorRole::Buffer;
    }
    TensorRole::Parameter
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::Dtype;

    #[test]
    fn roles_by_name_and_dtype() {
        use TensorRole::*;
        let cases = [
            (
                "model.layers.0.self_attn.q_proj.weight",
                Dtype::Bf16,
                Parameter,
            ),
            ("model.norm.weight", Dtype::F32, Parameter),
            ("embeddings.position_ids", Dtype::I64, Buffer),
            (
                "model.layers.0.self_attn.rotary_emb.inv_freq",
                Dtype::F32,
                Buffer,
            ),
            ("bn.num_batches_tracked", Dtype::I64, Buffer),
            ("h.0.attn.bias", Dtype::Bool, Buffer),
            ("layers.0.mlp.down_proj.qweight", Dtype::I32, PackedWeights),
            ("layers.0.mlp.down_proj.qzeros", Dtype::I32, QuantizationAux),
            ("layers.0.mlp.down_proj.scales", Dtype::F16, QuantizationAux),
            ("layers.0.mlp.down_proj.g_idx", Dtype::I32, QuantizationAux),
            ("layers.0.mlp.down_proj.weight", Dtype::U8, PackedWeights),
            (
                "layers.0.mlp.down_proj.weight_scale_inv",
                Dtype::F32,
                QuantizationAux,
            ),
            (
                "layers.0.mlp.experts.gate_up_proj_blocks",
                Dtype::U8,
                PackedWeights,
            ),
            (
                "layers.0.mlp.experts.gate_up_proj_scales",
                Dtype::U8,
                QuantizationAux,
            ),
            (
                "q.weight.quant_state.bitsandbytes__nf4",
                Dtype::U8,
                QuantizationAux,
            ),
            ("layers.0.mlp.down_proj.weight", Dtype::F8E4M3, Parameter),
        ];
        for (name, dtype, role) in cases {
            assert_eq!(classify(name, dtype), role, "{name} {dtype}");
        }
    }
}
