//! What can go wrong signing or verifying a model signature; every message names the file.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// A key file that cannot be used (format, curve, encryption), or cannot be read.
    #[error("{}: {what}", path.display())]
    Key { path: PathBuf, what: String },

    /// A bundle that is malformed, or does not verify under the key.
    #[error("{}: {what}", path.display())]
    Bundle { path: PathBuf, what: String },

    /// The model: its artifact set, or a file that could not be read or changed while read.
    #[error("{}: {what}", path.display())]
    Model { path: PathBuf, what: String },

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl SigningError {
    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> SigningError + '_ {
        move |source| SigningError::Io {
            path: path.to_owned(),
            source,
        }
    }
}
