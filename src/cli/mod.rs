//! Command-line interface: one file per command, each with its arguments, a call into the library
//! and the rendering of the result.

mod audit;
mod classify;
mod completions;
mod demo;
mod estimate;
mod examples;
mod gate;
mod hash;
mod hash_check;
mod inputs;
mod inspect;
mod keygen;
mod open;
mod output;
mod policy;
mod progress;
mod remote;
mod render;
mod seal;
mod selection;
mod sign;
mod verify;
mod verify_signature;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::process::ExitCode;

/// Exit codes (a contract, see docs/user-guide.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success, or a transfer allowed.
    Ok = 0,
    /// Bad input, I/O, or a verification failure.
    Error = 1,
    /// A usage error (clap exits with 2 itself for bad flags; this is for values it cannot check).
    Usage = 2,
    /// The transfer needs a licence that was not supplied (or not valid for it).
    LicenseRequired = 3,
    /// The policy forbids the transfer.
    Denied = 4,
    /// The declared facts cannot settle the decision.
    NeedsReview = 5,
    /// `audit`: findings at or above `--fail-on` exist; `inspect`: a file it read has a
    /// security finding (a pickle that would run code, or could not be scanned).
    Findings = 6,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// Guard the export of AI model weights: inspect them, decide export control, seal them for a
/// destination, and find them where they should not be.
#[derive(Debug, Parser)]
#[command(name = "weightguard", about, max_term_width = 100)]
struct Cli {
    /// When to colour the output: auto (a terminal, unless NO_COLOR is set or TERM=dumb;
    /// CLICOLOR_FORCE forces it), always or never.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t)]
    color: render::ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Inspect(inspect::Args),
    Estimate(estimate::Args),
    Classify(classify::Args),
    Gate(gate::Args),
    Hash(hash::Args),
    Keygen(keygen::Args),
    Seal(seal::Args),
    Verify(verify::Args),
    Open(open::Args),
    Sign(sign::Args),
    VerifySignature(verify_signature::Args),
    Policy(policy::Args),
    Demo(demo::Args),
    Audit(audit::Args),
    Completions(completions::Args),
    Manpage(completions::ManArgs),
}

/// `weightguard 0.1.0`, the commit it was built from, and the built-in policy it decides by
/// unless told otherwise (its id and the digest decisions cite).
fn version() -> String {
    let policy = match weightguard::policy::Policy::builtin(weightguard::policy::DEFAULT_POLICY) {
        Some(Ok(p)) => format!("{} {}", weightguard::policy::DEFAULT_POLICY, p.digest),
        Some(Err(e)) => format!("{}: invalid ({e})", weightguard::policy::DEFAULT_POLICY),
        None => format!("{}: missing", weightguard::policy::DEFAULT_POLICY),
    };
    format!(
        "{}\ncommit {}\npolicy {policy}\nschema {}",
        env!("CARGO_PKG_VERSION"),
        env!("WEIGHTGUARD_COMMIT"),
        weightguard::schema::SCHEMA_VERSION
    )
}

/// The command line's definition: the derived one, with the version only known at run time
/// (the policy's digest) and each command's examples. Completions and man pages come from it.
fn command() -> clap::Command {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let version = VERSION.get_or_init(version).as_str();
    examples::add(Cli::command().version(version))
}

/// clap's own colour (help, usage errors) follows `--color` too: clap prints those before the
/// flag is parsed, so it is read from the raw arguments here. Otherwise clap's `auto` reads the
/// same variables as [`render::use_color`].
fn clap_color(args: &[std::ffi::OsString]) -> clap::ColorChoice {
    let mut choice = clap::ColorChoice::Auto;
    for (i, a) in args.iter().enumerate() {
        let value = match a.to_str() {
            Some("--color") => args.get(i + 1).and_then(|v| v.to_str()),
            Some(a) => a.strip_prefix("--color="),
            None => None,
        };
        match value {
            Some("always") => choice = clap::ColorChoice::Always,
            Some("never") => choice = clap::ColorChoice::Never,
            Some("auto") => choice = clap::ColorChoice::Auto,
            _ => {}
        }
        if a == "--" {
            break;
        }
    }
    choice
}

fn parse(args: &[std::ffi::OsString]) -> Cli {
    let matches = command().color(clap_color(args)).get_matches_from(args);
    match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    }
}

/// Parses the process's command line (usage errors exit 2, as clap does) and runs the command.
pub fn run() -> ExitCode {
    ExitCode::from(run_from(&std::env::args_os().collect::<Vec<_>>()))
}

/// Runs the command line `args` (the program's name first) in this process: the binary's
/// `main`, and the Python package's `weightguard` command (with its `sys.argv`, since the
/// process's own arguments start with the interpreter). Returns the exit status; usage errors,
/// `--help` and `--version` exit the process, as clap does.
pub fn run_from(args: &[std::ffi::OsString]) -> u8 {
    let cli = parse(args);
    render::set_color(cli.color);
    // SIGINT, SIGTERM, SIGHUP: every temporary removed, exit 130, 143, 129.
    if let Err(e) = weightguard::interrupt::install() {
        render::error(&format!("cannot install the signal handler: {e}"), None);
        return Exit::Error as u8;
    }
    // A closed or full standard output ends the command as an exit code, not a panic.
    output::guard(|| match cli.command {
        Command::Inspect(args) => inspect::run(&args),
        Command::Estimate(args) => estimate::run(&args),
        Command::Classify(args) => classify::run(&args),
        Command::Gate(args) => gate::run(&args),
        Command::Hash(args) => hash::run(&args),
        Command::Keygen(args) => keygen::run(&args),
        Command::Seal(args) => seal::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Open(args) => open::run(&args),
        Command::Sign(args) => sign::run(&args),
        Command::VerifySignature(args) => verify_signature::run(&args),
        Command::Policy(args) => policy::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Audit(args) => audit::run(&args),
        Command::Completions(args) => completions::run(&args, command()),
        Command::Manpage(args) => completions::manpage(&args, command()),
    })
}
