//! OpenSSH Ed25519 keys as sealer keys: the private key `ssh-keygen -t ed25519` writes (the
//! `openssh-key-v1` format inside `-----BEGIN OPENSSH PRIVATE KEY-----`) and its public line
//! (`ssh-ed25519 AAAA… comment`).
//!
//! A small parser of our own rather than a crate: only one key type is accepted (an envelope's
//! signature is Ed25519 whatever file the key came from), and every other thing a key file may be
//! (encrypted, RSA, ECDSA, a FIDO key, an old PEM key) only needs naming in a refusal. Every
//! length read from the file is checked against the bytes that remain before it is used.
//!
//! The format (OpenSSH's PROTOCOL.key): `"openssh-key-v1\0"`, then SSH wire strings (a u32
//! big-endian length and that many bytes): cipher name, KDF name, KDF options, a u32 key count,
//! each public key, and the private section: two equal check integers, per key its type, public
//! key, private key (seed ‖ public key for Ed25519) and comment, then padding 1, 2, 3….

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

const BEGIN: &str = "-----BEGIN OPENSSH PRIVATE KEY-----";
const END: &str = "-----END OPENSSH PRIVATE KEY-----";
const MAGIC: &[u8] = b"openssh-key-v1\0";
/// The only key type accepted.
pub const ED25519: &str = "ssh-ed25519";

/// An Ed25519 key pair read from an OpenSSH private key file.
pub struct PrivateKey {
    pub seed: [u8; 32],
    pub public: [u8; 32],
    pub comment: String,
}

/// An Ed25519 public key from an OpenSSH public key line.
pub struct PublicKey {
    pub key: [u8; 32],
    pub comment: Option<String>,
}

/// Whether `text` looks like an OpenSSH or PEM private key (so its refusals can be specific).
pub fn is_private_key(text: &str) -> bool {
    text.trim_start().starts_with("-----BEGIN ")
}

/// Whether `text` starts like an OpenSSH public key line (`ssh-…`, `ecdsa-…`, `sk-…`).
pub fn is_public_line(text: &str) -> bool {
    let t = text.trim_start();
    ["ssh-", "ecdsa-", "sk-"].iter().any(|p| t.starts_with(p))
}

/// Parses an unencrypted OpenSSH Ed25519 private key. Every other key is refused, naming what
/// it is.
pub fn parse_private(text: &str) -> Result<PrivateKey, String> {
    let t = text.trim();
    if !t.starts_with(BEGIN) {
        // Other PEM keys: name their type from the armour line.
        let kind = t
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("-----BEGIN "))
            .and_then(|l| l.strip_suffix("-----"))
            .unwrap_or("an unknown");
        return Err(match kind {
            "RSA PRIVATE KEY" => "an RSA private key (PEM): only Ed25519 keys sign envelopes (ssh-keygen -t ed25519)".into(),
            "EC PRIVATE KEY" => "an ECDSA private key (PEM): only Ed25519 keys sign envelopes (ssh-keygen -t ed25519)".into(),
            "DSA PRIVATE KEY" => "a DSA private key (PEM): only Ed25519 keys sign envelopes (ssh-keygen -t ed25519)".into(),
            "ENCRYPTED PRIVATE KEY" => "an encrypted PKCS#8 private key: only unencrypted OpenSSH Ed25519 keys or weightguard signing keys are accepted".into(),
            other => format!("a `{other}` PEM block, not an OpenSSH private key"),
        });
    }
    let body = t
        .strip_prefix(BEGIN)
        .and_then(|b| b.strip_suffix(END))
        .ok_or("an OpenSSH private key without its END line")?;
    let b64: String = body.split_whitespace().collect();
    let bytes = STANDARD
        .decode(b64.as_bytes())
        .map_err(|e| format!("the OpenSSH private key is not valid base64 ({e})"))?;
    let mut r = Reader(&bytes);
    if r.take(MAGIC.len()).ok() != Some(MAGIC) {
        return Err("not an openssh-key-v1 private key".into());
    }
    let cipher = r.text("cipher name")?;
    let kdf = r.text("KDF name")?;
    let _kdf_options = r.string("KDF options")?;
    if cipher != "none" || kdf != "none" {
        return Err(format!(
            "an encrypted OpenSSH private key (cipher {cipher}, KDF {kdf}): weightguard reads no passphrases; use an unencrypted key kept as a secret (mode 0600), or a weightguard signing key"
        ));
    }
    let count = r.u32("key count")?;
    if count != 1 {
        return Err(format!(
            "{count} keys in one OpenSSH private key file: exactly one is accepted"
        ));
    }
    let public_blob = r.string("public key")?;
    let public = parse_public_blob(public_blob)?;
    let mut private = Reader(r.string("private section")?);
    if !r.0.is_empty() {
        return Err("bytes after the private section".into());
    }
    let check1 = private.u32("check integer")?;
    let check2 = private.u32("check integer")?;
    if check1 != check2 {
        return Err("the check integers differ: the key is damaged".into());
    }
    let kind = private.text("key type")?;
    if kind != ED25519 {
        return Err(refuse_type(&kind));
    }
    let inner_public = private.string("public key")?;
    let secret = private.string("private key")?;
    let comment = private.text("comment")?;
    if inner_public != public || secret.len() != 64 || secret[32..] != public {
        return Err("the private key does not match its public key: the key is damaged".into());
    }
    for (i, &b) in private.0.iter().enumerate() {
        if usize::from(b) != i + 1 {
            return Err("bad padding after the private key".into());
        }
    }
    let mut seed = [0u8; 32];
    seed.copy_from_slice(&secret[..32]);
    Ok(PrivateKey {
        seed,
        public,
        comment,
    })
}

