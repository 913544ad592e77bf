//! Keys: Ed25519 signing keys for the sealer (our own small text format), and age recipients and
//! identities (through the `age` crate: X25519 and SSH keys).
//!
//! Signing key files, one line each:
//! - secret: `weightguard-signing-key-v1:` + base64 of the 32-byte Ed25519 seed (file mode 0600);
//! - public: `weightguard-signer-v1:` + base64 of the 32-byte public key.

use super::EnvelopeError;
use age::secrecy::ExposeSecret;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self, Ed25519KeyPair, KeyPair};
use std::path::Path;
use std::str::FromStr;

const SECRET_PREFIX: &str = "weightguard-signing-key-v1:";
const PUBLIC_PREFIX: &str = "weightguard-signer-v1:";

fn keys_err(what: impl Into<String>) -> EnvelopeError {
    EnvelopeError::Keys { what: what.into() }
}

/// The sealer's Ed25519 key pair.
pub struct SigningKey {
    pair: Ed25519KeyPair,
    seed: [u8; 32],
}

impl SigningKey {
    pub fn generate() -> Result<SigningKey, EnvelopeError> {
        let mut seed = [0u8; 32];
        SystemRandom::new()
            .fill(&mut seed)
            .map_err(|_| keys_err("the system random source failed"))?;
        SigningKey::from_seed(seed)
    }

    fn from_seed(seed: [u8; 32]) -> Result<SigningKey, EnvelopeError> {
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed)
            .map_err(|_| keys_err("invalid Ed25519 seed"))?;
        Ok(SigningKey { pair, seed })
    }

    /// Parses the secret key file text.
    pub fn parse(text: &str) -> Result<SigningKey, EnvelopeError> {
        let body = text
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .ok_or_else(|| keys_err(format!("a signing key starts with `{SECRET_PREFIX}`")))?;
        let seed: [u8; 32] = STANDARD
            .decode(body)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| keys_err("a signing key holds 32 bytes of base64"))?;
        SigningKey::from_seed(seed)
    }

    pub fn read(path: &Path) -> Result<SigningKey, EnvelopeError> {
        let text = std::fs::read_to_string(path).map_err(EnvelopeError::io(path))?;
        SigningKey::parse(&text).map_err(|e| keys_err(format!("{}: {e}", path.display())))
    }

    /// The secret key file text.
    pub fn to_secret_string(&self) -> String {
        format!("{SECRET_PREFIX}{}\n", STANDARD.encode(self.seed))
    }

    pub fn public(&self) -> SignerKey {
        let mut key = [0u8; 32];
        key.copy_from_slice(self.pair.public_key().as_ref());
        SignerKey(key)
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let mut out = [0u8; 64];
        out.copy_from_slice(self.pair.sign(message).as_ref());
        out
    }
}

/// A sealer's public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignerKey(pub [u8; 32]);

impl SignerKey {
    /// Parses `weightguard-signer-v1:…`, or reads it from the file at that path.
    pub fn parse_or_read(arg: &str) -> Result<SignerKey, EnvelopeError> {
        if arg.trim().starts_with(PUBLIC_PREFIX) {
            return SignerKey::from_str(arg);
        }
        let path = Path::new(arg);
        let text = std::fs::read_to_string(path).map_err(|e| {
            keys_err(format!(
                "signer `{arg}`: neither a `{PUBLIC_PREFIX}…` key nor a readable file ({e})"
            ))
        })?;
        SignerKey::from_str(&text).map_err(|e| keys_err(format!("{}: {e}", path.display())))
    }

    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        signature::UnparsedPublicKey::new(&signature::ED25519, &self.0)
            .verify(message, sig)
            .is_ok()
    }
}

impl FromStr for SignerKey {
    type Err = EnvelopeError;
    fn from_str(s: &str) -> Result<SignerKey, EnvelopeError> {
        let body = s
            .trim()
            .strip_prefix(PUBLIC_PREFIX)
            .ok_or_else(|| keys_err(format!("a signer key starts with `{PUBLIC_PREFIX}`")))?;
        STANDARD
            .decode(body)
            .ok()
            .and_then(|b| b.try_into().ok())
            .map(SignerKey)
            .ok_or_else(|| keys_err("a signer key holds 32 bytes of base64"))
    }
}

