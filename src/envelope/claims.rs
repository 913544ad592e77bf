//! Destination claims: where an envelope was sealed for, under which authorization, by whom,
//! until when — signed by the sealer and carried in a custom age header stanza.
//!
//! Stanza: `-> weightguard-claims v1`, body = claims JSON ‖ Ed25519 signature (64 bytes) over
//! `"weightguard claims v1\n" ‖ claims JSON`. The header MAC binds the stanza to the file key (for
//! the recipient); the signature lets anyone without the key check who sealed it and for where.
//! The claims name a digest of the recipient stanzas, so signed claims cannot be moved onto
//! another envelope.

use super::header::Stanza;
use super::keys::{SignerKey, SigningKey};
use serde::{Deserialize, Serialize};

pub const TAG: &str = "weightguard-claims";
pub const VERSION_ARG: &str = "v1";
const SIGNING_CONTEXT: &[u8] = b"weightguard claims v1\n";
/// Largest claims JSON accepted.
pub const MAX_CLAIMS_BYTES: usize = 64 * 1024;

/// What the sealer claims about an envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// ISO 3166-1 alpha-2 destination country.
    pub destination: String,
    /// The destination site, when sealed for one.
    pub site: Option<String>,
    /// Headquarters country of the holder at the destination.
    pub holder_hq: Option<String>,
    /// The gate's decision when sealed (`allowed`).
    pub decision: String,
    /// The authorization the transfer relies on: `NLR`, `AIA`, `license:<id>`.
    pub authorization: Option<String>,
    /// The model's classification when sealed (`controlled`, `not_controlled`…).
    pub classification: String,
    pub policy: PolicyRef,
    /// Last day (UTC, inclusive) the envelope may be opened, `YYYY-MM-DD`.
    pub expires: Option<String>,
    /// When it was sealed, `YYYY-MM-DD`.
    pub sealed_on: String,
    /// The sealer's public signing key (`weightguard-signer-v1:…`).
    pub sealer: String,
    /// How many recipient stanzas precede the claims.
    pub recipients: usize,
    /// BLAKE3 (hex) of the exact text of those recipient stanzas.
    pub recipients_blake3: String,
}

impl Claims {
    /// Every string of the claims is printable text ([`crate::text::printable`]: no control or
    /// bidirectional formatting character). `seal` signs only such claims, and `verify`, `open`
    /// and `audit` refuse an envelope whose claims are not, so no claim can forge a line of
    /// what they print. The error names the field.
    pub fn check_printable(&self) -> Result<(), String> {
        let fields = [
            ("destination", Some(&self.destination)),
            ("site", self.site.as_ref()),
            ("holder_hq", self.holder_hq.as_ref()),
            ("decision", Some(&self.decision)),
            ("authorization", self.authorization.as_ref()),
            ("classification", Some(&self.classification)),
            ("policy.id", Some(&self.policy.id)),
            ("policy.version", Some(&self.policy.version)),
            ("policy.digest", Some(&self.policy.digest)),
            ("expires", self.expires.as_ref()),
            ("sealed_on", Some(&self.sealed_on)),
            ("sealer", Some(&self.sealer)),
            ("recipients_blake3", Some(&self.recipients_blake3)),
        ];
        for (name, value) in fields {
            if let Some(v) = value {
                crate::text::printable(v).map_err(|e| format!("`{name}` {e}"))?;
            }
        }
        Ok(())
    }
}

/// The policy a decision was made under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRef {
    pub id: String,
    pub version: String,
    /// `blake3:<hex>` of the policy file's bytes.
    pub digest: String,
}

/// BLAKE3 (hex) of the recipient stanzas' canonical text.
pub fn recipients_digest(stanzas: &[Stanza]) -> String {
    let mut h = blake3::Hasher::new();
    for s in stanzas {
        h.update(s.encode().as_bytes());
    }
    h.finalize().to_hex().to_string()
}

/// Signs `claims` into a stanza.
pub fn to_stanza(claims: &Claims, key: &SigningKey) -> Stanza {
    // Serialising a struct of strings and integers cannot fail.
    let json = serde_json::to_vec(claims).expect("claims serialise");
    let mut message = SIGNING_CONTEXT.to_vec();
    message.extend_from_slice(&json);
    let sig = key.sign(&message);
    let mut body = json;
    body.extend_from_slice(&sig);
    Stanza {
        tag: TAG.into(),
        args: vec![VERSION_ARG.into()],
        body,
    }
}

/// Signed claims as found in a header, not yet trusted.
pub struct SignedClaims {
    pub claims: Claims,
    /// The exact claims bytes that were signed.
    pub json: Vec<u8>,
    pub signer: SignerKey,
    signature: [u8; 64],
}

impl SignedClaims {
    /// Whether the signature verifies under the key the claims name.
    pub fn signature_valid(&self) -> bool {
        let mut message = SIGNING_CONTEXT.to_vec();
        message.extend_from_slice(&self.json);
        self.signer.verify(&message, &self.signature)
    }

    /// BLAKE3 (hex) of the signed claims bytes (the manifest names it).
    pub fn digest(&self) -> String {
        blake3::hash(&self.json).to_hex().to_string()
    }
}

/// Finds and decodes the claims stanza. `Ok(None)` if there is none; an error if there are two,
/// it is not last, it does not decode, or a claim string is not printable text
/// ([`Claims::check_printable`]).
pub fn find(stanzas: &[Stanza]) -> Result<Option<(SignedClaims, usize)>, String> {
    let positions: Vec<usize> = stanzas
        .iter()
        .enumerate()
        .filter(|(_, s)| s.tag == TAG)
        .map(|(i, _)| i)
        .collect();
    let at = match positions.as_slice() {
        [] => return Ok(None),
        [i] => *i,
        _ => return Err("more than one claims stanza".into()),
    };
    if at + 1 != stanzas.len() {
        return Err("the claims stanza must be the last stanza".into());
    }
    let s = &stanzas[at];
    if s.args != [VERSION_ARG] {
        return Err(format!("unsupported claims version {:?}", s.args));
    }
    if s.body.len() < 64 || s.body.len() - 64 > MAX_CLAIMS_BYTES {
        return Err("claims stanza body has the wrong size".into());
    }
    let (json, sig) = s.body.split_at(s.body.len() - 64);
    let value = crate::artifact::strict_json::parse(json)
        .map_err(|(o, m)| format!("offset {o} of the claims JSON: {m}"))?;
    let claims: Claims = serde_json::from_value(value).map_err(|e| format!("claims JSON: {e}"))?;
    claims
        .check_printable()
        .map_err(|e| format!("{e}: the envelope is refused"))?;
    let signer: SignerKey = claims
        .sealer
        .parse()
        .map_err(|e| format!("claims `sealer`: {e}"))?;
    let mut signature = [0u8; 64];
    signature.copy_from_slice(sig);
    Ok(Some((
        SignedClaims {
            claims,
            json: json.to_vec(),
            signer,
            signature,
        },
        at,
    )))
}
