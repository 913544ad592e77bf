//! PyTorch checkpoints, read without unpickling: the zip format `torch.save` writes since 1.6,
//! the legacy pickle stream before it, and bare pickles found among weights.
//!
//! `data.pkl` is run through our own symbolic [`pickle`] machine: tensor names, shapes, dtypes
//! and storage keys come out, and every global outside the allow-list becomes a
//! [`SecurityFinding`]. Storages are located through the zip's own directory ([`zip`]): each
//! `<root>/data/<key>` member is one [`crate::artifact::DataRegion`], and each tensor's byte range
//! is its view inside that storage. Other pickles hidden in the archive are scanned too.

mod budget;
mod container;
pub mod legacy;
pub mod pickle;
#[doc(hidden)]
pub mod tensors;
pub mod zip;

use super::ArtifactError;
use super::builder::ParsedFile;
use super::detect;
use super::limits::{MAX_FINDINGS_PER_FILE, MAX_PICKLE_BYTES};
use super::read::MeteredFile;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

pub(crate) use legacy::read_legacy;

/// Something a pickle would import or call that loading a state dict never needs, or a pickle
/// that could not be scanned. Any finding makes the file unsafe to load with pickle.
#[derive(Debug, Clone, Serialize)]
pub struct SecurityFinding {
    pub file: PathBuf,
    /// The archive member holding the pickle (`archive/data.pkl`), empty for a bare file.
    pub member: String,
    /// Byte offset of the opcode in the pickle.
    pub offset: u64,
    /// The opcode that imports or calls (`GLOBAL`, `STACK_GLOBAL`, `INST`, `OBJ`, `REDUCE`…),
    /// empty when the pickle could not be scanned.
    pub opcode: String,
    /// `module.name` of the global, when there is one.
    pub global: Option<String>,
    pub message: String,
}

impl SecurityFinding {
    /// One line: where, which opcode, which global, why.
    pub fn describe(&self) -> String {
        let mut s = self.file.display().to_string();
        if !self.member.is_empty() {
            s.push_str(&format!(" member {}", self.member));
        }
        if !self.opcode.is_empty() {
            s.push_str(&format!(" offset {}: {}", self.offset, self.opcode));
        }
        if let Some(g) = &self.global {
            s.push_str(&format!(" {g}"));
        }
        s.push_str(&format!(": {}", self.message));
        s
    }

    pub fn unscannable(file: &Path, member: &str, message: String) -> Self {
        SecurityFinding {
            file: file.to_owned(),
            member: member.to_owned(),
            offset: 0,
            opcode: String::new(),
            global: None,
            message,
        }
    }

    fn from_pickle(file: &Path, member: &str, f: pickle::Finding) -> Self {
        SecurityFinding {
            file: file.to_owned(),
            member: member.to_owned(),
            offset: f.offset,
            opcode: f.opcode.to_owned(),
            global: f.global,
            message: f.message,
        }
    }
}

/// Reads `len` bytes at `offset` for a pickle, capped by [`MAX_PICKLE_BYTES`].
fn read_pickle_bytes(
    f: &mut MeteredFile,
    member: &str,
    offset: u64,
    len: u64,
) -> Result<Vec<u8>, ArtifactError> {
    if len > MAX_PICKLE_BYTES {
        return Err(ArtifactError::LimitExceeded {
            path: f.path().to_owned(),
            offset,
            what: format!("pickle `{member}` size"),
            value: len,
            limit: MAX_PICKLE_BYTES,
        });
    }
    // Bounded just above; the zip reader proved the range lies inside the file.
    let mut buf = vec![0u8; len as usize];
    f.read_exact_at(offset, &mut buf)?;
    Ok(buf)
}

