//! Hostile-input smoke test: thousands of mutated GGUF, PyTorch zip, legacy and pickle files
//! (bytes flipped in the headers, truncations, lengths set to extremes) must each come back as a
//! value or an error, never a panic, quickly. A poor man's fuzzer that runs on every test run;
//! the seeds make failures reproducible.

mod common;
use common::*;
use std::path::Path;
use weightguard::artifact;

const TORCH_LIKE: &str = include_str!("common/torch_like.py");

const WRITE_GGUF: &str = r#"
import sys, numpy as np
from gguf import GGUFWriter, GGMLQuantizationType as Q, GGML_QUANT_SIZES
w = GGUFWriter(sys.argv[1], "llama")
w.add_block_count(2); w.add_token_list(["a", "b", "c"]); w.add_array("x", [[1, 2], [3]])
for name, t in [("a.weight", Q.F16), ("b.weight", Q.Q4_K), ("c.weight", Q.MXFP4)]:
    block, size = GGML_QUANT_SIZES[t]
    w.add_tensor(name, np.zeros((2, 256 // block * size), dtype=np.uint8), raw_dtype=t)
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
"#;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(base: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = base.to_vec();
    // Headers live at the start (GGUF, pickles) or the end (zip directory): aim there.
    let hot = |rng: &mut Rng, len: usize| {
        if rng.below(2) == 0 {
            rng.below(len.min(2048))
        } else {
            len - 1 - rng.below(len.min(2048))
        }
    };
    for _ in 0..1 + rng.below(4) {
        let at = hot(rng, b.len());
        match rng.below(4) {
            0 => b[at] = rng.next() as u8,
            1 => b[at] = 0xff,
            2 => {
                let end = (at + 8).min(b.len());
                for x in &mut b[at..end] {
                    *x = if rng.below(2) == 0 { 0xff } else { 0 };
                }
            }
            _ => b[at] ^= 1 << rng.below(8),
        }
    }
    if rng.below(8) == 0 {
        let keep = rng.below(b.len());
        b.truncate(keep.max(1));
    }
    b
}

fn hammer(name: &str, base: &[u8], dir: &Path, rounds: usize, seed: u64) {
    let mut rng = Rng(seed);
    let path = dir.join(name);
    for round in 0..rounds {
        let bytes = mutate(base, &mut rng);
        std::fs::write(&path, &bytes).unwrap();
        let result = std::panic::catch_unwind(|| artifact::open(&path).map(|a| a.report()));
        assert!(result.is_ok(), "{name}: panic at seed {seed} round {round}");
    }
}

#[test]
fn mutated_files_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let gguf = dir.path().join("base.gguf");
    run_python(WRITE_GGUF, &[&gguf]);
    let zip = dir.path().join("base.bin");
    run_python(
        &format!("{TORCH_LIKE}\nsave(state_dict(), sys.argv[1])"),
        &[&zip],
    );
    let legacy = dir.path().join("base.pt");
    run_python(
        &format!("{TORCH_LIKE}\nsave_legacy(state_dict(), sys.argv[1])"),
        &[&legacy],
    );
    let pkl = dir.path().join("base.pkl");
    run_python(
        &format!("{TORCH_LIKE}\nopen(sys.argv[1], 'wb').write(dumps(state_dict()))"),
        &[&pkl],
    );
    let work = tempfile::tempdir().unwrap();
    for (i, base) in [gguf, zip, legacy, pkl].iter().enumerate() {
        let bytes = std::fs::read(base).unwrap();
        let name = base.file_name().unwrap().to_str().unwrap();
        hammer(
            name,
            &bytes,
            work.path(),
            1500,
            0x9e37_79b9_7f4a_7c15 + i as u64,
        );
    }
}
