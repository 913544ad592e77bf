//! PyTorch checkpoints, read without unpickling: the zip format `torch.save` writes since 1.6,
//! the legacy pickle stream before it, and bare pickles found among weights.
//!
//! `data.pkl` is run through our own symbolic [`pickle`] machine: tensor names, shapes, dtypes
//! and storage keys come out, and every global outside the allow-list becomes a
//! [`SecurityFinding`]. Storages are located through the zip's own directory ([`zip`]): each
//! `<root>/data/<key>` member is one [`crate::artifact::DataRegion`], and each tensor's byte range
//! is its view inside that storage. Other pickles hidden in the archive are scanned too.

pub mod legacy;
pub mod pickle;
#[doc(hidden)]
pub mod tensors;
pub mod zip;

use super::ArtifactError;
use super::builder::ParsedFile;
use super::limits::MAX_PICKLE_BYTES;
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

fn pickle_error(path: &Path, member: &str, e: pickle::PickleError) -> ArtifactError {
    ArtifactError::Pickle {
        path: path.to_owned(),
        member: member.to_owned(),
        offset: e.offset,
        message: e.message,
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
    let outcome = pickle::run(&bytes).map_err(|e| pickle_error(&path, &pkl.name, e))?;
    let mut p = ParsedFile::default();
    for finding in outcome.findings.iter().cloned() {
        p.findings
            .push(SecurityFinding::from_pickle(&path, &pkl.name, finding));
    }
    if outcome.end != bytes.len() {
        p.warnings.push(format!(
            "{}: {} bytes after the pickle's STOP in `{}`",
            path.display(),
            bytes.len() - outcome.end,
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
/// and any member without an extension whose first bytes are a pickle protocol header.
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
        if m.size < 2 {
            return Ok(());
        }
        let mut head = [0u8; 2];
        f.read_exact_at(m.data_offset, &mut head)?;
        if !(head[0] == 0x80 && (2..=5).contains(&head[1])) {
            return Ok(());
        }
    }
    if m.size > MAX_PICKLE_BYTES {
        p.findings.push(SecurityFinding::unscannable(
            path,
            &m.name,
            format!("a pickle of {} bytes, too large to scan", m.size),
        ));
        return Ok(());
    }
    let bytes = read_pickle_bytes(f, &m.name, m.data_offset, m.size)?;
    match pickle::run(&bytes) {
        Ok(o) => {
            p.warnings.push(format!(
                "{}: member `{}` is a pickle that torch.load does not read; scanned it",
                path.display(),
                m.name
            ));
            for finding in o.findings {
                p.findings
                    .push(SecurityFinding::from_pickle(path, &m.name, finding));
            }
        }
        Err(e) if is_pkl => p.findings.push(SecurityFinding::unscannable(
            path,
            &m.name,
            format!(
                "a pickle that could not be scanned: offset {}: {}",
                e.offset, e.message
            ),
        )),
        Err(_) => {}
    }
    Ok(())
}

/// A pickle that is no checkpoint: scanned for what it would run; no tensors.
pub(crate) fn read_bare_pickle(f: &mut MeteredFile) -> Result<ParsedFile, ArtifactError> {
    let path = f.path().to_owned();
    let len = f.len();
    let bytes = read_pickle_bytes(f, "(whole file)", 0, len)?;
    let outcome = pickle::run(&bytes).map_err(|e| pickle_error(&path, "(whole file)", e))?;
    let mut p = ParsedFile::default();
    for finding in outcome.findings {
        p.findings
            .push(SecurityFinding::from_pickle(&path, "", finding));
    }
    p.warnings.push(format!(
        "{}: a bare pickle, not a weight format: scanned for what it would import and call, no tensors read",
        path.display()
    ));
    Ok(p)
}
