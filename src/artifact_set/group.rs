//! Which files of one directory make which models.
//!
//! Every weight file belongs to a model and is counted; a directory may hold several:
//! - each shard index (`*.safetensors.index.json`, `*.bin.index.json`) with the shards it names;
//! - the remaining safetensors files, together (one model, or an unindexed one in several files);
//! - each GGUF file, or each split GGUF (`<name>-0000K-of-0000N.gguf`) with its parts;
//! - the remaining PyTorch zip checkpoints, together; the legacy ones, together;
//! - bare pickles are scanned with the directory's first model, or make a model of their own.
//!
//! Formats are told by content; a file whose content matches none but whose name claims
//! safetensors or GGUF is grouped as that format, so its parser names what is wrong with it.
//! Works over any [`Tree`] (a local set, a bucket listing), one directory at a time.

use crate::artifact::detect::{self, Kind};
use crate::artifact::read::MeteredFile;
use crate::artifact::tree::Tree;
use crate::artifact::{ArtifactError, sharded};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The files of one model, as the artifact stage will read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFiles {
    /// The directory holding it.
    pub dir: PathBuf,
    /// What the model is called when it is not the whole directory: its one file (or first
    /// part), or its index. `None` when the model is the directory's only one.
    pub file: Option<PathBuf>,
    /// The weight files, and the index when there is one.
    pub files: Vec<PathBuf>,
    /// Pickles scanned with it for what they would run (not counted).
    pub scanned: Vec<PathBuf>,
    /// `config.json` beside it, read for architecture facts.
    pub config: Option<PathBuf>,
    /// A file the user named on its own: read as named whatever its content (an unknown file
    /// is an error naming it), a split GGUF part with the parts beside it.
    pub named: bool,
}

impl ModelFiles {
    /// The model's path: its directory, or its file when it shares the directory.
    pub fn path(&self) -> &Path {
        self.file.as_deref().unwrap_or(&self.dir)
    }

    /// Every file the artifact stage may read for it.
    pub fn all_files(&self) -> impl Iterator<Item = &PathBuf> {
        self.files
            .iter()
            .chain(&self.scanned)
            .chain(self.config.iter())
    }
}

fn name_of(p: &Path) -> &str {
    p.file_name().and_then(|n| n.to_str()).unwrap_or_default()
}

/// Files read by the JSON side-file readers, never as weights.
pub fn is_read_as_json(p: &Path) -> bool {
    name_of(p) == "config.json" || is_index(p)
}

fn is_index(p: &Path) -> bool {
    let n = name_of(p);
    n.ends_with(".safetensors.index.json") || n.ends_with(".bin.index.json")
}

/// `(<prefix>, N)` for a split GGUF part's name, `<prefix>-0000K-of-0000N.gguf`.
pub(crate) fn gguf_split_name(name: &str) -> Option<(String, String)> {
    let stem = name.strip_suffix(".gguf")?;
    let (rest, total) = stem.rsplit_once("-of-")?;
    let (prefix, no) = rest.rsplit_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(no) && digits(total)).then(|| (prefix.to_owned(), total.to_owned()))
}

fn gguf_split(p: &Path) -> Option<(String, String)> {
    gguf_split_name(name_of(p))
}

/// Groups `files` (all directly in `dir`, as the tree names them) into models. Reads each file's
/// first bytes and each index; adds what it read to `bytes_read`.
pub fn group_dir(
    tree: &dyn Tree,
    dir: &Path,
    files: &[PathBuf],
    bytes_read: &mut u64,
) -> Result<Vec<ModelFiles>, ArtifactError> {
    let config = files.iter().find(|f| name_of(f) == "config.json").cloned();
    let mut indexes: Vec<&PathBuf> = files.iter().filter(|f| is_index(f)).collect();
    // Transformers reads model.safetensors.index.json first; keep its order for the names.
    indexes.sort_by_key(|p| (name_of(p) != "model.safetensors.index.json", (*p).clone()));
    let mut kinds: BTreeMap<PathBuf, Kind> = BTreeMap::new();
    for f in files {
        // config.json and indexes are read by their own parsers (a weight file renamed to one of
        // them fails those, closed). Every other file is told by content, `*.json` included: a
        // safetensors file renamed `weights.json` is still weights.
        if is_read_as_json(f) {
            continue;
        }
        let d = detect::detect(tree, f, bytes_read)?;
        let kind = match d.kind {
            Kind::Unknown => detect::kind_by_name(f),
            k => k,
        };
        if kind != Kind::Unknown {
            kinds.insert(f.clone(), kind);
        }
    }

    let mut models = Vec::new();
    let mut claimed = BTreeSet::new();
    for index in &indexes {
        let mut f = MeteredFile::open_in(tree, index)?;
        let parsed = sharded::read_index(&mut f)?;
        *bytes_read += f.bytes_read();
        let mut members = vec![(*index).clone()];
        for shard in &parsed.shards {
            let p = dir.join(shard);
            claimed.insert(p.clone());
            members.push(p);
        }
        models.push(ModelFiles {
            dir: dir.to_owned(),
            file: Some((*index).clone()),
            files: members,
            scanned: vec![],
            config: config.clone(),
            named: false,
        });
    }

    let mut by_kind: BTreeMap<u8, Vec<PathBuf>> = BTreeMap::new();
    let mut gguf_splits: BTreeMap<(String, String), Vec<PathBuf>> = BTreeMap::new();
    let mut pickles = Vec::new();
    for (f, kind) in &kinds {
        if claimed.contains(f) {
            continue;
        }
        match kind {
            Kind::Safetensors => by_kind.entry(0).or_default().push(f.clone()),
            Kind::Zip => by_kind.entry(1).or_default().push(f.clone()),
            Kind::TorchLegacy => by_kind.entry(2).or_default().push(f.clone()),
            Kind::Gguf => match gguf_split(f) {
                Some(key) => gguf_splits.entry(key).or_default().push(f.clone()),
                None => gguf_splits
                    .entry((name_of(f).to_owned(), String::new()))
                    .or_default()
                    .push(f.clone()),
            },
            Kind::Pickle => pickles.push(f.clone()),
            Kind::Unknown => {}
        }
    }
    let single = |files: Vec<PathBuf>| ModelFiles {
        dir: dir.to_owned(),
        file: (files.len() == 1).then(|| files[0].clone()),
        files,
        scanned: vec![],
        config: config.clone(),
        named: false,
    };
    for (_, files) in by_kind {
        models.push(single(files));
    }
    for (_, parts) in gguf_splits {
        let mut m = single(parts);
        m.file = m.files.first().cloned();
        models.push(m);
    }
    match models.first_mut() {
        Some(first) => first.scanned = pickles,
        None if !pickles.is_empty() => models.push(single(pickles)),
        None => {}
    }
    // The directory's only model is named by the directory.
    if models.len() == 1 {
        models[0].file = None;
    }
    Ok(models)
}
