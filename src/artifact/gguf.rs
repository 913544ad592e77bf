//! GGUF (llama.cpp / ggml): header, metadata and tensor infos, never tensor data.
//!
//! Layout: magic `GGUF`, u32 version (2 or 3; 1 is refused), u64 tensor count, u64 metadata
//! count, the metadata key/value pairs, the tensor infos, padding to `general.alignment`, then the
//! data section. Every count and length is checked against the bytes left in the file and a named
//! limit before anything is allocated; every tensor's byte range is checked against the file.
//! A [`GgufFile`] that comes out has tensors whose ranges lie inside the file and do not overlap.

use super::ArtifactError;
use super::cursor::Cursor;
use super::ggml_type::GgmlType;
use super::limits::*;
use super::read::MeteredFile;
use std::collections::HashSet;

/// `general.alignment` when the file does not set it.
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// A metadata value. Arrays keep their first [`GGUF_ARRAY_ITEMS_KEPT`] items and their length.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue {
    Uint(u64),
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    Array {
        elem_type: u32,
        len: u64,
        items: Vec<MetaValue>,
    },
}

impl MetaValue {
    /// A non-negative integer, whatever its stored width.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            MetaValue::Uint(v) => Some(v),
            MetaValue::Int(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// What kind of value this is, in words for an error message.
    pub fn kind(&self) -> &'static str {
        match self {
            MetaValue::Uint(_) => "an unsigned integer",
            MetaValue::Int(_) => "a signed integer",
            MetaValue::Float(_) => "a float",
            MetaValue::Bool(_) => "a bool",
            MetaValue::Str(_) => "a string",
            MetaValue::Array { .. } => "an array",
        }
    }

    /// One line for display: arrays show their length, long strings are cut.
    pub fn display(&self) -> String {
        match self {
            MetaValue::Uint(v) => v.to_string(),
            MetaValue::Int(v) => v.to_string(),
            MetaValue::Float(v) => v.to_string(),
            MetaValue::Bool(v) => v.to_string(),
            MetaValue::Str(s) if s.len() > 200 => {
                let cut = (0..=200)
                    .rev()
                    .find(|&i| s.is_char_boundary(i))
                    .unwrap_or(0);
                format!("{}… ({} bytes)", &s[..cut], s.len())
            }
            MetaValue::Str(s) => s.clone(),
            MetaValue::Array { elem_type, len, .. } => {
                format!("[array of {len} {}]", value_type_name(*elem_type))
            }
        }
    }
}

fn value_type_name(t: u32) -> &'static str {
    match t {
        0 => "u8",
        1 => "i8",
        2 => "u16",
        3 => "i16",
        4 => "u32",
        5 => "i32",
        6 => "f32",
        7 => "bool",
        8 => "string",
        9 => "array",
        10 => "u64",
        11 => "i64",
        12 => "f64",
        _ => "unknown",
    }
}

/// The smallest encoding of one value of type `t`, to bound an array's count by the file size.
fn min_value_bytes(t: u32) -> u64 {
    match t {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        8 | 10..=12 => 8,
        9 => 12,
        _ => 1,
    }
}

