//! Keys: Ed25519 signing keys for the sealer, and age recipients and identities.
//!
//! Signing keys come in two spellings of the same Ed25519 key (an envelope's signature is
//! Ed25519 either way):
//! - our own small text format, one line each: secret `weightguard-signing-key-v1:` + base64 of
//!   the 32-byte seed (file mode 0600); public `weightguard-signer-v1:` + base64 of the 32-byte
//!   public key;
//! - OpenSSH: an unencrypted `ssh-keygen -t ed25519` private key, and its `.pub` line
//!   (`ssh-ed25519 AAAA… comment`), parsed by [`super::openssh`]. The claims then name the
//!   sealer as `ssh-ed25519 AAAA…`, shown with the fingerprint `ssh-keygen -l` prints.
//!
//! Recipients and identities go through the `age` crate: X25519, SSH keys, and plugins
//! (`age1<name>1…`, `AGE-PLUGIN-<NAME>-1…`, run as `age-plugin-<name>` from PATH, talking to the
//! user through [`super::terminal::TerminalCallbacks`]). `-` names standard input for a key file
//! (read once, at most [`MAX_KEY_FILE_BYTES`]).

use super::EnvelopeError;
use super::openssh;
use super::terminal::TerminalCallbacks;
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
/// A plugin's keys are longer than X25519's (a post-quantum recipient is about 2 KB) and still
/// far under it.
pub const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;
const PUBLIC_PREFIX: &str = "weightguard-signer-v1:";
/// The path that names standard input.
pub const STDIN: &str = "-";

fn keys_err(what: impl Into<String>) -> EnvelopeError {
    EnvelopeError::Keys { what: what.into() }
}

/// How a sealer's key is written: the spelling the claims use for it, and how it is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyForm {
    /// `weightguard-signer-v1:…`
    Weightguard,
    /// `ssh-ed25519 AAAA…`, shown by its `SHA256:` fingerprint.
    Ssh,
}

/// The sealer's Ed25519 key pair.
pub struct SigningKey {
    pair: Ed25519KeyPair,
    seed: [u8; 32],
    form: KeyForm,
}

impl SigningKey {
    pub fn generate() -> Result<SigningKey, EnvelopeError> {
        let mut seed = [0u8; 32];
        SystemRandom::new()
            .fill(&mut seed)
            .map_err(|_| keys_err("the system random source failed"))?;
        SigningKey::from_seed(seed, KeyForm::Weightguard)
    }

    fn from_seed(seed: [u8; 32], form: KeyForm) -> Result<SigningKey, EnvelopeError> {
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed)
            .map_err(|_| keys_err("invalid Ed25519 seed"))?;
        Ok(SigningKey { pair, seed, form })
    }

    /// Parses the secret key file text: `weightguard-signing-key-v1:…`, or an unencrypted
    /// OpenSSH Ed25519 private key. Encrypted and non-Ed25519 SSH keys are refused by name.
    pub fn parse(text: &str) -> Result<SigningKey, EnvelopeError> {
        if openssh::is_private_key(text) {
            let key = openssh::parse_private(text).map_err(keys_err)?;
            let signing = SigningKey::from_seed(key.seed, KeyForm::Ssh)?;
            // The seed must give the public key the file states (a damaged key signs nothing).
            if signing.public().key != key.public {
                return Err(keys_err(
                    "the OpenSSH private key does not match its public key: the key is damaged",
                ));
            }
            return Ok(signing);
        }
        let body = text.trim().strip_prefix(SECRET_PREFIX).ok_or_else(|| {
            keys_err(format!(
                "a signing key is `{SECRET_PREFIX}…` (weightguard keygen) or an OpenSSH Ed25519 private key (ssh-keygen -t ed25519)"
            ))
        })?;
        let seed: [u8; 32] = STANDARD
            .decode(body)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| keys_err("a signing key holds 32 bytes of base64"))?;
        SigningKey::from_seed(seed, KeyForm::Weightguard)
    }

    /// Reads a signing key file (`-`: standard input).
    pub fn read(path: &Path) -> Result<SigningKey, EnvelopeError> {
        let text = read_key_text(path, "signing key")?;
        SigningKey::parse(&text).map_err(|e| keys_err(format!("{}: {e}", shown(path))))
    }

    /// The secret key file text (our own format, whatever the key was read from).
    pub fn to_secret_string(&self) -> String {
        format!("{SECRET_PREFIX}{}\n", STANDARD.encode(self.seed))
    }

    pub fn public(&self) -> SignerKey {
        let mut key = [0u8; 32];
        key.copy_from_slice(self.pair.public_key().as_ref());
        SignerKey {
            key,
            form: self.form,
        }
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let mut out = [0u8; 64];
        out.copy_from_slice(self.pair.sign(message).as_ref());
        out
    }
}

