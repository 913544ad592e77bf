//! The in-toto statement a model signature signs (predicate `https://model_signing/signature/v1.0`,
//! as `model_signing` 1.x writes it):
//!
//! ```json
//! {"_type": "https://in-toto.io/Statement/v1",
//!  "subject": [{"name": "<model directory name>", "digest": {"sha256": "<root>"}}],
//!  "predicateType": "https://model_signing/signature/v1.0",
//!  "predicate": {
//!    "serialization": {"method": "files", "hash_type": "sha256", "allow_symlinks": false,
//!                      "ignore_paths": [".git", "model.sig"]},
//!    "resources": [{"name": "config.json", "algorithm": "sha256", "digest": "<hex>"}, …]}}
//! ```
//!
//! `resources` lists every file by its `/`-separated path under the model directory, ordered as
//! Python orders paths (component by component). The subject's digest is SHA-256 over the
//! resources' raw digests in the listed order: one value that names the whole model.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;

pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";
/// The predicate of `model_signing` 0.2, before 1.0 fixed the format.
const PREDICATE_TYPE_V0: &str = "https://model_signing/Digests/v0.1";
/// At most this many resources (the artifact set's own file limit).
pub const MAX_RESOURCES: usize = crate::artifact_set::MAX_FILES;
/// Longest resource name or ignore path.
const MAX_NAME_BYTES: usize = 4096;
/// At most this many ignore paths.
const MAX_IGNORE_PATHS: usize = 100_000;

/// How each file's digest is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashType {
    /// SHA-256 of the file: `model_signing`'s default, the one its CLI verifies.
    Sha256,
    /// BLAKE3 of the file (as `b3sum` and `weightguard hash --b3sum` compute it); verified by
    /// `model_signing`'s library, not by its CLI.
    Blake3,
}

impl HashType {
    pub fn as_str(self) -> &'static str {
        match self {
            HashType::Sha256 => "sha256",
            HashType::Blake3 => "blake3",
        }
    }

    fn parse(s: &str) -> Result<HashType, String> {
        match s {
            "sha256" => Ok(HashType::Sha256),
            "blake3" => Ok(HashType::Blake3),
            other => Err(format!(
                "files hashed with `{}`; weightguard verifies sha256 and blake3",
                super::bundle::printable(other)
            )),
        }
    }
}

/// One file and its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// Relative to the model directory, `/`-separated.
    pub name: String,
    pub digest: [u8; 32],
}

/// What a model signature says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The model's name (informative: renaming the directory does not break the signature).
    pub model_name: String,
    pub hash: HashType,
    pub allow_symlinks: bool,
    /// Paths left out of the signature, relative to the model directory.
    pub ignore_paths: Vec<String>,
    /// In Python's path order.
    pub resources: Vec<Resource>,
}

#[derive(Serialize, Deserialize)]
struct StatementJson {
    #[serde(rename = "_type")]
    type_: String,
    subject: Vec<SubjectJson>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    predicate: PredicateJson,
}

#[derive(Serialize, Deserialize)]
struct SubjectJson {
    name: String,
    digest: SubjectDigest,
}

#[derive(Serialize, Deserialize)]
struct SubjectDigest {
    sha256: String,
}

#[derive(Serialize, Deserialize)]
struct PredicateJson {
    serialization: SerializationJson,
    resources: Vec<ResourceJson>,
}

#[derive(Serialize, Deserialize)]
struct SerializationJson {
    method: String,
    hash_type: String,
    allow_symlinks: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ignore_paths: Vec<String>,
    /// Only in `shards` serializations (refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shard_size: Option<serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
struct ResourceJson {
    name: String,
    algorithm: String,
    digest: String,
}

impl Statement {
    /// Sorts the resources into Python's path order (component by component: `a/b` before
    /// `a.b`), the order `model_signing` lists them in and computes the root digest over.
    pub fn sort(&mut self) {
        self.resources
            .sort_by(|a, b| a.name.split('/').cmp(b.name.split('/')));
    }

