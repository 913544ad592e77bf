//! The model root digest: one BLAKE3 value naming a model's tensors, independent of how they are
//! sharded, ordered or padded on disk. Specified in `docs/digest.md`; test vectors below.

#[cfg(test)]
use crate::artifact::Dtype;

/// Key-derivation context of the root digest (BLAKE3 `derive_key` mode). Changing the encoding
/// means a new version in this string.
pub const ROOT_CONTEXT: &str = "weightguard 2026 model root v1";

/// One tensor as the root digest sees it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RootEntry {
    pub name: String,
    /// The format's own type name ([`crate::artifact::TensorType::name`]): a safetensors dtype
    /// (`BF16`, also PyTorch storages' dtypes) or a ggml type (`Q4_K`, `ggml_type_99`).
    pub dtype: String,
    pub shape: Vec<u64>,
    pub digest: [u8; 32],
}

/// The root digest of `entries` (in any order): BLAKE3 derive_key(ROOT_CONTEXT) over
/// `u64le(count)` then, for each entry sorted by (name bytes, dtype name, shape, digest):
/// `u64le(len) name`, `u64le(len) dtype`, `u64le(rank) u64le(dim)…`, `digest[32]`.
pub fn root_digest(entries: &[RootEntry]) -> blake3::Hash {
    let mut sorted: Vec<&RootEntry> = entries.iter().collect();
    sorted.sort_by(|a, b| {
        (a.name.as_bytes(), a.dtype.as_bytes(), &a.shape, &a.digest).cmp(&(
            b.name.as_bytes(),
            b.dtype.as_bytes(),
            &b.shape,
            &b.digest,
        ))
    });
    let mut h = blake3::Hasher::new_derive_key(ROOT_CONTEXT);
    h.update(&(sorted.len() as u64).to_le_bytes());
    for e in sorted {
        let mut field = |bytes: &[u8]| {
            h.update(&(bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        };
        field(e.name.as_bytes());
        field(e.dtype.as_bytes());
        h.update(&(e.shape.len() as u64).to_le_bytes());
        for d in &e.shape {
            h.update(&d.to_le_bytes());
        }
        h.update(&e.digest);
    }
    h.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, dtype: Dtype, shape: &[u64], data: &[u8]) -> RootEntry {
        RootEntry {
            name: name.into(),
            dtype: dtype.name().to_owned(),
            shape: shape.to_vec(),
            digest: *blake3::hash(data).as_bytes(),
        }
    }

    /// The encoding written out by hand, to pin the specification in docs/digest.md.
    #[test]
    fn root_matches_the_written_encoding() {
        let a = entry("a", Dtype::F32, &[1], &[0, 0, 128, 63]);
        let b = entry("b.weight", Dtype::Bf16, &[2, 1], &[1, 2, 3, 4]);
        let mut bytes = Vec::new();
        bytes.extend(2u64.to_le_bytes());
        for e in [&a, &b] {
            bytes.extend((e.name.len() as u64).to_le_bytes());
            bytes.extend(e.name.as_bytes());
            bytes.extend((e.dtype.len() as u64).to_le_bytes());
            bytes.extend(e.dtype.as_bytes());
            bytes.extend((e.shape.len() as u64).to_le_bytes());
            for d in &e.shape {
                bytes.extend(d.to_le_bytes());
            }
            bytes.extend(e.digest);
        }
        let expected = blake3::derive_key(ROOT_CONTEXT, &bytes);
        assert_eq!(root_digest(&[b.clone(), a.clone()]).as_bytes(), &expected);
        assert_eq!(root_digest(&[a, b]).as_bytes(), &expected);
    }

    /// Test vectors published in docs/digest.md.
    #[test]
    fn root_test_vectors() {
        assert_eq!(
            root_digest(&[]).to_hex().as_str(),
            blake3::Hasher::new_derive_key(ROOT_CONTEXT)
                .update(&0u64.to_le_bytes())
                .finalize()
                .to_hex()
                .as_str()
        );
        let v = [
            entry("a", Dtype::F32, &[1], &[0, 0, 128, 63]),
            entry("b.weight", Dtype::Bf16, &[2, 1], &[1, 2, 3, 4]),
        ];
        assert_eq!(root_digest(&[]).to_hex().as_str(), EMPTY_ROOT);
        assert_eq!(root_digest(&v).to_hex().as_str(), TWO_TENSOR_ROOT);
    }

    const EMPTY_ROOT: &str = "2763ffadefb136a611edd2d2a96f88501b192263031fc050b532e84868ec1515";
    const TWO_TENSOR_ROOT: &str =
        "fab5ec97559851c642ba1737c6bf2da2cf198d7833c8cf634feefd882086e880";

    #[test]
    fn shape_and_dtype_are_bound() {
        let a = entry("w", Dtype::F32, &[2, 2], &[0; 16]);
        let mut b = a.clone();
        b.shape = vec![4];
        let mut c = a.clone();
        c.dtype = Dtype::I32.name().to_owned();
        assert_ne!(root_digest(std::slice::from_ref(&a)), root_digest(&[b]));
        assert_ne!(root_digest(&[a]), root_digest(&[c]));
    }
}
