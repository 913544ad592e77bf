//! The inspection report: what `inspect` shows, as a plain serialisable value.
//!
//! Wire format (`weightguard inspect --json`, one object per artifact per line), a contract:
//! `format` (safetensors | gguf | pytorch | pytorch_legacy | pickle | container), `layout`, `path`,
//! `files[]` {path, format, size, header_bytes, data_bytes, tensor_count},
//! `tensor_count`, `data_bytes`, `parameters` {total, active, by_dtype}, `packed_weights`,
//! `quantization_aux`, `buffers`, `tied`, `optimizer_state`, `ema_copies` (each {tensors, elements,
//! bytes}), `elements`, `architecture`
//! (from config.json or a GGUF's metadata, or null), `index` (declared totals, or null),
//! `warnings[]`, `bytes_read`, `safe` (false when a pickle would import or call anything beyond
//! what a state dict needs), `security_findings[]` {file, member, offset, opcode, global,
//! message}.

use super::config::ModelConfig;
use super::{Artifact, Format, Layout, RoleCount, SecurityFinding};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize)]
pub struct InspectReport {
    /// The model's name: `org/name@rev` from a hub cache, else its path.
    pub name: String,
    pub path: PathBuf,
    pub format: Format,
    pub layout: Layout,
    pub files: Vec<FileReport>,
    pub tensor_count: usize,
    pub data_bytes: u64,
    pub parameters: ParametersReport,
    pub packed_weights: RoleCount,
    pub quantization_aux: RoleCount,
    pub buffers: RoleCount,
    /// Tensors that are second names for another tensor's bytes (tied weights).
    pub tied: RoleCount,
    /// Optimizer and scheduler state of a training checkpoint (not parameters).
    pub optimizer_state: RoleCount,
    /// EMA copies of the model's weights (counted once, under the model's names).
    pub ema_copies: RoleCount,
    /// Elements of every tensor, whatever its role.
    pub elements: u64,
    pub architecture: Option<ModelConfig>,
    pub index: Option<IndexReport>,
    pub warnings: Vec<String>,
    pub bytes_read: u64,
    pub safe: bool,
    pub security_findings: Vec<SecurityFinding>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: PathBuf,
    pub format: Format,
    pub size: u64,
    pub header_bytes: u64,
    pub data_bytes: u64,
    pub tensor_count: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParametersReport {
    pub total: u64,
    /// Parameters used per token in a mixture of experts (the routed experts' share scaled by
    /// experts per token over experts), counted as `estimate` does; `null` for a dense model
    /// (every parameter is active) or when the expert counts are unknown.
    pub active: Option<u64>,
    pub by_dtype: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IndexReport {
    pub path: PathBuf,
    pub declared_total_size: Option<u64>,
    pub declared_total_parameters: Option<u64>,
}

impl Artifact {
    /// The report `inspect` renders.
    pub fn report(&self) -> InspectReport {
        let counts = self.parameters();
        InspectReport {
            name: self.name.clone(),
            path: self.path.clone(),
            format: self.format,
            layout: self.layout,
            files: self
                .files
                .iter()
                .map(|f| FileReport {
                    path: f.path.clone(),
                    format: f.format,
                    size: f.size,
                    header_bytes: f.header_bytes,
                    data_bytes: f.data_bytes,
                    tensor_count: f.tensor_count,
                })
                .collect(),
            tensor_count: self.tensors.len(),
            data_bytes: self.data_bytes(),
            parameters: ParametersReport {
                total: counts.total,
                // Mixture of experts: the routed experts' share scaled by experts per token
                // over experts (from the GGUF metadata or config.json), as `estimate` counts it.
                active: {
                    let t = crate::compute::params_tensors::count(self);
                    (t.routed_expert_parameters > 0)
                        .then_some(t.active)
                        .flatten()
                },
                by_dtype: counts.by_dtype,
            },
            packed_weights: counts.packed,
            quantization_aux: counts.quantization_aux,
            buffers: counts.buffers,
            tied: counts.tied,
            optimizer_state: counts.optimizer_state,
            ema_copies: counts.ema_copies,
            elements: self.elements(),
            architecture: self.config.clone(),
            index: self.index.as_ref().map(|i| IndexReport {
                path: i.path.clone(),
                declared_total_size: i.total_size,
                declared_total_parameters: i.total_parameters,
            }),
            warnings: self.warnings.clone(),
            bytes_read: self.bytes_read,
            safe: self.safe(),
            security_findings: self.security_findings.clone(),
        }
    }
}
