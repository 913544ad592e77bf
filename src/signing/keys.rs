//! EC P-256 keys in PEM, as `model_signing sign key` takes them: the private key in the SEC1 form
//! `openssl ecparam -genkey -name prime256v1` writes (`EC PRIVATE KEY`, possibly after an
//! `EC PARAMETERS` block) or in PKCS#8 (`PRIVATE KEY`, `openssl pkcs8 -topk8 -nocrypt`), and the
//! public key as a SubjectPublicKeyInfo (`PUBLIC KEY`, `openssl ec -pubout`).
//!
//! Both private forms are parsed here down to the private scalar and the public point, which
//! `ring` takes as they are (`EcdsaKeyPair::from_private_key_and_public_key` checks the pair):
//! no second key parser, and no dependency beyond `ring`. Only P-256 is accepted; any other curve
//! or algorithm is refused by name.

use super::der::{self, Reader, oids};
use super::pem;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, UnparsedPublicKey};

/// Largest key file read (a PEM key is a few hundred bytes).
pub const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

/// A P-256 public key: its uncompressed point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    point: [u8; 65],
}

/// A P-256 private key, ready to sign (ECDSA over SHA-256, DER signatures).
#[derive(Debug)]
pub struct PrivateKey {
    pair: EcdsaKeyPair,
    public: PublicKey,
}

impl PublicKey {
    /// Parses the first key block of a PEM public key file.
    pub fn from_pem(text: &str) -> Result<PublicKey, String> {
        let blocks = pem::parse(text)?;
        for b in &blocks {
            match b.label.as_str() {
                "PUBLIC KEY" => return PublicKey::from_spki(&b.der),
                "EC PRIVATE KEY" | "PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" => {
                    return Err("this is a private key; give the public key \
                         (`openssl ec -in KEY -pubout -out KEY.pub`)"
                        .into());
                }
                "CERTIFICATE" => {
                    return Err(
                        "this is a certificate; weightguard verifies bundles signed \
                         with a bare key (`model_signing sign key`): give the public key"
                            .into(),
                    );
                }
                "RSA PUBLIC KEY" => {
                    return Err("an RSA key; model signing keys are EC P-256".into());
                }
                _ => {}
            }
        }
        Err(no_key_block(&blocks, "PUBLIC KEY"))
    }

    /// A DER SubjectPublicKeyInfo: `SEQUENCE { SEQUENCE { id-ecPublicKey, curve }, BIT STRING }`.
    pub fn from_spki(der: &[u8]) -> Result<PublicKey, String> {
        let mut outer = Reader::new(der);
        let mut spki = Reader::new(outer.expect(der::SEQUENCE, "SubjectPublicKeyInfo")?);
        let mut algorithm = Reader::new(spki.expect(der::SEQUENCE, "algorithm")?);
        let alg = algorithm.expect(der::OID, "algorithm")?;
        check_ec(alg)?;
        let curve = algorithm.expect(der::OID, "the curve")?;
        check_p256(curve)?;
        let bits = der::bit_string_bytes(spki.expect(der::BIT_STRING, "the public key")?)?;
        if !outer.is_empty() || !spki.is_empty() {
            return Err("bytes after the SubjectPublicKeyInfo".into());
        }
        Ok(PublicKey {
            point: point(bits)?,
        })
    }

    /// The SubjectPublicKeyInfo in PEM, as Python's `cryptography` writes it.
    pub fn spki_pem(&self) -> String {
        pem::encode("PUBLIC KEY", &der::p256_spki(&self.point))
    }

    /// The key's hint in a `model_signing` bundle: SHA-256 (hex) of [`Self::spki_pem`].
    pub fn hint(&self) -> String {
        hex(ring::digest::digest(&ring::digest::SHA256, self.spki_pem().as_bytes()).as_ref())
    }

    /// Whether `sig` (DER ECDSA) signs `message` under this key.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, &self.point)
            .verify(message, sig)
            .is_ok()
    }
}

impl PrivateKey {
    /// Parses a PEM private key file: SEC1 (`EC PRIVATE KEY`, with or without an
    /// `EC PARAMETERS` block before it) or PKCS#8 (`PRIVATE KEY`).
    pub fn from_pem(text: &str) -> Result<PrivateKey, String> {
        let blocks = pem::parse(text)?;
        // `openssl ecparam -genkey` writes the named curve in its own block first.
        let mut named_curve: Option<Vec<u8>> = None;
        for b in &blocks {
            if b.encrypted || b.label == "ENCRYPTED PRIVATE KEY" {
                return Err("the key is encrypted; weightguard reads unencrypted keys \
                     (`openssl pkcs8 -topk8 -nocrypt -in KEY -out PLAIN`), keep the file 0600"
                    .into());
            }
            match b.label.as_str() {
                "EC PARAMETERS" => {
                    let mut r = Reader::new(&b.der);
                    named_curve = Some(r.expect(der::OID, "EC PARAMETERS")?.to_vec());
                }
                "EC PRIVATE KEY" => return PrivateKey::from_sec1(&b.der, named_curve.as_deref()),
                "PRIVATE KEY" => return PrivateKey::from_pkcs8(&b.der),
                "PUBLIC KEY" => {
                    return Err("this is a public key; --key takes the private key".into());
                }
                "OPENSSH PRIVATE KEY" => {
                    return Err("an OpenSSH key; model signing keys are EC P-256 in PEM \
                         (`openssl ecparam -genkey -name prime256v1 -out KEY`)"
                        .into());
                }
                "RSA PRIVATE KEY" => {
                    return Err("an RSA key; model signing keys are EC P-256".into());
                }
                _ => {}
            }
        }
        Err(no_key_block(&blocks, "EC PRIVATE KEY or PRIVATE KEY"))
    }

