//! Standard output, for every command.
//!
//! `println!` panics when a write fails, so a reader that stopped early (`| head`) or a full disk
//! (`> /dev/full`) used to end a command with a panic message and exit 101. Here:
//! - commands print with [`outln!`] and [`out!`], which stop the command when standard output
//!   fails, by unwinding with a [`Stopped`] payload: every destructor on the way runs, so
//!   temporary files and directories are removed as on any other error;
//! - [`guard`] runs the command, catches that payload (and the panic of a `println!` not yet
//!   replaced, recognised by std's message), and flushes standard output at the end, so an error
//!   on the last buffered bytes is not lost;
//! - a closed pipe ends the command quietly with exit 141, what a shell reports for a process
//!   killed by SIGPIPE (`yes | head`): under `set -o pipefail` a report cut short is never taken
//!   for a success or for a gate decision that nobody read;
//! - any other error (a full disk, an I/O error) is `error: standard output: …`, exit 1.

use super::Exit;
use std::io::{self, Write};
use std::path::Path;

/// Exit status when standard output is a closed pipe: 128 + SIGPIPE, as the shell reports for a
/// process the signal killed.
pub const CLOSED_PIPE: u8 = 128 + 13;

/// The panic payload that stops a command whose standard output failed.
#[derive(Debug)]
pub struct Stopped(pub io::Error);

/// Writes to standard output; on failure stops the command (see the module docs).
pub fn write_fmt(args: std::fmt::Arguments<'_>) {
    if let Err(e) = io::stdout().lock().write_fmt(args) {
        std::panic::panic_any(Stopped(e));
    }
}

/// `println!` through [`write_fmt`]: a failed write stops the command instead of panicking.
macro_rules! outln {
    () => {
        $crate::cli::output::write_fmt(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::write_fmt(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` through [`write_fmt`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::output::write_fmt(format_args!($($arg)*))
    };
}

pub(crate) use {out, outln};

/// How standard output failed, from a panic payload: ours, or std's `println!` message.
enum Failure {
    ClosedPipe,
    Other(String),
    /// Standard error failed: nothing more can be said.
    Stderr,
}

fn failure(payload: &(dyn std::any::Any + Send)) -> Option<Failure> {
    if let Some(Stopped(e)) = payload.downcast_ref::<Stopped>() {
        return Some(classify(
            e.kind() == io::ErrorKind::BrokenPipe,
            e.to_string(),
        ));
    }
    let msg = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())?;
    // std's `print_to`: `failed printing to {label}: {io error}`.
    if let Some(e) = msg.strip_prefix("failed printing to stdout: ") {
        let pipe = io::Error::from_raw_os_error(libc::EPIPE).to_string();
        return Some(classify(e == pipe, e.to_owned()));
    }
    msg.starts_with("failed printing to stderr: ")
        .then_some(Failure::Stderr)
}

fn classify(closed_pipe: bool, what: String) -> Failure {
    if closed_pipe {
        Failure::ClosedPipe
    } else {
        Failure::Other(what)
    }
}

/// Runs a command with standard output guarded (see the module docs) and returns its exit status.
pub fn guard(command: impl FnOnce() -> Exit) -> u8 {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // A failed standard output is reported once, by `guard`; any other panic as before.
        if failure(info.payload()).is_none() {
            default(info);
        }
    }));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(command));
    let failed = match result {
        Ok(exit) => match io::stdout().lock().flush() {
            Ok(()) => return exit as u8,
            Err(e) => classify(e.kind() == io::ErrorKind::BrokenPipe, e.to_string()),
        },
        Err(payload) => match failure(payload.as_ref()) {
            Some(f) => f,
            None => std::panic::resume_unwind(payload),
        },
    };
    match failed {
        Failure::ClosedPipe => CLOSED_PIPE,
        Failure::Stderr => Exit::Error as u8,
        Failure::Other(what) => {
            super::render::error(
                &format!("standard output: {what}; the output is incomplete"),
                Some("free space where the output goes, or write it elsewhere"),
            );
            Exit::Error as u8
        }
    }
}

/// Writes `bytes` to a temporary beside `path` and renames it into place once complete and
/// synced, so a reader never sees half a report. Without `force` an existing `path` (a file, a
/// link, anything) is refused, checked first and again by the no-clobber rename itself; with it,
/// the rename replaces what is there (a link itself, never its target). A directory is never
/// replaced.
///
/// `what` names the command in the temporary's name (`.weightguard-<what>-…`).
pub fn write_new(
    what: &str,
    path: &Path,
    bytes: &[u8],
    force: bool,
) -> Result<(), super::inputs::Failure> {
    use std::io::Write;
    let shown = path.display();
    let exists = || {
        (
            format!("{shown}: already exists; nothing was written"),
            Some("choose a new output path, or add --force to replace it"),
        )
    };
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err((
                format!("{shown}: is a directory; nothing was written"),
                Some("name a file to write to"),
            ));
        }
        Ok(_) if !force => return Err(exists()),
        _ => {}
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let io = |e: std::io::Error| (format!("{shown}: {e}; nothing was written"), None);
    // Registered: a SIGINT/SIGTERM/SIGHUP removes it (`weightguard::interrupt`).
    let (mut tmp, _registered) = weightguard::interrupt::create(
        || {
            tempfile::Builder::new()
                .prefix(&format!(".weightguard-{what}-"))
                .tempfile_in(dir)
        },
        |t| t.path().to_owned(),
    )
    .map_err(io)?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(io)?;
    let persisted = if force {
        tmp.persist(path)
    } else {
        tmp.persist_noclobber(path)
    };
    match persisted {
        Ok(_) => Ok(()),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Err(exists()),
        Err(e) => Err(io(e.error)),
    }
}
