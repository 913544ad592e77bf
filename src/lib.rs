//! weightguard: inspect, estimate, classify, seal and audit AI model weights under export
//! control.
//!
//! The library is organised by stage of the flow (see `docs/architecture.md`):
//! [`artifact`] reads model files into plain values; [`digest`] hashes them; [`fixture`] writes
//! synthetic models for tests, benchmarks and the demo.

// No unsafe code, except in the one module that memory-maps files (`digest::mmap`), which says
// why and how it is guarded.
#![deny(unsafe_code)]

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
pub mod signing;
pub mod schema;
pub mod text;
pub mod units;