/// A `torch.save` zip checkpoint.
pub(crate) fn read_zip(f: &mut MeteredFile) -> Result<ParsedFile, ArtifactError> {
    let path = f.path().to_owned();
    let members = zip::members(f)?;
    let by_name: HashMap<&str, &zip::Member> =
        members.iter().map(|m| (m.name.as_str(), m)).collect();
    // torch's reader takes the root directory from the first central directory entry and loads
    // `<root>/data.pkl`; do the same, so the pickle read here is the one torch would run. Any
    // other `data.pkl` is scanned below as a hidden pickle.
    let first_root = members
        .first()
        .and_then(|m| m.name.split_once('/'))
        .map(|(root, _)| format!("{root}/data.pkl"));
    let Some(pkl) = first_root.and_then(|name| by_name.get(name.as_str()).copied()) else {
        // An npz, or any archive hiding pickles: scanned, never counted.
        if let Some(p) = container::scan_zip_members(f, &members)? {
            return Ok(p);
        }
        return Err(ArtifactError::UnknownFormat {
            path,
            found: "a zip archive without `<root>/data.pkl` under the root of its first entry, so not a PyTorch checkpoint".into(),
        });
    };
    let root = pkl.name.trim_end_matches("data.pkl").to_owned();
    if pkl.method != 0 || pkl.encrypted {
        return Err(ArtifactError::Malformed {
            path,
            format: "PyTorch checkpoint",
            offset: pkl.data_offset,
            message: format!(
                "`{}` is compressed or encrypted (torch stores it uncompressed); it cannot be scanned, treat the file as unsafe",
                pkl.name
            ),
        });
    }
    let bytes = read_pickle_bytes(f, &pkl.name, pkl.data_offset, pkl.size)?;
    let mut p = ParsedFile::default();
    let outcome = scan_pickles(&path, &pkl.name, &bytes, &mut p);
    if outcome.error.is_some() {
        p.incomplete.push(format!(
            "{}: `{}` could not be read to its end: its tensors were not counted",
            path.display(),
            pkl.name
        ));
    }
    let found = tensors::collect(&outcome, &mut p.warnings);
    let storage = |key: &str| -> Option<(u64, u64)> {
        let m = by_name.get(format!("{root}data/{key}").as_str())?;
        (m.method == 0 && !m.encrypted).then_some((m.data_offset, m.size))
    };
    let referenced = tensors::locate(&path, found, storage, &mut p)?;

    for name in [
        "version",
        "byteorder",
        ".format_version",
        ".storage_alignment",
    ] {
        if let Some(m) = by_name.get(format!("{root}{name}").as_str())
            && m.method == 0
            && m.size <= 64
        {
            let mut buf = vec![0u8; m.size as usize];
            f.read_exact_at(m.data_offset, &mut buf)?;
            let text = String::from_utf8_lossy(&buf).trim().to_owned();
            if name == "byteorder" && text == "big" {
                p.warnings.push(format!(
                    "{}: storages are big-endian (byteorder `big`)",
                    path.display()
                ));
            }
            p.metadata.insert(format!("pytorch.{name}"), text);
        }
    }

    let referenced: HashSet<String> = referenced
        .into_iter()
        .map(|k| format!("{root}data/{k}"))
        .collect();
    for m in &members {
        if m.name == pkl.name || referenced.contains(&m.name) || m.name.ends_with('/') {
            continue;
        }
        scan_member(f, &path, m, &mut p)?;
    }
    Ok(p)
}

/// Scans a member torch does not load as a storage, when it is or may be a pickle: any `*.pkl`,
/// and any member without an extension whose first bytes start a pickle or a container.
fn scan_member(
    f: &mut MeteredFile,
    path: &Path,
    m: &zip::Member,
    p: &mut ParsedFile,
) -> Result<(), ArtifactError> {
    let last = m.name.rsplit('/').next().unwrap_or(&m.name);
    let is_pkl = last.ends_with(".pkl");
    let no_extension = !last.contains('.');
    if !is_pkl && !no_extension {
        return Ok(());
    }
    if m.method != 0 || m.encrypted {
        p.findings.push(SecurityFinding::unscannable(
            path,
            &m.name,
            "a compressed or encrypted member that torch never writes; it could hide a pickle and was not scanned".into(),
        ));
        return Ok(());
    }
    if !is_pkl {
        let mut head = vec![0u8; m.size.min(detect::HEAD_BYTES as u64) as usize];
        f.read_exact_at(m.data_offset, &mut head)?;
        let kind = detect::sniff_whole(&head, m.size, None, Path::new(&m.name));
        if kind != detect::Kind::Pickle && kind != detect::Kind::TorchLegacy {
            return Ok(());
        }
    }
    container::scan_member_bytes(f, path, &m.name, m.data_offset, m.size, p)
}