    /// PKCS#8: `SEQUENCE { version, SEQUENCE { id-ecPublicKey, curve }, OCTET STRING { SEC1 } … }`.
    fn from_pkcs8(der: &[u8]) -> Result<PrivateKey, String> {
        let mut outer = Reader::new(der);
        let mut info = Reader::new(outer.expect(der::SEQUENCE, "PrivateKeyInfo")?);
        let version = info.expect(der::INTEGER, "version")?;
        if version != [0] && version != [1] {
            return Err("an unknown PKCS#8 version".into());
        }
        let mut algorithm = Reader::new(info.expect(der::SEQUENCE, "algorithm")?);
        check_ec(algorithm.expect(der::OID, "algorithm")?)?;
        let curve = algorithm.expect(der::OID, "the curve")?;
        let sec1 = info.expect(der::OCTET_STRING, "the private key")?;
        if !outer.is_empty() {
            return Err("bytes after the private key".into());
        }
        PrivateKey::from_sec1(sec1, Some(curve))
    }

    /// SEC1 ECPrivateKey: `SEQUENCE { 1, OCTET STRING d, [0] curve OPTIONAL, [1] point OPTIONAL }`.
    /// The curve may come from outside (PKCS#8, an `EC PARAMETERS` block); every place that names
    /// it must agree.
    fn from_sec1(der: &[u8], outside_curve: Option<&[u8]>) -> Result<PrivateKey, String> {
        let mut outer = Reader::new(der);
        let mut key = Reader::new(outer.expect(der::SEQUENCE, "ECPrivateKey")?);
        if key.expect(der::INTEGER, "version")? != [1] {
            return Err("an ECPrivateKey whose version is not 1".into());
        }
        let scalar = key.expect(der::OCTET_STRING, "the private key")?;
        let inner_curve = match key.optional(der::CONTEXT_0)? {
            Some(params) => Some(Reader::new(params).expect(der::OID, "the curve")?),
            None => None,
        };
        let public = match key.optional(der::CONTEXT_1)? {
            Some(p) => Some(der::bit_string_bytes(
                Reader::new(p).expect(der::BIT_STRING, "the public key")?,
            )?),
            None => None,
        };
        let curve = match (inner_curve, outside_curve) {
            (Some(a), Some(b)) if a != b => {
                return Err(format!(
                    "the key names two curves ({} and {})",
                    oids::name(a),
                    oids::name(b)
                ));
            }
            (Some(c), _) | (None, Some(c)) => c,
            (None, None) => return Err("the key does not name its curve".into()),
        };
        check_p256(curve)?;
        // P-256 scalars are 32 bytes; a writer that dropped leading zeros is padded back.
        if scalar.is_empty() || scalar.len() > 32 {
            return Err(format!(
                "a private key of {} bytes (P-256 keys have 32)",
                scalar.len()
            ));
        }
        let mut d = [0u8; 32];
        d[32 - scalar.len()..].copy_from_slice(scalar);
        let Some(public) = public else {
            return Err(
                "the key file does not carry its public key, which weightguard needs \
                 (`openssl ec -in KEY -out KEY2` writes it)"
                    .into(),
            );
        };
        let point = point(public)?;
        let pair = EcdsaKeyPair::from_private_key_and_public_key(
            &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            &d,
            &point,
            &SystemRandom::new(),
        )
        .map_err(|e| format!("not a valid P-256 key pair ({e})"))?;
        Ok(PrivateKey {
            public: PublicKey { point },
            pair,
        })
    }

    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// ECDSA P-256 over SHA-256 of `message`, DER-encoded (what `model_signing` writes).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        debug_assert_eq!(self.pair.public_key().as_ref(), &self.public.point[..]);
        self.pair
            .sign(&SystemRandom::new(), message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| "ECDSA signing failed".to_string())
    }
}

fn check_ec(alg: &[u8]) -> Result<(), String> {
    if alg == oids::EC_PUBLIC_KEY {
        Ok(())
    } else {
        Err(format!(
            "{} key; model signing keys are EC P-256",
            article(&oids::name(alg))
        ))
    }
}

fn check_p256(curve: &[u8]) -> Result<(), String> {
    if curve == oids::P256 {
        Ok(())
    } else {
        Err(format!(
            "{} key; weightguard signs and verifies with P-256 keys only \
             (`openssl ecparam -genkey -name prime256v1`)",
            article(&oids::name(curve))
        ))
    }
}

fn article(name: &str) -> String {
    if name.starts_with("an ") {
        name.to_owned()
    } else if name.starts_with(['R', 'E']) {
        format!("an {name}")
    } else {
        format!("a {name}")
    }
}

/// An uncompressed P-256 point (`04 ‖ X ‖ Y`).
fn point(bytes: &[u8]) -> Result<[u8; 65], String> {
    match bytes.first() {
        Some(4) if bytes.len() == 65 => {
            let mut p = [0u8; 65];
            p.copy_from_slice(bytes);
            Ok(p)
        }
        Some(2 | 3) => Err("a compressed public point; export it uncompressed \
             (`openssl ec -pubin -in KEY.pub -conv_form uncompressed -pubout`)"
            .into()),
        _ => Err(format!(
            "a public point of {} bytes (a P-256 point has 65)",
            bytes.len()
        )),
    }
}

fn no_key_block(blocks: &[pem::Block], wanted: &str) -> String {
    if blocks.is_empty() {
        "not a PEM file (no -----BEGIN line)".into()
    } else {
        let labels: Vec<&str> = blocks.iter().map(|b| b.label.as_str()).collect();
        format!("no {wanted} block (found {})", labels.join(", "))
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