/// A sealer's public key. Two spellings of one key are the same signer: equality compares the
/// key only.
#[derive(Debug, Clone, Copy)]
pub struct SignerKey {
    key: [u8; 32],
    form: KeyForm,
}

impl PartialEq for SignerKey {
    fn eq(&self, other: &SignerKey) -> bool {
        self.key == other.key
    }
}
impl Eq for SignerKey {}

impl SignerKey {
    /// Parses `weightguard-signer-v1:…` or `ssh-ed25519 AAAA…`, or reads it from the file at
    /// that path (`-`: standard input).
    pub fn parse_or_read(arg: &str) -> Result<SignerKey, EnvelopeError> {
        TrustedSigner::parse_or_read(arg).map(|t| t.key)
    }

    /// The 32 bytes of the Ed25519 public key.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.key
    }

    pub fn form(&self) -> KeyForm {
        self.form
    }

    /// The fingerprint `ssh-keygen -l` prints for this key as an SSH key (`SHA256:…`).
    pub fn ssh_fingerprint(&self) -> String {
        openssh::fingerprint(&self.key)
    }

    /// How a person recognises the key: the SSH fingerprint for an SSH key (as `ssh-keygen -l`
    /// shows it), the key itself otherwise.
    pub fn describe(&self) -> String {
        match self.form {
            KeyForm::Ssh => format!("{} (ssh-ed25519)", self.ssh_fingerprint()),
            KeyForm::Weightguard => self.to_string(),
        }
    }

    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        signature::UnparsedPublicKey::new(&signature::ED25519, &self.key)
            .verify(message, sig)
            .is_ok()
    }
}

impl FromStr for SignerKey {
    type Err = EnvelopeError;
    fn from_str(s: &str) -> Result<SignerKey, EnvelopeError> {
        parse_signer_line(s).map(|(k, _)| k)
    }
}

/// A signer key line and its SSH comment, if any.
fn parse_signer_line(s: &str) -> Result<(SignerKey, Option<String>), EnvelopeError> {
    let s = s.trim();
    if openssh::is_public_line(s) {
        let k = openssh::parse_public_line(s).map_err(keys_err)?;
        return Ok((
            SignerKey {
                key: k.key,
                form: KeyForm::Ssh,
            },
            k.comment,
        ));
    }
    let body = s.strip_prefix(PUBLIC_PREFIX).ok_or_else(|| {
        keys_err(format!(
            "a signer key is `{PUBLIC_PREFIX}…` or an OpenSSH `ssh-ed25519 AAAA…` public key line"
        ))
    })?;
    STANDARD
        .decode(body)
        .ok()
        .and_then(|b| b.try_into().ok())
        .map(|key| {
            (
                SignerKey {
                    key,
                    form: KeyForm::Weightguard,
                },
                None,
            )
        })
        .ok_or_else(|| keys_err("a signer key holds 32 bytes of base64"))
}

impl std::fmt::Display for SignerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.form {
            KeyForm::Weightguard => write!(f, "{PUBLIC_PREFIX}{}", STANDARD.encode(self.key)),
            KeyForm::Ssh => f.write_str(&openssh::public_line(&self.key)),
        }
    }
}

