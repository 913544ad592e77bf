//! Writes a synthetic Llama-style safetensors model directory of about the given size, for
//! benchmarks: `cargo run --release --example make-model -- DIR BYTES [SEED]`.

use std::path::PathBuf;
use weightguard::fixture::{DataFill, Family, ModelSpec, WriteOptions, write_model};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: make-model DIR BYTES [SEED]";
    let dir = PathBuf::from(args.next().ok_or(usage)?);
    let bytes: u64 = args.next().ok_or(usage)?.parse()?;
    let seed: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1);
    // Two bytes per bf16 parameter.
    let spec = ModelSpec::with_parameters(Family::Llama, bytes / 2);
    let written = write_model(
        &spec,
        &dir,
        WriteOptions {
            fill: DataFill::Pattern(seed),
            max_shard_bytes: None,
        },
    )?;
    println!(
        "{}: {} parameters, {} data bytes",
        written.dir.display(),
        written.parameters,
        written.data_bytes
    );
    Ok(())
}
