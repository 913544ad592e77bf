//! Stage: BLAKE3 digests of model files, reading each byte once.
//!
//! A weight file (safetensors, GGUF, PyTorch checkpoint: recognised by content) is cut into
//! segments that tile it: its header, each data region (a tensor, or a PyTorch storage) and the
//! gaps between them, each with its own digest; every tensor gets the digest of exactly its
//! bytes. Any other
//! file gets a whole-file digest equal to `b3sum`'s, and weight files get one too on request,
//! computed from the same reads. A model's tensors are summarised by a root digest
//! ([`root::root_digest`]). The format of every value is specified in `docs/digest.md`.
//!
//! Reading: large regular files on local filesystems are memory-mapped ([`mmap`], guarded against
//! truncation); everything else goes through positioned reads into bounded buffers
//! ([`buffered`]). Large files are hashed one at a time with BLAKE3's tree parallelism; small
//! files are hashed in parallel with each other.

pub mod buffered;
pub mod check;
mod engine;
mod error;
// The crate's only unsafe code: mapping files, and the SIGBUS guard that makes that safe.
#[allow(unsafe_code)]
mod mmap;
pub mod plan;
pub mod report;
pub mod root;
mod segment;
pub(crate) use segment::SegmentHasher;

pub(crate) use engine::change_since;
pub use engine::{
    FedFileDigest, LARGE_FILE, MMAP_WINDOW, Options, ReadMode, hash_file, hash_target,
};
pub use error::DigestError;
pub use plan::{PlannedFile, Target, from_set, plan_stream};
pub use report::{
    Digest, FileDigest, FileKind, HashReport, RangeDigest, ReadPath, SegmentDigest, SegmentKind,
    TensorDigest,
};
pub use root::{ROOT_CONTEXT, RootEntry, root_digest};

/// Hashes every file of an artifact set (what `hash`, `inspect --hash` and `seal` agree on).
pub fn hash_set(
    set: &crate::artifact_set::ArtifactSet,
    opts: &Options,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<HashReport, DigestError> {
    hash_target(&from_set(set), opts, progress)
}

/// Hashes `path`: a file or a directory as its artifact set with the default rules, a pipe or
/// device as one stream; `progress` is called with each count of bytes hashed.
pub fn hash_path(
    path: &std::path::Path,
    opts: &Options,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<HashReport, DigestError> {
    hash_target(&target(path, &Default::default())?, opts, progress)
}

/// What hashing `path` reads under the set `options`.
pub fn target(
    path: &std::path::Path,
    options: &crate::artifact_set::Options,
) -> Result<Target, DigestError> {
    let meta = std::fs::metadata(path).map_err(|source| DigestError::Io {
        path: path.to_owned(),
        source,
    })?;
    if meta.is_file() || meta.is_dir() {
        let set = crate::artifact_set::collect(path, options).map_err(|e| DigestError::Set {
            path: path.to_owned(),
            what: e.to_string(),
        })?;
        Ok(from_set(&set))
    } else {
        plan_stream(path)
    }
}