/// One sealer an opener trusts, as the user named it.
#[derive(Debug, Clone)]
pub struct TrustedSigner {
    pub key: SignerKey,
    /// The `--signer` argument: a key, or the file it was read from.
    pub source: String,
    /// The SSH key's comment (`user@host`), if the line had one.
    pub comment: Option<String>,
}

impl TrustedSigner {
    /// Parses a signer key or reads it from the file at that path (`-`: standard input). A file
    /// holds one key line (`#` comments and blank lines skipped).
    pub fn parse_or_read(arg: &str) -> Result<TrustedSigner, EnvelopeError> {
        let trimmed = arg.trim();
        let text = if trimmed.starts_with(PUBLIC_PREFIX) || openssh::is_public_line(trimmed) {
            trimmed.to_owned()
        } else {
            let path = Path::new(arg);
            let text = read_key_text(path, "signer key file").map_err(|e| {
                keys_err(format!(
                    "signer `{arg}`: neither a `{PUBLIC_PREFIX}…` or `ssh-ed25519 …` key nor a readable file ({e})"
                ))
            })?;
            if openssh::is_private_key(&text) || text.trim_start().starts_with(SECRET_PREFIX) {
                return Err(keys_err(format!(
                    "{}: a private key; --signer takes the public key (`signing.pub`, or the SSH key's `.pub` file)",
                    shown(path)
                )));
            }
            let mut lines = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'));
            let line = lines.next().unwrap_or_default().to_owned();
            if lines.next().is_some() {
                return Err(keys_err(format!(
                    "{}: more than one key; name each trusted signer with its own --signer",
                    shown(path)
                )));
            }
            line
        };
        let (key, comment) = parse_signer_line(&text).map_err(|e| {
            if text == trimmed {
                e
            } else {
                keys_err(format!("{}: {e}", shown(Path::new(arg))))
            }
        })?;
        Ok(TrustedSigner {
            key,
            source: arg.to_owned(),
            comment,
        })
    }

    /// The key as a person recognises it, with the SSH comment when there is one.
    pub fn describe(&self) -> String {
        match &self.comment {
            Some(c) => format!("{} {}", self.key.describe(), crate::text::escape(c)),
            None => self.key.describe(),
        }
    }
}

/// The sealers an opener trusts (`--signer`, repeatable: several for key rotation).
#[derive(Debug, Clone, Default)]
pub struct TrustedSigners(pub Vec<TrustedSigner>);

