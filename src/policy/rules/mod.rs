//! The policy's rules as small, named evaluators: facts in, a [`Reason`](super::Reason) (and
//! what it decides) out. `classify` and `gate` run them in order; "where is the embargo rule"
//! is answered by a file name here.
//!
//! Moved here so far: the policy's status ([`status`]), the plausibility presumption
//! ([`plausibility`]), comprehensive embargoes ([`embargo`]) and a destination rule's unverified
//! conditions ([`conditions`]). The threshold, exclusions, destination rules, orders and
//! licences are still evaluated inline in `classify.rs` and `gate.rs`.

pub mod conditions;
pub mod embargo;
pub mod plausibility;
pub mod status;
