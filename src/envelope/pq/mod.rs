//! The age post-quantum hybrid recipient type `mlkem768x25519` (C2SP age spec, "The
//! MLKEM768-X25519 (i.e. X-Wing) hybrid post-quantum recipient type"; age v1.3), as
//! [`age::Recipient`] and [`age::Identity`]: the `age` crate 0.12 does not have it.
//!
//! - An identity is a random 32-byte seed, Bech32 with HRP `AGE-SECRET-KEY-PQ-` (upper case).
//! - Its recipient is the MLKEM768-X25519 public key (1,216 bytes), Bech32 with HRP `age1pq`.
//!   Both are longer than BIP 173's 90 characters; as the spec does, the length limit is not
//!   applied (`age_core::primitives::bech32_encode`/`bech32_decode`, which lift only that limit;
//!   case, checksum and HRP are checked as BIP 173 says).
//! - A stanza is `-> mlkem768x25519 <b64 enc>` with body the HPKE ciphertext of the 16-byte
//!   file key: HPKE SealBase (RFC 9180) with KEM MLKEM768-X25519 ([`kem`]), HKDF-SHA256,
//!   ChaCha20-Poly1305, `info = "age-encryption.org/mlkem768x25519"`, empty aad.
//! - Unwrapping ignores stanzas of other types (`None`), and refuses (`InvalidHeader`) a stanza
//!   of this type with other than one argument, an argument that is not the canonical unpadded
//!   base64 of 1,120 bytes, a body that is not exactly 32 bytes (checked before decrypting,
//!   against partitioning oracles), or an X25519 share that is a low-order point. A body that
//!   does not authenticate is not ours (`None`): ML-KEM's implicit rejection makes a wrong key
//!   look exactly like that.
//! - A recipient's stanzas carry the label `postquantum`: the age crate's rule, and weightguard's
//!   seal, refuse to combine them with recipients without it (X25519, SSH, plugins), which would
//!   give the file key away to a quantum adversary through the classic stanza.

pub mod kem;

use age::secrecy::{ExposeSecret, SecretString};
use age_core::format::{FILE_KEY_BYTES, FileKey, Stanza};
use age_core::primitives::{bech32_decode, bech32_encode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use bech32::Hrp;
use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::{Deserializable, HpkeError, OpModeR, OpModeS, Serializable};
use kem::MlKem768X25519;
use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

/// The stanza type.
pub const STANZA_TAG: &str = "mlkem768x25519";
/// The label of post-quantum recipients (age's convention, shared with Go age and typage).
pub const POSTQUANTUM_LABEL: &str = "postquantum";
/// How an identity line starts.
pub const IDENTITY_PREFIX: &str = "AGE-SECRET-KEY-PQ-1";
/// How a recipient starts.
pub const RECIPIENT_PREFIX: &str = "age1pq1";

const IDENTITY_HRP: Hrp = Hrp::parse_unchecked("AGE-SECRET-KEY-PQ-");
const RECIPIENT_HRP: Hrp = Hrp::parse_unchecked("age1pq");
const HPKE_INFO: &[u8] = b"age-encryption.org/mlkem768x25519";
/// ChaCha20-Poly1305's tag.
const TAG_LEN: usize = 16;
/// The longest text read as a recipient: `age1pq1`, 1,946 data characters, a 6-character
/// checksum. Anything longer is refused before decoding.
const MAX_RECIPIENT_CHARS: usize = 2048;

/// Why a recipient or identity string is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

/// Bech32 (without the length limit) of `hrp`, the data bytes.
fn decode(s: &str, hrp: Hrp, what: &str) -> Result<Vec<u8>, ParseError> {
    bech32_decode(
        s,
        |e| ParseError(format!("malformed {what}: {e}")),
        |found| {
            if found == hrp {
                Ok(())
            } else {
                Err(ParseError(format!(
                    "malformed {what}: not `{}`",
                    hrp.as_str()
                )))
            }
        },
        |_, bytes| Ok(bytes.collect()),
    )
}

/// A post-quantum hybrid recipient, `age1pq1…`.
#[derive(Clone)]
pub struct Recipient(kem::PublicKey);

impl FromStr for Recipient {
    type Err = ParseError;
    /// Refuses another HRP, a bad checksum, mixed case, a wrong length and a non-canonical
    /// ML-KEM key (FIPS 203's modulus check).
    fn from_str(s: &str) -> Result<Recipient, ParseError> {
        if s.len() > MAX_RECIPIENT_CHARS {
            return Err(ParseError(format!(
                "malformed post-quantum recipient: {} characters, more than {MAX_RECIPIENT_CHARS}",
                s.len()
            )));
        }
        let bytes = decode(s, RECIPIENT_HRP, "post-quantum recipient")?;
        kem::PublicKey::from_bytes(&bytes)
            .map(Recipient)
            .map_err(|e| {
                ParseError(match e {
                    HpkeError::IncorrectInputLength(want, got) => {
                        format!("malformed post-quantum recipient: {got} bytes, not {want}")
                    }
                    _ => "malformed post-quantum recipient: not a canonical ML-KEM-768 key".into(),
                })
            })
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bech32_encode(RECIPIENT_HRP, &self.0.to_bytes()))
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pq::Recipient({self})")
    }
}

