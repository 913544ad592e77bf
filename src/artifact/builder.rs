//! Assembling an [`Artifact`] from the files of a path: which files count, in which format, and
//! the cross-file checks (shard index against headers, split GGUF parts, duplicate names).
//!
//! Every parser hands back a [`ParsedFile`]: tensors located in the file, the byte regions that
//! hold their data, security findings and warnings. The builder numbers files and regions and
//! classifies tensor roles, the same way for every format.

pub use super::parsed::{ParsedFile, ParsedRegion, ParsedTensor};
use super::parsed::{read_gguf, read_safetensors};

use super::config::ModelConfig;
use super::detect::{self, Detected, Kind};
use super::read::MeteredFile;
use super::tree::Tree;
use super::{
    Artifact, ArtifactError, DataRegion, Format, Layout, SecurityFinding, ShardIndex, Tensor,
    TensorRole, WeightFile, gguf_arch, pytorch, role, sharded, summary,
};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

pub(super) struct Builder<'t> {
    tree: &'t dyn Tree,
    path: PathBuf,
    format: Option<Format>,
    layout: Layout,
    files: Vec<WeightFile>,
    tensors: Vec<Tensor>,
    regions: Vec<DataRegion>,
    findings: Vec<SecurityFinding>,
    config: Option<ModelConfig>,
    file_config: Option<ModelConfig>,
    index: Option<ShardIndex>,
    warnings: Vec<String>,
    incomplete: Vec<String>,
    pub bytes_read: u64,
}

/// Which kind of file counts when a directory holds several: safetensors first (the format a
/// loader prefers), then GGUF, then PyTorch.
const PRIORITY: [Kind; 5] = [
    Kind::Safetensors,
    Kind::Gguf,
    Kind::Zip,
    Kind::TorchLegacy,
    Kind::Pickle,
];

impl<'t> Builder<'t> {
    pub fn new(tree: &'t dyn Tree, path: &Path) -> Self {
        Builder {
            tree,
            path: path.to_owned(),
            format: None,
            layout: Layout::Single,
            files: Vec::new(),
            tensors: Vec::new(),
            regions: Vec::new(),
            findings: Vec::new(),
            config: None,
            file_config: None,
            index: None,
            warnings: Vec::new(),
            incomplete: Vec::new(),
            bytes_read: 0,
        }
    }

    pub fn add_dir(&mut self, dir: &Path) -> Result<(), ArtifactError> {
        let mut files = detect::scan_dir(self.tree, dir, &mut self.bytes_read)?;
        // A file whose content matches no format but whose name claims safetensors or GGUF is
        // read as that format, so a damaged weight file is an error naming it, never skipped.
        for d in &mut files {
            if d.kind == Kind::Unknown {
                d.kind = detect::kind_by_name(&d.path);
            }
        }
        if let Some(index) = find_index(self.tree, dir)? {
            let mut weights = Vec::new();
            for d in files {
                match d.kind {
                    Kind::Unknown => {}
                    Kind::Zip | Kind::TorchLegacy | Kind::Pickle
                        if !index.to_string_lossy().contains(".bin.") =>
                    {
                        self.scan_side_file(d)
                    }
                    _ => weights.push(d),
                }
            }
            return self.add_sharded(&index, weights);
        }
        let Some(primary) = PRIORITY
            .into_iter()
            .find(|k| files.iter().any(|d| d.kind == *k))
        else {
            return Err(ArtifactError::NoWeights {
                path: dir.to_owned(),
            });
        };
        let mut counted = Vec::new();
        for d in files {
            if d.kind == primary {
                counted.push(d);
            } else if matches!(d.kind, Kind::Zip | Kind::TorchLegacy | Kind::Pickle) {
                self.scan_side_file(d);
            } else if d.kind != Kind::Unknown {
                self.warnings.push(format!(
                    "{} is a {:?} file beside {:?} weights: not counted",
                    d.path.display(),
                    d.kind,
                    primary
                ));
            }
        }
        let n = counted.len();
        let mut splits = BTreeSet::new();
        for d in counted {
            let path = d.path.clone();
            match self.add_file(d) {
                Ok(split) => {
                    splits.insert(split);
                }
                // A zip without data.pkl is some other archive, not a checkpoint.
                Err(ArtifactError::UnknownFormat { .. }) if primary == Kind::Zip => {
                    self.warnings.push(format!(
                        "{} is a zip archive but not a PyTorch checkpoint: not counted",
                        path.display()
                    ));
                }
                Err(e) => return Err(e),
            }
        }
        if self.files.is_empty() {
            return Err(ArtifactError::NoWeights {
                path: dir.to_owned(),
            });
        }
        if n > 1 {
            if primary == Kind::Gguf && splits.len() == 1 && splits.first() == Some(&Some(n as u64))
            {
                self.layout = Layout::Sharded;
            } else {
                self.layout = Layout::Unindexed;
                self.warnings.push(format!(
                    "{n} weight files and no index or split metadata tying them together: counted all of them"
                ));
            }
        } else if let Some(Some(count)) = splits.first() {
            self.warnings.push(format!(
                "split.count is {count} but only 1 part is in the directory: counted that part"
            ));
        }
        Ok(())
    }

