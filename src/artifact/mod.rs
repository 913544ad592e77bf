//! Stage 1: from a path to an [`Artifact`], reading headers only.
//!
//! The artifact stage owns every parser of model files (safetensors, GGUF, PyTorch zip and
//! legacy checkpoints). It never reads tensor data and never executes anything; every byte it
//! reads is counted in [`Artifact::bytes_read`]. Formats are told apart by content
//! ([`detect`]), not by file name.

pub(crate) mod builder;
pub mod config;
pub mod cursor;
pub mod detect;
pub mod dtype;
mod error;
pub mod ggml_type;
pub mod gguf;
pub mod gguf_arch;
pub mod limits;
pub mod model_card;
mod parsed;
pub mod pytorch;
pub mod read;
pub mod report;
pub mod role;
pub mod safetensors;
pub mod sharded;
pub mod strict_json;
mod summary;
pub mod tree;

pub use config::ModelConfig;
pub use dtype::{Dtype, TensorType};
pub use error::ArtifactError;
pub use ggml_type::GgmlType;
pub use pytorch::SecurityFinding;
pub use report::InspectReport;
pub use role::TensorRole;
pub use sharded::ShardIndex;
pub use summary::{ParameterCounts, RoleCount};

use builder::Builder;
use detect::Kind;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The on-disk format of the weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Safetensors,
    /// GGUF v2/v3 (llama.cpp).
    Gguf,
    /// A `torch.save` zip checkpoint (`.bin`, `.pt`, `.pth`).
    Pytorch,
    /// A pre-1.6 `torch.save` file: pickles followed by raw storages.
    PytorchLegacy,
    /// A bare pickle that is no weight format; scanned for what it would run, nothing more.
    Pickle,
    /// A container that may hide pickles (gzip, bz2, xz, lzma, zlib, lz4, 7z, tar, NumPy
    /// `.npy`/`.npz`, joblib): what can be opened without executing anything is scanned; no
    /// tensors are counted.
    Container,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Safetensors => "safetensors",
            Format::Gguf => "GGUF",
            Format::Pytorch => "PyTorch zip checkpoint",
            Format::PytorchLegacy => "legacy PyTorch checkpoint",
            Format::Pickle => "bare pickle",
            Format::Container => "pickle container",
        }
    }
}

/// How the weights are spread over files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// One weight file.
    Single,
    /// Several files tied together by an index.
    Sharded,
    /// Several weight files in one directory and no index naming them.
    Unindexed,
}

/// One weight file of an artifact.
#[derive(Debug, Clone, Serialize)]
pub struct WeightFile {
    pub path: PathBuf,
    /// File length in bytes.
    pub size: u64,
    pub format: Format,
    /// Bytes before the tensor data (safetensors: length prefix and JSON header; GGUF: header,
    /// metadata, tensor infos and padding; PyTorch: 0, as data is spread between zip members).
    pub header_bytes: u64,
    /// Bytes of tensor data (the sum of the file's [`DataRegion`]s).
    pub data_bytes: u64,
    pub tensor_count: usize,
    /// The file's own metadata as strings (`__metadata__` in safetensors, the key/value pairs of
    /// a GGUF with arrays summarised, a PyTorch archive's `version` and `byteorder`).
    pub metadata: BTreeMap<String, String>,
}

/// A byte range of a file holding tensor data, the unit that `hash` digests.
///
/// Safetensors and GGUF: one region per tensor, the tensor's exact bytes. PyTorch: one region
/// per storage (`data/<key>` member), which several tensors may view (a tied embedding, a slice);
/// each tensor's own range lies inside its storage's region, so hashing regions covers every
/// byte once, and hashing tensors hashes shared bytes once per view.
#[derive(Debug, Clone, Serialize)]
pub struct DataRegion {
    /// Index into [`Artifact::files`].
    pub file: usize,
    /// Absolute byte offset in the file.
    pub offset: u64,
    pub len: u64,
    /// The tensor name (safetensors, GGUF) or the storage member (`archive/data/0`).
    pub name: String,
    /// False when the length is inferred rather than declared: a GGUF tensor of a ggml type this
    /// build does not know spans up to the next tensor (or the end of the file).
    pub exact: bool,
}

