//! The signed manifest: the last entry of the envelope's tar stream, listing every file with its
//! digests (per tensor for weight files), the model root digest, the claims it belongs to and the
//! gate decision, signed by the sealer.
//!
//! Entry `.weightguard-manifest.json`: `{"manifest": {…}, "signature": "<base64>"}` where the
//! signature is Ed25519 over `"weightguard manifest v1\n"` ‖ the exact bytes of the `manifest`
//! value as they appear in the entry.

use super::keys::{SignerKey, SigningKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

pub const ENTRY_NAME: &str = ".weightguard-manifest.json";
const SIGNING_CONTEXT: &[u8] = b"weightguard manifest v1\n";
/// Largest manifest accepted (a trillion-parameter model's tensors fit well within it).
pub const MAX_MANIFEST_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub version: u32,
    /// BLAKE3 (hex) of the signed claims bytes in the header.
    pub claims_blake3: String,
    pub files: Vec<FileEntry>,
    /// Model root digest (hex) over every tensor, as `weightguard hash` computes it.
    pub root: Option<String>,
    /// The gate decision the seal relied on, as the gate printed it.
    pub decision: serde_json::Value,
    /// Paths of the sealed directory that the artifact set's rules left out, and why (absent
    /// when none were).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<crate::artifact_set::Ignored>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Path inside the envelope (relative, `/`-separated).
    pub path: String,
    pub size: u64,
    /// Whole-file BLAKE3 (hex) for files that are not weight files.
    pub blake3: Option<String>,
    /// Weight files: the header bytes' digest and every tensor's; together they cover the file.
    pub header: Option<Segment>,
    pub tensors: Vec<TensorEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    pub offset: u64,
    pub len: u64,
    pub blake3: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorEntry {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<u64>,
    pub offset: u64,
    pub len: u64,
    pub blake3: String,
}

#[derive(Serialize)]
struct SignedOut<'a> {
    manifest: &'a RawValue,
    signature: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignedIn<'a> {
    #[serde(borrow)]
    manifest: &'a RawValue,
    signature: String,
}

/// The manifest entry's bytes, signed.
pub fn sign(manifest: &Manifest, key: &SigningKey) -> Vec<u8> {
    let text = serde_json::to_string(manifest).expect("a manifest serialises");
    let mut message = SIGNING_CONTEXT.to_vec();
    message.extend_from_slice(text.as_bytes());
    let signature = STANDARD.encode(key.sign(&message));
    let raw = RawValue::from_string(text).expect("serde_json output is valid JSON");
    serde_json::to_vec(&SignedOut {
        manifest: &raw,
        signature,
    })
    .expect("a manifest serialises")
}

/// Parses the manifest entry and checks its signature under `signer`.
pub fn verify(bytes: &[u8], signer: &SignerKey) -> Result<Manifest, String> {
    // Duplicate keys anywhere are refused first: the signed text must mean one thing.
    crate::artifact::strict_json::parse(bytes).map_err(|(o, m)| format!("offset {o}: {m}"))?;
    let signed: SignedIn = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let sig = STANDARD
        .decode(&signed.signature)
        .map_err(|_| "the signature is not base64".to_string())?;
    let mut message = SIGNING_CONTEXT.to_vec();
    message.extend_from_slice(signed.manifest.get().as_bytes());
    if !signer.verify(&message, &sig) {
        return Err("the manifest signature does not verify under the sealer's key".into());
    }
    serde_json::from_str(signed.manifest.get()).map_err(|e| e.to_string())
}
