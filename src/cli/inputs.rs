//! Inputs shared by estimate, classify, gate and seal: the flags that name the training facts,
//! the policy and the date, parsed for clap, and the library's loaders
//! ([`weightguard::reports::inputs`]) with their failures in the CLI's form (message, hint).

use std::path::{Path, PathBuf};
use weightguard::policy::{self, Date, Policy};
use weightguard::reports::{self, inputs};

pub use weightguard::reports::inputs::parse_count;

/// An error message and what to do about it.
pub type Failure = (String, Option<&'static str>);

/// `-o OUT` of `seal` and `open`: a path. `-` is refused rather than taken as a file named `-`:
/// an envelope (or an opened model) is written beside its name and renamed into place when
/// whole, which standard output cannot do.
pub fn parse_output(s: &str) -> Result<std::path::PathBuf, String> {
    if s == "-" {
        return Err(
            "`-` (standard output) is not supported: the output is written beside its name and renamed into place only when complete; name a file or directory"
                .into(),
        );
    }
    Ok(std::path::PathBuf::from(s))
}

/// `--as-of YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<Date, String> {
    Date::parse(s)
}

/// `--destination` / `--holder-hq`: an ISO 3166-1 alpha-2 code (clap turns an error into a
/// usage error, exit 2).
pub fn parse_country(s: &str) -> Result<String, String> {
    policy::countries::parse(s)
}

/// A small text file the user named (see [`inputs::read_text`]).
pub fn read_text(path: &Path, what: &'static str, limit: usize) -> Result<String, Failure> {
    Ok(inputs::read_text(path, what, limit)?)
}

/// `--policy ID|FILE`: a built-in id, else a path.
pub fn read_policy(spec: &str) -> Result<Policy, Failure> {
    Ok(inputs::read_policy(spec)?)
}

pub fn read_licences(path: &Path) -> Result<Vec<policy::Licence>, Failure> {
    Ok(inputs::read_licences(path)?)
}

/// What is known of the model's training: the options every command that estimates compute
/// takes, so that `estimate`, `classify`, `gate` and `seal` reach the same figure from the same
/// inputs.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainingArgs {
    /// Training record (TOML); default: training-record.toml beside the weights.
    #[arg(long, value_name = "FILE")]
    pub training_record: Option<PathBuf>,
    /// Training tokens (e.g. 15.6e12 or 15.6T), when there is no training record.
    #[arg(long, value_name = "N", value_parser = parse_count)]
    pub tokens: Option<f64>,
    /// Accelerator table (TOML) instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    pub accelerators: Option<PathBuf>,
    /// Warn when two methods for one stage differ by more than this factor.
    #[arg(long, default_value_t = inputs::DEFAULT_DISAGREEMENT_FACTOR, value_name = "FACTOR")]
    pub disagreement_factor: f64,
}

impl TrainingArgs {
    /// The declared facts, as the library takes them.
    pub fn plain(&self) -> reports::Training {
        reports::Training {
            record: self.training_record.clone(),
            tokens: self.tokens,
            accelerators: self.accelerators.clone(),
            disagreement_factor: self.disagreement_factor,
        }
    }
}