/// One tensor info, located in the file.
#[derive(Debug, Clone)]
pub struct GgufTensor {
    pub name: String,
    /// Dimensions as stored (ggml order: the first is the row length).
    pub dims: Vec<u64>,
    pub ty: GgmlType,
    /// Product of the dimensions: the tensor's parameters, whatever its quantization.
    pub elements: u64,
    /// Absolute offset of the data in the file.
    pub offset: u64,
    /// Byte length; `None` when the type is unknown to this build.
    pub len: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct GgufFile {
    pub version: u32,
    /// Metadata in file order, keys unique.
    pub metadata: Vec<(String, MetaValue)>,
    /// Tensors in file order.
    pub tensors: Vec<GgufTensor>,
    pub alignment: u64,
    /// Absolute offset of the data section.
    pub data_start: u64,
}

impl GgufFile {
    pub fn get(&self, key: &str) -> Option<&MetaValue> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// Reads and validates the header, metadata and tensor infos of the GGUF file `file`.
pub fn read(file: &mut MeteredFile) -> Result<GgufFile, ArtifactError> {
    let path = file.path().to_owned();
    let mut c = Cursor::new(file, 0);
    let magic = c.array::<4>("the GGUF magic")?;
    if &magic != b"GGUF" {
        return Err(ArtifactError::Malformed {
            path,
            format: "GGUF",
            offset: 0,
            message: format!("expected the magic `GGUF`, found {magic:02x?}"),
        });
    }
    let version = c.u32("the GGUF version")?;
    if version != 2 && version != 3 {
        return Err(ArtifactError::GgufVersion { path, version });
    }
    let tensor_count = c.u64("the tensor count")?;
    let kv_count = c.u64("the metadata count")?;
    let malformed = |offset: u64, message: String| ArtifactError::Malformed {
        path: path.clone(),
        format: "GGUF",
        offset,
        message,
    };
    let limit = |offset: u64, what: &str, value: u64, limit: u64| ArtifactError::LimitExceeded {
        path: path.clone(),
        offset,
        what: what.to_owned(),
        value,
        limit,
    };
    if kv_count > MAX_GGUF_METADATA_ENTRIES {
        return Err(limit(
            16,
            "metadata count",
            kv_count,
            MAX_GGUF_METADATA_ENTRIES,
        ));
    }
    if tensor_count > MAX_GGUF_TENSORS {
        return Err(limit(8, "tensor count", tensor_count, MAX_GGUF_TENSORS));
    }
    // Smallest key/value: 8-byte key length, 4-byte type, 1-byte value.
    c.require("the metadata entries", kv_count * 13)?;

    let mut metadata = Vec::new();
    let mut keys = HashSet::new();
    for _ in 0..kv_count {
        let at = c.pos();
        let key = string(&mut c, "a metadata key", true)?;
        if !keys.insert(key.clone()) {
            return Err(malformed(at, format!("duplicate metadata key `{key}`")));
        }
        let ty = c.u32("a metadata value type")?;
        let value = value(&mut c, ty, 0)?;
        metadata.push((key, value));
    }

    let alignment = match metadata.iter().find(|(k, _)| k == "general.alignment") {
        None => DEFAULT_ALIGNMENT,
        Some((_, MetaValue::Uint(a))) if a.is_power_of_two() && *a <= u32::MAX as u64 => *a,
        Some((_, v @ MetaValue::Uint(_))) => {
            return Err(malformed(
                24,
                format!(
                    "`general.alignment` must be a power of two, found {}",
                    v.display()
                ),
            ));
        }
        Some((_, v)) => {
            return Err(malformed(
                24,
                format!(
                    "`general.alignment` must be an unsigned integer (uint32), found {} `{}`",
                    v.kind(),
                    v.display()
                ),
            ));
        }
    };

    // Smallest tensor info: 8-byte name length, 4-byte n_dims, 4-byte type, 8-byte offset.
    c.require("the tensor infos", tensor_count * 24)?;
    let mut tensors = Vec::new();
    let mut names = HashSet::new();
    for _ in 0..tensor_count {
        let at = c.pos();
        let name = string(&mut c, "a tensor name", true)?;
        if !names.insert(name.clone()) {
            return Err(malformed(at, format!("duplicate tensor name `{name}`")));
        }
        let n_dims = c.u32("the tensor's dimension count")?;
        if n_dims > MAX_GGUF_DIMS {
            let what = format!("tensor `{name}`: dimension count");
            return Err(limit(
                c.pos() - 4,
                &what,
                n_dims.into(),
                MAX_GGUF_DIMS.into(),
            ));
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            dims.push(c.u64("a tensor dimension")?);
        }
        // ggml keeps dimensions and element counts in int64.
        let elements = dims
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .filter(|&e| e <= i64::MAX as u64)
            .ok_or_else(|| {
                malformed(at, format!("tensor `{name}`: dimensions {dims:?} overflow"))
            })?;
        let ty = GgmlType(c.u32("the tensor type")?);
        let rel = c.u64("the tensor data offset")?;
        if !rel.is_multiple_of(alignment) {
            return Err(malformed(
                c.pos() - 8,
                format!(
                    "tensor `{name}`: data offset {rel} is not a multiple of the alignment {alignment}"
                ),
            ));
        }
        let row = dims.first().copied().unwrap_or(1);
        let len = match ty.block() {
            None => None,
            Some((block, _)) => Some(ty.bytes_for(row, elements).ok_or_else(|| {
                malformed(
                    at,
                    format!(
                        "tensor `{name}`: first dimension {row} is not a whole number of {ty} blocks of {block}, or its size overflows"
                    ),
                )
            })?),
        };
        tensors.push(GgufTensor {
            name,
            dims,
            ty,
            elements,
            offset: rel,
            len,
        });
    }

    let end_of_infos = c.pos();
    let data_start = end_of_infos
        .checked_next_multiple_of(alignment)
        .ok_or_else(|| malformed(end_of_infos, "data section offset overflows".into()))?;
    let file_len = c.file_len();
    for t in &mut tensors {
        let start = data_start.checked_add(t.offset);
        let end = start.and_then(|s| s.checked_add(t.len.unwrap_or(0)));
        match (start, end) {
            (Some(s), Some(e)) if e <= file_len => t.offset = s,
            _ => {
                return Err(malformed(
                    data_start,
                    format!(
                        "tensor `{}`: data at data-section offset {} ({} bytes) runs past the end of the {file_len}-byte file",
                        t.name,
                        t.offset,
                        t.len.map_or("unknown".into(), |l| l.to_string())
                    ),
                ));
            }
        }
    }
    let mut by_offset: Vec<&GgufTensor> = tensors.iter().collect();
    by_offset.sort_by_key(|t| t.offset);
    for pair in by_offset.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        // a.offset + len was checked against the file length above.
        if a.offset + a.len.unwrap_or(0) > b.offset || (a.len.is_none() && a.offset == b.offset) {
            return Err(malformed(
                b.offset,
                format!("tensors `{}` and `{}` overlap", a.name, b.name),
            ));
        }
    }
    Ok(GgufFile {
        version,
        metadata,
        tensors,
        alignment,
        data_start,
    })
}

/// A GGUF string: u64 length, then bytes. Keys and names must be UTF-8; values are read lossily
/// (ggml does not check them, and a token list may hold byte tokens).
fn string(c: &mut Cursor, what: &str, strict: bool) -> Result<String, ArtifactError> {
    let at = c.pos();
    let len = c.u64(what)?;
    if len > MAX_GGUF_STRING_BYTES {
        return Err(ArtifactError::LimitExceeded {
            path: c.path().to_owned(),
            offset: at,
            what: format!("length of {what}"),
            value: len,
            limit: MAX_GGUF_STRING_BYTES,
        });
    }
    let path = c.path().to_owned();
    let bytes = c.take(len, what)?;
    if strict {
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| ArtifactError::Malformed {
                path,
                format: "GGUF",
                offset: at + 8,
                message: format!("{what} is not valid UTF-8"),
            })
    } else {
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }
}

