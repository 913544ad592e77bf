//! `weightguard completions SHELL` and `weightguard manpage`: both generated from the clap
//! definitions, so they list exactly the commands and flags the binary parses.

use super::Exit;
use super::render;
use std::path::PathBuf;

/// Print a shell completion script for weightguard (generated from its own argument definitions).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub fn run(args: &Args, mut cmd: clap::Command) -> Exit {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "weightguard", &mut out);
    super::output::write_fmt(format_args!("{}", String::from_utf8_lossy(&out)));
    Exit::Ok
}

/// Print the man page (roff) for weightguard, or write one page per command into a directory.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write weightguard.1 and weightguard-COMMAND.1 for every command into DIR instead of
    /// printing weightguard.1.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

pub fn manpage(args: &ManArgs, cmd: clap::Command) -> Exit {
    // The page's header line holds one line of version (`--version`'s commit and policy lines
    // would break its roff).
    let cmd = cmd.version(env!("CARGO_PKG_VERSION"));
    match &args.dir {
        Some(dir) => match clap_mangen::generate_to(cmd, dir) {
            Ok(()) => Exit::Ok,
            Err(e) => {
                render::error(&format!("{}: {e}", dir.display()), None);
                Exit::Error
            }
        },
        None => {
            let mut out = Vec::new();
            if let Err(e) = clap_mangen::Man::new(cmd).render(&mut out) {
                render::error(&e, None);
                return Exit::Error;
            }
            super::output::write_fmt(format_args!("{}", String::from_utf8_lossy(&out)));
            Exit::Ok
        }
    }
}
