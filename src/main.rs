//! The `weightguard` binary: parses arguments, calls the library, renders. Nothing else.

#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
