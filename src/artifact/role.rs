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
    /// Optimizer state in a training checkpoint (Adam's `exp_avg`, `exp_avg_sq`, momentum
    /// buffers, step counts): derived during training, not parameters of the model.
    OptimizerState,
    /// An exponential moving average of the model's own weights, stored beside them (`ema.…`,
    /// `model_ema.…`): the same parameters again, counted once, under the model's names.
    EmaCopy,
}

/// Name components under which training checkpoints keep optimizer and scheduler state.
const OPTIMIZER_PARTS: &[&str] = &[
    "optimizer",
    "optimizers",
    "optimizer_state",
    "optimizer_states",
    "optimizer_state_dict",
    "optim",
    "opt_state",
    "lr_scheduler",
    "scheduler",
    "scaler",
];

/// Last name components of optimizer state whatever the container's name.
const OPTIMIZER_LEAVES: &[&str] = &["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "momentum_buffer"];

/// First name components of an EMA copy of the weights.
const EMA_PREFIXES: &[&str] = &[
    "ema",
    "model_ema",
    "ema_model",
    "ema_state_dict",
    "ema_params",
];

/// First name components that merely wrap a state dict in a training checkpoint.
const WRAPPERS: &[&str] = &[
    "model",
    "state_dict",
    "module",
    "model_state_dict",
    "net",
    "params",
];

/// Refines the roles of one file's tensors from what the names say together: optimizer state
/// and EMA copies in training checkpoints, and integer weights quantized with per-row scales
/// (bitsandbytes LLM.int8 stores an int8 `weight` beside its `SCB`), which are learned
/// parameters at one value per element, not packed ones. Returns what it changed, for warnings.
pub fn refine(tensors: &mut [super::Tensor]) -> Vec<String> {
    use std::collections::HashMap;
    let mut notes = Vec::new();
    let names: HashMap<String, usize> = tensors
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.clone(), i))
        .collect();
    // The model's own tensors by their name without a wrapper, for matching EMA copies.
    let mut plain: HashMap<String, usize> = HashMap::new();
    let (mut optimizer, mut ema, mut int8) = (0, 0, 0);
    for (i, t) in tensors.iter_mut().enumerate() {
        let (name, role) = (&t.name, &mut t.role);
        let parts: Vec<&str> = name.split('.').collect();
        let last = parts.last().copied().unwrap_or_default();
        if parts.iter().any(|p| OPTIMIZER_PARTS.contains(p)) || OPTIMIZER_LEAVES.contains(&last) {
            *role = TensorRole::OptimizerState;
            optimizer += 1;
            continue;
        }
        if EMA_PREFIXES.contains(&parts[0]) {
            continue;
        }
        let key = match parts.as_slice() {
            [first, rest @ ..] if WRAPPERS.contains(first) && !rest.is_empty() => rest.join("."),
            _ => name.clone(),
        };
        plain.entry(key).or_insert(i);
    }
    for i in 0..tensors.len() {
        let t = &tensors[i];
        let (name, shape, dtype, role) = (&t.name, &t.shape, t.dtype, t.role);
        let parts: Vec<&str> = name.split('.').collect();
        if EMA_PREFIXES.contains(&parts[0]) && parts.len() > 1 {
            let mut rest = &parts[1..];
            if rest.len() > 1 && WRAPPERS.contains(&rest[0]) {
                rest = &rest[1..];
            }
            if let Some(&j) = plain.get(&rest.join("."))
                && tensors[j].shape == *shape
                && matches!(role, TensorRole::Parameter | TensorRole::PackedWeights)
            {
                tensors[i].role = TensorRole::EmaCopy;
                ema += 1;
                continue;
            }
        }
        if role == TensorRole::PackedWeights
            && dtype == TensorType::Dtype(crate::artifact::Dtype::I8)
            && let Some(base) = name.strip_suffix("weight")
            && names.contains_key(&format!("{base}SCB"))
        {
            tensors[i].role = TensorRole::Parameter;
            int8 += 1;
        }
    }
    if optimizer > 0 {
        notes.push(format!(
            "{optimizer} tensors are optimizer or scheduler state (a training checkpoint): reported apart, not parameters"
        ));
    }
    if ema > 0 {
        notes.push(format!(
            "{ema} tensors are an EMA copy of the model's weights (same names and shapes): counted once, under the model's names"
        ));
    }
    if int8 > 0 {
        notes.push(format!(
            "{int8} int8 weights with per-row scales (`SCB`, bitsandbytes LLM.int8) are counted as parameters, one per element"
        ));
    }
    notes
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
