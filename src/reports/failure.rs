//! Why a report could not be made, said once for the CLI (a message and a hint) and for the
//! Python API (an exception carrying the file and the reason apart).

use crate::artifact::ArtifactError;
use crate::artifact_set::SetError;
use crate::digest::DigestError;
use std::fmt;
use std::path::{Path, PathBuf};

/// A failure to make a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The file the failure is about, when there is one (the malformed weight file, the training
    /// record that did not parse, the named path that does not exist).
    pub file: Option<PathBuf>,
    /// The whole message, as the CLI prints it after `error: `; it names the file itself.
    pub message: String,
    /// What to do about it.
    pub hint: Option<&'static str>,
}

impl Failure {
    /// A failure about no particular file (a bad argument, a policy that forbids nothing…).
    pub fn new(message: impl Into<String>, hint: Option<&'static str>) -> Failure {
        Failure {
            file: None,
            message: message.into(),
            hint,
        }
    }

    /// A failure about `file`; `message` names it (usually as its first words).
    pub fn about(file: &Path, message: impl Into<String>, hint: Option<&'static str>) -> Failure {
        Failure {
            file: Some(file.to_owned()),
            message: message.into(),
            hint,
        }
    }

    /// The same failure with another hint.
    pub fn with_hint(mut self, hint: Option<&'static str>) -> Failure {
        self.hint = hint;
        self
    }

    /// What was wrong, without the file: the message less its leading `<file>: `.
    pub fn reason(&self) -> &str {
        let Some(file) = &self.file else {
            return &self.message;
        };
        let shown = file.display().to_string();
        self.message
            .strip_prefix(shown.as_str())
            .and_then(|rest| rest.strip_prefix(": "))
            .unwrap_or(&self.message)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// The hint of a weight file that did not parse.
pub(crate) const MALFORMED: &str =
    "the file is malformed; nothing in it was trusted, loaded or executed";

impl From<ArtifactError> for Failure {
    fn from(e: ArtifactError) -> Failure {
        Failure::about(e.path(), e.to_string(), Some(MALFORMED))
    }
}

impl From<SetError> for Failure {
    fn from(e: SetError) -> Failure {
        let hint = match &e {
            SetError::Io { .. } => Some(
                "name a model directory, a weights file, a shard index or a hub cache repository",
            ),
            SetError::Artifact(_) => Some(MALFORMED),
            _ => None,
        };
        Failure {
            file: e.path().map(Path::to_owned),
            message: e.to_string(),
            hint,
        }
    }
}

impl From<DigestError> for Failure {
    fn from(e: DigestError) -> Failure {
        let hint = match &e {
            DigestError::Truncated { .. } | DigestError::Changed { .. } => {
                Some("hash again once nothing is writing the file; these digests were discarded")
            }
            DigestError::Weights(_) => {
                Some("the weight file is malformed; nothing in it was trusted, no digest was given")
            }
            _ => None,
        };
        Failure::about(e.path(), e.to_string(), hint)
    }
}

/// The CLI's form of a failure: the message and the hint it renders.
impl From<Failure> for (String, Option<&'static str>) {
    fn from(f: Failure) -> (String, Option<&'static str>) {
        (f.message, f.hint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_is_the_message_without_its_file() {
        let f = Failure::about(
            Path::new("m/x.safetensors"),
            "m/x.safetensors: too short",
            None,
        );
        assert_eq!(f.reason(), "too short");
        assert_eq!(f.to_string(), "m/x.safetensors: too short");
        let g = Failure::about(Path::new("a"), "a is a link to b", None);
        assert_eq!(g.reason(), "a is a link to b");
        assert_eq!(Failure::new("no file", None).reason(), "no file");
    }
}