    /// SHA-256 over the resources' digests in the listed order.
    pub fn root_digest(&self) -> [u8; 32] {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for r in &self.resources {
            ctx.update(&r.digest);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }

    /// The statement's JSON (the DSSE payload).
    pub fn to_json(&self) -> Vec<u8> {
        let json = StatementJson {
            type_: STATEMENT_TYPE.into(),
            subject: vec![SubjectJson {
                name: self.model_name.clone(),
                digest: SubjectDigest {
                    sha256: super::keys::hex(&self.root_digest()),
                },
            }],
            predicate_type: PREDICATE_TYPE.into(),
            predicate: PredicateJson {
                serialization: SerializationJson {
                    method: "files".into(),
                    hash_type: self.hash.as_str().into(),
                    allow_symlinks: self.allow_symlinks,
                    ignore_paths: self.ignore_paths.clone(),
                    shard_size: None,
                },
                resources: self
                    .resources
                    .iter()
                    .map(|r| ResourceJson {
                        name: r.name.clone(),
                        algorithm: self.hash.as_str().into(),
                        digest: super::keys::hex(&r.digest),
                    })
                    .collect(),
            },
        };
        serde_json::to_vec_pretty(&json).unwrap_or_default()
    }

    /// Parses a signed statement. Everything `model_signing`'s verifier checks is checked (the
    /// statement and predicate types, one subject, a root digest that matches the resources),
    /// and what weightguard relies on besides: well-formed relative names, each listed once,
    /// one digest algorithm throughout.
    pub fn parse(payload: &[u8]) -> Result<Statement, String> {
        let value = crate::artifact::strict_json::parse(payload).map_err(|(offset, e)| {
            format!("the signed statement is not JSON (offset {offset}: {e})")
        })?;
        let type_ok = value.get("_type").and_then(|t| t.as_str()) == Some(STATEMENT_TYPE);
        if !type_ok {
            return Err(format!(
                "the signed payload is not an in-toto statement (`_type` is not {STATEMENT_TYPE})"
            ));
        }
        match value.get("predicateType").and_then(|t| t.as_str()) {
            Some(PREDICATE_TYPE) => {}
            Some(PREDICATE_TYPE_V0) => {
                return Err(format!(
                    "a model_signing 0.x signature ({PREDICATE_TYPE_V0}), which lists no \
                     serialization and cannot show missing files; re-sign with model_signing 1.x"
                ));
            }
            other => {
                return Err(format!(
                    "predicate type `{}` where `{PREDICATE_TYPE}` was expected",
                    super::bundle::printable(other.unwrap_or("(none)"))
                ));
            }
        }
        let json: StatementJson = serde_json::from_value(value)
            .map_err(|e| format!("the signed statement is malformed ({e})"))?;
        let [subject] = json.subject.as_slice() else {
            return Err(format!(
                "the statement names {} subjects; a model signature names one",
                json.subject.len()
            ));
        };
        let s = json.predicate.serialization;
        if s.method != "files" {
            return Err(format!(
                "serialization `{}`; weightguard verifies file-by-file signatures \
                 (`files`, model_signing's default), not shards",
                super::bundle::printable(&s.method)
            ));
        }
        let hash = HashType::parse(&s.hash_type)?;
        if s.ignore_paths.len() > MAX_IGNORE_PATHS {
            return Err(format!("{} ignore paths", s.ignore_paths.len()));
        }
        if s.ignore_paths.iter().any(|p| p.len() > MAX_NAME_BYTES) {
            return Err("an ignore path longer than 4096 bytes".into());
        }
        let resources = json.predicate.resources;
        if resources.len() > MAX_RESOURCES {
            return Err(format!(
                "{} resources (at most {MAX_RESOURCES})",
                resources.len()
            ));
        }
        let mut seen = HashSet::with_capacity(resources.len());
        let mut out = Vec::with_capacity(resources.len());
        for r in resources {
            check_name(&r.name)?;
            if r.algorithm != s.hash_type {
                return Err(format!(
                    "resource `{}` is hashed with `{}`, the serialization says `{}`",
                    super::bundle::printable(&r.name),
                    super::bundle::printable(&r.algorithm),
                    s.hash_type
                ));
            }
            let digest = parse_digest(&r.digest).ok_or_else(|| {
                format!(
                    "resource `{}`: the digest is not 64 hex digits",
                    super::bundle::printable(&r.name)
                )
            })?;
            if !seen.insert(r.name.clone()) {
                return Err(format!(
                    "resource `{}` is listed twice",
                    super::bundle::printable(&r.name)
                ));
            }
            out.push(Resource {
                name: r.name,
                digest,
            });
        }
        let statement = Statement {
            model_name: subject.name.clone(),
            hash,
            allow_symlinks: s.allow_symlinks,
            ignore_paths: s.ignore_paths,
            resources: out,
        };
        let root = parse_digest(&subject.digest.sha256)
            .ok_or("the subject's digest is not 64 hex digits")?;
        if root != statement.root_digest() {
            return Err(
                "the statement is inconsistent: the subject's digest is not the digest \
                 of the resources it lists"
                    .into(),
            );
        }
        Ok(statement)
    }
}

/// A resource name must be a plain relative path inside the model directory.
fn check_name(name: &str) -> Result<(), String> {
    let shown = super::bundle::printable(name);
    if name == "." {
        return Err(
            "the signature covers a single file (resource `.`); weightguard verifies \
             signatures over a model directory"
                .into(),
        );
    }
    if name.is_empty() || name.len() > MAX_NAME_BYTES {
        return Err(format!("a resource name of {} bytes", name.len()));
    }
    if name.starts_with('/')
        || name.contains('\0')
        || name.contains('\\')
        || name
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err(format!(
            "resource `{shown}` is not a relative path inside the model"
        ));
    }
    Ok(())
}

fn parse_digest(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement() -> Statement {
        let mut s = Statement {
            model_name: "m".into(),
            hash: HashType::Sha256,
            allow_symlinks: false,
            ignore_paths: vec![".git".into()],
            resources: ["a.b", "a/b", "z"]
                .iter()
                .map(|n| Resource {
                    name: n.to_string(),
                    digest: [n.len() as u8; 32],
                })
                .collect(),
        };
        s.sort();
        s
    }

    #[test]
    fn python_path_order() {
        let names: Vec<_> = statement().resources.into_iter().map(|r| r.name).collect();
        assert_eq!(names, ["a/b", "a.b", "z"]);
    }

    #[test]
    fn round_trip() {
        let s = statement();
        assert_eq!(Statement::parse(&s.to_json()).unwrap(), s);
    }

    #[test]
    fn refusals() {
        let good = String::from_utf8(statement().to_json()).unwrap();
        let cases = [
            (good.replace("\"z\"", "\"../z\""), "relative path"),
            (good.replace("\"z\"", "\"a/b\""), "listed twice"),
            (good.replace("\"files\"", "\"shards\""), "shards"),
            (
                good.replace("signature/v1.0", "signature/v9"),
                "predicate type",
            ),
            (
                good.replacen("\"sha256\": \"", "\"sha256\": \"00", 1),
                "64 hex",
            ),
            (good.replace("\"z\"", "\".\""), "single file"),
        ];
        for (text, want) in cases {
            let err = Statement::parse(text.as_bytes()).unwrap_err();
            assert!(err.contains(want), "{err}");
        }
        // A digest changed without the root: inconsistent.
        let mut s = statement();
        let root = s.root_digest();
        s.resources[0].digest[0] ^= 1;
        let text = String::from_utf8(s.to_json()).unwrap().replace(
            &super::super::keys::hex(&s.root_digest()),
            &super::super::keys::hex(&root),
        );
        assert!(
            Statement::parse(text.as_bytes())
                .unwrap_err()
                .contains("inconsistent")
        );
    }
}