fn value(c: &mut Cursor, ty: u32, depth: usize) -> Result<MetaValue, ArtifactError> {
    let at = c.pos();
    let v = match ty {
        0 => MetaValue::Uint(c.u8("a u8 value")?.into()),
        1 => MetaValue::Int((c.u8("an i8 value")? as i8).into()),
        2 => MetaValue::Uint(c.u16("a u16 value")?.into()),
        3 => MetaValue::Int((c.u16("an i16 value")? as i16).into()),
        4 => MetaValue::Uint(c.u32("a u32 value")?.into()),
        5 => MetaValue::Int((c.u32("an i32 value")? as i32).into()),
        6 => MetaValue::Float(f32::from_bits(c.u32("an f32 value")?).into()),
        7 => match c.u8("a bool value")? {
            0 => MetaValue::Bool(false),
            1 => MetaValue::Bool(true),
            b => {
                return Err(ArtifactError::Malformed {
                    path: c.path().to_owned(),
                    format: "GGUF",
                    offset: at,
                    message: format!("a bool value must be 0 or 1, found {b}"),
                });
            }
        },
        8 => MetaValue::Str(string(c, "a string value", false)?),
        9 => {
            if depth >= MAX_GGUF_NESTING {
                return Err(ArtifactError::LimitExceeded {
                    path: c.path().to_owned(),
                    offset: at,
                    what: "nesting of metadata arrays".into(),
                    value: depth as u64 + 1,
                    limit: MAX_GGUF_NESTING as u64,
                });
            }
            let elem_type = c.u32("an array element type")?;
            let len = c.u64("an array length")?;
            if len > MAX_GGUF_ARRAY_LEN {
                return Err(ArtifactError::LimitExceeded {
                    path: c.path().to_owned(),
                    offset: at + 4,
                    what: "metadata array length".into(),
                    value: len,
                    limit: MAX_GGUF_ARRAY_LEN,
                });
            }
            c.require("the array elements", len * min_value_bytes(elem_type))?;
            let mut items = Vec::new();
            for i in 0..len {
                let item = value(c, elem_type, depth + 1)?;
                if (i as usize) < GGUF_ARRAY_ITEMS_KEPT {
                    items.push(item);
                }
            }
            MetaValue::Array {
                elem_type,
                len,
                items,
            }
        }
        10 => MetaValue::Uint(c.u64("a u64 value")?),
        11 => MetaValue::Int(c.u64("an i64 value")? as i64),
        12 => MetaValue::Float(f64::from_bits(c.u64("an f64 value")?)),
        _ => {
            return Err(ArtifactError::Malformed {
                path: c.path().to_owned(),
                format: "GGUF",
                offset: at.saturating_sub(4),
                message: format!("unknown metadata value type {ty} (known: 0 to 12)"),
            });
        }
    };
    Ok(v)
}
