//! Caps on every cost a model file controls. A file that exceeds one is rejected with an error
//! naming the limit; nothing is allocated from a size read out of a file before it is checked here.

/// Largest safetensors JSON header accepted, as in the reference reader (100 MB).
pub const MAX_SAFETENSORS_HEADER_BYTES: u64 = 100_000_000;

/// Largest `model.safetensors.index.json` accepted. Indexes of trillion-parameter models with
/// hundreds of thousands of tensors stay well under this.
pub const MAX_INDEX_BYTES: u64 = 64 * 1024 * 1024;

/// Largest `config.json` accepted.
pub const MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;

/// Most shard files one index may name.
pub const MAX_SHARDS: usize = 100_000;