    /// Whether the files read so far are a container of pickles (an npz), not weights.
    pub fn is_container(&self) -> bool {
        self.format == Some(Format::Container)
    }

    /// A single named file; a GGUF part of a split model brings its sibling parts.
    pub fn add_single(&mut self, d: Detected) -> Result<(), ArtifactError> {
        let path = d.path.clone();
        let Some(count) = self.add_file(d)? else {
            return Ok(());
        };
        let Some(siblings) = gguf_arch::split_siblings(&path, count) else {
            self.warnings.push(format!(
                "part of a split model of {count} files whose name does not follow `<name>-00001-of-{count:05}.gguf`: counted this part only"
            ));
            return Ok(());
        };
        // Start over from part 1 so files are in split order whatever part was named.
        self.files.clear();
        self.tensors.clear();
        self.regions.clear();
        self.findings.clear();
        self.warnings.clear();
        self.incomplete.clear();
        self.file_config = None;
        self.format = None;
        self.layout = Layout::Sharded;
        let mut missing = Vec::new();
        for s in &siblings {
            if self.tree.is_file(s) {
                let d = detect::detect(self.tree, s, &mut self.bytes_read)?;
                self.add_file(d)?;
            } else {
                missing.push(s.display().to_string());
            }
        }
        if !missing.is_empty() {
            self.warnings.push(format!(
                "split.count is {count} but {} parts are missing (counted the parts present): {}",
                missing.len(),
                first_few(&missing)
            ));
        }
        Ok(())
    }

    /// Parses one file by its detected kind and adds it; returns a GGUF's `split.count`.
    pub(super) fn add_file(&mut self, d: Detected) -> Result<Option<u64>, ArtifactError> {
        let kind = match d.kind {
            Kind::Unknown => detect::kind_by_name(&d.path),
            k => k,
        };
        let f = MeteredFile::open_with_head(self.tree, &d.path, d.head)?;
        self.add_metered(kind, f)
    }

    /// Parses one file held in memory, its format told by content (then name) as for a file on
    /// disk. The fuzz targets go through here, so they reach every parser and the conversion.
    pub fn add_bytes(&mut self, path: &Path, bytes: Vec<u8>) -> Result<(), ArtifactError> {
        let head = &bytes[..bytes.len().min(detect::HEAD_BYTES)];
        let len = bytes.len() as u64;
        let kind = match detect::sniff_whole(head, len, bytes.last().copied(), path) {
            Kind::Unknown
                if bytes
                    .get(detect::TAR_MAGIC_AT as usize..)
                    .is_some_and(|m| detect::is_tar(m, len)) =>
            {
                Kind::Pickle
            }
            Kind::Unknown => detect::kind_by_name(path),
            k => k,
        };
        self.add_metered(kind, MeteredFile::from_bytes(path, bytes))
            .map(|_| ())
    }