/// Runs every pickle in `bytes` back to back, as a loader calling `pickle.load` again would:
/// findings (with offsets in `bytes`) go into `p`, made before any error; a pickle that stops
/// on an error, and any byte after the first STOP, are findings too. Returns the first
/// pickle's outcome, the one a loader builds its object from.
pub(crate) fn scan_pickles(
    path: &Path,
    member: &str,
    bytes: &[u8],
    p: &mut ParsedFile,
) -> pickle::Outcome {
    let first = pickle::scan(bytes);
    let mut kept = 0usize;
    let mut dropped = 0u64;
    let mut add = |p: &mut ParsedFile, f: SecurityFinding| {
        // One more than the cap: a machine's own `N more findings` line.
        if kept <= MAX_FINDINGS_PER_FILE {
            kept += 1;
            p.findings.push(f);
        } else {
            dropped += 1;
        }
    };
    for finding in first.findings.iter().cloned() {
        add(p, SecurityFinding::from_pickle(path, member, finding));
    }
    if let Some(e) = &first.error {
        add(p, unscannable_pickle(path, member, e, 0));
    } else {
        let mut at = first.end;
        let mut pickles = 1u64;
        while at < bytes.len() {
            let next = pickle::scan(&bytes[at..]);
            for mut finding in next.findings {
                finding.offset += at as u64;
                add(p, SecurityFinding::from_pickle(path, member, finding));
            }
            if let Some(e) = &next.error {
                let trailing = (bytes.len() - at) as u64;
                let message = if pickles == 1 {
                    format!(
                        "{trailing} bytes after the pickle's STOP at offset {at} that are no complete pickle (offset {}: {}); a loader reading on runs what comes before the error",
                        e.offset + at as u64,
                        e.message
                    )
                } else {
                    format!(
                        "{trailing} bytes after pickle {pickles}'s STOP at offset {at} that are no complete pickle (offset {}: {})",
                        e.offset + at as u64,
                        e.message
                    )
                };
                add(p, SecurityFinding::unscannable(path, member, message));
                break;
            }
            pickles += 1;
            add(
                p,
                SecurityFinding {
                    file: path.to_owned(),
                    member: member.to_owned(),
                    offset: at as u64,
                    opcode: String::new(),
                    global: None,
                    message: format!(
                        "pickle {pickles} after the first one's STOP: a loader that reads on (legacy torch.load, joblib) runs it too; scanned"
                    ),
                },
            );
            // Each pickle takes at least its STOP byte, so this ends.
            at += next.end;
        }
    }
    if dropped > 0 {
        p.findings.push(SecurityFinding::unscannable(
            path,
            member,
            format!("{dropped} more findings not listed"),
        ));
    }
    first
}

/// The finding for a pickle the machine could not run to its STOP (`base`: where it starts).
pub(crate) fn unscannable_pickle(
    path: &Path,
    member: &str,
    e: &pickle::PickleError,
    base: u64,
) -> SecurityFinding {
    SecurityFinding {
        file: path.to_owned(),
        member: member.to_owned(),
        offset: e.offset + base,
        opcode: String::new(),
        global: None,
        message: format!(
            "the pickle could not be scanned to its end (offset {}: {}): Python's unpickler runs every call before the bad byte, so the file is unsafe whatever came before",
            e.offset + base,
            e.message
        ),
    }
}

/// A pickle that is no checkpoint, or a container that may hide one: scanned for what it would
/// run; no tensors.
pub(crate) fn read_bare_pickle(f: &mut MeteredFile) -> Result<ParsedFile, ArtifactError> {
    container::read_pickle_file(f)
}