impl age::Recipient for Recipient {
    fn wrap_file_key(
        &self,
        file_key: &FileKey,
    ) -> Result<(Vec<Stanza>, HashSet<String>), age::EncryptError> {
        let (enc, body) =
            hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, MlKem768X25519, _>(
                &OpModeS::Base,
                &self.0,
                HPKE_INFO,
                file_key.expose_secret(),
                &[],
                &mut rand::rngs::OsRng,
            )
            .map_err(|e| {
                age::EncryptError::Io(std::io::Error::other(format!(
                    "wrapping the file key for a post-quantum recipient: {e}"
                )))
            })?;
        let stanza = Stanza {
            tag: STANZA_TAG.into(),
            args: vec![STANDARD_NO_PAD.encode(enc.to_bytes())],
            body,
        };
        Ok((vec![stanza], HashSet::from([POSTQUANTUM_LABEL.to_owned()])))
    }
}

/// A post-quantum hybrid identity, `AGE-SECRET-KEY-PQ-1…`.
#[derive(Clone)]
pub struct Identity(kem::PrivateKey);

impl Identity {
    /// A new identity from the system's random source.
    pub fn generate() -> Identity {
        use hpke::rand_core::RngCore;
        let mut seed = [0u8; kem::SEED_LEN];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        let id = Identity(kem::PrivateKey::from_seed(seed));
        age_core::secrecy::zeroize::Zeroize::zeroize(&mut seed);
        id
    }

    pub fn to_public(&self) -> Recipient {
        Recipient(self.0.public_key())
    }

    /// The identity line (secret).
    pub fn to_string(&self) -> SecretString {
        SecretString::from(bech32_encode(IDENTITY_HRP, self.0.seed()).to_uppercase())
    }

    /// Unwraps one stanza as the spec says (see the module's doc).
    fn unwrap(&self, stanza: &Stanza) -> Option<Result<FileKey, age::DecryptError>> {
        if stanza.tag != STANZA_TAG {
            return None;
        }
        let invalid = || Some(Err(age::DecryptError::InvalidHeader));
        let [arg] = stanza.args.as_slice() else {
            return invalid();
        };
        // The canonical unpadded base64 of exactly ENC_LEN bytes: the engine refuses padding and
        // non-zero trailing bits, and a longer argument overflows the buffer.
        let mut enc = [0u8; kem::ENC_LEN];
        match STANDARD_NO_PAD.decode_slice(arg, &mut enc) {
            Ok(n) if n == kem::ENC_LEN => {}
            _ => return invalid(),
        }
        if stanza.body.len() != FILE_KEY_BYTES + TAG_LEN {
            return invalid();
        }
        let Ok(enc) = kem::EncappedKey::from_bytes(&enc) else {
            return invalid();
        };
        match hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, MlKem768X25519>(
            &OpModeR::Base,
            &self.0,
            &enc,
            HPKE_INFO,
            &stanza.body,
            &[],
        ) {
            Ok(mut plain) => {
                let key = FileKey::try_init_with_mut(|k| {
                    if plain.len() == k.len() {
                        k.copy_from_slice(&plain);
                        Ok(())
                    } else {
                        Err(age::DecryptError::InvalidHeader)
                    }
                });
                age_core::secrecy::zeroize::Zeroize::zeroize(&mut plain);
                Some(key)
            }
            // Not for this identity (or tampered, which looks the same).
            Err(HpkeError::OpenError) => None,
            // The X25519 share is a low-order point.
            Err(_) => invalid(),
        }
    }
}

