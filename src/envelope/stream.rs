//! The age payload: ChaCha20-Poly1305 over 64 KiB chunks, sealed and opened in parallel.
//!
//! Key = HKDF-SHA-256(file key, salt = 16-byte payload nonce, info = "payload"). Chunk i's nonce
//! is i as an 11-byte big-endian counter followed by 0x01 on the final chunk and 0x00 otherwise.
//! Chunks are independent, so batches are processed on all cores at once, one batch per thread
//! (the callers' worker threads: not rayon, whose idle workers spin in `sched_yield` and took
//! the cores the pipeline's reader and writer needed — issue 16 counted 128,000 such calls per
//! 2 GiB sealed); batches keep memory constant whatever the payload's size. Only complete
//! batches that authenticated are handed on (the caller still holds plaintext back until the
//! whole payload verified).

use super::header::hkdf_sha256;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, Tag, UnboundKey};

pub const CHUNK: usize = 64 * 1024;
pub const TAG_LEN: usize = 16;
pub const SEALED_CHUNK: usize = CHUNK + TAG_LEN;
/// Chunks per batch sealed: 8 MiB of plaintext.
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

/// Encrypts `buf` in place (whole chunks, except in the final batch) as chunks numbered from
/// `first`, returning each chunk's tag: the ciphertext is each chunk of `buf` followed by its tag,
/// which a vectored write emits without copying the batch again.
pub fn seal_batch_in_place(
    key: &PayloadKey,
    first: u64,
    buf: &mut [u8],
    last_batch: bool,
) -> Vec<[u8; TAG_LEN]> {
    let chunks = buf.len().div_ceil(CHUNK).max(usize::from(last_batch));
    let mut tags = vec![[0u8; TAG_LEN]; chunks];
    if buf.is_empty() {
        // The final chunk of an empty payload: an empty body and its tag.
        tags[0] = seal_chunk(key, first, &mut [], true);
        return tags;
    }
    for (i, (body, tag)) in buf.chunks_mut(CHUNK).zip(tags.iter_mut()).enumerate() {
        *tag = seal_chunk(key, first + i as u64, body, last_batch && i + 1 == chunks);
    }
    tags
}

fn seal_chunk(key: &PayloadKey, number: u64, body: &mut [u8], last: bool) -> [u8; TAG_LEN] {
    let t = key
        .0
        .seal_in_place_separate_tag(chunk_nonce(number, last), Aad::empty(), body)
        .expect("ChaCha20-Poly1305 sealing of at most 64 KiB cannot fail");
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(t.as_ref());
    out
}

/// Decrypts `sealed` in place (chunks numbered from `first`; the batch ends the payload if
/// `last_batch`): afterwards each sealed chunk's body holds its plaintext. On failure returns the
/// number of the first chunk that did not authenticate, and the buffer must be discarded.
pub fn open_batch_in_place(
    key: &PayloadKey,
    first: u64,
    sealed: &mut [u8],
    last_batch: bool,
) -> Result<(), u64> {
    let chunks = sealed.len().div_ceil(SEALED_CHUNK);
    let failed = sealed
        .chunks_mut(SEALED_CHUNK)
        .enumerate()
        .find_map(|(i, chunk)| {
            let number = first + i as u64;
            let last = last_batch && i + 1 == chunks;
            if chunk.len() < TAG_LEN
                || (!last && chunk.len() != SEALED_CHUNK)
                || (last && chunk.len() == TAG_LEN && number > 0)
            {
                return Some(number);
            }
            let (body, tag) = chunk.split_at_mut(chunk.len() - TAG_LEN);
            let Ok(tag) = Tag::try_from(&tag[..]) else {
                return Some(number);
            };
            key.0
                .open_in_place_separate_tag(chunk_nonce(number, last), Aad::empty(), tag, body, 0..)
                .err()
                .map(|_| number)
        });
    match failed {
        Some(n) => Err(n),
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
            let mut bodies = plain.clone();
            let tags = seal_batch_in_place(&key, 0, &mut bodies, true);
            let sealed: Vec<u8> = if bodies.is_empty() {
                tags[0].to_vec()
            } else {
                bodies
                    .chunks(CHUNK)
                    .zip(&tags)
                    .flat_map(|(c, t)| [c, &t[..]].concat())
                    .collect()
            };
            let mut opened = sealed.clone();
            open_batch_in_place(&key, 0, &mut opened, true).unwrap();
            let back: Vec<u8> = opened
                .chunks(SEALED_CHUNK)
                .flat_map(|c| c[..c.len() - TAG_LEN].to_vec())
                .collect();
            assert_eq!(back, plain, "{len}");
            let mut bad = sealed.clone();
            bad[sealed.len() / 2] ^= 1;
            assert!(open_batch_in_place(&key, 0, &mut bad, true).is_err());
            // a payload cut at a chunk boundary lacks its final chunk
            if sealed.len() > SEALED_CHUNK {
                let mut cut = sealed[..SEALED_CHUNK].to_vec();
                assert!(open_batch_in_place(&key, 0, &mut cut, true).is_err());
            }
        }
    }
}
