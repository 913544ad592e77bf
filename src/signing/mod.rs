//! Stage: OpenSSF model signing (OMS), as the `model_signing` package does it with keys.
//!
//! A model signature is a Sigstore bundle ([`bundle`]) whose DSSE envelope ([`dsse`]) holds an
//! in-toto statement ([`statement`]) listing every file of the model with its digest, signed with
//! an EC P-256 key ([`keys`]). [`sign`] writes one over an artifact set that `model_signing`'s
//! key verifier accepts; [`read_bundle`] and [`verify_bundle`] check one made by
//! `model_signing sign key` (or by [`sign`]), and [`files::compare`] holds a model's files
//! against it. The formats are described in `docs/user-guide.md` (model signatures).

pub mod bundle;
pub mod der;
pub mod dsse;
mod error;
pub mod files;
pub mod keys;
pub mod pem;
pub mod statement;

pub use bundle::Bundle;
pub use error::SigningError;
pub use files::Comparison;
pub use keys::{PrivateKey, PublicKey};
pub use statement::{HashType, Resource, Statement};

use crate::artifact_set::ArtifactSet;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The paths `model_signing` leaves out of every signature unless told otherwise (relative to
/// the model directory), recorded in the statements weightguard writes so that `model_signing`
/// leaves out what weightguard left out.
pub const MODEL_SIGNING_DEFAULT_IGNORES: [&str; 4] =
    [".git", ".gitattributes", ".github", ".gitignore"];

/// A signature made by [`sign`].
#[derive(Debug, Clone)]
pub struct Signed {
    /// The bundle's bytes.
    pub bundle: Vec<u8>,
    pub statement: Statement,
}

/// Reads a private key file (PEM, at most [`keys::MAX_KEY_FILE_BYTES`]).
pub fn read_private_key(path: &Path) -> Result<PrivateKey, SigningError> {
    let text = read_text(path, keys::MAX_KEY_FILE_BYTES, "key file")?;
    PrivateKey::from_pem(&text).map_err(|what| SigningError::Key {
        path: path.to_owned(),
        what,
    })
}

/// Reads a public key file (PEM SubjectPublicKeyInfo).
pub fn read_public_key(path: &Path) -> Result<PublicKey, SigningError> {
    let text = read_text(path, keys::MAX_KEY_FILE_BYTES, "key file")?;
    PublicKey::from_pem(&text).map_err(|what| SigningError::Key {
        path: path.to_owned(),
        what,
    })
}

/// Reads and parses a bundle (at most [`bundle::MAX_BUNDLE_BYTES`]).
pub fn read_bundle(path: &Path) -> Result<Bundle, SigningError> {
    let bytes = read_bounded(path, bundle::MAX_BUNDLE_BYTES, "bundle", bundle_error)?;
    Bundle::parse(&bytes).map_err(|what| SigningError::Bundle {
        path: path.to_owned(),
        what,
    })
}

/// Checks `bundle` (read from `path`) was signed by `key` and returns its statement.
pub fn verify_bundle(
    bundle: &Bundle,
    path: &Path,
    key: &PublicKey,
) -> Result<Statement, SigningError> {
    let err = |what| SigningError::Bundle {
        path: path.to_owned(),
        what,
    };
    let payload = bundle.verify(key).map_err(err)?;
    Statement::parse(payload).map_err(err)
}

/// Signs the files of `set` (a model directory) with `key`. `output`, the bundle's path, is
/// left out of the files and recorded among the ignore paths when it lies inside the directory,
/// as `model_signing` records its signature; so are the paths the set's rules left out, and
/// `model_signing`'s own default ignores (unless the set's defaults are off). The set is listed
/// again after hashing: a file added, removed or changed meanwhile fails the signature.
pub fn sign(
    set: &ArtifactSet,
    key: &PrivateKey,
    hash: HashType,
    output: &Path,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Signed, SigningError> {
    let model = |what: String| SigningError::Model {
        path: set.path.clone(),
        what,
    };
    if !set.is_dir {
        return Err(model(
            "a model signature covers a directory; name the model's directory".into(),
        ));
    }
    let root = std::fs::canonicalize(&set.path).map_err(SigningError::io(&set.path))?;
    let mut ignore_paths: Vec<String> = Vec::new();
    if !set.options.no_default_excludes {
        ignore_paths.extend(MODEL_SIGNING_DEFAULT_IGNORES.iter().map(|s| s.to_string()));
    }
    for i in &set.ignored {
        ignore_paths.push(i.path.trim_end_matches('/').to_owned());
    }
    let out_rel = files::canonical_target(output)
        .ok()
        .and_then(|o| o.strip_prefix(&root).ok().map(Path::to_owned))
        .and_then(|rel| crate::artifact_set::ignore::rel_string(&rel));
    if let Some(rel) = &out_rel {
        ignore_paths.push(rel.clone());
    }
    let mut seen = std::collections::HashSet::new();
    ignore_paths.retain(|p| !p.is_empty() && seen.insert(p.clone()));
    let named: Vec<_> = files::named(set)?
        .into_iter()
        .filter(|n| !files::is_same_file(n.file, output))
        .collect();
    // A file reached through a link inside the directory: `model_signing` refuses links unless
    // the statement allows them.
    let allow_symlinks = named
        .iter()
        .any(|n| std::fs::canonicalize(&n.file.real).ok() != Some(root.join(&n.file.rel)));
    let digests = files::digests(&named, hash, progress)?;
    set.recheck().map_err(|e| model(e.to_string()))?;
    let model_name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut statement = Statement {
        model_name,
        hash,
        allow_symlinks,
        ignore_paths,
        resources: named
            .iter()
            .zip(digests)
            .map(|(n, digest)| Resource {
                name: n.name.clone(),
                digest,
            })
            .collect(),
    };
    statement.sort();
    let payload = statement.to_json();
    let sig = key
        .sign(&dsse::pae(dsse::IN_TOTO_PAYLOAD_TYPE, &payload))
        .map_err(model)?;
    Ok(Signed {
        bundle: bundle::write(&key.public().hint(), &payload, &sig),
        statement,
    })
}

/// A UTF-8 text file of at most `limit` bytes.
fn read_text(path: &Path, limit: u64, what: &str) -> Result<String, SigningError> {
    let bytes = read_bounded(path, limit, what, key_error)?;
    String::from_utf8(bytes).map_err(|_| SigningError::Key {
        path: path.to_owned(),
        what: format!("the {what} is not UTF-8 text (a PEM file was expected)"),
    })
}

fn key_error(path: PathBuf, what: String) -> SigningError {
    SigningError::Key { path, what }
}

fn bundle_error(path: PathBuf, what: String) -> SigningError {
    SigningError::Bundle { path, what }
}

/// At most `limit` bytes of a regular file; a longer one is refused (as `refuse` says) before it
/// is read.
fn read_bounded(
    path: &Path,
    limit: u64,
    what: &str,
    refuse: fn(PathBuf, String) -> SigningError,
) -> Result<Vec<u8>, SigningError> {
    let (file, meta) =
        crate::artifact_set::identity::open_regular(path).map_err(SigningError::io(path))?;
    if meta.len() > limit {
        return Err(refuse(
            path.to_owned(),
            format!(
                "a {what} of {} bytes (at most {limit} are read)",
                meta.len()
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(SigningError::io(path))?;
    if bytes.len() as u64 > limit {
        return Err(refuse(
            path.to_owned(),
            format!("the {what} grew past {limit} bytes while being read"),
        ));
    }
    Ok(bytes)
}
