//! What `inspect`, `hash`, `estimate`, `classify` and `gate` report, built once for every caller:
//! the CLI prints these values (as `--json` lines, or rendered for people), and the Python API
//! (`python/`) returns the very same JSON lines, parsed. Neither builds its own output, so the
//! two cannot drift apart.
//!
//! Each command has a module that takes plain values (a path, the artifact set's
//! [`Options`](crate::artifact_set::Options), the declared [`Training`], a policy, a date), calls
//! the stages of the library and returns the report; `json_line` functions give the `--json` line
//! (with `schema_version`, see [`crate::schema`]). Failures are [`Failure`]s: the message the CLI
//! prints, the file it is about and what to do next.

pub mod classify;
pub mod estimate;
mod failure;
pub mod gate;
pub mod hash;
pub mod inputs;
pub mod inspect;

pub use failure::Failure;
pub use inputs::{Loaded, Training};
