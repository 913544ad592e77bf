//! The safetensors header: read and validated before anything in it is trusted.
//!
//! Checks run in a fixed order, as in the reference reader, and are at least as strict: header
//! length cap and bounds, `{` first, UTF-8, JSON with duplicate keys rejected, known dtypes,
//! overflow-checked sizes, whole-byte sub-byte tensors, offsets that tile the data buffer from 0
//! with no gap or overlap, and a file that ends exactly where the buffer does (no trailing bytes,
//! which would allow polyglot files). A [`SafetensorsHeader`] that comes out satisfies all of them.

use super::ArtifactError;
use super::dtype::Dtype;
use super::limits::MAX_SAFETENSORS_HEADER_BYTES;
use super::read::MeteredFile;
use super::strict_json::{check_unique, error_offset};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;

/// A validated safetensors header.
#[derive(Debug, Clone)]
pub struct SafetensorsHeader {
    /// Length of the JSON header (the `N` of the 8-byte prefix).
    pub json_len: u64,
    /// The optional `__metadata__` string map.
    pub metadata: BTreeMap<String, String>,
    /// Tensors in data order (by offset).
    pub tensors: Vec<HeaderTensor>,
    /// Length of the data buffer that follows the header.
    pub data_len: u64,
}

impl SafetensorsHeader {
    /// Byte offset in the file where the data buffer starts.
    pub fn data_start(&self) -> u64 {
        // Cannot overflow: json_len <= MAX_SAFETENSORS_HEADER_BYTES.
        8 + self.json_len
    }
}

/// One tensor entry of a validated header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderTensor {
    pub name: String,
    pub dtype: Dtype,
    pub shape: Vec<u64>,
    /// Number of elements (product of the shape; 1 for a scalar).
    pub elements: u64,
    /// Offsets relative to the start of the data buffer.
    pub begin: u64,
    pub end: u64,
}

/// Reads and validates the header of the safetensors file at `file`, reading only the header.
pub fn read_header(file: &mut MeteredFile) -> Result<SafetensorsHeader, ArtifactError> {
    let path = file.path().to_owned();
    let file_len = file.len();
    if file_len < 8 {
        return Err(ArtifactError::TooShort {
            path,
            len: file_len,
        });
    }
    let mut prefix = [0u8; 8];
    file.read_exact_at(0, &mut prefix)?;
    let declared = u64::from_le_bytes(prefix);
    check_header_len(&path, declared, file_len)?;
    // Bounded by MAX_SAFETENSORS_HEADER_BYTES (checked above), so the allocation is capped.
    let mut json = vec![0u8; declared as usize];
    file.read_exact_at(8, &mut json)?;
    parse_header(&path, &json, file_len)
}

fn check_header_len(path: &Path, declared: u64, file_len: u64) -> Result<(), ArtifactError> {
    if declared > MAX_SAFETENSORS_HEADER_BYTES {
        return Err(ArtifactError::HeaderTooLarge {
            path: path.to_owned(),
            declared,
            limit: MAX_SAFETENSORS_HEADER_BYTES,
        });
    }
    if declared > file_len - 8 {
        return Err(ArtifactError::HeaderBeyondFile {
            path: path.to_owned(),
            declared,
            file_len,
        });
    }
    Ok(())
}

