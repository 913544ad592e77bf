//! The one walk of a local path: every regular file it denotes, each with its identity, under the
//! rules for links, special files, ignored paths and hub caches (`docs/artifact-set.md`).

use super::identity::{FileId, kind_name};
use super::ignore::{Ignored, Rules, rel_string};
use super::{Options, Problem, Scope, SetError, SetFile, hub};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Deepest directory nesting walked (links included); deeper is an error, not a stack risk.
pub const MAX_DEPTH: usize = 64;
/// Most files in one set: the listing is held in memory (about 200 bytes a file).
pub const MAX_FILES: usize = 4_000_000;
/// Most directories walked for one set, links followed included: links inside the root may
/// lead to one directory many times (two links to the next level, thirty levels deep, would
/// walk 2^30 directories holding no file at all).
pub const MAX_DIRS: usize = 1_000_000;
/// Most times one directory is walked (under the names links give it): a real tree reaches a
/// directory by a name or two; a link bomb reaches one by thousands.
pub const MAX_WALKS_PER_DIR: u32 = 64;

pub(super) struct Walker<'o> {
    opts: &'o Options,
    rules: Rules,
    pub files: Vec<SetFile>,
    pub ignored: Vec<Ignored>,
    pub scopes: Vec<Scope>,
    /// The first name of each file identity, to mark later names as aliases.
    seen: HashMap<(u64, u64), PathBuf>,
    /// Directories being walked (device, inode), to tell a link loop from a link.
    ancestors: Vec<(u64, u64)>,
    /// The path as named, to show every file under it.
    shown_base: PathBuf,
    /// A name left out at the top of the walk (already recorded as ignored).
    skip_top: Option<String>,
    /// Entries that broke a rule, in a lenient walk.
    pub problems: Vec<Problem>,
    /// Directories walked so far.
    dirs_walked: usize,
    /// How often each directory (device, inode) was walked.
    walks: HashMap<(u64, u64), u32>,
}

impl<'o> Walker<'o> {
    pub fn new(opts: &'o Options, shown_base: &Path) -> Result<Self, SetError> {
        Ok(Walker {
            opts,
            rules: Rules::new(!opts.no_default_excludes, &opts.excludes)?,
            files: Vec::new(),
            ignored: Vec::new(),
            scopes: Vec::new(),
            seen: HashMap::new(),
            ancestors: Vec::new(),
            shown_base: shown_base.to_owned(),
            skip_top: None,
            problems: Vec::new(),
            dirs_walked: 0,
            walks: HashMap::new(),
        })
    }

    /// Shows files relative to `base` (a named file's directory) instead of the named path.
    pub fn set_shown_base(&mut self, base: &Path) {
        self.shown_base = base.to_owned();
    }

    /// A file named beside a named file (an index's shard, a split part): the same rules as in a
    /// walk, with links allowed inside the named file's directory.
    pub fn entry_beside(&mut self, real: &Path, rel: &Path, dir: &Path) -> Result<(), SetError> {
        let contain = std::fs::canonicalize(dir).map_err(SetError::io(dir))?;
        self.entry(real, rel, &contain, 0, MAX_DEPTH)
    }

    /// [`Walker::walk_dir`] of a hub root, leaving out the download locks at its top.
    pub fn walk_dir_skipping(
        &mut self,
        real: &Path,
        contain: &Path,
        skip: &str,
    ) -> Result<(), SetError> {
        self.skip_top = Some(skip.to_owned());
        let r = self.walk_dir(real, Path::new(""), contain, 0, 0);
        self.skip_top = None;
        r
    }

    fn shown(&self, rel: &Path) -> PathBuf {
        if rel.as_os_str().is_empty() {
            self.shown_base.clone()
        } else {
            self.shown_base.join(rel)
        }
    }

    /// Walks the directory `real` (shown as `rel` under the named path), whose links may resolve
    /// anywhere under `contain` (a canonical path).
    pub fn walk_dir(
        &mut self,
        real: &Path,
        rel: &Path,
        contain: &Path,
        scope: usize,
        depth: usize,
    ) -> Result<(), SetError> {
        if depth > MAX_DEPTH {
            return Err(SetError::TooDeep {
                path: self.shown(rel),
                limit: MAX_DEPTH,
            });
        }
        self.dirs_walked += 1;
        if self.dirs_walked > MAX_DIRS {
            return Err(SetError::TooManyDirs {
                path: self.shown_base.clone(),
                limit: MAX_DIRS,
            });
        }
        let meta = std::fs::metadata(real).map_err(SetError::io(&self.shown(rel)))?;
        let me = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        let walks = self.walks.entry(me).or_insert(0);
        *walks += 1;
        if *walks > MAX_WALKS_PER_DIR {
            return Err(SetError::TooManyDirs {
                path: self.shown(rel),
                limit: MAX_WALKS_PER_DIR as usize,
            });
        }
        self.ancestors.push(me);
        let r = self.walk_entries(real, rel, contain, scope, depth);
        self.ancestors.pop();
        r
    }

