//! Stage 4: envelopes that carry controlled weights to where they may go, and nowhere else.
//!
//! An envelope is a valid age v1 file (`age -d -i key | tar x` recovers the weights) whose header
//! carries signed destination claims in a custom stanza and whose plaintext is a tar stream of the
//! artifact's files ending with a signed manifest of their digests. Specified in
//! `docs/envelope-format.md`.
//!
//! [`seal`] encrypts and hashes in one pass on all cores; [`verify`] checks structure and claims
//! without any key; [`open`] refuses before decrypting when the claims do not fit the site, then
//! decrypts into a temporary directory and renames it into place only if every digest matched.

pub mod claims;
mod error;
pub mod filehash;
pub mod header;
pub mod inspect;
pub mod keys;
pub mod manifest;
pub mod open;
pub mod openssh;
pub mod pq;
pub mod remote;
pub mod seal;
mod sink;
pub mod stream;
pub mod tar;
pub mod terminal;
mod writers;

pub use claims::{Claims, PolicyRef};
pub use error::EnvelopeError;
pub use inspect::{Verified, verify, verify_object};
pub use keys::{SignerKey, SigningKey, TrustedSigner, TrustedSigners};
pub use open::{
    OpenReport, Site, open, open_object, open_object_with_progress, open_with_progress,
};
pub use remote::ObjectTarget;
pub use seal::{SealReport, SealTerms, seal, seal_set, seal_set_to_object, seal_with_progress};
