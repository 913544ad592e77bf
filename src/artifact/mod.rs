//! Stage 1: from a path to an [`Artifact`], reading headers only.
//!
//! The artifact stage owns every parser of model files. It never reads tensor data and never
//! executes anything; every byte it reads is counted in [`Artifact::bytes_read`].

pub mod config;
pub mod dtype;
mod error;
pub mod limits;
pub mod read;
pub mod report;
pub mod role;
pub mod safetensors;
pub mod sharded;
pub mod strict_json;
mod summary;

pub use config::ModelConfig;
pub use dtype::Dtype;
pub use error::ArtifactError;
pub use report::InspectReport;
pub use role::TensorRole;
pub use sharded::ShardIndex;
pub use summary::{ParameterCounts, RoleCount};

use read::MeteredFile;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// The on-disk format of the weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Safetensors,
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
    /// Bytes before the data buffer (length prefix and JSON header).
    pub header_bytes: u64,
    /// Bytes of tensor data.
    pub data_bytes: u64,
    pub tensor_count: usize,
    /// The file's own string metadata (`__metadata__` in safetensors).
    pub metadata: BTreeMap<String, String>,
}

/// One tensor, located in its file.
#[derive(Debug, Clone, Serialize)]
pub struct Tensor {
    pub name: String,
    pub dtype: Dtype,
    pub shape: Vec<u64>,
    /// Stored elements (product of the shape).
    pub elements: u64,
    /// Index into [`Artifact::files`].
    pub file: usize,
    /// Absolute byte offset of the tensor's data in its file.
    pub offset: u64,
    /// Byte length of the tensor's data.
    pub len: u64,
    pub role: TensorRole,
}

/// A model's weights as read from disk: files, tensors, and the config beside them.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// The path the user named.
    pub path: PathBuf,
    pub format: Format,
    pub layout: Layout,
    pub files: Vec<WeightFile>,
    /// Tensors of every file, file by file, each in data order.
    pub tensors: Vec<Tensor>,
    pub config: Option<ModelConfig>,
    pub index: Option<ShardIndex>,
    /// Oddities found while reading that did not stop it.
    pub warnings: Vec<String>,
    /// Bytes read from disk to build this value (headers, index, config).
    pub bytes_read: u64,
}

/// Opens the model at `path`: a `.safetensors` file, a shard index, or a model directory.
pub fn open(path: &Path) -> Result<Artifact, ArtifactError> {
    let meta = std::fs::metadata(path).map_err(|source| ArtifactError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut builder = Builder::new(path);
    let config_dir;
    if meta.is_dir() {
        config_dir = Some(path.to_owned());
        let (index, weights) = scan_dir(path)?;
        match index {
            Some(index) => builder.add_sharded(&index, &weights)?,
            None if weights.is_empty() => {
                return Err(ArtifactError::NoWeights {
                    path: path.to_owned(),
                });
            }
            None => {
                if weights.len() > 1 {
                    builder.layout = Layout::Unindexed;
                    builder.warnings.push(format!(
                        "{} weight files and no model.safetensors.index.json: counted all of them",
                        weights.len()
                    ));
                }
                for w in &weights {
                    builder.add_file(w)?;
                }
            }
        }
    } else {
        config_dir = path.parent().map(Path::to_owned);
        let is_index = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".index.json"));
        if is_index {
            let dir = config_dir.clone().unwrap_or_default();
            let weights = scan_dir(&dir).map(|(_, w)| w).unwrap_or_default();
            builder.add_sharded(path, &weights)?;
        } else {
            builder.add_file(path)?;
        }
    }
    if let Some(dir) = config_dir {
        let config_path = dir.join("config.json");
        if config_path.is_file() {
            let mut f = MeteredFile::open(&config_path)?;
            let config = ModelConfig::read(&mut f)?;
            builder.bytes_read += f.bytes_read();
            builder.config = Some(config);
        }
    }
    Ok(builder.finish())
}

/// Finds the shard index and the `.safetensors` files of a directory, sorted by name.
fn scan_dir(dir: &Path) -> Result<(Option<PathBuf>, Vec<PathBuf>), ArtifactError> {
    let io = |source| ArtifactError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut indexes = Vec::new();
    let mut weights = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !entry.path().is_file() {
            continue;
        }
        if name.ends_with(".safetensors.index.json") {
            indexes.push(entry.path());
        } else if name.ends_with(".safetensors") {
            weights.push(entry.path());
        }
    }
    indexes.sort();
    weights.sort();
    // Transformers loads `model.safetensors.index.json` first; adapters and other indexes may
    // sit beside it.
    let preferred = dir.join("model.safetensors.index.json");
    let index = if indexes.contains(&preferred) {
        Some(preferred)
    } else {
        indexes.into_iter().next()
    };
    Ok((index, weights))
}