    fn walk_entries(
        &mut self,
        real: &Path,
        rel: &Path,
        contain: &Path,
        scope: usize,
        depth: usize,
    ) -> Result<(), SetError> {
        let shown_dir = self.shown(rel);
        let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(real)
            .map_err(SetError::io(&shown_dir))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(SetError::io(&shown_dir))?;
        names.sort();
        for name in names {
            if rel.as_os_str().is_empty() && self.skip_top.as_deref() == name.to_str() {
                continue;
            }
            let child_rel = rel.join(&name);
            let child_real = real.join(&name);
            if let Some(r) = rel_string(&child_rel)
                && let Some(rule) = self.rules.rule_for(&r)
            {
                // Only an ignored entry needs this lstat here; `entry` takes its own.
                let is_dir = std::fs::symlink_metadata(&child_real).is_ok_and(|m| m.is_dir());
                let rule = rule.to_owned();
                self.ignore(&child_rel, is_dir, &rule);
                continue;
            }
            match self.entry(&child_real, &child_rel, contain, scope, depth) {
                Ok(()) => {}
                // A lenient walk (audit) reports the entry and goes on; a guard fails closed.
                Err(e @ (SetError::TooManyFiles { .. } | SetError::TooManyDirs { .. })) => {
                    return Err(e);
                }
                Err(e) if self.opts.lenient => self.problems.push(Problem {
                    rel: child_rel,
                    what: e.to_string(),
                }),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn ignore(&mut self, rel: &Path, dir: bool, rule: &str) {
        let mut path = rel_string(rel).unwrap_or_else(|| rel.to_string_lossy().into_owned());
        if dir {
            path.push('/');
        }
        self.ignored.push(Ignored {
            path,
            rule: rule.to_owned(),
        });
    }

    fn entry(
        &mut self,
        real: &Path,
        rel: &Path,
        contain: &Path,
        scope: usize,
        depth: usize,
    ) -> Result<(), SetError> {
        let shown = self.shown(rel);
        let lmeta = std::fs::symlink_metadata(real).map_err(SetError::io(&shown))?;
        let t = lmeta.file_type();
        if t.is_symlink() {
            let target = std::fs::read_link(real).map_err(SetError::io(&shown))?;
            let resolved = match std::fs::canonicalize(real) {
                Ok(p) => p,
                Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                    return Err(SetError::LinkLoop {
                        link: shown,
                        target,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(SetError::DanglingLink {
                        link: shown,
                        target,
                    });
                }
                Err(source) => {
                    return Err(SetError::Io {
                        path: shown,
                        source,
                    });
                }
            };
            if !resolved.starts_with(contain) && !self.opts.follow_external_links {
                return Err(SetError::ExternalLink {
                    link: shown,
                    target: resolved,
                    root: self.shown_base.clone(),
                });
            }
            let meta = std::fs::metadata(&resolved).map_err(SetError::io(&shown))?;
            if meta.is_dir() {
                use std::os::unix::fs::MetadataExt;
                if self.ancestors.contains(&(meta.dev(), meta.ino())) {
                    return Err(SetError::LinkLoop {
                        link: shown,
                        target,
                    });
                }
                return self.walk_dir(&resolved, rel, contain, scope, depth + 1);
            }
            if !meta.is_file() {
                return Err(SetError::Special {
                    path: shown,
                    kind: kind_name(&meta),
                });
            }
            return self.add(resolved, rel, &meta, scope);
        }
        if t.is_dir() {
            if hub::is_repo(real) {
                return self.walk_repo(real, rel, depth);
            }
            return self.walk_dir(real, rel, contain, scope, depth + 1);
        }
        if t.is_file() {
            return self.add(real.to_owned(), rel, &lmeta, scope);
        }
        Err(SetError::Special {
            path: shown,
            kind: kind_name(&lmeta),
        })
    }

    /// A cached hub repository met in the walk (or named): its one snapshot, with links
    /// allowed anywhere inside the repository (they point into `blobs/`), which is not walked.
    pub fn walk_repo(&mut self, real: &Path, rel: &Path, depth: usize) -> Result<(), SetError> {
        let snap = hub::resolve(real, self.opts.revision.as_deref())?;
        let rev = snap.dir.file_name().map(PathBuf::from).unwrap_or_default();
        let snap_rel = rel.join("snapshots").join(&rev);
        let contain = std::fs::canonicalize(real).map_err(SetError::io(&self.shown(rel)))?;
        self.scopes.push(Scope {
            rel: snap_rel.clone(),
            name: snap.name.clone(),
        });
        let scope = self.scopes.len() - 1;
        let under = |p: &str| {
            let mut s = rel_string(&rel.join(p)).unwrap_or_default();
            s.push('/');
            s
        };
        self.ignored.push(Ignored {
            path: under("blobs"),
            rule: "hub cache: read through the snapshot's links".into(),
        });
        for other in &snap.other_revisions {
            self.ignored.push(Ignored {
                path: under(other.trim_end_matches('/')),
                rule: "hub cache: another revision (choose with --revision)".into(),
            });
        }
        self.walk_dir(&snap.dir, &snap_rel, &contain, scope, depth + 1)
    }

    pub fn add(
        &mut self,
        real: PathBuf,
        rel: &Path,
        meta: &std::fs::Metadata,
        scope: usize,
    ) -> Result<(), SetError> {
        if self.files.len() >= MAX_FILES {
            return Err(SetError::TooManyFiles {
                path: self.shown_base.clone(),
                limit: MAX_FILES,
            });
        }
        let id = FileId::of(meta);
        let alias_of = match self.seen.get(&(id.dev, id.ino)) {
            Some(first) => Some(first.clone()),
            None => {
                self.seen.insert((id.dev, id.ino), rel.to_owned());
                None
            }
        };
        self.files.push(SetFile {
            rel: rel.to_owned(),
            shown: self.shown(rel),
            real,
            id,
            alias_of,
            scope,
        });
        Ok(())
    }
}