/// One tensor, located in its file.
#[derive(Debug, Clone, Serialize)]
pub struct Tensor {
    pub name: String,
    /// The stored type: a [`Dtype`] (safetensors, PyTorch) or a ggml type (GGUF).
    pub dtype: TensorType,
    /// The logical shape (GGUF: ggml order, row length first).
    pub shape: Vec<u64>,
    /// Logical elements (product of the shape); for a quantized GGUF tensor, its parameters.
    pub elements: u64,
    /// Index into [`Artifact::files`].
    pub file: usize,
    /// Absolute byte offset of the tensor's data in its file.
    pub offset: u64,
    /// Byte length of the tensor's data: for a PyTorch view, the span from its first to its
    /// last element inside the storage (strides may skip bytes within it).
    pub len: u64,
    /// Index into [`Artifact::regions`]: the region holding this tensor's bytes, shared with
    /// other tensors viewing the same PyTorch storage.
    pub region: usize,
    pub role: TensorRole,
    /// Elements already counted under an earlier name: a PyTorch view that overlaps part of
    /// another view of the same storage. Learned parameters count `elements - shared`.
    pub shared: u64,
}

impl Tensor {
    /// Elements this tensor adds to the count: each storage element once, whatever views it.
    pub fn unique_elements(&self) -> u64 {
        self.elements.saturating_sub(self.shared)
    }
}

/// A model's weights as read from disk: files, tensors, and the config beside them.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// The model's name: `org/name@rev` from a hub cache, else its path.
    pub name: String,
    /// The model's path: the path the user named, or a model found under it.
    pub path: PathBuf,
    pub format: Format,
    pub layout: Layout,
    pub files: Vec<WeightFile>,
    /// Tensors of every file, file by file, each in data order.
    pub tensors: Vec<Tensor>,
    /// Distinct byte ranges of tensor data, file by file: what `hash` digests (see
    /// [`DataRegion`]).
    pub regions: Vec<DataRegion>,
    /// Globals a pickle would import or call that a state dict never needs, and pickles that
    /// could not be scanned. Any finding makes the artifact unsafe to load with pickle.
    pub security_findings: Vec<SecurityFinding>,
    pub config: Option<ModelConfig>,
    pub index: Option<ShardIndex>,
    /// Oddities found while reading that did not stop it.
    pub warnings: Vec<String>,
    /// Why some weights could not be counted (a state-dict pickle that stops on an error,
    /// weights inside a compressed stream): when not empty, the tensors are a lower bound and
    /// estimation refuses to proceed on them.
    pub incomplete: Vec<String>,
    /// Bytes read from disk to build this value (headers, index, config).
    pub bytes_read: u64,
}

impl Artifact {
    /// Whether loading the artifact with its format's usual loader runs nothing but the
    /// allow-listed reconstruction of tensors (always true for safetensors and GGUF).
    pub fn safe(&self) -> bool {
        self.security_findings.is_empty()
    }
}

/// Opens the model at `path` (a weight file of any supported format, detected by content, a
/// shard index, a model directory or a hub cache repository) through its artifact set with the
/// default rules (`crate::artifact_set`). A path holding several models is an error naming them:
/// take them from [`crate::artifact_set::collect`].
pub fn open(path: &Path) -> Result<Artifact, ArtifactError> {
    use crate::artifact_set::{self, SetError};
    let set = artifact_set::collect(path, &Default::default()).map_err(|e| match e {
        SetError::Artifact(e) => e,
        SetError::Io { path, source } => ArtifactError::Io { path, source },
        other => ArtifactError::Set {
            path: path.to_owned(),
            message: other.to_string(),
        },
    })?;
    let mut models = Vec::new();
    for (_, opened) in set.open_models() {
        if let Some(a) = opened? {
            models.push(a);
        }
    }
    match models.len() {
        0 => Err(ArtifactError::NoWeights {
            path: path.to_owned(),
        }),
        1 => Ok(models.remove(0)),
        n => Err(ArtifactError::Set {
            path: path.to_owned(),
            message: format!(
                "holds {n} models ({}); name one of them",
                builder::first_few(&models.iter().map(|a| a.name.clone()).collect::<Vec<_>>())
            ),
        }),
    }
}

