//! Stage 0: from a path to the artifact set, before anything else runs.
//!
//! The set is the exact list of regular files a path denotes, each with its identity (device,
//! inode, length, modification time), grouped into models. Every command takes its files from
//! here, so what `inspect` counts, `gate` decides on, `hash` digests and `seal` packs is one
//! list; `seal` re-checks it at the end ([`ArtifactSet::recheck`]). The rules (links, special
//! files, ignored paths, hub caches, indexes) are in `docs/artifact-set.md`.

mod error;
pub mod group;
pub mod hub;
pub mod identity;
pub mod ignore;
mod view;
mod walk;

pub use error::SetError;
pub use group::ModelFiles;
pub use identity::FileId;
pub use ignore::{DEFAULT_EXCLUDES, Ignored};
pub use view::{ModelView, SetTree};
pub use walk::{MAX_DEPTH, MAX_DIRS, MAX_FILES};

use crate::artifact::{self, Artifact, ArtifactError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How a path becomes a set: the selection flags every command that takes a PATH shares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Globs left out, beside the defaults.
    pub excludes: Vec<String>,
    /// Leave nothing out by default (`.git/` and the others are walked too).
    pub no_default_excludes: bool,
    /// Follow symbolic links whose target lies outside the named directory.
    pub follow_external_links: bool,
    /// The hub cache revision to read (a branch, tag or commit); default `main`.
    pub revision: Option<String>,
    /// Record a path that breaks a rule (a link out of the root, a special file, an unreadable
    /// directory, a malformed index) as a [`Problem`] and go on, instead of failing: `audit`
    /// reports each as a finding. Every other command fails closed.
    pub lenient: bool,
}

/// A path the set could not include under its rules (lenient sets only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Relative to the named path.
    pub rel: PathBuf,
    /// The refusal, naming the path and the cause.
    pub what: String,
}

/// One regular file of the set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetFile {
    /// Relative to the named directory (for a named file: its name): what an envelope calls it.
    pub rel: PathBuf,
    /// As shown to the user: the named path joined with `rel`.
    pub shown: PathBuf,
    /// Where its bytes are read: the path with links inside the root resolved.
    pub real: PathBuf,
    pub id: FileId,
    /// A second name of a file already listed (two links to one blob, a hard link): the first
    /// name. Sealed and hashed under both names, counted once.
    pub alias_of: Option<PathBuf>,
    /// Index into [`ArtifactSet::scopes`]: which repository or named path it belongs to.
    pub scope: usize,
}

/// What names the models under a part of the tree: the named path itself, or a hub
/// repository's snapshot (`org/name@rev`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The part's directory relative to the named path.
    pub rel: PathBuf,
    /// Its name in every output.
    pub name: String,
}

/// A model of the set: its name and its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetModel {
    /// `org/name@rev[/sub]` in a hub cache, else the model's path as shown.
    pub name: String,
    pub files: ModelFiles,
}

/// The files a path denotes, grouped into models.
#[derive(Debug, Clone)]
pub struct ArtifactSet {
    /// The path as named.
    pub path: PathBuf,
    pub options: Options,
    /// Every file, sorted by `rel`.
    pub files: Vec<SetFile>,
    /// What the rules left out, in walk order.
    pub ignored: Vec<Ignored>,
    pub scopes: Vec<Scope>,
    pub models: Vec<SetModel>,
    /// Bytes read to group the files (file heads, indexes, hub refs).
    pub bytes_read: u64,
    /// Whether the named path is a directory (a named file is sealed under its own name).
    pub is_dir: bool,
    /// Paths left out because they break a rule (only with [`Options::lenient`]).
    pub problems: Vec<Problem>,
}

/// Builds the set for `path`.
pub fn collect(path: &Path, options: &Options) -> Result<ArtifactSet, SetError> {
    let mut w = walk::Walker::new(options, path)?;
    // The named path itself is trusted as named: a link given on the command line is followed.
    let meta = std::fs::metadata(path).map_err(SetError::io(path))?;
    let is_dir = meta.is_dir();
    if is_dir {
        let real = std::fs::canonicalize(path).map_err(SetError::io(path))?;
        if hub::is_repo(&real) {
            // A repository named directly: its snapshot is the model directory.
            w.scopes.push(Scope {
                rel: PathBuf::new(),
                name: String::new(),
            });
            walk_named_repo(&mut w, &real, options)?;
        } else if let Some(repo) = hub::repo_of_snapshot(&real) {
            // A snapshot named directly: its links lead into the repository's blobs.
            let contain = std::fs::canonicalize(&repo).map_err(SetError::io(path))?;
            let rev = real.file_name().unwrap_or_default().to_string_lossy();
            w.scopes.push(Scope {
                rel: PathBuf::new(),
                name: format!("{}@{rev}", hub::repo_name(&repo)),
            });
            w.walk_dir(&real, Path::new(""), &contain, 0, 0)?;
        } else {
            w.scopes.push(Scope {
                rel: PathBuf::new(),
                name: path.display().to_string(),
            });
            if hub::is_hub_root(&real) {
                if real.join(".locks").is_dir() {
                    w.ignored.push(Ignored {
                        path: ".locks/".into(),
                        rule: "hub cache: download locks".into(),
                    });
                }
                w.walk_dir_skipping(&real, &real, ".locks")?;
            } else {
                w.walk_dir(&real, Path::new(""), &real, 0, 0)?;
            }
        }
    } else {
        w.scopes.push(Scope {
            rel: PathBuf::new(),
            name: path.display().to_string(),
        });
        named_file(&mut w, path, &meta)?;
    }
    let mut set = ArtifactSet {
        path: path.to_owned(),
        options: options.clone(),
        files: std::mem::take(&mut w.files),
        ignored: std::mem::take(&mut w.ignored),
        scopes: std::mem::take(&mut w.scopes),
        models: Vec::new(),
        bytes_read: 0,
        is_dir,
        problems: std::mem::take(&mut w.problems),
    };
    set.files.sort_by(|a, b| a.rel.cmp(&b.rel));
    set.group()?;
    if !is_dir {
        set.name_the_named_file();
    }
    Ok(set)
}

