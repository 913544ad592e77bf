//! Counting: parameters by dtype, the non-parameter tensors by kind, and the checks of declared
//! totals against counted ones.

use super::{Artifact, TensorRole};
use serde::Serialize;
use std::collections::BTreeMap;

/// Tensors of one role: how many, their elements and bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RoleCount {
    pub tensors: usize,
    pub elements: u64,
    pub bytes: u64,
}

/// Parameter counts of an artifact, as the tensor headers give them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ParameterCounts {
    /// Learned parameters: [`TensorRole::Parameter`] elements plus packed weights' stored
    /// elements (a lower bound for packed quantization; see `packed`).
    pub total: u64,
    /// `total` split by storage dtype.
    pub by_dtype: BTreeMap<String, u64>,
    /// Packed quantized weight tensors, counted above by stored elements.
    pub packed: RoleCount,
    /// Quantization scales, zero points and indexes (not parameters).
    pub quantization_aux: RoleCount,
    /// Non-learned buffers (not parameters).
    pub buffers: RoleCount,
    /// Second names of tied tensors (the bytes are counted under the first name).
    pub tied: RoleCount,
    /// Optimizer and scheduler state of a training checkpoint (not parameters).
    pub optimizer_state: RoleCount,
    /// EMA copies of the model's weights (counted once, under the model's names).
    pub ema_copies: RoleCount,
}

impl RoleCount {
    fn add(&mut self, elements: u64, bytes: u64) {
        self.tensors += 1;
        // Sums over many files: saturate rather than wrap; a sum this large is already absurd
        // and every single term was overflow-checked when parsed.
        self.elements = self.elements.saturating_add(elements);
        self.bytes = self.bytes.saturating_add(bytes);
    }
}

impl Artifact {
    /// Counts parameters and the other tensor roles.
    pub fn parameters(&self) -> ParameterCounts {
        let mut c = ParameterCounts::default();
        for t in &self.tensors {
            match t.role {
                TensorRole::Parameter | TensorRole::PackedWeights => {
                    if t.role == TensorRole::PackedWeights {
                        c.packed.add(t.elements, t.len);
                    }
                    let n = t.unique_elements();
                    c.total = c.total.saturating_add(n);
                    let by = c.by_dtype.entry(t.dtype.name()).or_default();
                    *by = by.saturating_add(n);
                }
                TensorRole::QuantizationAux => c.quantization_aux.add(t.elements, t.len),
                TensorRole::Buffer => c.buffers.add(t.elements, t.len),
                TensorRole::Tied => c.tied.add(t.elements, t.len),
                TensorRole::OptimizerState => c.optimizer_state.add(t.elements, t.len),
                TensorRole::EmaCopy => c.ema_copies.add(t.elements, t.len),
            }
        }
        c
    }

    /// Bytes of tensor data over all files.
    pub fn data_bytes(&self) -> u64 {
        self.files
            .iter()
            .fold(0u64, |acc, f| acc.saturating_add(f.data_bytes))
    }

    /// Elements of every tensor, whatever its role.
    pub fn elements(&self) -> u64 {
        self.tensors
            .iter()
            .fold(0u64, |acc, t| acc.saturating_add(t.elements))
    }
}

/// Disagreements between what the files declare and what their headers hold.
pub(super) fn consistency_warnings(a: &Artifact) -> Vec<String> {
    let mut w = Vec::new();
    let params = a.parameters();
    if let Some(index) = &a.index {
        let data = a.data_bytes();
        if let Some(declared) = index.total_size
            && declared != data
        {
            w.push(format!(
                "index declares total_size {declared} bytes but the shard headers hold {data} bytes of tensor data"
            ));
        }
        let elements = a.elements();
        if let Some(declared) = index.total_parameters
            && declared != elements
            && declared != params.total
        {
            w.push(format!(
                "index declares total_parameters {declared} but the shard headers hold {} parameters ({elements} elements in all)",
                params.total
            ));
        }
    }
    if params.packed.tensors > 0 {
        w.push(format!(
            "{} tensors hold packed quantized weights, counted here by stored elements; the logical parameter count is higher (see `weightguard estimate`)",
            params.packed.tensors
        ));
    }
    w
}
