//! The digest engine on one page-cached weight file: per-tensor digests through the mapped and
//! the buffered paths, and with the whole-file digest added. `cargo bench --bench digest`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use weightguard::digest::{Options, PlannedFile, ReadMode, hash_file};
use weightguard::fixture::{DataFill, Family, ModelSpec, WriteOptions, write_model};

fn engine(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    // About 256 MB of bf16 weights: large enough for the parallel path, small enough to stay
    // cached.
    let written = write_model(
        &ModelSpec::with_parameters(Family::Llama, 128_000_000),
        dir.path(),
        WriteOptions {
            fill: DataFill::Pattern(1),
            max_shard_bytes: None,
        },
    )
    .expect("write model");
    let path = written.files[0].clone();
    let size = std::fs::metadata(&path).expect("stat").len();
    let file = PlannedFile::new(path, size);

    let mut group = c.benchmark_group("hash_file");
    group.throughput(Throughput::Bytes(size));
    group.sample_size(10);
    let cases = [
        ("per_tensor_mmap", false, ReadMode::Auto),
        ("per_tensor_buffered", false, ReadMode::Buffered),
        ("per_tensor_and_whole_mmap", true, ReadMode::Auto),
    ];
    for (name, whole_file, read) in cases {
        let opts = Options { whole_file, read };
        group.bench_function(name, |b| {
            b.iter(|| black_box(hash_file(&file, &opts, &|_| {}).expect("hash")))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("blake3_reference");
    group.throughput(Throughput::Bytes(size));
    group.sample_size(10);
    let bytes = std::fs::read(&file.path).expect("read");
    group.bench_function("update_rayon_in_memory", |b| {
        b.iter(|| black_box(blake3::Hasher::new().update_rayon(&bytes).finalize()))
    });
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
