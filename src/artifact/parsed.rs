//! One weight file as a parser read it, in the same shape for every format: tensors located in
//! the file, the byte regions holding their data, findings and warnings. The safetensors and
//! GGUF readers' results are converted here; PyTorch's are built in [`super::pytorch`].

use super::builder::first_few;
use super::config::ModelConfig;
use super::dtype::TensorType;
use super::read::MeteredFile;
use super::{ArtifactError, SecurityFinding, gguf, gguf_arch, safetensors};
use std::collections::BTreeMap;

/// One weight file as a parser read it.
#[derive(Debug, Default)]
pub struct ParsedFile {
    pub header_bytes: u64,
    pub metadata: BTreeMap<String, String>,
    pub tensors: Vec<ParsedTensor>,
    pub regions: Vec<ParsedRegion>,
    pub findings: Vec<SecurityFinding>,
    pub warnings: Vec<String>,
    /// Architecture facts the file itself carries (GGUF).
    pub config: Option<ModelConfig>,
    /// `split.count` of a GGUF part.
    pub split_count: Option<u64>,
    /// The format, when it is not the one the file's kind implies (a zip that is an npz).
    pub format: Option<super::Format>,
    /// Why some of the file's weights could not be counted (a state-dict pickle that stops on
    /// an error, weights inside a compressed stream): the count is then a lower bound.
    pub incomplete: Vec<String>,
}

#[derive(Debug)]
pub struct ParsedTensor {
    pub name: String,
    pub dtype: TensorType,
    pub shape: Vec<u64>,
    pub elements: u64,
    pub offset: u64,
    pub len: u64,
    /// Index into the file's `regions`.
    pub region: usize,
    /// Exactly the bytes of an earlier tensor of the file (tied weights).
    pub tied: bool,
    /// Elements this tensor shares with earlier, differently shaped views of the same storage
    /// (counted there): a PyTorch view of part of another tensor's storage.
    pub shared: u64,
}

#[derive(Debug)]
pub struct ParsedRegion {
    pub offset: u64,
    pub len: u64,
    pub name: String,
    pub exact: bool,
}

pub(super) fn read_safetensors(f: &mut MeteredFile) -> Result<ParsedFile, ArtifactError> {
    let header = safetensors::read_header(f)?;
    let data_start = header.data_start();
    let mut p = ParsedFile {
        header_bytes: data_start,
        metadata: header.metadata,
        ..ParsedFile::default()
    };
    for (i, t) in header.tensors.into_iter().enumerate() {
        // Cannot overflow: the header check proved data_start + data_len == file length.
        let (offset, len) = (data_start + t.begin, t.end - t.begin);
        p.regions.push(ParsedRegion {
            offset,
            len,
            name: t.name.clone(),
            exact: true,
        });
        p.tensors.push(ParsedTensor {
            name: t.name,
            dtype: t.dtype.into(),
            shape: t.shape,
            elements: t.elements,
            offset,
            len,
            region: i,
            tied: false,
            shared: 0,
        });
    }
    Ok(p)
}

pub(super) fn read_gguf(f: &mut MeteredFile) -> Result<ParsedFile, ArtifactError> {
    let g = gguf::read(f)?;
    let file_len = f.len();
    let mut p = ParsedFile {
        header_bytes: g.data_start,
        metadata: g
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.display()))
            .collect(),
        config: gguf_arch::model_config(&g),
        split_count: gguf_arch::split_count(&g),
        ..ParsedFile::default()
    };
    p.metadata
        .insert("gguf.version".into(), g.version.to_string());
    // Starts of tensor data, to bound a tensor of unknown type by its successor.
    let mut starts: Vec<u64> = g.tensors.iter().map(|t| t.offset).collect();
    starts.sort_unstable();
    let mut unknown = Vec::new();
    for (i, t) in g.tensors.into_iter().enumerate() {
        let (len, exact) = match t.len {
            Some(len) => (len, true),
            None => {
                unknown.push(format!("`{}` (type id {})", t.name, t.ty.0));
                let next = starts
                    .iter()
                    .copied()
                    .find(|&s| s > t.offset)
                    .unwrap_or(file_len);
                (next - t.offset, false)
            }
        };
        p.regions.push(ParsedRegion {
            offset: t.offset,
            len,
            name: t.name.clone(),
            exact,
        });
        p.tensors.push(ParsedTensor {
            name: t.name,
            dtype: t.ty.into(),
            shape: t.dims,
            elements: t.elements,
            offset: t.offset,
            len,
            region: i,
            tied: false,
            shared: 0,
        });
    }
    if !unknown.is_empty() {
        p.warnings.push(format!(
            "{} tensors have a ggml type this version does not know; their parameters are counted from their dimensions and their bytes assumed to run to the next tensor: {}",
            unknown.len(),
            first_few(&unknown)
        ));
    }
    Ok(p)
}
