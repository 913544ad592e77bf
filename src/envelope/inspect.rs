//! Reading an envelope's header and claims without any key: what `verify` reports and what
//! `open` checks before it decrypts a byte.

use super::EnvelopeError;
use super::claims::{self, Claims, SignedClaims};
use super::header::{self, Header, MAX_HEADER_BYTES};
use super::keys::SignerKey;
use super::stream::{NONCE_LEN, TAG_LEN};
use std::io::Read;
use std::path::Path;

/// An envelope's header, claims and sizes, with the claims' signature checked.
pub struct Envelope {
    pub header: Header,
    /// The header bytes as read (what the MAC covers, and more).
    pub header_bytes: Vec<u8>,
    pub claims: Option<SignedClaims>,
    /// Recipient stanzas (every stanza before the claims).
    pub recipients: usize,
    pub file_len: u64,
}

/// What `verify` prints.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verified {
    pub path: std::path::PathBuf,
    pub sealer: String,
    pub signer_trusted: Option<bool>,
    pub recipients: usize,
    pub claims: Claims,
    pub payload_bytes: u64,
}

/// Reads and checks the header and claims of the envelope at `path`: structure, the claims'
/// signature, that they belong to this envelope's recipients, and (if given) the signer.
pub fn read(path: &Path, expected_signer: Option<&SignerKey>) -> Result<Envelope, EnvelopeError> {
    let mut file = std::fs::File::open(path).map_err(EnvelopeError::io(path))?;
    let file_len = file.metadata().map_err(EnvelopeError::io(path))?.len();
    let mut header_bytes = Vec::new();
    (&mut file)
        .take(MAX_HEADER_BYTES as u64 + 1)
        .read_to_end(&mut header_bytes)
        .map_err(EnvelopeError::io(path))?;
    parse(path, header_bytes, file_len, expected_signer)
}

/// [`read`] for an envelope whose first bytes (up to [`MAX_HEADER_BYTES`] + 1, or the whole
/// file if shorter) were read elsewhere, from a file of `file_len` bytes.
pub fn parse(
    path: &Path,
    header_bytes: Vec<u8>,
    file_len: u64,
    expected_signer: Option<&SignerKey>,
) -> Result<Envelope, EnvelopeError> {
    let header = header::parse(&header_bytes).map_err(|e| EnvelopeError::Header {
        path: path.to_owned(),
        offset: e.offset,
        what: e.what,
    })?;
    let payload = file_len - header.len as u64;
    if payload < (NONCE_LEN + TAG_LEN) as u64 {
        return Err(EnvelopeError::PayloadFormat {
            path: path.to_owned(),
            what: format!("{payload} bytes after the header: too short for a nonce and a chunk"),
        });
    }
    let found = claims::find(&header.stanzas).map_err(|what| EnvelopeError::Claims {
        path: path.to_owned(),
        what,
    })?;
    let (claims, recipients) = match found {
        None => (None, header.stanzas.len()),
        Some((signed, at)) => {
            if let Some(expected) = expected_signer
                && *expected != signed.signer
            {
                return Err(EnvelopeError::UntrustedSigner {
                    path: path.to_owned(),
                    found: signed.signer.to_string(),
                    expected: expected.to_string(),
                });
            }
            if !signed.signature_valid() {
                return Err(EnvelopeError::BadSignature {
                    path: path.to_owned(),
                });
            }
            let recips = &header.stanzas[..at];
            if signed.claims.recipients != recips.len()
                || signed.claims.recipients_blake3 != claims::recipients_digest(recips)
            {
                return Err(EnvelopeError::Claims {
                    path: path.to_owned(),
                    what: "the signed claims name other recipients than this header has: they were moved from another envelope, or the recipients were altered".into(),
                });
            }
            (Some(signed), at)
        }
    };
    Ok(Envelope {
        header,
        header_bytes,
        claims,
        recipients,
        file_len,
    })
}

/// `verify`: the structure and the signed claims, without any decryption key.
pub fn verify(path: &Path, expected_signer: Option<&SignerKey>) -> Result<Verified, EnvelopeError> {
    let env = read(path, expected_signer)?;
    let Some(signed) = env.claims else {
        return Err(EnvelopeError::NoClaims {
            path: path.to_owned(),
        });
    };
    Ok(Verified {
        path: path.to_owned(),
        sealer: signed.signer.to_string(),
        signer_trusted: expected_signer.map(|_| true),
        recipients: env.recipients,
        claims: signed.claims,
        payload_bytes: env.file_len - env.header.len as u64,
    })
}
