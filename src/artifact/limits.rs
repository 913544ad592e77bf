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

/// Most metadata key/value pairs in one GGUF file (real files have a few dozen to a few hundred).
pub const MAX_GGUF_METADATA_ENTRIES: u64 = 1_000_000;

/// Most tensors in one GGUF file (the largest published models have tens of thousands).
pub const MAX_GGUF_TENSORS: u64 = 1_000_000;

/// Longest GGUF string (keys, values, tensor names); chat templates run to tens of KB.
pub const MAX_GGUF_STRING_BYTES: u64 = 16 * 1024 * 1024;

/// Most elements in one GGUF metadata array (token lists run to a few hundred thousand).
pub const MAX_GGUF_ARRAY_LEN: u64 = 64 * 1024 * 1024;

/// Deepest nesting of GGUF arrays of arrays.
pub const MAX_GGUF_NESTING: usize = 4;

/// Most dimensions of a GGUF tensor (ggml's GGML_MAX_DIMS).
pub const MAX_GGUF_DIMS: u32 = 4;

/// Array elements kept per metadata array; the rest are read past, counted but not stored.
pub const GGUF_ARRAY_ITEMS_KEPT: usize = 16;

/// Most members of one zip archive read from its central directory.
pub const MAX_ZIP_ENTRIES: u64 = 1_000_000;

/// Largest zip central directory read (entries of ~100 bytes each for MAX_ZIP_ENTRIES).
pub const MAX_ZIP_CENTRAL_DIRECTORY_BYTES: u64 = 256 * 1024 * 1024;

/// Largest pickle read (`data.pkl`, a legacy checkpoint's pickles, a hidden pickle member).
/// A state dict of 100,000 tensors pickles to a few tens of MB.
pub const MAX_PICKLE_BYTES: u64 = 256 * 1024 * 1024;

/// Most bytes decompressed from one gzip, bz2, xz, lzma or zlib stream to scan what it hides;
/// beyond, the container is an unscannable-container finding (when its content starts like a
/// pickle, zip or tar; a compressed data set is let be).
pub const MAX_DECOMPRESSED_BYTES: u64 = 256 * 1024 * 1024;

/// Deepest nesting of containers opened one inside another (a pickle in a tar in a gzip is 2).
pub const MAX_CONTAINER_NESTING: usize = 4;

/// Most members of one tar archive scanned.
pub const MAX_TAR_ENTRIES: u64 = 1_000_000;

/// Most values on the pickle machine's stack (and mark stack) at once.
pub const MAX_PICKLE_STACK: usize = 1_000_000;

/// Most values one pickle may hold in its containers (list items, dict keys and values, tuple
/// items): each costs about 24 bytes, so a pickle of one-byte `NONE`/`APPEND` pairs stops here
/// instead of growing to many times its size. A state dict of 100,000 tensors holds about
/// 3,000,000.
pub const MAX_PICKLE_VALUES: usize = 16_000_000;

/// Memory all pickle scans of the process may reserve at once (each reserves its worst case,
/// at most 48 bytes per byte of pickle up to [`MAX_PICKLE_VALUES`] values); `audit`'s concurrent
/// units wait for each other beyond it.
pub const MAX_PICKLE_MEMORY_TOTAL: u64 = 2 * 1024 * 1024 * 1024;

/// Most memo entries in one pickle.
pub const MAX_PICKLE_MEMO: usize = 1_000_000;

/// Deepest nesting of containers built by a pickle (tuples in lists in dicts…).
pub const MAX_PICKLE_NESTING: usize = 256;

/// Largest integer a pickle may encode with LONG1/LONG4, in bytes (a torch magic number needs 10).
pub const MAX_PICKLE_LONG_BYTES: u64 = 64;

/// Most security findings kept per file; beyond, they are counted in a warning.
pub const MAX_FINDINGS_PER_FILE: usize = 1_000;

/// Most containers (tuples, lists, dicts, persistent ids) one pickle may build. A state dict of
/// 100,000 tensors builds about a million.
pub const MAX_PICKLE_CONTAINERS: usize = 8_000_000;

/// Deepest nesting of `_rebuild_from_type_v2` calls, each wrapping one rebuild call; torch
/// never nests it more than once or twice.
pub const MAX_PICKLE_REBUILD_NESTING: usize = 8;

/// Most containers the tensor walker visits in one pickle's object graph (shared containers are
/// visited once per path to them); beyond, the walk stops with a warning.
pub const MAX_PICKLE_VISITS: usize = 16_000_000;

/// Deepest nesting of any JSON read (safetensors headers, shard indexes, configs, the envelope's
/// claims and manifest): serde_json's own recursion limit, left on everywhere. Exceeding it is a
/// parse error ("recursion limit exceeded").
pub const MAX_JSON_NESTING: usize = 128;

/// Deepest nesting of any TOML read (training records, policies, licences): the `toml` crate's
/// own recursion limit. Exceeding it is a parse error ("recursion limit").
pub const MAX_TOML_NESTING: usize = 80;
