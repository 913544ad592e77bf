//! Times the primitives seal and open are made of, one core each, for `benches/seal-vs-age.sh`'s
//! limit: ChaCha20-Poly1305 (ring, in place, in 64 KiB chunks as the STREAM uses it), BLAKE3
//! (one thread), and a memory copy (what reading into, or writing out of, a batch costs). Prints
//! `name bytes_per_second`, one per line. The buffers are allocated and touched once, outside
//! the timings.
//!
//!   cargo run --release --example primitives [MiB]

use std::time::Instant;

/// Bytes per second of the best of three runs of `f` over `bytes` bytes (after one warm-up).
fn rate(bytes: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    bytes as f64 / best
}

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(256);
    let len = mib << 20;
    let data: Vec<u8> = (0..len)
        .map(|i| ((i * 2654435761usize) >> 13) as u8)
        .collect();
    let mut buf = data.clone();
    let key = ring::aead::LessSafeKey::new(
        ring::aead::UnboundKey::new(&ring::aead::CHACHA20_POLY1305, &[7u8; 32]).unwrap(),
    );
    let chacha = rate(len, || {
        for (i, chunk) in buf.chunks_mut(64 << 10).enumerate() {
            let mut nonce = [0u8; 12];
            nonce[..8].copy_from_slice(&(i as u64).to_be_bytes());
            let n = ring::aead::Nonce::assume_unique_for_key(nonce);
            let _ = key
                .seal_in_place_separate_tag(n, ring::aead::Aad::empty(), chunk)
                .unwrap();
        }
        std::hint::black_box(&buf);
    });
    let blake3 = rate(len, || {
        std::hint::black_box(blake3::hash(&data));
    });
    let copy = rate(len, || {
        buf.copy_from_slice(&data);
        std::hint::black_box(&buf);
    });
    println!("chacha20poly1305 {chacha:.0}");
    println!("blake3 {blake3:.0}");
    println!("memcpy {copy:.0}");
}