fn walk_named_repo(w: &mut walk::Walker, real: &Path, options: &Options) -> Result<(), SetError> {
    let snap = hub::resolve(real, options.revision.as_deref())?;
    let contain = std::fs::canonicalize(real).map_err(SetError::io(real))?;
    w.scopes[0].name = snap.name.clone();
    w.ignored.push(Ignored {
        path: "blobs/".into(),
        rule: "hub cache: read through the snapshot's links".into(),
    });
    for other in &snap.other_revisions {
        w.ignored.push(Ignored {
            path: other.clone(),
            rule: "hub cache: another revision (choose with --revision)".into(),
        });
    }
    w.walk_dir(&snap.dir, Path::new(""), &contain, 0, 0)
}

/// A named file: itself; an index with the shards it names and the `config.json` beside it; a
/// split GGUF part with the parts beside it.
fn named_file(w: &mut walk::Walker, path: &Path, meta: &std::fs::Metadata) -> Result<(), SetError> {
    if !meta.is_file() {
        return Err(SetError::Special {
            path: path.to_owned(),
            kind: identity::kind_name(meta),
        });
    }
    let real = std::fs::canonicalize(path).map_err(SetError::io(path))?;
    let name = PathBuf::from(path.file_name().unwrap_or_default());
    let dir = path.parent().unwrap_or(Path::new(""));
    let real_dir = real.parent().unwrap_or(Path::new("/")).to_owned();
    // Files beside the named one are shown beside it.
    w.set_shown_base(dir);
    w.add(real.clone(), &name, meta, 0)?;
    let mut beside: Vec<String> = Vec::new();
    let fname = name.to_string_lossy().into_owned();
    if fname.ends_with(".index.json") {
        let mut f = artifact::read::MeteredFile::open(path)?;
        let index = artifact::sharded::read_index(&mut f)?;
        beside.extend(index.shards.iter().cloned());
        beside.push("config.json".into());
    } else {
        if let Some((prefix, total)) = group::gguf_split_name(&fname) {
            let n: u64 = total.parse().unwrap_or(0);
            let parts: Vec<String> = (1..=n.min(100_000))
                .map(|k| format!("{prefix}-{k:0w$}-of-{total}.gguf", w = total.len()))
                .collect();
            // Only a name in the standard form brings its siblings.
            if parts.contains(&fname) {
                beside.extend(parts);
            }
        }
        beside.push("config.json".into());
    }
    for b in beside {
        if b == fname {
            continue;
        }
        let rel = PathBuf::from(&b);
        let candidate = real_dir.join(&b);
        match std::fs::symlink_metadata(&candidate) {
            Err(_) if b == "config.json" || fname.ends_with(".gguf") => continue,
            // config.json beside a weight file that is not one: a directory, a pipe.
            Ok(m) if b == "config.json" && !m.is_file() && !m.file_type().is_symlink() => continue,
            Err(e) => {
                return Err(SetError::Io {
                    path: dir.join(&b),
                    source: e,
                });
            }
            Ok(_) => {}
        }
        w.entry_beside(&candidate, &rel, &real_dir)?;
    }
    Ok(())
}

