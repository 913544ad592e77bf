//! `hash`: BLAKE3 digests per segment, tensor and file, and the model root digest.

use super::Failure;
use crate::artifact_set;
use crate::digest::{self, HashReport};
use crate::schema;
use std::path::Path;

/// Hashes every file of `path`'s set; `progress` is told each run of bytes read. (The CLI does
/// the same two steps itself, to size its progress bar from the target between them.)
pub fn hash(
    path: &Path,
    set: &artifact_set::Options,
    options: &digest::Options,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<HashReport, Failure> {
    let target = digest::target(path, set)?;
    Ok(digest::hash_target(&target, options, progress)?)
}

/// The `hash --json` line of a report.
pub fn json_line(report: &HashReport) -> serde_json::Result<String> {
    schema::to_line(report)
}
