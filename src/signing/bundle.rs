//! The Sigstore bundle (v0.3, JSON) that `model_signing sign key` writes: the signing key's hint
//! (no certificate, no transparency log entry) and a DSSE envelope holding the in-toto statement
//! and its signature.
//!
//! ```json
//! {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
//!  "verificationMaterial": {"publicKey": {"hint": "<sha256 hex of the SPKI PEM>"}, "tlogEntries": []},
//!  "dsseEnvelope": {"payload": "<base64 statement>", "payloadType": "application/vnd.in-toto+json",
//!                   "signatures": [{"sig": "<base64 DER ECDSA>", "keyid": ""}]}}
//! ```
//!
//! A bundle is hostile input: its size is bounded before it is read, duplicate keys are refused
//! (the signed text must mean one thing), every count and length is bounded.

use super::dsse::{self, IN_TOTO_PAYLOAD_TYPE};
use super::keys::PublicKey;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};

/// The bundle media type `model_signing` writes and requires.
pub const MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The same version in the spelling newer Sigstore clients use.
const MEDIA_TYPE_ALT: &str = "application/vnd.dev.sigstore.bundle+json;version=0.3";
/// Largest bundle read: a statement lists every file (about 150 bytes each), so this is room
/// for a few hundred thousand files.
pub const MAX_BUNDLE_BYTES: u64 = 64 * 1024 * 1024;
/// At most this many signatures in one envelope (`model_signing` writes one).
const MAX_SIGNATURES: usize = 16;
/// A DER ECDSA P-256 signature is at most 72 bytes; anything much longer is not one.
const MAX_SIGNATURE_BYTES: usize = 512;