/// Parses a public key line `ssh-ed25519 <base64> [comment]`; other key types are refused by
/// name.
pub fn parse_public_line(line: &str) -> Result<PublicKey, String> {
    let mut words = line.trim().splitn(3, [' ', '\t']);
    let kind = words.next().unwrap_or_default();
    if kind != ED25519 {
        return Err(refuse_type(kind));
    }
    let b64 = words.next().ok_or("an ssh-ed25519 line without its key")?;
    let blob = STANDARD
        .decode(b64.as_bytes())
        .map_err(|e| format!("the ssh-ed25519 key is not valid base64 ({e})"))?;
    let key = parse_public_blob(&blob)?;
    let comment = words.next().map(str::trim).filter(|c| !c.is_empty());
    Ok(PublicKey {
        key,
        comment: comment.map(str::to_owned),
    })
}

/// The SSH wire form of an Ed25519 public key (what `.pub` files hold in base64).
pub fn public_blob(key: &[u8; 32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(51);
    for part in [ED25519.as_bytes(), key.as_slice()] {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// `ssh-ed25519 <base64>`: the public key line without a comment.
pub fn public_line(key: &[u8; 32]) -> String {
    format!("{ED25519} {}", STANDARD.encode(public_blob(key)))
}

/// The fingerprint `ssh-keygen -l` prints: `SHA256:` and the unpadded base64 of the SHA-256 of
/// the public key's wire form.
pub fn fingerprint(key: &[u8; 32]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, &public_blob(key));
    format!("SHA256:{}", STANDARD_NO_PAD.encode(digest.as_ref()))
}

fn parse_public_blob(blob: &[u8]) -> Result<[u8; 32], String> {
    let mut r = Reader(blob);
    let kind = r.text("key type")?;
    if kind != ED25519 {
        return Err(refuse_type(&kind));
    }
    let key = r.string("Ed25519 key")?;
    if !r.0.is_empty() {
        return Err("bytes after the Ed25519 public key".into());
    }
    key.try_into()
        .map_err(|_| format!("an Ed25519 public key of {} bytes, not 32", key.len()))
}

fn refuse_type(kind: &str) -> String {
    let what = match kind {
        "ssh-rsa" => "an RSA key (ssh-rsa)".to_owned(),
        "ssh-dss" => "a DSA key (ssh-dss)".to_owned(),
        k if k.starts_with("ecdsa-sha2-") => format!("an ECDSA key ({k})"),
        k if k.starts_with("sk-") => {
            format!("a FIDO security-key key ({k}), which cannot sign here")
        }
        k => format!("a `{}` key", crate::text::escape(k)),
    };
    format!("{what}: only Ed25519 keys sign envelopes (ssh-keygen -t ed25519)")
}

/// Reads SSH wire values, each bounded by the bytes that remain.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.0.len() {
            return Err(format!(
                "truncated: {n} bytes wanted, {} remain",
                self.0.len()
            ));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u32(&mut self, what: &str) -> Result<u32, String> {
        let b = self.take(4).map_err(|e| format!("{what}: {e}"))?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn string(&mut self, what: &str) -> Result<&'a [u8], String> {
        let n = self.u32(what)?;
        let n = usize::try_from(n).map_err(|_| format!("{what}: length {n} too large"))?;
        self.take(n).map_err(|e| format!("{what}: {e}"))
    }

    fn text(&mut self, what: &str) -> Result<String, String> {
        let b = self.string(what)?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| format!("{what}: not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_line_round_trips_and_refuses_other_types() {
        let key = [7u8; 32];
        let line = format!("{} me@host", public_line(&key));
        let parsed = parse_public_line(&line).unwrap();
        assert_eq!(parsed.key, key);
        assert_eq!(parsed.comment.as_deref(), Some("me@host"));
        let e = parse_public_line("ssh-rsa AAAAB3NzaC1yc2E x")
            .err()
            .unwrap();
        assert!(e.contains("an RSA key (ssh-rsa)"), "{e}");
        assert!(fingerprint(&key).starts_with("SHA256:"));
    }

    #[test]
    fn truncated_and_oversized_lengths_are_refused() {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&u32::MAX.to_be_bytes());
        let text = format!("{BEGIN}\n{}\n{END}\n", STANDARD.encode(&bytes));
        let e = parse_private(&text).err().unwrap();
        assert!(e.contains("truncated"), "{e}");
    }
}
