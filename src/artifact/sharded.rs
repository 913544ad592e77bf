//! `model.safetensors.index.json`: which shard holds which tensor, and totals that are declared,
//! not trusted. The counts always come from the shard headers; the index's own totals are
//! compared against them and any disagreement is reported.

use super::ArtifactError;
use super::limits::{MAX_INDEX_BYTES, MAX_SHARDS};
use super::read::MeteredFile;
use super::strict_json;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// A parsed shard index.
#[derive(Debug, Clone)]
pub struct ShardIndex {
    pub path: PathBuf,
    /// `metadata.total_size` as declared (bytes of tensor data, headers excluded).
    pub total_size: Option<u64>,
    /// `metadata.total_parameters` as declared.
    pub total_parameters: Option<u64>,
    /// Tensor name → shard file name.
    pub weight_map: BTreeMap<String, String>,
    /// Shard file names, sorted, each once.
    pub shards: Vec<String>,
    /// Oddities that do not stop counting (a total of the wrong type, say).
    pub warnings: Vec<String>,
}

/// Reads and validates an index file. Shard names must be plain file names in the index's own
/// directory: an index must not point the reader elsewhere on the machine.
pub fn read_index(file: &mut MeteredFile) -> Result<ShardIndex, ArtifactError> {
    let bytes = file.read_all_limited("shard index", MAX_INDEX_BYTES)?;
    let path = file.path().to_owned();
    let err = |message: String| ArtifactError::Index {
        path: path.clone(),
        message,
    };
    let doc = strict_json::parse(&bytes).map_err(|(o, m)| err(format!("offset {o}: {m}")))?;
    let Value::Object(top) = doc else {
        return Err(err("expected a JSON object".into()));
    };
    let Some(Value::Object(map)) = top.get("weight_map") else {
        return Err(err("missing `weight_map` object".into()));
    };
    let mut weight_map = BTreeMap::new();
    let mut shards = BTreeSet::new();
    for (tensor, shard) in map {
        let Some(shard) = shard.as_str() else {
            return Err(err(format!(
                "`weight_map.{tensor}` should be a shard file name, found {shard}"
            )));
        };
        check_shard_name(shard).map_err(|why| err(format!("shard name {shard:?} {why}")))?;
        shards.insert(shard.to_owned());
        weight_map.insert(tensor.clone(), shard.to_owned());
    }
    if shards.len() > MAX_SHARDS {
        return Err(err(format!(
            "names {} shard files, over the limit of {MAX_SHARDS}",
            shards.len()
        )));
    }

    let mut warnings = Vec::new();
    let metadata = top.get("metadata").and_then(Value::as_object);
    let mut declared = |key: &str| match metadata.and_then(|m| m.get(key)) {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) => Some(n),
            None => {
                warnings.push(format!("index metadata `{key}` is not an integer: {v}"));
                None
            }
        },
    };
    let total_size = declared("total_size");
    let total_parameters = declared("total_parameters");
    Ok(ShardIndex {
        path,
        total_size,
        total_parameters,
        weight_map,
        shards: shards.into_iter().collect(),
        warnings,
    })
}

fn check_shard_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("is empty");
    }
    if name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        return Err("is not a plain file name beside the index");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_names_cannot_leave_the_directory() {
        assert!(check_shard_name("model-00001-of-00002.safetensors").is_ok());
        for bad in [
            "",
            "..",
            "../etc/passwd",
            "/abs.safetensors",
            "a\\b",
            "sub/x.safetensors",
        ] {
            assert!(check_shard_name(bad).is_err(), "{bad:?}");
        }
    }
}
