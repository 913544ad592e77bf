//! Reading an envelope's header and claims without any key: what `verify` reports and what
//! `open` checks before it decrypts a byte.

use super::EnvelopeError;
use super::claims::{self, Claims, SignedClaims};
use super::header::{self, Header, MAX_HEADER_BYTES};
use super::keys::SignerKey;
use super::stream::{CHUNK, NONCE_LEN, TAG_LEN};
use std::io::Read;
use std::path::Path;

/// Bytes of the payload read to check that it is ciphertext: the nonce and the first chunk.
pub const PAYLOAD_SAMPLE: usize = NONCE_LEN + CHUNK + TAG_LEN;

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
    /// The sealer's key as the claims spell it (`weightguard-signer-v1:…` or `ssh-ed25519 …`).
    pub sealer: String,
    /// For an SSH key, its fingerprint as `ssh-keygen -l` prints it (`SHA256:…`).
    pub sealer_fingerprint: Option<String>,
    pub signer_trusted: Option<bool>,
    /// Which of the trusted signers (`--signer`, as given) sealed it, when they were checked.
    pub trusted_signer: Option<String>,
    pub recipients: usize,
    pub claims: Claims,
    pub payload_bytes: u64,
}

/// Reads and checks the header and claims of the envelope at `path`: structure, the claims'
/// signature, that they belong to this envelope's recipients, and (if given) the signer.
///
/// The envelope must be a regular file: its length is part of what is checked, and a pipe
/// (`verify -` or `/dev/stdin` fed by a pipe) is refused with a message saying so.
pub fn read(path: &Path, expected_signer: Option<&SignerKey>) -> Result<Envelope, EnvelopeError> {
    let (file, meta) = crate::artifact_set::identity::open_regular(path).map_err(|e| {
        EnvelopeError::io(path)(std::io::Error::new(
            e.kind(),
            format!("{e}: name the envelope file itself (its length and header are checked, so a pipe cannot be read)"),
        ))
    })?;
    let file_len = meta.len();
    let mut header_bytes = Vec::new();
    (&file)
        .take(MAX_HEADER_BYTES as u64 + 1)
        .read_to_end(&mut header_bytes)
        .map_err(EnvelopeError::io(path))?;
    parse(path, header_bytes, file_len, expected_signer)
}

/// Checks that what follows a header of `header_len` bytes looks like age's STREAM ciphertext:
/// `sample` is the payload's first bytes (up to [`PAYLOAD_SAMPLE`]), `payload_len` its length. A
/// genuine header copied in front of cleartext weights (or of the envelope's own decrypted tar)
/// passes every header and claims check; this is what tells it apart without a key.
/// - The length must split into age's chunks: a full chunk is 64 KiB + a 16-byte tag, the last
///   one at least a tag.
/// - The first bytes must not be a weight format or a tar archive.
/// - Ciphertext is indistinguishable from random bytes: over a full first chunk, the byte
///   histogram's chi-square (255 degrees of freedom: mean 255, standard deviation 22.6) stays
///   far under 600, where weights, text and zeros land in the thousands.
pub fn check_ciphertext(sample: &[u8], payload_len: u64) -> Result<(), String> {
    let chunks = payload_len.saturating_sub(NONCE_LEN as u64);
    let full = (CHUNK + TAG_LEN) as u64;
    let last = chunks % full;
    if chunks < TAG_LEN as u64 || (last != 0 && last < TAG_LEN as u64) {
        return Err(format!(
            "{payload_len} payload bytes do not split into age chunks (64 KiB + a 16-byte tag each): not an age payload"
        ));
    }
    let body = &sample[sample.len().min(NONCE_LEN)..];
    for (what, bytes) in [
        ("at the start of the payload", sample),
        ("after the nonce", body),
    ] {
        let head = &bytes[..bytes.len().min(crate::artifact::detect::HEAD_BYTES)];
        let kind = crate::artifact::detect::sniff(head, bytes.len() as u64);
        if kind != crate::artifact::detect::Kind::Unknown && head.len() >= 8 {
            return Err(format!(
                "cleartext {kind:?} weights {what}, not ciphertext: a header copied in front of unencrypted weights"
            ));
        }
        if bytes.len() >= 262 && &bytes[257..262] == b"ustar" {
            return Err(format!(
                "a cleartext tar archive {what}, not ciphertext: a header copied in front of the unencrypted payload"
            ));
        }
    }
    // Only a full sample gives the statistic its meaning; a short payload was checked above.
    if sample.len() >= 4096 {
        let chi = chi_square(sample);
        if chi > 600.0 {
            return Err(format!(
                "the payload's first {} bytes are far from random (byte chi-square {chi:.0}, where ciphertext stays near 255): not ciphertext",
                sample.len()
            ));
        }
    }
    Ok(())
}