/// Validates a header given its JSON bytes and the length of the whole file. Pure: this is the
/// function the fuzzers drive.
pub fn parse_header(
    path: &Path,
    json: &[u8],
    file_len: u64,
) -> Result<SafetensorsHeader, ArtifactError> {
    let json_len = json.len() as u64;
    if file_len < 8 || json_len > file_len - 8 {
        return Err(ArtifactError::HeaderBeyondFile {
            path: path.to_owned(),
            declared: json_len,
            file_len,
        });
    }
    if json.first() != Some(&b'{') {
        let found = match json.first() {
            None => "an empty header".to_owned(),
            Some(b) => format!("byte 0x{b:02x}"),
        };
        return Err(ArtifactError::HeaderStart {
            path: path.to_owned(),
            found,
        });
    }
    let text = std::str::from_utf8(json).map_err(|e| ArtifactError::HeaderUtf8 {
        path: path.to_owned(),
        offset: 8 + e.valid_up_to() as u64,
    })?;
    let raw: RawHeader = serde_json::from_str(text).map_err(|e| ArtifactError::HeaderJson {
        path: path.to_owned(),
        offset: 8 + error_offset(json, &e),
        message: e.to_string(),
    })?;

    let mut tensors = Vec::with_capacity(raw.tensors.len());
    for (name, info) in raw.tensors {
        tensors.push(validate_tensor(path, name, info)?);
    }
    tensors.sort_by_key(|t| (t.begin, t.end));

    let mut expected = 0u64;
    for t in &tensors {
        if t.begin != expected {
            return Err(ArtifactError::NotContiguous {
                path: path.to_owned(),
                tensor: t.name.clone(),
                expected,
                found: t.begin,
                kind: if t.begin > expected { "gap" } else { "overlap" },
            });
        }
        expected = t.end;
    }
    let data_len = expected;

    // data_len can be anything up to u64::MAX; the sum is checked.
    let described = (8 + json_len).checked_add(data_len);
    if described != Some(file_len) {
        let (described, kind) = match described {
            Some(d) if d < file_len => (d, "trailing bytes after the data buffer"),
            Some(d) => (d, "file truncated"),
            None => (u64::MAX, "data buffer size overflows"),
        };
        return Err(ArtifactError::SizeMismatch {
            path: path.to_owned(),
            described,
            file_len,
            kind,
        });
    }

    Ok(SafetensorsHeader {
        json_len,
        metadata: raw.metadata,
        tensors,
        data_len,
    })
}

fn validate_tensor(
    path: &Path,
    name: String,
    info: RawInfo,
) -> Result<HeaderTensor, ArtifactError> {
    let Some(dtype) = Dtype::from_name(&info.dtype) else {
        return Err(ArtifactError::UnknownDtype {
            path: path.to_owned(),
            tensor: name,
            dtype: info.dtype,
        });
    };
    let overflow = |name: String, shape: Vec<u64>| ArtifactError::ShapeOverflow {
        path: path.to_owned(),
        tensor: name,
        shape,
    };
    let Some(elements) = info
        .shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
    else {
        return Err(overflow(name, info.shape));
    };
    let Some(bits) = elements.checked_mul(dtype.bits()) else {
        return Err(overflow(name, info.shape));
    };
    if bits % 8 != 0 {
        return Err(ArtifactError::PartialByte {
            path: path.to_owned(),
            tensor: name,
            elements,
            bits: dtype.bits(),
            dtype: dtype.name().to_owned(),
        });
    }
    let expected = bits / 8;
    let [begin, end] = info.data_offsets;
    if end < begin {
        return Err(ArtifactError::OffsetsReversed {
            path: path.to_owned(),
            tensor: name,
            begin,
            end,
        });
    }
    if end - begin != expected {
        return Err(ArtifactError::LengthMismatch {
            path: path.to_owned(),
            tensor: name,
            shape: info.shape,
            dtype: dtype.name().to_owned(),
            expected,
            found: end - begin,
        });
    }
    Ok(HeaderTensor {
        name,
        dtype,
        shape: info.shape,
        elements,
        begin,
        end,
    })
}

/// The header as written, before validation.
struct RawHeader {
    metadata: BTreeMap<String, String>,
    tensors: Vec<(String, RawInfo)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInfo {
    dtype: String,
    shape: Vec<u64>,
    data_offsets: [u64; 2],
}

impl<'de> Deserialize<'de> for RawHeader {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(RawHeaderVisitor)
    }
}

struct RawHeaderVisitor;

impl<'de> Visitor<'de> for RawHeaderVisitor {
    type Value = RawHeader;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of tensor name to {dtype, shape, data_offsets}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawHeader, A::Error> {
        let mut seen = HashSet::new();
        let mut metadata = BTreeMap::new();
        let mut tensors = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            check_unique(&mut seen, &key)?;
            if key == "__metadata__" {
                metadata = map.next_value::<StringMap>()?.0;
            } else {
                let info: RawInfo = map.next_value()?;
                tensors.push((key, info));
            }
        }
        Ok(RawHeader { metadata, tensors })
    }
}

/// `__metadata__`: a string-to-string map, duplicate keys rejected.
struct StringMap(BTreeMap<String, String>);

impl<'de> Deserialize<'de> for StringMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StringMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("__metadata__ as an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StringMap, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    if out.contains_key(&key) {
                        return Err(de::Error::custom(format_args!(
                            "duplicate key `{key}` in __metadata__"
                        )));
                    }
                    let value: String = map.next_value()?;
                    out.insert(key, value);
                }
                Ok(StringMap(out))
            }
        }
        deserializer.deserialize_map(V)
    }
}
