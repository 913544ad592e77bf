//! Why an artifact could not be read. One variant per distinct failure; every message names the
//! file and, for a malformed header, the byte offset and what was expected there.

use std::path::PathBuf;

/// A failure to read or validate a model artifact.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The path could not be turned into an artifact set, or holds several models where one
    /// was asked for.
    #[error("{}: {message}", path.display())]
    Set { path: PathBuf, message: String },

    #[error("{}: no model weights found (looked for safetensors, GGUF and PyTorch files by content, and model.safetensors.index.json)", path.display())]
    NoWeights { path: PathBuf },

    #[error("{}: file is {len} bytes; a safetensors file starts with an 8-byte header length", path.display())]
    TooShort { path: PathBuf, len: u64 },

    #[error("{}: offset 0: header length {declared} exceeds the limit of {limit} bytes", path.display())]
    HeaderTooLarge {
        path: PathBuf,
        declared: u64,
        limit: u64,
    },

    #[error("{}: offset 0: header length {declared} runs past the end of the {file_len}-byte file", path.display())]
    HeaderBeyondFile {
        path: PathBuf,
        declared: u64,
        file_len: u64,
    },

    #[error("{}: offset 8: header does not start with '{{' (found {found})", path.display())]
    HeaderStart { path: PathBuf, found: String },

    #[error("{}: offset {offset}: header is not valid UTF-8", path.display())]
    HeaderUtf8 { path: PathBuf, offset: u64 },

    #[error("{}: offset {offset}: invalid header JSON: {message}", path.display())]
    HeaderJson {
        path: PathBuf,
        offset: u64,
        message: String,
    },

    #[error("{}: tensor `{tensor}`: unknown dtype `{dtype}`", path.display())]
    UnknownDtype {
        path: PathBuf,
        tensor: String,
        dtype: String,
    },

    #[error("{}: tensor `{tensor}`: shape {shape:?} overflows a 64-bit byte count", path.display())]
    ShapeOverflow {
        path: PathBuf,
        tensor: String,
        shape: Vec<u64>,
    },

    #[error("{}: tensor `{tensor}`: {elements} elements of {bits}-bit {dtype} do not fill whole bytes", path.display())]
    PartialByte {
        path: PathBuf,
        tensor: String,
        elements: u64,
        bits: u64,
        dtype: String,
    },

    #[error("{}: tensor `{tensor}`: data_offsets [{begin}, {end}] end before they begin", path.display())]
    OffsetsReversed {
        path: PathBuf,
        tensor: String,
        begin: u64,
        end: u64,
    },

    #[error("{}: tensor `{tensor}`: shape {shape:?} of {dtype} needs {expected} bytes but data_offsets span {found}", path.display())]
    LengthMismatch {
        path: PathBuf,
        tensor: String,
        shape: Vec<u64>,
        dtype: String,
        expected: u64,
        found: u64,
    },

    #[error("{}: tensor `{tensor}`: data starts at buffer offset {found}, expected {expected} ({kind}); tensors must tile the data buffer exactly", path.display())]
    NotContiguous {
        path: PathBuf,
        tensor: String,
        expected: u64,
        found: u64,
        kind: &'static str,
    },

    #[error("{}: header describes a {described}-byte file but the file is {file_len} bytes ({kind})", path.display())]
    SizeMismatch {
        path: PathBuf,
        described: u64,
        file_len: u64,
        kind: &'static str,
    },

    #[error("{}: invalid shard index: {message}", path.display())]
    Index { path: PathBuf, message: String },

    #[error("{}: invalid config.json: {message}", path.display())]
    Config { path: PathBuf, message: String },

    #[error("{}: {what} is {len} bytes, over the limit of {limit}", path.display())]
    FileTooLarge {
        path: PathBuf,
        what: &'static str,
        len: u64,
        limit: u64,
    },

    #[error("{}: {what} is not UTF-8 text", path.display())]
    NotText { path: PathBuf, what: &'static str },

    #[error("{}: not a recognised weight format: {found}", path.display())]
    UnknownFormat { path: PathBuf, found: String },

    #[error("{}: offset {offset}: {what} needs {needed} bytes but only {available} remain", path.display())]
    Truncated {
        path: PathBuf,
        offset: u64,
        what: String,
        needed: u64,
        available: u64,
    },

    #[error("{}: offset {offset}: {what} is {value}, over the limit of {limit}", path.display())]
    LimitExceeded {
        path: PathBuf,
        offset: u64,
        what: String,
        value: u64,
        limit: u64,
    },

    #[error("{}: offset {offset}: invalid {format}: {message}", path.display())]
    Malformed {
        path: PathBuf,
        format: &'static str,
        offset: u64,
        message: String,
    },

    #[error("{}: offset 4: GGUF version {version} is not supported (versions 2 and 3 are; version 1 used 32-bit counts and predates every current writer)", path.display())]
    GgufVersion { path: PathBuf, version: u32 },

    #[error("{}: member `{member}`: offset {offset}: invalid pickle: {message}", path.display())]
    Pickle {
        path: PathBuf,
        member: String,
        offset: u64,
        message: String,
    },
}

impl ArtifactError {
    /// Whether the error leaves a pickle-bearing file (a PyTorch checkpoint, a pickle) unscanned:
    /// such a file may run code when loaded, so it is unsafe, not merely unreadable.
    pub fn leaves_pickle_unscanned(&self) -> bool {
        match self {
            ArtifactError::Pickle { .. } => true,
            ArtifactError::Malformed { format, .. } => format.contains("PyTorch"),
            ArtifactError::LimitExceeded { what, .. } => {
                what.contains("pickle") || what.contains("zip")
            }
            _ => false,
        }
    }
}

impl ArtifactError {
    /// The file the error is about (every message starts with it): for callers that report the
    /// file apart from the reason, such as the Python API's exception.
    pub fn path(&self) -> &std::path::Path {
        match self {
            ArtifactError::Io { path, .. }
            | ArtifactError::Set { path, .. }
            | ArtifactError::NoWeights { path, .. }
            | ArtifactError::TooShort { path, .. }
            | ArtifactError::HeaderTooLarge { path, .. }
            | ArtifactError::HeaderBeyondFile { path, .. }
            | ArtifactError::HeaderStart { path, .. }
            | ArtifactError::HeaderUtf8 { path, .. }
            | ArtifactError::HeaderJson { path, .. }
            | ArtifactError::UnknownDtype { path, .. }
            | ArtifactError::ShapeOverflow { path, .. }
            | ArtifactError::PartialByte { path, .. }
            | ArtifactError::OffsetsReversed { path, .. }
            | ArtifactError::LengthMismatch { path, .. }
            | ArtifactError::NotContiguous { path, .. }
            | ArtifactError::SizeMismatch { path, .. }
            | ArtifactError::Index { path, .. }
            | ArtifactError::Config { path, .. }
            | ArtifactError::FileTooLarge { path, .. }
            | ArtifactError::NotText { path, .. }
            | ArtifactError::UnknownFormat { path, .. }
            | ArtifactError::Truncated { path, .. }
            | ArtifactError::LimitExceeded { path, .. }
            | ArtifactError::Malformed { path, .. }
            | ArtifactError::GgufVersion { path, .. }
            | ArtifactError::Pickle { path, .. } => path,
        }
    }
}