/// A parsed bundle, not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// SHA-256 (hex) of the signing key's SPKI PEM, when the bundle names it.
    pub key_hint: Option<String>,
    pub payload_type: String,
    /// The statement's exact bytes (what the signature covers, through PAE).
    pub payload: Vec<u8>,
    /// DER ECDSA signatures.
    pub signatures: Vec<Vec<u8>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BundleIn {
    media_type: String,
    verification_material: MaterialIn,
    dsse_envelope: Option<EnvelopeIn>,
    message_signature: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MaterialIn {
    public_key: Option<PublicKeyIn>,
    certificate: Option<serde::de::IgnoredAny>,
    x509_certificate_chain: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct PublicKeyIn {
    hint: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvelopeIn {
    payload: String,
    payload_type: String,
    signatures: Vec<SignatureIn>,
}

#[derive(Deserialize)]
struct SignatureIn {
    sig: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BundleOut<'a> {
    media_type: &'a str,
    verification_material: MaterialOut<'a>,
    dsse_envelope: EnvelopeOut<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MaterialOut<'a> {
    public_key: HintOut<'a>,
    tlog_entries: [(); 0],
}

#[derive(Serialize)]
struct HintOut<'a> {
    hint: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EnvelopeOut<'a> {
    payload: String,
    payload_type: &'a str,
    signatures: [SignatureOut; 1],
}

#[derive(Serialize)]
struct SignatureOut {
    sig: String,
    keyid: &'static str,
}

impl Bundle {
    /// Parses a bundle's bytes (at most [`MAX_BUNDLE_BYTES`], which the reader enforces).
    pub fn parse(bytes: &[u8]) -> Result<Bundle, String> {
        let value = crate::artifact::strict_json::parse(bytes)
            .map_err(|(offset, e)| format!("not a JSON bundle (offset {offset}: {e})"))?;
        let b: BundleIn =
            serde_json::from_value(value).map_err(|e| format!("not a Sigstore bundle ({e})"))?;
        if b.media_type != MEDIA_TYPE && b.media_type != MEDIA_TYPE_ALT {
            return Err(format!(
                "bundle media type `{}` where `{MEDIA_TYPE}` was expected",
                printable(&b.media_type)
            ));
        }
        let material = b.verification_material;
        if material.certificate.is_some() || material.x509_certificate_chain.is_some() {
            return Err("the bundle was signed with a certificate (Sigstore or \
                 `model_signing sign certificate`); weightguard verifies bundles signed with a \
                 bare key (`model_signing sign key`)"
                .into());
        }
        let Some(envelope) = b.dsse_envelope else {
            return Err(if b.message_signature.is_some() {
                "the bundle signs a message digest, not a DSSE statement; it is not a model signature"
            } else {
                "the bundle holds no DSSE envelope"
            }
            .into());
        };
        let key_hint = material.public_key.and_then(|k| k.hint);
        if let Some(h) = &key_hint
            && (h.len() > 128 || !h.bytes().all(|c| c.is_ascii_hexdigit()))
        {
            return Err("the bundle's key hint is not a hex digest".into());
        }
        if envelope.signatures.is_empty() {
            return Err("the DSSE envelope holds no signature".into());
        }
        if envelope.signatures.len() > MAX_SIGNATURES {
            return Err(format!(
                "the DSSE envelope holds {} signatures (at most {MAX_SIGNATURES} are read)",
                envelope.signatures.len()
            ));
        }
        let mut signatures = Vec::with_capacity(envelope.signatures.len());
        for s in &envelope.signatures {
            if s.sig.len() > MAX_SIGNATURE_BYTES {
                return Err(format!(
                    "a signature of {} base64 characters is no ECDSA signature",
                    s.sig.len()
                ));
            }
            signatures.push(decode(&s.sig).ok_or("a signature is not base64")?);
        }
        let payload = decode(&envelope.payload).ok_or("the DSSE payload is not base64")?;
        Ok(Bundle {
            key_hint,
            payload_type: envelope.payload_type,
            payload,
            signatures,
        })
    }

    /// Checks that `key` signed this bundle's payload and returns the payload. The key's hint,
    /// when the bundle names one, must be this key's: a bundle signed by another key is refused
    /// as such before any signature is tried.
    pub fn verify(&self, key: &PublicKey) -> Result<&[u8], String> {
        if let Some(hint) = &self.key_hint {
            let ours = key.hint();
            if !hint.eq_ignore_ascii_case(&ours) {
                return Err(format!(
                    "the bundle was signed by another key (its key hint is {hint}; this public \
                     key's is {ours})"
                ));
            }
        }
        if self.payload_type != IN_TOTO_PAYLOAD_TYPE {
            return Err(format!(
                "DSSE payload type `{}` where `{IN_TOTO_PAYLOAD_TYPE}` was expected",
                printable(&self.payload_type)
            ));
        }
        let message = dsse::pae(&self.payload_type, &self.payload);
        if !self.signatures.iter().any(|s| key.verify(&message, s)) {
            return Err(
                "the signature does not verify under this public key: the bundle's \
                 statement or signature was altered, or another key signed it"
                    .into(),
            );
        }
        Ok(&self.payload)
    }
}

/// A bundle as `model_signing sign key` writes it, for `payload` (an in-toto statement) signed
/// with `sig` (DER ECDSA over its PAE) by the key whose hint is `hint`.
pub fn write(hint: &str, payload: &[u8], sig: &[u8]) -> Vec<u8> {
    let out = BundleOut {
        media_type: MEDIA_TYPE,
        verification_material: MaterialOut {
            public_key: HintOut { hint },
            tlog_entries: [],
        },
        dsse_envelope: EnvelopeOut {
            payload: STANDARD.encode(payload),
            payload_type: IN_TOTO_PAYLOAD_TYPE,
            signatures: [SignatureOut {
                sig: STANDARD.encode(sig),
                keyid: "",
            }],
        },
    };
    let mut bytes = serde_json::to_vec(&out).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Protobuf's JSON mapping writes bytes as standard base64 with padding, and reads URL-safe and
/// unpadded forms too; so does this.
fn decode(s: &str) -> Option<Vec<u8>> {
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|e| e.decode(s).ok())
}

/// A string from the bundle, shortened and with control characters escaped, for messages.
pub(crate) fn printable(s: &str) -> String {
    let short: String = s.chars().take(100).collect();
    let mut out = short.escape_debug().to_string();
    if s.chars().count() > 100 {
        out.push('…');
    }
    out
}