    fn add_metered(
        &mut self,
        kind: Kind,
        mut f: MeteredFile,
    ) -> Result<Option<u64>, ArtifactError> {
        let path = f.path().to_owned();
        let (format, parsed) = match kind {
            Kind::Safetensors => (Format::Safetensors, read_safetensors(&mut f)?),
            Kind::Gguf => (Format::Gguf, read_gguf(&mut f)?),
            Kind::Zip => (Format::Pytorch, pytorch::read_zip(&mut f)?),
            Kind::TorchLegacy => (Format::PytorchLegacy, pytorch::read_legacy(&mut f)?),
            Kind::Pickle => (Format::Pickle, pytorch::read_bare_pickle(&mut f)?),
            Kind::Unknown => {
                return Err(ArtifactError::UnknownFormat {
                    path,
                    found: "no safetensors header, GGUF magic, zip archive or pickle at its start"
                        .into(),
                });
            }
        };
        self.bytes_read += f.bytes_read();
        let format = parsed.format.unwrap_or(format);
        match self.format {
            None => self.format = Some(format),
            Some(existing) if existing != format => self.warnings.push(format!(
                "{} is {} while the other files are {}",
                path.display(),
                format.name(),
                existing.name()
            )),
            Some(_) => {}
        }
        let split = parsed.split_count;
        self.push(&path, f.len(), format, parsed);
        Ok(split)
    }

    /// Scans a pickle-bearing file that is not counted (a `pytorch_model.bin` beside
    /// safetensors): a loader may still pick it, so what it would run is reported.
    fn scan_side_file(&mut self, d: Detected) {
        let path = d.path.clone();
        let mut f = match MeteredFile::open_with_head(self.tree, &d.path, d.head) {
            Ok(f) => f,
            Err(e) => {
                self.warnings.push(format!("{e}"));
                return;
            }
        };
        let result = match d.kind {
            Kind::Zip => pytorch::read_zip(&mut f),
            Kind::TorchLegacy => pytorch::read_legacy(&mut f),
            _ => pytorch::read_bare_pickle(&mut f),
        };
        self.bytes_read += f.bytes_read();
        match result {
            Ok(p) => {
                self.findings.extend(p.findings);
                self.warnings.push(format!(
                    "{} is a pickle-based file beside the counted weights: scanned for code, not counted",
                    path.display()
                ));
            }
            Err(ArtifactError::UnknownFormat { .. }) => {}
            Err(e) => self.findings.push(SecurityFinding::unscannable(
                &path,
                "",
                format!("could not be scanned: {e}"),
            )),
        }
    }

    fn push(&mut self, path: &Path, size: u64, format: Format, p: ParsedFile) {
        let file = self.files.len();
        let base = self.regions.len();
        let data_bytes = p.regions.iter().fold(0u64, |a, r| a.saturating_add(r.len));
        for r in p.regions {
            self.regions.push(DataRegion {
                file,
                offset: r.offset,
                len: r.len,
                name: r.name,
                exact: r.exact,
            });
        }
        let tensor_count = p.tensors.len();
        for t in p.tensors {
            self.tensors.push(Tensor {
                role: if t.tied {
                    TensorRole::Tied
                } else {
                    role::classify(&t.name, t.dtype)
                },
                name: t.name,
                dtype: t.dtype,
                shape: t.shape,
                elements: t.elements,
                file,
                offset: t.offset,
                len: t.len,
                region: base + t.region,
                shared: t.shared,
            });
        }
        let first = self.tensors.len() - tensor_count;
        let notes = role::refine(&mut self.tensors[first..]);
        self.warnings.extend(
            notes
                .into_iter()
                .map(|n| format!("{}: {n}", path.display())),
        );
        self.findings.extend(p.findings);
        self.warnings.extend(p.warnings);
        self.warnings.extend(p.incomplete.iter().cloned());
        self.incomplete.extend(p.incomplete);
        if self.file_config.is_none() {
            self.file_config = p.config;
        }
        self.files.push(WeightFile {
            path: path.to_owned(),
            size,
            format,
            header_bytes: p.header_bytes,
            data_bytes,
            tensor_count,
            metadata: p.metadata,
        });
    }

