//! Why a digest could not be computed. One variant per distinct failure; every message names the
//! file and, where one applies, the byte offset.

use crate::artifact::ArtifactError;
use std::path::PathBuf;

/// A failure to hash a file or a model.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{}: offset {offset}: read failed: {source}", path.display())]
    Read {
        path: PathBuf,
        offset: u64,
        #[source]
        source: std::io::Error,
    },

    /// The file ended before the length it had when hashing began.
    #[error("{}: offset {offset}: file ends here but was {expected} bytes when hashing began (truncated while being hashed)", path.display())]
    Truncated {
        path: PathBuf,
        offset: u64,
        expected: u64,
    },

    /// Length, modification time or identity differ after hashing from before.
    #[error("{}: file changed while being hashed ({what})", path.display())]
    Changed { path: PathBuf, what: String },

    #[error("{}: not a regular file, directory or pipe", path.display())]
    Unsupported { path: PathBuf },

    /// The path could not be turned into an artifact set (a link leaving it, a special file…);
    /// `what` names the file and the cause.
    #[error("{what}")]
    Set { path: PathBuf, what: String },

    /// A weight file whose header is malformed: nothing in it is trusted, so no per-tensor
    /// digests are given for it.
    #[error(transparent)]
    Weights(#[from] ArtifactError),
}

impl DigestError {
    /// The file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            DigestError::Io { path, .. }
            | DigestError::Read { path, .. }
            | DigestError::Truncated { path, .. }
            | DigestError::Changed { path, .. }
            | DigestError::Unsupported { path }
            | DigestError::Set { path, .. } => path,
            DigestError::Weights(e) => e.path(),
        }
    }
}
