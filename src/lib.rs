//! weightguard: inspect, estimate, classify, seal and audit AI model weights under export
//! control.
//!
//! The library is organised by stage of the flow (see `docs/architecture.md`):
//! [`artifact`] reads model files into plain values; [`digest`] hashes them; [`fixture`] writes
//! synthetic models for tests, benchmarks and the demo.

// No unsafe code, except in the one module that memory-maps files (`digest::mmap`), which says
// why and how it is guarded.
#![deny(unsafe_code)]

// The command-line interface (src/cli/, one file per command) lives in the library so that the
// Python package's `weightguard` command runs it in-process (`cli::run_from`): the binary and the
// wheel run one CLI. Its files name the library by its crate name, as they did from the binary.
extern crate self as weightguard;
#[doc(hidden)]
pub mod cli;

pub mod artifact;
pub mod artifact_set;
pub mod audit;
pub mod compute;
pub mod digest;
pub mod envelope;
pub mod fixture;
#[doc(hidden)]
pub mod fuzz_api;
pub mod interrupt;
pub mod policy;
pub mod reports;
pub mod schema;
pub mod signing;
pub mod text;
pub mod units;