    /// Reads the index at `index_path` and every shard it names; `on_disk` lists the weight
    /// files present beside it (with the heads detection read), to report the ones the index
    /// leaves out.
    pub fn add_sharded(
        &mut self,
        index_path: &Path,
        on_disk: Vec<Detected>,
    ) -> Result<(), ArtifactError> {
        let mut f = MeteredFile::open_in(self.tree, index_path)?;
        let index = sharded::read_index(&mut f)?;
        self.bytes_read += f.bytes_read();
        self.layout = Layout::Sharded;
        self.warnings.extend(index.warnings.iter().cloned());
        let dir = index_path.parent().unwrap_or(Path::new("."));
        let mut detected: HashMap<PathBuf, Detected> =
            on_disk.into_iter().map(|d| (d.path.clone(), d)).collect();
        let mut shard_of_file = HashMap::new();
        let mut referenced = BTreeSet::new();
        for shard in &index.shards {
            shard_of_file.insert(self.files.len(), shard.clone());
            let path = dir.join(shard);
            referenced.insert(path.clone());
            let d = match detected.remove(&path) {
                Some(d) => d,
                None => detect::detect(self.tree, &path, &mut self.bytes_read)?,
            };
            self.add_file(d)?;
        }

        let mut missing = Vec::new();
        let mut unlisted = Vec::new();
        let mut present: BTreeSet<(&str, &str)> = BTreeSet::new();
        for t in &self.tensors {
            let Some(shard) = shard_of_file.get(&t.file).map(String::as_str) else {
                continue;
            };
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
        let mut extra: Vec<String> = detected
            .keys()
            .filter(|p| !referenced.contains(*p))
            .map(|p| p.display().to_string())
            .collect();
        extra.sort();
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

    /// Architecture facts: a GGUF's own metadata describes the weights it is in, so it wins;
    /// otherwise `config.json` beside the weights.
    pub fn read_config(&mut self, dir: &Path) -> Result<(), ArtifactError> {
        if let Some(c) = self.file_config.take() {
            self.config = Some(c);
            return Ok(());
        }
        let config_path = dir.join("config.json");
        if self.tree.is_file(&config_path) {
            let mut f = MeteredFile::open_in(self.tree, &config_path)?;
            let config = ModelConfig::read(&mut f)?;
            self.bytes_read += f.bytes_read();
            self.config = Some(config);
        }
        Ok(())
    }

    pub fn finish(mut self) -> Artifact {
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
            name: self.path.display().to_string(),
            path: self.path,
            format: self.format.unwrap_or(Format::Safetensors),
            layout: self.layout,
            files: self.files,
            tensors: self.tensors,
            regions: self.regions,
            security_findings: self.findings,
            config: self.config,
            index: self.index,
            warnings: self.warnings,
            incomplete: self.incomplete,
            bytes_read: self.bytes_read,
        };
        let mut more = summary::consistency_warnings(&artifact);
        artifact.warnings.append(&mut more);
        artifact
    }
}

/// The shard index of a directory: `model.safetensors.index.json` first (Transformers loads it
/// first; adapters and other indexes may sit beside it), then any other safetensors index, then
/// a PyTorch one (`pytorch_model.bin.index.json`).
fn find_index(tree: &dyn Tree, dir: &Path) -> Result<Option<PathBuf>, ArtifactError> {
    let files = tree.list_files(dir).map_err(|source| ArtifactError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let mut st = Vec::new();
    let mut bin = Vec::new();
    for path in files {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.ends_with(".safetensors.index.json") {
            st.push(path);
        } else if name.ends_with(".bin.index.json") {
            bin.push(path);
        }
    }
    st.sort();
    bin.sort();
    let preferred = dir.join("model.safetensors.index.json");
    if st.contains(&preferred) {
        return Ok(Some(preferred));
    }
    Ok(st.into_iter().next().or_else(|| bin.into_iter().next()))
}

/// The first few items of a list for a one-line message, and how many were left out.
pub(crate) fn first_few(items: &[String]) -> String {
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