impl FromStr for Identity {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Identity, ParseError> {
        // Short by construction: never echo the secret in an error.
        if s.len() > 128 {
            return Err(ParseError(
                "malformed post-quantum identity: too long".into(),
            ));
        }
        let bytes = decode(s, IDENTITY_HRP, "post-quantum identity")
            .map_err(|_| ParseError("malformed post-quantum identity (bad Bech32)".into()))?;
        let seed: [u8; kem::SEED_LEN] = bytes.as_slice().try_into().map_err(|_| {
            ParseError(format!(
                "malformed post-quantum identity: {} bytes, not {}",
                bytes.len(),
                kem::SEED_LEN
            ))
        })?;
        Ok(Identity(kem::PrivateKey::from_seed(seed)))
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pq::Identity({})", self.to_public())
    }
}

impl age::Identity for Identity {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, age::DecryptError>> {
        self.unwrap(stanza)
    }
}

/// Takes the post-quantum identity lines (`AGE-SECRET-KEY-PQ-1…`, which the `age` crate does not
/// know) out of the text of an identity file: the identities, and the text with each of those
/// lines left empty (so the other lines keep their numbers for the `age` crate's parser). A
/// malformed one is refused with its line number, never its text.
pub fn take_identities(text: &[u8]) -> Result<(Vec<Identity>, Vec<u8>), (usize, ParseError)> {
    let mut ids = Vec::new();
    let mut rest = Vec::with_capacity(text.len());
    for (i, line) in text.split_inclusive(|&b| b == b'\n').enumerate() {
        let body = line.trim_ascii();
        if !body.starts_with(IDENTITY_PREFIX.as_bytes()) {
            rest.extend_from_slice(line);
            continue;
        }
        let id = std::str::from_utf8(body)
            .map_err(|_| ParseError("malformed post-quantum identity: not ASCII".into()))
            .and_then(Identity::from_str)
            .map_err(|e| (i + 1, e))?;
        ids.push(id);
        if line.ends_with(b"\n") {
            rest.push(b'\n');
        }
    }
    Ok((ids, rest))
}

/// Whether a set of recipient labels is the post-quantum one.
pub fn is_postquantum(labels: &HashSet<String>) -> bool {
    labels.contains(POSTQUANTUM_LABEL)
}

/// The refusal when recipients with and without the post-quantum label are given together.
pub const MIXED_RECIPIENTS: &str = "post-quantum recipients (age1pq1…) cannot be combined with \
     classic ones (age1… X25519, SSH keys, plugins) in one envelope: the classic stanza would let \
     a quantum adversary recover the file key (age specification: a file encrypted to a hybrid \
     recipient should not also be encrypted to non-quantum-resistant recipients); seal to \
     post-quantum recipients only, or to classic ones only";

