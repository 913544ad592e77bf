//! MLKEM768-X25519 (X-Wing), the hybrid KEM of draft-ietf-hpke-pq-03 (as filippo.io/hpke-pq
//! implements it), written as an [`hpke::Kem`] so that RFC 9180's audited key schedule and AEAD
//! in the `hpke` crate do the rest of HPKE.
//!
//! The construction, all of it from the draft:
//! - a private key is a 32-byte seed; SHAKE256(seed) gives 64 bytes, the ML-KEM-768 seed
//!   `d ‖ z` (FIPS 203 `ML-KEM.KeyGen_internal`), then 32 bytes, the X25519 scalar;
//! - a public key is the ML-KEM-768 encapsulation key (1,184 bytes) ‖ the X25519 public key
//!   (32): 1,216 bytes;
//! - the encapsulated key `enc` is the ML-KEM-768 ciphertext (1,088 bytes) ‖ an ephemeral X25519
//!   public key (32): 1,120 bytes;
//! - the shared secret is SHA3-256(ss_ML-KEM ‖ ss_X25519 ‖ ct_X25519 ‖ pk_X25519 ‖ label), label
//!   the six bytes `\./` `/^\`; an all-zero X25519 result (a low-order point) is refused;
//! - the KEM id is 0x647a.
//!
//! Building blocks, each already in the tree through the `age` crate (which uses the same ones
//! for its own hybrid `mlkem768p256tag` recipients), so no new code is trusted:
//! - `ml-kem` (RustCrypto): ML-KEM-768 with deterministic key generation from `d ‖ z`, and
//!   implicit rejection on decapsulation; its `zeroize` feature wipes decapsulation keys;
//! - `x25519-dalek` (dalek-cryptography, audited with curve25519-dalek): X25519 as RFC 7748;
//! - `sha3` (RustCrypto): SHAKE256 and SHA3-256;
//! - `hpke` (rust-hpke, audited by NCC Group): the RFC 9180 key schedule, HKDF-SHA256 and
//!   ChaCha20-Poly1305, generic over the KEM.

use age_core::secrecy::zeroize::Zeroize;
use hpke::generic_array::typenum::{self, U32, Unsigned};
use hpke::kem::SharedSecret;
use hpke::rand_core::{CryptoRng, RngCore};
use hpke::{Deserializable, HpkeError, Serializable};
use ml_kem::kem::{Decapsulate, Encapsulate};
use ml_kem::{EncodedSizeUser, KemCore, MlKem768};
use sha3::digest::{ExtendableOutput, FixedOutput, Update, XofReader};
use sha3::{Sha3_256, Shake256};
use x25519_dalek::{EphemeralSecret, PublicKey as X25519PublicKey, StaticSecret};

/// The combiner's domain separator: `\./` `/^\` (X-Wing's label).
const LABEL: &[u8] = b"\\.//^\\";

type PqEncapsulationKey = <MlKem768 as KemCore>::EncapsulationKey;
type PqDecapsulationKey = <MlKem768 as KemCore>::DecapsulationKey;
type PqCiphertextSize = <MlKem768 as KemCore>::CiphertextSize;
type PqEncapsulationKeySize = <PqEncapsulationKey as EncodedSizeUser>::EncodedSize;

/// Bytes of a private key (the seed).
pub const SEED_LEN: usize = 32;
/// Bytes of a public key.
pub const PUBLIC_KEY_LEN: usize = PqEncapsulationKeySize::USIZE + 32;
/// Bytes of the encapsulated key `enc`.
pub const ENC_LEN: usize = PqCiphertextSize::USIZE + 32;

/// The KEM, for `hpke::single_shot_seal` / `single_shot_open`.
pub struct MlKem768X25519;

/// A private key: the seed, and the two keys expanded from it.
#[derive(Clone)]
pub struct PrivateKey {
    seed: [u8; SEED_LEN],
    pq: PqDecapsulationKey,
    t: StaticSecret,
    t_public: X25519PublicKey,
}

impl PrivateKey {
    /// Expands a seed into the ML-KEM-768 and X25519 keys.
    pub fn from_seed(seed: [u8; SEED_LEN]) -> PrivateKey {
        let mut xof = Shake256::default().chain(seed).finalize_xof();
        let mut d = [0u8; 32];
        let mut z = [0u8; 32];
        let mut t = [0u8; 32];
        xof.read(&mut d);
        xof.read(&mut z);
        xof.read(&mut t);
        let (pq, _) = MlKem768::generate_deterministic(&d.into(), &z.into());
        // Every 32 bytes are an X25519 scalar (clamped when used): no rejection sampling.
        let t = StaticSecret::from(t);
        let t_public = X25519PublicKey::from(&t);
        d.zeroize();
        z.zeroize();
        PrivateKey {
            seed,
            pq,
            t,
            t_public,
        }
    }