/// [`open`] for a path of `tree` (a local directory, a bucket listing).
pub fn open_in(tree: &dyn tree::Tree, path: &Path) -> Result<Artifact, ArtifactError> {
    let mut b = Builder::new(tree, path);
    let config_dir;
    if tree.is_dir(path) {
        config_dir = Some(path.to_owned());
        b.add_dir(path)?;
    } else {
        config_dir = path.parent().map(Path::to_owned);
        let is_index = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".index.json"));
        if is_index {
            let dir = config_dir.clone().unwrap_or_default();
            let mut on_disk = detect::scan_dir(tree, &dir, &mut b.bytes_read)?;
            on_disk.retain(|d| d.kind != Kind::Unknown);
            b.add_sharded(path, on_disk)?;
        } else {
            let d = detect::detect(tree, path, &mut b.bytes_read)?;
            b.add_single(d)?;
        }
    }
    if let Some(dir) = config_dir {
        b.read_config(&dir)?;
    }
    Ok(b.finish())
}

/// Opens one model of an artifact set (`artifact_set::group`): only its files are seen, through
/// `tree`. `None` when it holds no weights after all (every zip in it is some other archive).
pub fn open_model(
    tree: &dyn tree::Tree,
    model: &crate::artifact_set::ModelFiles,
    name: &str,
) -> Result<Option<Artifact>, ArtifactError> {
    let view = crate::artifact_set::ModelView::new(tree, model);
    let mut b = Builder::new(&view, model.path());
    if model.named
        && let Some(file) = model.files.first()
    {
        let d = detect::detect(&view, file, &mut b.bytes_read)?;
        b.add_single(d)?;
        b.read_config(&model.dir)?;
        let mut a = b.finish();
        a.name = name.to_owned();
        return Ok(Some(a));
    }
    match b.add_dir(&model.dir) {
        Ok(()) => {}
        Err(ArtifactError::NoWeights { .. }) => return Ok(None),
        Err(e) => return Err(e),
    }
    b.read_config(&model.dir)?;
    let mut a = b.finish();
    a.name = name.to_owned();
    Ok(Some(a))
}

/// One file on its own, as `hash` cuts it into segments: parsed by the format its content shows
/// (or, when the content matches none, the format its `.safetensors` or `.gguf` name claims), so a
/// malformed weight file is an error naming it. `None` for a file in no weight format: unknown
/// content, a bare pickle, or a zip archive that is not a PyTorch checkpoint. Unlike [`open`],
/// reads nothing beside the file (no split GGUF parts, index or config).
pub fn open_file(path: &Path) -> Result<Option<Artifact>, ArtifactError> {
    let tree = tree::LocalTree::default();
    let mut b = Builder::new(&tree, path);
    let d = detect::detect(&tree, path, &mut b.bytes_read)?;
    let kind = match d.kind {
        Kind::Unknown => detect::kind_by_name(path),
        k => k,
    };
    match kind {
        Kind::Unknown | Kind::Pickle => return Ok(None),
        Kind::Zip => match b.add_file(d) {
            Err(ArtifactError::UnknownFormat { .. }) => return Ok(None),
            Ok(_) if b.is_container() => return Ok(None),
            r => r.map(drop)?,
        },
        _ => b.add_file(d).map(drop)?,
    }
    Ok(Some(b.finish()))
}

/// Reads one weight file held in memory, named `path` in errors, with the same detection,
/// parsers and checks as [`open`] (no config or shard index beside it). For fuzzing and tests.
#[doc(hidden)]
pub fn open_bytes(path: &Path, bytes: Vec<u8>) -> Result<Artifact, ArtifactError> {
    let tree = tree::LocalTree::default();
    let mut b = Builder::new(&tree, path);
    b.add_bytes(path, bytes)?;
    Ok(b.finish())
}