/// A new identity: (identity file text, recipient string).
pub fn generate_identity_file() -> (String, String) {
    let id = Identity::generate();
    let recipient = id.to_public().to_string();
    let secret = id.to_string();
    (
        format!(
            "# created by weightguard keygen --pq (post-quantum: ML-KEM-768 + X25519)\n# public key: {recipient}\n{}\n",
            secret.expose_secret()
        ),
        recipient,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::{Identity as _, Recipient as _};

    fn file_key() -> FileKey {
        FileKey::new(Box::new([7u8; 16]))
    }

    #[test]
    fn round_trip_through_strings_and_stanzas() {
        let id = Identity::generate();
        let id2: Identity = id.to_string().expose_secret().parse().unwrap();
        let r: Recipient = id.to_public().to_string().parse().unwrap();
        assert!(r.to_string().starts_with(RECIPIENT_PREFIX));
        assert_eq!(r.to_string(), id2.to_public().to_string());
        let (stanzas, labels) = r.wrap_file_key(&file_key()).unwrap();
        assert!(is_postquantum(&labels));
        assert_eq!(stanzas.len(), 1);
        assert_eq!(stanzas[0].tag, STANZA_TAG);
        let k = id2.unwrap_stanza(&stanzas[0]).unwrap().unwrap();
        assert_eq!(k.expose_secret(), &[7u8; 16]);
        assert!(Identity::generate().unwrap_stanza(&stanzas[0]).is_none());
    }

    #[test]
    fn malformed_stanzas_are_refused_and_others_ignored() {
        let id = Identity::generate();
        let (stanzas, _) = id.to_public().wrap_file_key(&file_key()).unwrap();
        let good = &stanzas[0];
        let with = |f: &dyn Fn(&mut Stanza)| {
            let mut s = Stanza {
                tag: good.tag.clone(),
                args: good.args.clone(),
                body: good.body.clone(),
            };
            f(&mut s);
            id.unwrap_stanza(&s)
        };
        let refused = |r: Option<Result<FileKey, age::DecryptError>>| {
            matches!(r, Some(Err(age::DecryptError::InvalidHeader)))
        };
        assert!(with(&|s| s.tag = "X25519".into()).is_none());
        assert!(with(&|s| s.tag = "MLKEM768X25519".into()).is_none());
        assert!(refused(with(&|s| s.args.push("x".into()))));
        assert!(refused(with(&|s| s.args.clear())));
        assert!(refused(with(&|s| s.args[0].push('A'))));
        assert!(refused(with(&|s| {
            s.args[0].pop();
        })));
        assert!(refused(with(&|s| s.args[0].push_str("=="))));
        assert!(refused(with(&|s| s.body.push(0))));
        assert!(refused(with(&|s| {
            s.body.pop();
        })));
        // A flipped body bit: not ours.
        assert!(with(&|s| s.body[0] ^= 1).is_none());
    }

    #[test]
    fn malformed_keys_are_refused() {
        let id = Identity::generate();
        let r = id.to_public().to_string();
        let mut flipped = r.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'q' { b'p' } else { b'q' };
        assert!(
            String::from_utf8(flipped)
                .unwrap()
                .parse::<Recipient>()
                .is_err()
        );
        assert!(r.to_uppercase().parse::<Recipient>().is_ok());
        assert!(
            age::x25519::Identity::generate()
                .to_public()
                .to_string()
                .parse::<Recipient>()
                .is_err()
        );
        // FIPS 203's modulus check: a first coefficient of 0xfff (above q = 3329).
        let mut key = id.to_public().0.to_bytes().to_vec();
        key[0] = 0xff;
        key[1] |= 0x0f;
        let e = bech32_encode(RECIPIENT_HRP, &key)
            .parse::<Recipient>()
            .unwrap_err();
        assert!(
            e.to_string().contains("not a canonical ML-KEM-768 key"),
            "{e}"
        );
        let e = bech32_encode(RECIPIENT_HRP, &[1u8; 32])
            .parse::<Recipient>()
            .unwrap_err();
        assert!(e.to_string().contains("32 bytes, not 1216"), "{e}");
        let secret = id.to_string();
        assert!(
            secret
                .expose_secret()
                .to_lowercase()
                .parse::<Identity>()
                .is_ok()
        );
        assert!(
            secret.expose_secret()[..secret.expose_secret().len() - 1]
                .parse::<Identity>()
                .is_err()
        );
    }
}
