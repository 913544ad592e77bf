//! The selection flags of the artifact set, the same on every command that takes a PATH, and the
//! one way a command turns its PATH into models (`weightguard::artifact_set`).

use super::inputs::Failure;
use super::render::Style;
use std::path::Path;
use weightguard::artifact_set::{self, ArtifactSet, Ignored};

/// Which files of PATH count: everything under it, but for the defaults and `--exclude`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SetArgs {
    /// Leave out files or directories matching GLOB (repeatable): a name at any depth, or a
    /// path from the root when it has a `/`; `**` spans directories.
    #[arg(long = "exclude", value_name = "GLOB")]
    pub excludes: Vec<String>,
    /// Do not leave out .git/, .gitattributes, .gitignore, .github/ and .cache/huggingface/.
    #[arg(long)]
    pub no_default_excludes: bool,
    /// Follow symbolic links whose target lies outside PATH (refused by default).
    #[arg(long)]
    pub follow_external_links: bool,
    /// In a Hugging Face hub cache, the revision to read (branch, tag or commit; default main).
    #[arg(long, value_name = "REV")]
    pub revision: Option<String>,
}

impl SetArgs {
    pub fn options(&self) -> artifact_set::Options {
        artifact_set::Options {
            excludes: self.excludes.clone(),
            no_default_excludes: self.no_default_excludes,
            follow_external_links: self.follow_external_links,
            revision: self.revision.clone(),
            lenient: false,
        }
    }
}

/// The artifact set of `path`, or the failure to render.
pub fn collect(path: &Path, args: &SetArgs) -> Result<ArtifactSet, Failure> {
    artifact_set::collect(path, &args.options())
        .map_err(|e| weightguard::reports::Failure::from(e).into())
}

/// `ignored  .git/ (default), checkpoints/ (--exclude checkpoints)`, or nothing.
pub fn ignored_line(ignored: &[Ignored], style: Style) -> Option<String> {
    if ignored.is_empty() {
        return None;
    }
    const SHOWN: usize = 6;
    let mut parts: Vec<String> = ignored
        .iter()
        .take(SHOWN)
        .map(|i| format!("{} ({})", super::render::escape(&i.path), i.rule))
        .collect();
    if ignored.len() > SHOWN {
        parts.push(format!("and {} more", ignored.len() - SHOWN));
    }
    Some(format!(
        "  {:<13} {}\n",
        "ignored",
        style.dim(&parts.join(", "))
    ))
}