impl TrustedSigners {
    /// Reads every `--signer` argument (see [`TrustedSigner::parse_or_read`]).
    pub fn parse_or_read(args: &[String]) -> Result<TrustedSigners, EnvelopeError> {
        args.iter()
            .map(|a| TrustedSigner::parse_or_read(a))
            .collect::<Result<_, _>>()
            .map(TrustedSigners)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The trusted signer that is `sealer`, or an error naming the envelope, the sealer and every
    /// trusted key.
    pub fn check(&self, path: &Path, sealer: &SignerKey) -> Result<&TrustedSigner, EnvelopeError> {
        self.0.iter().find(|t| t.key == *sealer).ok_or_else(|| {
            let expected = match self.0.as_slice() {
                [one] => format!("the expected signer {}", one.describe()),
                many => format!(
                    "any of the {} trusted signers ({})",
                    many.len(),
                    many.iter()
                        .map(TrustedSigner::describe)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            EnvelopeError::UntrustedSigner {
                path: path.to_owned(),
                found: sealer.describe(),
                expected,
            }
        })
    }
}

/// A recipient the file key is wrapped for.
pub type BoxedRecipient = Box<dyn age::Recipient + Send + Sync>;
/// An identity that may unwrap the file key.
pub type BoxedIdentity = Box<dyn age::Identity + Send + Sync>;

/// Parses a recipient (`-r`): `age1…` (X25519, post-quantum, or a plugin's `age1<name>1…`) or an
/// SSH public key line, or a recipients file of such lines (see [`read_recipients_file`]).
pub fn parse_recipients(arg: &str) -> Result<Vec<BoxedRecipient>, EnvelopeError> {
    if let Some(r) = parse_recipient(arg) {
        return Ok(vec![r]);
    }
    if let Some(e) = pq_recipient_error(arg) {
        return Err(keys_err(e));
    }
    if let Some(r) = parse_plugin_recipient(arg) {
        return r.map(|r| vec![r]);
    }
    if arg == STDIN {
        return read_recipients_file(Path::new(arg));
    }
    let path = Path::new(arg);
    if let Err(e) = std::fs::metadata(path) {
        return Err(keys_err(format!(
            "recipient `{arg}`: not an age1… or SSH public key, nor a readable recipients file ({e})"
        )));
    }
    read_recipients_file(path)
}

/// Reads a recipients file (`-R`, as age reads one; `-`: standard input): one recipient per line,
/// `#` comments and blank lines skipped. A line that is no recipient is refused with its number.
pub fn read_recipients_file(path: &Path) -> Result<Vec<BoxedRecipient>, EnvelopeError> {
    let text = read_key_text(path, "recipients file")?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |why: String| keys_err(format!("{}:{}: {why}", shown(path), i + 1));
        if let Some(r) = parse_recipient(line) {
            out.push(r);
        } else if let Some(r) = parse_plugin_recipient(line) {
            out.push(r.map_err(|e| at(e.to_string()))?);
        } else {
            let why = pq_recipient_error(line).unwrap_or_else(|| {
                "not an age1… (X25519, post-quantum or plugin) or SSH public key".into()
            });
            return Err(at(why));
        }
    }
    if out.is_empty() {
        return Err(keys_err(format!(
            "{}: no recipients in the file",
            shown(path)
        )));
    }
    Ok(out)
}

/// A plugin recipient (`age1<name>1…`), wrapped by `age-plugin-<name>` from PATH; None for
/// other text. Tried after every native type (`age1pq1…` is ours, not a plugin `pq`'s).
fn parse_plugin_recipient(s: &str) -> Option<Result<BoxedRecipient, EnvelopeError>> {
    let r = age::plugin::Recipient::from_str(s.trim()).ok()?;
    let name = r.plugin().to_owned();
    Some(
        age::plugin::RecipientPluginV1::new(&name, &[r], &[], TerminalCallbacks)
            .map(|p| Box::new(p) as BoxedRecipient)
            .map_err(|_| missing_plugin(&name, "recipient")),
    )
}

/// The error for a plugin whose binary is not on PATH.
fn missing_plugin(name: &str, what: &str) -> EnvelopeError {
    let path = std::env::var("PATH").unwrap_or_default();
    keys_err(format!(
        "the {what} needs the age plugin binary `age-plugin-{name}`, which is not on PATH ({path}): install the plugin, or add its directory to PATH"
    ))
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

/// Reads identities from an age identity file (`AGE-SECRET-KEY-1…`, `AGE-SECRET-KEY-PQ-1…` and
/// plugin `AGE-PLUGIN-<NAME>-1…` lines) or an unencrypted SSH private key; `-`: standard input.
pub fn read_identities(path: &Path) -> Result<Vec<BoxedIdentity>, EnvelopeError> {
    let bytes = read_key_bytes(path, "identity file")?;
    read_identities_named(&bytes, Path::new(&shown(path)))
}

/// Reads every identity file (`-i`, repeatable): all their identities are tried in turn.
pub fn read_identity_files(
    paths: &[std::path::PathBuf],
) -> Result<Vec<BoxedIdentity>, EnvelopeError> {
    let mut out = Vec::new();
    for p in paths {
        out.extend(read_identities(p)?);
    }
    Ok(out)
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
    if let Some(ids) = age_identity_lines(bytes, path)? {
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

/// The identities of an age identity file: X25519 (`AGE-SECRET-KEY-1…`) and plugin
/// (`AGE-PLUGIN-<NAME>-1…`) lines, `#` comments and blank lines. None when the text is not an
/// age identity file at all (an SSH key, say); an error naming the line number (never the line:
/// it is a secret) when one line of an identity file is not an identity. A plugin's identities
/// go to one `age-plugin-<name>` process, which must be on PATH.
fn age_identity_lines(
    bytes: &[u8],
    path: &Path,
) -> Result<Option<Vec<BoxedIdentity>>, EnvelopeError> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Ok(None);
    };
    if openssh::is_private_key(text) {
        return Ok(None);
    }
    let mut out: Vec<BoxedIdentity> = Vec::new();
    let mut plugins: Vec<(String, Vec<age::plugin::Identity>)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Ok(id) = age::x25519::Identity::from_str(line) {
            out.push(Box::new(id));
        } else if let Ok(id) = age::plugin::Identity::from_str(line) {
            let name = id.plugin().to_owned();
            match plugins.iter_mut().find(|(n, _)| *n == name) {
                Some((_, ids)) => ids.push(id),
                None => plugins.push((name, vec![id])),
            }
        } else if out.is_empty() && plugins.is_empty() {
            // Not an identity file: the caller tries an SSH key next.
            return Ok(None);
        } else {
            return Err(keys_err(format!(
                "{}:{}: not an age identity (AGE-SECRET-KEY-1… or AGE-PLUGIN-…-1…)",
                path.display(),
                i + 1
            )));
        }
    }
    for (name, ids) in plugins {
        let plugin =
            age::plugin::IdentityPluginV1::new(&name, &ids, TerminalCallbacks).map_err(|_| {
                let e = missing_plugin(&name, "identity");
                keys_err(format!("{}: {e}", path.display()))
            })?;
        out.push(Box::new(plugin));
    }
    Ok((!out.is_empty()).then_some(out))
}

/// A key file's bytes (`-`: standard input): at most [`MAX_KEY_FILE_BYTES`], from a regular file
/// (see [`read::read_small_file`]) or the pipe.
fn read_key_bytes(path: &Path, what: &'static str) -> Result<Vec<u8>, EnvelopeError> {
    if path.as_os_str() == STDIN {
        use std::io::Read;
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_KEY_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| keys_err(format!("standard input ({what}): {e}")))?;
        if bytes.len() as u64 > MAX_KEY_FILE_BYTES {
            return Err(keys_err(format!(
                "standard input ({what}): more than {MAX_KEY_FILE_BYTES} bytes: not a key file"
            )));
        }
        return Ok(bytes);
    }
    read::read_small_file(path, what, MAX_KEY_FILE_BYTES).map_err(|e| keys_err(e.to_string()))
}

/// A key file's text (see [`read_key_bytes`]): it must be UTF-8.
fn read_key_text(path: &Path, what: &'static str) -> Result<String, EnvelopeError> {
    String::from_utf8(read_key_bytes(path, what)?)
        .map_err(|_| keys_err(format!("{}: the {what} is not UTF-8 text", shown(path))))
}

/// Refuses a command line that names standard input (`-`) for more than one key input: it can
/// be read only once. `uses` pairs each flag with whether it was given `-`.
pub fn stdin_at_most_once<'a>(
    uses: impl IntoIterator<Item = (&'a str, bool)>,
) -> Result<(), EnvelopeError> {
    let flags: Vec<&str> = uses.into_iter().filter(|u| u.1).map(|u| u.0).collect();
    if flags.len() > 1 {
        return Err(keys_err(format!(
            "standard input (`-`) is named by {}: it can be read only once; put the other keys in files",
            flags.join(" and ")
        )));
    }
    Ok(())
}

/// How a key file is named in messages: `-` is standard input.
fn shown(path: &Path) -> String {
    if path.as_os_str() == STDIN {
        "(standard input)".to_owned()
    } else {
        path.display().to_string()
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
