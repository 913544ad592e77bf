//! ggml tensor types (the `type` field of a GGUF tensor info) and their block layout.
//!
//! Quantized ggml types store elements in blocks: `block_elements` logical values packed into
//! `block_bytes` bytes. The parameter count of a tensor is the product of its dimensions whatever
//! the type; only the byte length depends on the block. New ids keep appearing (MXFP4 broke many
//! parsers), so an id missing here is carried as a value, reported, and never a crash.

use std::fmt;

/// A ggml type id as stored in a GGUF tensor info; known or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GgmlType(pub u32);

/// (id, name, block elements, block bytes), from ggml's type traits. Ids 4, 5, 31–33 and 36–38
/// were removed from ggml and are unknown here on purpose.
const TYPES: &[(u32, &str, u64, u64)] = &[
    (0, "F32", 1, 4),
    (1, "F16", 1, 2),
    (2, "Q4_0", 32, 18),
    (3, "Q4_1", 32, 20),
    (6, "Q5_0", 32, 22),
    (7, "Q5_1", 32, 24),
    (8, "Q8_0", 32, 34),
    (9, "Q8_1", 32, 36),
    (10, "Q2_K", 256, 84),
    (11, "Q3_K", 256, 110),
    (12, "Q4_K", 256, 144),
    (13, "Q5_K", 256, 176),
    (14, "Q6_K", 256, 210),
    (15, "Q8_K", 256, 292),
    (16, "IQ2_XXS", 256, 66),
    (17, "IQ2_XS", 256, 74),
    (18, "IQ3_XXS", 256, 98),
    (19, "IQ1_S", 256, 50),
    (20, "IQ4_NL", 32, 18),
    (21, "IQ3_S", 256, 110),
    (22, "IQ2_S", 256, 82),
    (23, "IQ4_XS", 256, 136),
    (24, "I8", 1, 1),
    (25, "I16", 1, 2),
    (26, "I32", 1, 4),
    (27, "I64", 1, 8),
    (28, "F64", 1, 8),
    (29, "IQ1_M", 256, 56),
    (30, "BF16", 1, 2),
    (34, "TQ1_0", 256, 54),
    (35, "TQ2_0", 256, 66),
    (39, "MXFP4", 32, 17),
    (40, "NVFP4", 64, 36),
    (41, "Q1_0", 128, 18),
];

impl GgmlType {
    fn entry(self) -> Option<&'static (u32, &'static str, u64, u64)> {
        TYPES.iter().find(|t| t.0 == self.0)
    }

    /// Whether this build knows the type's block layout.
    pub fn is_known(self) -> bool {
        self.entry().is_some()
    }

    /// `(block elements, block bytes)`, or `None` for an id this build does not know.
    pub fn block(self) -> Option<(u64, u64)> {
        self.entry().map(|t| (t.2, t.3))
    }

    /// ggml's name (`Q4_K`), or `ggml_type_<id>` for an unknown id.
    pub fn name(self) -> String {
        match self.entry() {
            Some(t) => t.1.to_owned(),
            None => format!("ggml_type_{}", self.0),
        }
    }

    /// Plain integer types: they hold buffers or indices, not learned values.
    pub fn is_integer(self) -> bool {
        matches!(self.0, 24..=27)
    }

    /// Bytes of `elements` values whose first dimension is `row`: `None` if the type is unknown,
    /// the row does not fill whole blocks (ggml requires it), or the size overflows.
    pub fn bytes_for(self, row: u64, elements: u64) -> Option<u64> {
        let (block, block_bytes) = self.block()?;
        if !row.is_multiple_of(block) {
            return None;
        }
        (elements / block).checked_mul(block_bytes)
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_sizes_from_the_facts_table() {
        assert_eq!(GgmlType(12).block(), Some((256, 144)));
        assert_eq!(GgmlType(39).name(), "MXFP4");
        assert_eq!(GgmlType(8).bytes_for(64, 64 * 3), Some(6 * 34));
        assert_eq!(GgmlType(8).bytes_for(48, 48), None, "row not whole blocks");
        assert_eq!(GgmlType(4).block(), None, "removed id");
        assert_eq!(GgmlType(4).name(), "ggml_type_4");
        assert_eq!(GgmlType(0).bytes_for(1, u64::MAX), None, "overflow");
    }
}