/// Pearson's chi-square of the byte histogram against the uniform distribution.
fn chi_square(bytes: &[u8]) -> f64 {
    let mut counts = [0u64; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let expected = bytes.len() as f64 / 256.0;
    counts
        .iter()
        .map(|&c| {
            let d = c as f64 - expected;
            d * d / expected
        })
        .sum()
}

/// Reads the payload sample of the envelope at `path` (after a header of `header_len` bytes)
/// and checks it ([`check_ciphertext`]).
pub fn check_payload(path: &Path, header_len: usize, file_len: u64) -> Result<(), EnvelopeError> {
    let (file, _) =
        crate::artifact_set::identity::open_regular(path).map_err(EnvelopeError::io(path))?;
    let payload_len = file_len.saturating_sub(header_len as u64);
    let want = payload_len.min(PAYLOAD_SAMPLE as u64) as usize;
    let mut sample = vec![0u8; want];
    std::os::unix::fs::FileExt::read_exact_at(&file, &mut sample, header_len as u64)
        .map_err(EnvelopeError::io(path))?;
    check_ciphertext(&sample, payload_len).map_err(|what| EnvelopeError::PayloadFormat {
        path: path.to_owned(),
        what,
    })
}

/// [`read`] of an envelope in S3-compatible storage, with ranged GETs only: the first 64 KiB
/// (a header of a few recipients fits), and only if the header is longer, up to the same
/// [`MAX_HEADER_BYTES`] + 1 a local read takes.
pub fn read_object(
    object: &super::remote::ObjectReader,
    expected_signer: Option<&SignerKey>,
) -> Result<Envelope, EnvelopeError> {
    let name = Path::new(object.url());
    let first = object.len.min(64 * 1024);
    let mut header_bytes = object.read_range(0..first)?;
    if object.len > first && header::parse(&header_bytes).is_err() {
        header_bytes = object.read_range(0..object.len.min(MAX_HEADER_BYTES as u64 + 1))?;
    }
    parse(name, header_bytes, object.len, expected_signer)
}

/// [`verify`] of an envelope in S3-compatible storage: the same checks, with ranged GETs.
pub fn verify_object(
    object: &super::remote::ObjectReader,
    expected_signer: Option<&SignerKey>,
) -> Result<Verified, EnvelopeError> {
    let name = Path::new(object.url());
    let env = read_object(object, expected_signer)?;
    let start = env.header.len as u64;
    let payload_len = env.file_len.saturating_sub(start);
    let sample = object.read_range(start..start + payload_len.min(PAYLOAD_SAMPLE as u64))?;
    check_ciphertext(&sample, payload_len).map_err(|what| EnvelopeError::PayloadFormat {
        path: name.to_owned(),
        what,
    })?;
    verified(name, env, expected_signer)
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
    let Some(payload) = file_len.checked_sub(header.len as u64) else {
        return Err(EnvelopeError::PayloadFormat {
            path: path.to_owned(),
            what: format!(
                "the header is {} bytes but the file only {file_len}",
                header.len
            ),
        });
    };
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
                    found: signed.signer.describe(),
                    expected: format!("the expected signer {}", expected.describe()),
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
    check_payload(path, env.header.len, env.file_len)?;
    verified(path, env, expected_signer)
}

fn verified(
    path: &Path,
    env: Envelope,
    expected_signer: Option<&SignerKey>,
) -> Result<Verified, EnvelopeError> {
    let Some(signed) = env.claims else {
        return Err(EnvelopeError::NoClaims {
            path: path.to_owned(),
        });
    };
    Ok(Verified {
        path: path.to_owned(),
        sealer: signed.signer.to_string(),
        sealer_fingerprint: (signed.signer.form() == super::keys::KeyForm::Ssh)
            .then(|| signed.signer.ssh_fingerprint()),
        signer_trusted: expected_signer.map(|_| true),
        trusted_signer: None,
        recipients: env.recipients,
        claims: signed.claims,
        payload_bytes: env.file_len.saturating_sub(env.header.len as u64),
    })
}
