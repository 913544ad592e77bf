//! Keys: Ed25519 signing keys for the sealer (our own small text format), and age recipients and
//! identities (through the `age` crate: X25519 and SSH keys).
//!
//! Signing key files, one line each:
//! - secret: `weightguard-signing-key-v1:` + base64 of the 32-byte Ed25519 seed (file mode 0600);
//! - public: `weightguard-signer-v1:` + base64 of the 32-byte public key.

use super::EnvelopeError;
use crate::artifact::read;
use age::secrecy::ExposeSecret;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self, Ed25519KeyPair, KeyPair};
use std::path::Path;
use std::str::FromStr;

const SECRET_PREFIX: &str = "weightguard-signing-key-v1:";
/// The largest key file read (a signing key, a signer, a recipients list, an identity file):
/// each holds a few lines; anything larger is not a key file, and `/dev/zero` is no key at all.
pub const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;
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
        let text = read_key_text(path, "signing key")?;
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
        let text = read_key_text(path, "signer key file").map_err(|e| {
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
    if let Some(e) = pq_recipient_error(arg) {
        return Err(keys_err(e));
    }
    let path = Path::new(arg);
    let text = read_key_text(path, "recipients file").map_err(|e| {
        keys_err(format!(
            "recipient `{arg}`: not an age1… or SSH public key, nor a readable recipients file ({e})"
        ))
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(parse_recipient(line).ok_or_else(|| {
            let why =
                pq_recipient_error(line).unwrap_or_else(|| "not an age1… or SSH public key".into());
            keys_err(format!("{}:{}: {why}", path.display(), i + 1))
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
    // Before any plugin parsing: `age1pq1…` would otherwise read as a recipient of a plugin `pq`.
    if let Ok(r) = super::pq::Recipient::from_str(s) {
        return Some(Box::new(r));
    }
    if let Ok(r) = age::x25519::Recipient::from_str(s) {
        return Some(Box::new(r));
    }
    if let Ok(r) = age::ssh::Recipient::from_str(s) {
        return Some(Box::new(r));
    }
    None
}

/// Why `s`, which looks like a post-quantum recipient (`age1pq1…`), is not one; None for other
/// text. Quotes only the start of it: a recipient is almost 2,000 characters.
fn pq_recipient_error(s: &str) -> Option<String> {
    let s = s.trim();
    if !s.starts_with(super::pq::RECIPIENT_PREFIX) {
        return None;
    }
    let e = super::pq::Recipient::from_str(s).err()?;
    let start: String = s.chars().take(16).collect();
    Some(format!("recipient `{start}…`: {e}"))
}

/// Reads identities from an age identity file (`AGE-SECRET-KEY-1…` lines) or an unencrypted SSH
/// private key.
pub fn read_identities(path: &Path) -> Result<Vec<BoxedIdentity>, EnvelopeError> {
    let bytes = read::read_small_file(path, "identity file", MAX_KEY_FILE_BYTES)
        .map_err(|e| keys_err(e.to_string()))?;
    read_identities_named(&bytes, path)
}

/// Parses identities from the text of an identity file (see [`read_identities`]).
pub fn read_identities_from(bytes: &[u8]) -> Result<Vec<BoxedIdentity>, EnvelopeError> {
    read_identities_named(bytes, Path::new("(identity)"))
}

fn read_identities_named(bytes: &[u8], path: &Path) -> Result<Vec<BoxedIdentity>, EnvelopeError> {
    // Post-quantum identities (`AGE-SECRET-KEY-PQ-1…`) are ours to parse; the file's other
    // lines, if any hold more than comments, go through the rest of this function.
    let (pq_ids, rest) = super::pq::take_identities(bytes)
        .map_err(|(line, e)| keys_err(format!("{}:{line}: {e}", path.display())))?;
    if !pq_ids.is_empty() {
        let mut ids: Vec<BoxedIdentity> = Vec::with_capacity(pq_ids.len());
        for id in pq_ids {
            ids.push(Box::new(id));
        }
        let more = rest
            .split(|&b| b == b'\n')
            .map(<[u8]>::trim_ascii)
            .any(|l| !l.is_empty() && !l.starts_with(b"#"));
        if more {
            ids.extend(read_identities_named(&rest, path)?);
        }
        return Ok(ids);
    }
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

/// A key file's text: a regular file of at most [`MAX_KEY_FILE_BYTES`] (see
/// [`read::read_small_file`]).
fn read_key_text(path: &Path, what: &'static str) -> Result<String, EnvelopeError> {
    read::read_small_text(path, what, MAX_KEY_FILE_BYTES).map_err(|e| keys_err(e.to_string()))
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

/// A new post-quantum hybrid identity (ML-KEM-768 + X25519, `AGE-SECRET-KEY-PQ-1…`):
/// (identity file text, `age1pq1…` recipient string).
pub fn generate_pq_identity() -> (String, String) {
    super::pq::generate_identity_file()
}

/// One file of a key set: its name in the key directory, its text, and whether it is secret
/// (mode 0600) or public (0644).
#[derive(Debug, Clone, Copy)]
pub struct KeyFile<'a> {
    pub name: &'a str,
    pub text: &'a str,
    pub secret: bool,
}

/// Writes a key set into `dir`, all of it or nothing:
/// - every target is checked first: if any exists, nothing is written (key files are never
///   replaced, and half a set would not match the other half);
/// - `dir` is created mode 0700 (and its missing parents as `create_dir_all` would) when it
///   does not exist; an existing directory's mode is left as it is;
/// - each file is written to a temporary in `dir`, created with its final mode (secrets 0600,
///   public keys 0644) and set again on the descriptor, so no umask widens or narrows it; synced;
/// - then each is renamed into place without replacing anything. If any step fails, the files
///   already renamed and the temporaries are removed, and so is `dir` if this call created it.
pub fn write_key_files(dir: &Path, files: &[KeyFile<'_>]) -> Result<(), EnvelopeError> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let exists = |path: &Path| {
        keys_err(format!(
            "{}: already exists; key files are never overwritten, and nothing was written (write the keys to a new directory)",
            path.display()
        ))
    };
    for f in files {
        let target = dir.join(f.name);
        if std::fs::symlink_metadata(&target).is_ok() {
            return Err(exists(&target));
        }
    }
    let created = create_private_dir(dir)?;
    let result = (|| {
        let mut temps = Vec::with_capacity(files.len());
        for f in files {
            let mode = if f.secret { 0o600 } else { 0o644 };
            // Registered: a SIGINT/SIGTERM/SIGHUP removes it (`crate::interrupt`).
            let (mut tmp, registered) = crate::interrupt::create(
                || {
                    tempfile::Builder::new()
                        .prefix(&format!(".{}.", f.name))
                        .permissions(std::fs::Permissions::from_mode(mode))
                        .tempfile_in(dir)
                },
                |t| t.path().to_owned(),
            )
            .map_err(EnvelopeError::io(dir))?;
            // Created with `mode` less the umask; set exactly on the descriptor (fchmod).
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode))
                .and_then(|()| tmp.write_all(f.text.as_bytes()))
                .and_then(|()| tmp.as_file().sync_all())
                .map_err(EnvelopeError::io(tmp.path()))?;
            temps.push((tmp, registered, dir.join(f.name)));
        }
        // Each file placed stays registered until the whole set is: a signal half-way removes
        // the files already renamed too, so no partial set survives it. The rename is done while
        // the registry is held, so a signal cannot fall between it and the registration.
        let mut placed = Vec::with_capacity(temps.len());
        for (tmp, _registered, target) in temps {
            let renamed = crate::interrupt::create(
                || tmp.persist_noclobber(&target).map_err(|e| e.error),
                |_| target.clone(),
            );
            match renamed {
                Ok((_, registered)) => placed.push((target, registered)),
                Err(e) => {
                    // Only files this call created are removed (the rename never replaced one).
                    for (p, _) in &placed {
                        let _ = std::fs::remove_file(p);
                    }
                    return Err(if e.kind() == std::io::ErrorKind::AlreadyExists {
                        exists(&target)
                    } else {
                        EnvelopeError::io(&target)(e)
                    });
                }
            }
        }
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() && created {
        let _ = std::fs::remove_dir(dir);
    }
    result
}

/// Creates `dir` mode 0700 (exactly, whatever the umask) if it is missing; true if it did.
fn create_private_dir(dir: &Path) -> Result<bool, EnvelopeError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(EnvelopeError::io(parent))?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {
            // The mode above was masked by the umask; set it on the directory opened (fchmod).
            std::fs::File::open(dir)
                .and_then(|d| d.set_permissions(std::fs::Permissions::from_mode(0o700)))
                .map_err(EnvelopeError::io(dir))?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(false),
        Err(e) => Err(EnvelopeError::io(dir)(e)),
    }
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
