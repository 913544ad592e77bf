//! The age payload: ChaCha20-Poly1305 over 64 KiB chunks, sealed and opened in parallel.
//!
//! Key = HKDF-SHA-256(file key, salt = 16-byte payload nonce, info = "payload"). Chunk i's nonce
//! is i as an 11-byte big-endian counter followed by 0x01 on the final chunk and 0x00 otherwise.
//! Chunks are independent, so a batch of them is processed on all cores at once; batches keep
//! memory constant whatever the payload's size. Only complete batches that authenticated are
//! handed on (the caller still holds plaintext back until the whole payload verified).

use super::header::hkdf_sha256;
use rayon::prelude::*;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, Tag, UnboundKey};

pub const CHUNK: usize = 64 * 1024;
pub const TAG_LEN: usize = 16;
pub const SEALED_CHUNK: usize = CHUNK + TAG_LEN;
/// Chunks per batch: 8 MiB of plaintext, enough to keep every core busy.
pub const BATCH_CHUNKS: usize = 128;
pub const BATCH: usize = CHUNK * BATCH_CHUNKS;
pub const NONCE_LEN: usize = 16;

/// The payload key.
pub struct PayloadKey(LessSafeKey);

impl PayloadKey {
    pub fn derive(file_key: &[u8; 16], nonce: &[u8; NONCE_LEN]) -> PayloadKey {
        let key = hkdf_sha256(file_key, nonce, b"payload");
        // A 32-byte key is always accepted by ChaCha20-Poly1305.
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, &key).expect("32-byte key");
        PayloadKey(LessSafeKey::new(unbound))
    }
}

fn chunk_nonce(counter: u64, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::assume_unique_for_key(n)
}

/// Encrypts `plain` (whole chunks, except in the final batch) as chunks numbered from `first`,
/// appending the ciphertext to `out`.
pub fn seal_batch(key: &PayloadKey, first: u64, plain: &[u8], last_batch: bool, out: &mut Vec<u8>) {
    let chunks = plain.len().div_ceil(CHUNK).max(usize::from(last_batch));
    let start = out.len();
    out.resize(start + plain.len() + chunks * TAG_LEN, 0);
    let dst = &mut out[start..];
    dst.par_chunks_mut(SEALED_CHUNK)
        .enumerate()
        .for_each(|(i, sealed)| {
            let from = i * CHUNK;
            let src = &plain[from.min(plain.len())..(from + CHUNK).min(plain.len())];
            let (body, tag) = sealed.split_at_mut(src.len());
            body.copy_from_slice(src);
            let last = last_batch && i + 1 == chunks;
            let t = key
                .0
                .seal_in_place_separate_tag(chunk_nonce(first + i as u64, last), Aad::empty(), body)
                .expect("ChaCha20-Poly1305 sealing of at most 64 KiB cannot fail");
            tag.copy_from_slice(t.as_ref());
        });
}

/// Decrypts `sealed` (chunks numbered from `first`; the batch ends the payload if `last_batch`)
/// into `out`. On failure returns the number of the first chunk that did not authenticate, and
/// `out` must be discarded.
pub fn open_batch(
    key: &PayloadKey,
    first: u64,
    sealed: &[u8],
    last_batch: bool,
    out: &mut Vec<u8>,
) -> Result<(), u64> {
    let chunks = sealed.len().div_ceil(SEALED_CHUNK);
    out.clear();
    let plain_len: usize = sealed
        .chunks(SEALED_CHUNK)
        .map(|c| c.len().saturating_sub(TAG_LEN))
        .sum();
    out.resize(plain_len, 0);
    // One (possibly empty) output slice per chunk: an empty final chunk still has a tag to check.
    let mut slices: Vec<&mut [u8]> = Vec::with_capacity(chunks);
    let mut rest = &mut out[..];
    for c in sealed.chunks(SEALED_CHUNK) {
        let (a, b) = std::mem::take(&mut rest).split_at_mut(c.len().saturating_sub(TAG_LEN));
        slices.push(a);
        rest = b;
    }
    let failed = slices
        .into_par_iter()
        .zip(sealed.par_chunks(SEALED_CHUNK))
        .enumerate()
        .filter_map(|(i, (plain, chunk))| {
            let number = first + i as u64;
            let last = last_batch && i + 1 == chunks;
            // A chunk shorter than a tag, a short chunk that is not last, or an empty final
            // chunk after others: all malformed, all refused like a failed tag.
            if chunk.len() < TAG_LEN
                || (!last && chunk.len() != SEALED_CHUNK)
                || (last && chunk.len() == TAG_LEN && number > 0)
            {
                return Some(number);
            }
            let (body, tag) = chunk.split_at(chunk.len() - TAG_LEN);
            plain.copy_from_slice(body);
            let Ok(tag) = Tag::try_from(tag) else {
                return Some(number);
            };
            key.0
                .open_in_place_separate_tag(
                    chunk_nonce(number, last),
                    Aad::empty(),
                    tag,
                    plain,
                    0..,
                )
                .err()
                .map(|_| number)
        })
        .min();
    match failed {
        Some(n) => {
            out.clear();
            Err(n)
        }
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_across_batch_and_chunk_boundaries() {
        let key = PayloadKey::derive(&[1; 16], &[2; 16]);
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5] {
            let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut sealed = Vec::new();
            seal_batch(&key, 0, &plain, true, &mut sealed);
            let mut back = Vec::new();
            open_batch(&key, 0, &sealed, true, &mut back).unwrap();
            assert_eq!(back, plain, "{len}");
            if !sealed.is_empty() {
                let mut bad = sealed.clone();
                bad[sealed.len() / 2] ^= 1;
                assert!(open_batch(&key, 0, &bad, true, &mut back).is_err());
                // a payload cut at a chunk boundary lacks its final chunk
                if sealed.len() > SEALED_CHUNK {
                    assert!(open_batch(&key, 0, &sealed[..SEALED_CHUNK], true, &mut back).is_err());
                }
            }
        }
    }
}