    pub fn seed(&self) -> &[u8; SEED_LEN] {
        &self.seed
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            pq: self.pq.encapsulation_key().clone(),
            t: self.t_public,
        }
    }
}

impl Drop for PrivateKey {
    fn drop(&mut self) {
        // The X25519 secret and (with `ml-kem`'s `zeroize` feature) the ML-KEM decapsulation
        // key zeroize themselves; the seed is ours.
        self.seed.zeroize();
    }
}

impl PartialEq for PrivateKey {
    fn eq(&self, other: &PrivateKey) -> bool {
        // Constant time: the seeds are secret.
        self.seed
            .iter()
            .zip(other.seed.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}
impl Eq for PrivateKey {}

impl Serializable for PrivateKey {
    type OutputSize = U32;
    fn write_exact(&self, buf: &mut [u8]) {
        buf.copy_from_slice(&self.seed);
    }
}

impl Deserializable for PrivateKey {
    fn from_bytes(encoded: &[u8]) -> Result<PrivateKey, HpkeError> {
        let seed = <[u8; SEED_LEN]>::try_from(encoded)
            .map_err(|_| HpkeError::IncorrectInputLength(SEED_LEN, encoded.len()))?;
        Ok(PrivateKey::from_seed(seed))
    }
}

/// A public key: the ML-KEM-768 encapsulation key and the X25519 public key.
#[derive(Clone, Debug, PartialEq)]
pub struct PublicKey {
    pq: PqEncapsulationKey,
    t: X25519PublicKey,
}
// `ml-kem` derives only PartialEq; equality of public bytes is an equivalence.
impl Eq for PublicKey {}

impl Serializable for PublicKey {
    type OutputSize = typenum::Sum<PqEncapsulationKeySize, U32>;
    fn write_exact(&self, buf: &mut [u8]) {
        let (pq, t) = buf.split_at_mut(PqEncapsulationKeySize::USIZE);
        pq.copy_from_slice(&self.pq.as_bytes());
        t.copy_from_slice(self.t.as_bytes());
    }
}

impl Deserializable for PublicKey {
    /// Refuses a wrong length, and an ML-KEM encapsulation key that is not canonical: FIPS 203
    /// §7.2's modulus check (every coefficient below q, so that decoding and encoding again give
    /// the same bytes), which the `ml-kem` crate's decoder does not make.
    fn from_bytes(encoded: &[u8]) -> Result<PublicKey, HpkeError> {
        if encoded.len() != PUBLIC_KEY_LEN {
            return Err(HpkeError::IncorrectInputLength(
                PUBLIC_KEY_LEN,
                encoded.len(),
            ));
        }
        let (pq_bytes, t_bytes) = encoded.split_at(PqEncapsulationKeySize::USIZE);
        let pq_array = ml_kem::Encoded::<PqEncapsulationKey>::try_from(pq_bytes)
            .map_err(|_| HpkeError::ValidationError)?;
        let pq = PqEncapsulationKey::from_bytes(&pq_array);
        if pq.as_bytes().as_slice() != pq_bytes {
            return Err(HpkeError::ValidationError);
        }
        let t: [u8; 32] = t_bytes.try_into().map_err(|_| HpkeError::ValidationError)?;
        Ok(PublicKey {
            pq,
            t: X25519PublicKey::from(t),
        })
    }
}

/// The encapsulated key `enc`: an ML-KEM-768 ciphertext and an ephemeral X25519 public key.
#[derive(Clone)]
pub struct EncappedKey {
    pq: ml_kem::Ciphertext<MlKem768>,
    t: [u8; 32],
}

impl Serializable for EncappedKey {
    type OutputSize = typenum::Sum<PqCiphertextSize, U32>;
    fn write_exact(&self, buf: &mut [u8]) {
        let (pq, t) = buf.split_at_mut(PqCiphertextSize::USIZE);
        pq.copy_from_slice(&self.pq);
        t.copy_from_slice(&self.t);
    }
}

impl Deserializable for EncappedKey {
    /// Any 1,120 bytes: ML-KEM ciphertexts are not validated (implicit rejection), and X25519
    /// takes any 32 bytes as a u-coordinate.
    fn from_bytes(encoded: &[u8]) -> Result<EncappedKey, HpkeError> {
        if encoded.len() != ENC_LEN {
            return Err(HpkeError::IncorrectInputLength(ENC_LEN, encoded.len()));
        }
        let (pq, t) = encoded.split_at(PqCiphertextSize::USIZE);
        Ok(EncappedKey {
            pq: ml_kem::Ciphertext::<MlKem768>::try_from(pq)
                .map_err(|_| HpkeError::ValidationError)?,
            t: t.try_into().map_err(|_| HpkeError::ValidationError)?,
        })
    }
}

/// SHA3-256(ss_PQ ‖ ss_T ‖ ct_T ‖ pk_T ‖ label).
fn combine(ss_pq: &[u8], ss_t: &[u8], ct_t: &[u8], pk_t: &[u8]) -> SharedSecret<MlKem768X25519> {
    let digest = Sha3_256::default()
        .chain(ss_pq)
        .chain(ss_t)
        .chain(ct_t)
        .chain(pk_t)
        .chain(LABEL)
        .finalize_fixed();
    let mut ss = SharedSecret::<MlKem768X25519>::default();
    ss.0.copy_from_slice(&digest);
    ss
}

impl hpke::Kem for MlKem768X25519 {
    type PublicKey = PublicKey;
    type PrivateKey = PrivateKey;
    type EncappedKey = EncappedKey;
    type NSecret = U32;
    const KEM_ID: u16 = 0x647a;

    fn sk_to_pk(sk: &PrivateKey) -> PublicKey {
        sk.public_key()
    }

    /// The draft's DeriveKeyPair: the seed is SHAKE256's LabeledDerive(ikm, "DeriveKeyPair",
    /// "", 32). (age identities are random seeds; weightguard never derives one from an ikm.)
    fn derive_keypair(ikm: &[u8]) -> (PrivateKey, PublicKey) {
        let label = b"DeriveKeyPair";
        let mut seed = [0u8; SEED_LEN];
        Shake256::default()
            .chain(ikm)
            .chain(b"HPKE-v1")
            .chain(b"KEM")
            .chain(Self::KEM_ID.to_be_bytes())
            .chain((label.len() as u16).to_be_bytes())
            .chain(label)
            .chain((SEED_LEN as u16).to_be_bytes())
            .finalize_xof_into(&mut seed);
        let sk = PrivateKey::from_seed(seed);
        seed.zeroize();
        let pk = sk.public_key();
        (sk, pk)
    }

    fn decap(
        sk: &PrivateKey,
        pk_sender_id: Option<&PublicKey>,
        enc: &EncappedKey,
    ) -> Result<SharedSecret<Self>, HpkeError> {
        // Base mode only: a hybrid KEM has no authenticated mode.
        if pk_sender_id.is_some() {
            return Err(HpkeError::DecapError);
        }
        let ss_pq = sk
            .pq
            .decapsulate(&enc.pq)
            .map_err(|()| HpkeError::DecapError)?;
        let ss_t = sk.t.diffie_hellman(&X25519PublicKey::from(enc.t));
        if !ss_t.was_contributory() {
            return Err(HpkeError::DecapError);
        }
        Ok(combine(
            &ss_pq,
            ss_t.as_bytes(),
            &enc.t,
            sk.t_public.as_bytes(),
        ))
    }

    fn encap<R: CryptoRng + RngCore>(
        pk: &PublicKey,
        sender_id_keypair: Option<(&PrivateKey, &PublicKey)>,
        csprng: &mut R,
    ) -> Result<(SharedSecret<Self>, EncappedKey), HpkeError> {
        if sender_id_keypair.is_some() {
            return Err(HpkeError::EncapError);
        }
        let (ct_pq, ss_pq) = pk
            .pq
            .encapsulate(csprng)
            .map_err(|()| HpkeError::EncapError)?;
        let ephemeral = EphemeralSecret::random_from_rng(&mut *csprng);
        let ct_t = X25519PublicKey::from(&ephemeral);
        let ss_t = ephemeral.diffie_hellman(&pk.t);
        // A low-order recipient point makes the X25519 share all zero: refused, as by decap.
        if !ss_t.was_contributory() {
            return Err(HpkeError::EncapError);
        }
        let ss = combine(&ss_pq, ss_t.as_bytes(), ct_t.as_bytes(), pk.t.as_bytes());
        Ok((
            ss,
            EncappedKey {
                pq: ct_pq,
                t: ct_t.to_bytes(),
            },
        ))
    }
}
