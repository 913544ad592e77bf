//! How long reading a model's structure takes: the cost is headers, not weights.
//!
//! `cargo bench --bench inspect` opens Llama 3.1 405B's exact layout (191 sparse shards, 812 GB
//! of BF16 claimed on disk) and a small single-file model, through the whole artifact stage.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use weightguard::artifact;
use weightguard::fixture::{DataFill, ModelSpec, WriteOptions, write_model};

fn inspect(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let big = dir.path().join("405b");
    write_model(
        &ModelSpec::llama31_405b(),
        &big,
        WriteOptions {
            fill: DataFill::Sparse,
            max_shard_bytes: Some(5_000_000_000),
        },
    )
    .expect("write 405B sparse");
    let small = dir.path().join("tiny");
    write_model(
        &ModelSpec::tiny_llama(),
        &small,
        WriteOptions {
            fill: DataFill::Sparse,
            max_shard_bytes: None,
        },
    )
    .expect("write tiny");

    c.bench_function("open llama-3.1-405b (191 shards, 812 GB sparse)", |b| {
        b.iter(|| black_box(artifact::open(&big).expect("open")).parameters())
    });
    c.bench_function("open tiny llama (1 file)", |b| {
        b.iter(|| black_box(artifact::open(&small).expect("open")).parameters())
    });
}

criterion_group!(benches, inspect);
criterion_main!(benches);