struct Builder {
    path: PathBuf,
    layout: Layout,
    files: Vec<WeightFile>,
    tensors: Vec<Tensor>,
    config: Option<ModelConfig>,
    index: Option<ShardIndex>,
    warnings: Vec<String>,
    bytes_read: u64,
}

impl Builder {
    fn new(path: &Path) -> Self {
        Builder {
            path: path.to_owned(),
            layout: Layout::Single,
            files: Vec::new(),
            tensors: Vec::new(),
            config: None,
            index: None,
            warnings: Vec::new(),
            bytes_read: 0,
        }
    }

    fn add_file(&mut self, path: &Path) -> Result<(), ArtifactError> {
        let mut f = MeteredFile::open(path)?;
        let header = safetensors::read_header(&mut f)?;
        self.bytes_read += f.bytes_read();
        let file = self.files.len();
        let data_start = header.data_start();
        for t in &header.tensors {
            self.tensors.push(Tensor {
                role: role::classify(&t.name, t.dtype),
                name: t.name.clone(),
                dtype: t.dtype,
                shape: t.shape.clone(),
                elements: t.elements,
                file,
                // Cannot overflow: the header check proved data_start + data_len == file length.
                offset: data_start + t.begin,
                len: t.end - t.begin,
            });
        }
        self.files.push(WeightFile {
            path: path.to_owned(),
            size: f.len(),
            header_bytes: data_start,
            data_bytes: header.data_len,
            tensor_count: header.tensors.len(),
            metadata: header.metadata,
        });
        Ok(())
    }

    /// Reads the index at `index_path` and every shard it names; `on_disk` lists the weight
    /// files present beside it, to report the ones the index leaves out.
    fn add_sharded(&mut self, index_path: &Path, on_disk: &[PathBuf]) -> Result<(), ArtifactError> {
        let mut f = MeteredFile::open(index_path)?;
        let index = sharded::read_index(&mut f)?;
        self.bytes_read += f.bytes_read();
        self.layout = Layout::Sharded;
        self.warnings.extend(index.warnings.iter().cloned());
        let dir = index_path.parent().unwrap_or(Path::new("."));
        let mut shard_of_file = HashMap::new();
        for shard in &index.shards {
            shard_of_file.insert(self.files.len(), shard.clone());
            self.add_file(&dir.join(shard))?;
        }

        let mut missing = Vec::new();
        let mut unlisted = Vec::new();
        let mut present: BTreeSet<(&str, &str)> = BTreeSet::new();
        for t in &self.tensors {
            let shard = shard_of_file[&t.file].as_str();
            present.insert((t.name.as_str(), shard));
            if index.weight_map.get(&t.name).map(String::as_str) != Some(shard) {
                unlisted.push(format!("{} ({shard})", t.name));
            }
        }
        for (tensor, shard) in &index.weight_map {
            if !present.contains(&(tensor.as_str(), shard.as_str())) {
                missing.push(format!("{tensor} ({shard})"));
            }
        }
        if !missing.is_empty() {
            self.warnings.push(format!(
                "the index maps {} tensors to shards whose headers lack them: {}",
                missing.len(),
                first_few(&missing)
            ));
        }
        if !unlisted.is_empty() {
            self.warnings.push(format!(
                "{} tensors in shard headers are not mapped there by the index (counted anyway): {}",
                unlisted.len(),
                first_few(&unlisted)
            ));
        }
        let referenced: BTreeSet<PathBuf> = index.shards.iter().map(|s| dir.join(s)).collect();
        let extra: Vec<String> = on_disk
            .iter()
            .filter(|p| !referenced.contains(*p))
            .map(|p| p.display().to_string())
            .collect();
        if !extra.is_empty() {
            self.warnings.push(format!(
                "{} weight files beside the index are not named by it (not counted): {}",
                extra.len(),
                first_few(&extra)
            ));
        }
        self.index = Some(index);
        Ok(())
    }

    fn finish(mut self) -> Artifact {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let mut duplicates = Vec::new();
        for t in &self.tensors {
            if let Some(first) = seen.insert(&t.name, t.file) {
                duplicates.push(format!(
                    "{} ({} and {})",
                    t.name,
                    self.files[first].path.display(),
                    self.files[t.file].path.display()
                ));
            }
        }
        if !duplicates.is_empty() {
            self.warnings.push(format!(
                "{} tensor names appear in more than one file (a loader keeps one; both counted): {}",
                duplicates.len(),
                first_few(&duplicates)
            ));
        }
        let mut artifact = Artifact {
            path: self.path,
            format: Format::Safetensors,
            layout: self.layout,
            files: self.files,
            tensors: self.tensors,
            config: self.config,
            index: self.index,
            warnings: self.warnings,
            bytes_read: self.bytes_read,
        };
        let mut more = summary::consistency_warnings(&artifact);
        artifact.warnings.append(&mut more);
        artifact
    }
}

/// The first few items of a list for a one-line message, and how many were left out.
fn first_few(items: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut s = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        s.push_str(&format!(", and {} more", items.len() - SHOWN));
    }
    s
}
