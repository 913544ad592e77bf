//! weightguard: inspect, estimate, classify, seal and audit AI model weights under export
//! control.
//!
//! The library is organised by stage of the flow (see `docs/architecture.md`):
//! [`artifact`] reads model files into plain values; [`fixture`] writes synthetic models for
//! tests, benchmarks and the demo.

#![forbid(unsafe_code)]

pub mod artifact;
pub mod compute;
pub mod fixture;
pub mod policy;
