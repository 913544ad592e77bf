//! PyTorch checkpoints: zip archives (`torch.save` since 1.6) and the legacy pickle stream.
//! Work in progress.

use super::ArtifactError;
use super::builder::ParsedFile;
use super::read::MeteredFile;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Something a pickle would import or call that loading a state dict never needs, or a pickle
/// that could not be scanned. Any finding makes the file unsafe to load with pickle.
#[derive(Debug, Clone, Serialize)]
pub struct SecurityFinding {
    pub file: PathBuf,
    /// The archive member holding the pickle (`archive/data.pkl`), empty for a bare file.
    pub member: String,
    /// Byte offset of the opcode in the pickle.
    pub offset: u64,
    /// The opcode that imports or calls (`GLOBAL`, `STACK_GLOBAL`, `INST`, `OBJ`…).
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
}

fn todo(f: &MeteredFile) -> ArtifactError {
    ArtifactError::UnknownFormat {
        path: f.path().to_owned(),
        found: "PyTorch checkpoints are not read yet".into(),
    }
}

pub fn read_zip(f: &mut MeteredFile) -> Result<ParsedFile, ArtifactError> {
    Err(todo(f))
}

pub fn read_legacy(f: &mut MeteredFile) -> Result<ParsedFile, ArtifactError> {
    Err(todo(f))
}

pub fn read_bare_pickle(f: &mut MeteredFile) -> Result<ParsedFile, ArtifactError> {
    Err(todo(f))
}