impl ArtifactSet {
    /// A [`SetTree`] over this set, for the artifact stage and the digest engine.
    pub fn tree(&self) -> SetTree<'_> {
        SetTree::new(self)
    }

    /// The files that are not second names of others.
    pub fn distinct_files(&self) -> impl Iterator<Item = &SetFile> {
        self.files.iter().filter(|f| f.alias_of.is_none())
    }

    /// Bytes of every file of the set.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.id.size).sum()
    }

    fn group(&mut self) -> Result<(), SetError> {
        let mut by_dir: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
        let mut scope_of_dir: BTreeMap<PathBuf, usize> = BTreeMap::new();
        for f in self.distinct_files() {
            let dir = f.shown.parent().unwrap_or(Path::new("")).to_owned();
            scope_of_dir.insert(dir.clone(), f.scope);
            by_dir.entry(dir).or_default().push(f.shown.clone());
        }
        let tree = self.tree();
        let mut bytes_read = 0;
        let mut models = Vec::new();
        let mut problems = Vec::new();
        for (dir, files) in &by_dir {
            let scope = &self.scopes[scope_of_dir[dir]];
            let grouped = match group::group_dir(&tree, dir, files, &mut bytes_read) {
                Ok(g) => g,
                Err(e) if self.options.lenient => {
                    problems.push(Problem {
                        rel: dir.strip_prefix(&self.path).unwrap_or(dir).to_owned(),
                        what: e.to_string(),
                    });
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            for m in grouped {
                let name = self.model_name(scope, &m);
                models.push(SetModel { name, files: m });
            }
        }
        drop(tree);
        self.problems.extend(problems);
        self.models = models;
        self.bytes_read = bytes_read;
        Ok(())
    }

    /// A named weight file is one model, read as named: whatever its content (an unknown file is
    /// an error naming it), with the split parts beside it; an index keeps its grouping.
    fn name_the_named_file(&mut self) {
        let Some(named) = self.files.iter().find(|f| f.shown == self.path) else {
            return;
        };
        let name = named.rel.to_string_lossy();
        if name.ends_with(".index.json") || name.ends_with(".json") && self.models.len() == 1 {
            return;
        }
        let dir = self.path.parent().unwrap_or(Path::new("")).to_owned();
        let mut files = vec![self.path.clone()];
        files.extend(
            self.files
                .iter()
                .filter(|f| f.shown != self.path && f.rel.to_string_lossy().ends_with(".gguf"))
                .map(|f| f.shown.clone()),
        );
        let config = self
            .files
            .iter()
            .find(|f| f.rel == Path::new("config.json"))
            .map(|f| f.shown.clone());
        self.models = vec![SetModel {
            name: self.path.display().to_string(),
            files: ModelFiles {
                dir,
                file: Some(self.path.clone()),
                files,
                scanned: vec![],
                config,
                named: true,
            },
        }];
    }

    /// `org/name@rev` plus the model's place inside the snapshot, or the model's shown path.
    fn model_name(&self, scope: &Scope, m: &ModelFiles) -> String {
        if scope.name == self.path.display().to_string() || scope.name.is_empty() {
            return m.path().display().to_string();
        }
        let scope_shown = if scope.rel.as_os_str().is_empty() {
            self.path.clone()
        } else {
            self.path.join(&scope.rel)
        };
        match m.path().strip_prefix(&scope_shown) {
            Ok(rest) if rest.as_os_str().is_empty() => scope.name.clone(),
            Ok(rest) => format!("{}/{}", scope.name, rest.display()),
            Err(_) => m.path().display().to_string(),
        }
    }

    /// Opens every model of the set through the artifact stage; a model that turns out to hold
    /// no weights (a zip that is not a checkpoint) is `None`.
    pub fn open_models(&self) -> Vec<(&SetModel, Result<Option<Artifact>, ArtifactError>)> {
        let tree = self.tree();
        self.models
            .iter()
            .map(|m| (m, artifact::open_model(&tree, &m.files, &m.name)))
            .collect()
    }

    /// Lists the path again and checks it denotes the same files with the same identities: the
    /// last step of `seal`, so nothing added, removed or changed since the gate is sealed.
    pub fn recheck(&self) -> Result<(), SetError> {
        let now = collect(&self.path, &self.options)?;
        let before: BTreeMap<&Path, &FileId> = self
            .files
            .iter()
            .map(|f| (f.rel.as_path(), &f.id))
            .collect();
        let after: BTreeMap<&Path, &FileId> =
            now.files.iter().map(|f| (f.rel.as_path(), &f.id)).collect();
        for (rel, id) in &before {
            match after.get(rel) {
                None => {
                    return Err(SetError::Changed {
                        path: self.shown(rel),
                        what: "it disappeared".into(),
                    });
                }
                Some(now) => {
                    if let Some(what) = id.change_to(now) {
                        return Err(SetError::Changed {
                            path: self.shown(rel),
                            what,
                        });
                    }
                }
            }
        }
        if let Some(rel) = after.keys().find(|r| !before.contains_key(*r)) {
            return Err(SetError::Changed {
                path: self.shown(rel),
                what: "it appeared".into(),
            });
        }
        Ok(())
    }

    fn shown(&self, rel: &Path) -> PathBuf {
        self.files
            .iter()
            .find(|f| f.rel == rel)
            .map(|f| f.shown.clone())
            .unwrap_or_else(|| self.path.join(rel))
    }
}

#[cfg(test)]
mod tests;