impl std::fmt::Display for SignerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{PUBLIC_PREFIX}{}", STANDARD.encode(self.0))
    }
}

/// A recipient the file key is wrapped for.
pub type BoxedRecipient = Box<dyn age::Recipient + Send + Sync>;
/// An identity that may unwrap the file key.
pub type BoxedIdentity = Box<dyn age::Identity + Send + Sync>;

/// Parses a recipient: `age1…` (X25519) or an SSH public key line, or a file of such lines
/// (`#` comments and blank lines skipped).
pub fn parse_recipients(arg: &str) -> Result<Vec<BoxedRecipient>, EnvelopeError> {
    if let Some(r) = parse_recipient(arg) {
        return Ok(vec![r]);
    }
    let path = Path::new(arg);
    let text = std::fs::read_to_string(path).map_err(|_| {
        keys_err(format!(
            "recipient `{arg}`: not an age1… or SSH public key, nor a readable recipients file"
        ))
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(parse_recipient(line).ok_or_else(|| {
            keys_err(format!(
                "{}:{}: not an age1… or SSH public key",
                path.display(),
                i + 1
            ))
        })?);
    }
    if out.is_empty() {
        return Err(keys_err(format!(
            "{}: no recipients in the file",
            path.display()
        )));
    }
    Ok(out)
}

fn parse_recipient(s: &str) -> Option<BoxedRecipient> {
    let s = s.trim();
    if let Ok(r) = age::x25519::Recipient::from_str(s) {
        return Some(Box::new(r));
    }
    if let Ok(r) = age::ssh::Recipient::from_str(s) {
        return Some(Box::new(r));
    }
    None
}

/// Reads identities from an age identity file (`AGE-SECRET-KEY-1…` lines) or an unencrypted SSH
/// private key.
pub fn read_identities(path: &Path) -> Result<Vec<BoxedIdentity>, EnvelopeError> {
    let bytes = std::fs::read(path).map_err(EnvelopeError::io(path))?;
    read_identities_named(&bytes, path)
}

/// Parses identities from the text of an identity file (see [`read_identities`]).
pub fn read_identities_from(bytes: &[u8]) -> Result<Vec<BoxedIdentity>, EnvelopeError> {
    read_identities_named(bytes, Path::new("(identity)"))
}

fn read_identities_named(bytes: &[u8], path: &Path) -> Result<Vec<BoxedIdentity>, EnvelopeError> {
    if let Ok(file) = age::IdentityFile::from_buffer(bytes)
        && let Ok(ids) = file.into_identities()
        && !ids.is_empty()
    {
        return Ok(ids);
    }
    match age::ssh::Identity::from_buffer(bytes, Some(path.display().to_string())) {
        Ok(age::ssh::Identity::Unencrypted(id)) => {
            Ok(vec![Box::new(age::ssh::Identity::Unencrypted(id))])
        }
        Ok(_) => Err(keys_err(format!(
            "{}: encrypted or unsupported SSH key; use an unencrypted key or an age identity",
            path.display()
        ))),
        Err(_) => Err(keys_err(format!(
            "{}: no age identity (AGE-SECRET-KEY-1…) or SSH private key found",
            path.display()
        ))),
    }
}

/// A new X25519 identity: (identity file text, recipient string).
pub fn generate_identity() -> (String, String) {
    let id = age::x25519::Identity::generate();
    let recipient = id.to_public().to_string();
    let secret = id.to_string();
    (
        format!(
            "# created by weightguard keygen\n# public key: {recipient}\n{}\n",
            secret.expose_secret()
        ),
        recipient,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_keys_round_trip_and_verify() {
        let k = SigningKey::generate().unwrap();
        let k2 = SigningKey::parse(&k.to_secret_string()).unwrap();
        assert_eq!(k.public(), k2.public());
        let pk = SignerKey::from_str(&k.public().to_string()).unwrap();
        let sig = k.sign(b"claims");
        assert!(pk.verify(b"claims", &sig));
        assert!(!pk.verify(b"claimz", &sig));
        assert!(SignerKey::from_str("weightguard-signer-v1:AAAA").is_err());
    }
}
