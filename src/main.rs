//! The `weightguard` binary: the library's CLI (`weightguard::cli`, which parses arguments, calls
//! the library and renders), run with the process's arguments. Nothing else.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    weightguard::cli::run()
}
