//! Why a path could not be turned into an artifact set. Each message names the path and says
//! what to do next.

use crate::artifact::ArtifactError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SetError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{} is a symbolic link to {}, outside {}: refusing to read it (a link can carry any file into what is hashed, gated and sealed); remove it, or pass --follow-external-links to include it",
        link.display(), target.display(), root.display()
    )]
    ExternalLink {
        link: PathBuf,
        target: PathBuf,
        root: PathBuf,
    },

    #[error("{}: symbolic link loop (it leads back to {}); remove the link or exclude it with --exclude", link.display(), target.display())]
    LinkLoop { link: PathBuf, target: PathBuf },

    #[error("{} is a symbolic link to {}, which does not exist; remove the link or exclude it with --exclude", link.display(), target.display())]
    DanglingLink { link: PathBuf, target: PathBuf },

    #[error("{} is {kind}: only regular files can be weights or side files; remove it or exclude it with --exclude", path.display())]
    Special { path: PathBuf, kind: &'static str },

    #[error("{}: directories nested more than {limit} deep", path.display())]
    TooDeep { path: PathBuf, limit: usize },

    #[error("{}: more than {limit} files; exclude some with --exclude", path.display())]
    TooManyFiles { path: PathBuf, limit: usize },

    #[error("{}: more than {limit} directories walked, or one directory walked more than {limit} times: links inside it lead to the same directories again and again; remove those links or exclude them with --exclude", path.display())]
    TooManyDirs { path: PathBuf, limit: usize },

    #[error("{}: {what}", path.display())]
    Hub { path: PathBuf, what: String },

    #[error("--exclude {pattern}: {what}")]
    Pattern { pattern: String, what: String },

    #[error("{}: changed between the gate and the end of the seal: {what}; nothing was written", path.display())]
    Changed { path: PathBuf, what: String },

    #[error(transparent)]
    Artifact(#[from] ArtifactError),
}

impl SetError {
    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> SetError + '_ {
        move |source| SetError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

impl SetError {
    /// The file or link the error is about, when there is one (not for a bad `--exclude`).
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            SetError::Io { path, .. }
            | SetError::Special { path, .. }
            | SetError::TooDeep { path, .. }
            | SetError::TooManyFiles { path, .. }
            | SetError::TooManyDirs { path, .. }
            | SetError::Hub { path, .. }
            | SetError::Changed { path, .. } => Some(path),
            SetError::ExternalLink { link, .. }
            | SetError::LinkLoop { link, .. }
            | SetError::DanglingLink { link, .. } => Some(link),
            SetError::Pattern { .. } => None,
            SetError::Artifact(e) => Some(e.path()),
        }
    }
}
