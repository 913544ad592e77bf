//! Why an envelope could not be sealed, verified or opened. Every refusal says what failed; none
//! leaves plaintext behind.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: offset {offset}: not an age v1 header: {what}", path.display())]
    Header {
        path: PathBuf,
        offset: u64,
        what: String,
    },
    #[error("{}: header MAC does not match: the header was altered or the key is wrong", path.display())]
    HeaderMac { path: PathBuf },
    #[error("{}: no weightguard claims stanza: a plain age file (open it with --allow-plain-age, which skips every destination check)", path.display())]
    NoClaims { path: PathBuf },
    #[error("{}: claims: {what}", path.display())]
    Claims { path: PathBuf, what: String },
    #[error("{}: the claims are signed by {found}, not by {expected}", path.display())]
    UntrustedSigner {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("{}: the claims signature does not verify: the claims were altered", path.display())]
    BadSignature { path: PathBuf },
    #[error("{}: sealed for {claimed}, but this site is {actual}", path.display())]
    WrongSite {
        path: PathBuf,
        claimed: String,
        actual: String,
    },
    #[error("{}: expired on {expires} (today is {today})", path.display())]
    Expired {
        path: PathBuf,
        expires: String,
        today: String,
    },
    #[error("{}: the policy no longer allows this destination: {why}", path.display())]
    PolicyRefuses { path: PathBuf, why: String },
    #[error("{}: none of the identities can unwrap the file key (wrong identity)", path.display())]
    NoMatchingIdentity { path: PathBuf },
    #[error("{}: payload chunk {chunk}: authentication failed: the payload was altered, truncated or extended", path.display())]
    Payload { path: PathBuf, chunk: u64 },
    #[error("{}: payload: {what}", path.display())]
    PayloadFormat { path: PathBuf, what: String },
    #[error("{}: manifest: {what}", path.display())]
    Manifest { path: PathBuf, what: String },

    #[error(
        "the signed manifest would exceed {limit} bytes ({what}), which `open` refuses: nothing was written; seal the model in parts (--exclude), or fewer, larger files"
    )]
    ManifestTooLarge { limit: u64, what: String },
    #[error("{}: {what}", path.display())]
    Digest { path: PathBuf, what: String },
    #[error("{}: already exists; choose a new output path", path.display())]
    OutputExists { path: PathBuf },
    #[error("{what}")]
    Keys { what: String },
    #[error("{}: {what}", path.display())]
    Input { path: PathBuf, what: String },
    /// Object storage: what went wrong and what to do (the request's own error, explained).
    #[error("{what}")]
    Remote { url: String, what: String },
}

impl EnvelopeError {
    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> EnvelopeError {
        let path = path.to_owned();
        move |source| EnvelopeError::Io { path, source }
    }
}
