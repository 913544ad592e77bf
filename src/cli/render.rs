//! Human-readable numbers and terminal styling shared by the commands' printers.

use std::io::IsTerminal;

/// Text from a file (a name, a claim), safe to print: the one escaping rule, see
/// [`weightguard::text::escape`].
pub use weightguard::text::escape;

/// A clap value parser for text weightguard signs (`seal --site`, `--license`): printable text
/// only ([`weightguard::text::printable`]). The refusal names the flag and shows the value
/// escaped; clap's own message would echo it raw.
#[derive(Debug, Clone, Copy)]
pub struct Printable;

impl clap::builder::TypedValueParser for Printable {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        let flag = arg.map_or_else(|| "the value".to_owned(), |a| format!("'{a}'"));
        let refuse = |why: String| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid value for {flag}: {why}\n"),
            )
            .with_cmd(cmd)
        };
        let text = value.to_str().ok_or_else(|| {
            refuse(format!(
                "`{}` is not UTF-8; only printable text is accepted",
                escape(&value.to_string_lossy())
            ))
        })?;
        weightguard::text::printable(text).map_err(|e| refuse(escape(&e).into_owned()))
    }
}

/// Numbers for people: the library's one formatter ([`weightguard::units`]), shared with `audit`.
pub use weightguard::units::{bytes, count, count_f64, grouped};

/// `--color`: when to use colour (a global flag, before or after the command).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour on a terminal, unless the environment says otherwise (NO_COLOR, CLICOLOR_FORCE,
    /// CLICOLOR=0, TERM=dumb).
    #[default]
    Auto,
    /// Always colour, even into a pipe or file.
    Always,
    /// Never colour.
    Never,
}

/// The `--color` of this run, set once by `cli::run` before any output.
static COLOR: std::sync::OnceLock<ColorChoice> = std::sync::OnceLock::new();

/// Records `--color` for every [`Style`] of this run.
pub fn set_color(choice: ColorChoice) {
    let _ = COLOR.set(choice);
}

/// Whether to colour a stream, from `--color`, whether the stream is a terminal, and the
/// environment (`var` reads a variable; the real one in use, a map in tests). In order: the
/// flag, when not `auto`, decides; a non-empty `NO_COLOR` turns colour off (no-color.org);
/// `CLICOLOR_FORCE` other than empty or `0` turns it on even off a terminal; `CLICOLOR=0` and
/// `TERM=dumb` turn it off; otherwise a terminal gets colour. This is the order of the
/// `anstream` crate clap uses for its own help, so `--help` and the output agree.
pub fn use_color(
    choice: ColorChoice,
    terminal: bool,
    var: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> bool {
    let set = |k: &str| var(k).is_some_and(|v| !v.is_empty());
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if set("NO_COLOR") {
                false
            } else if set("CLICOLOR_FORCE") && var("CLICOLOR_FORCE").is_some_and(|v| v != "0") {
                true
            } else if var("CLICOLOR").is_some_and(|v| v == "0")
                || var("TERM").is_some_and(|v| v == "dumb")
            {
                false
            } else {
                terminal
            }
        }
    }
}

/// Styling for one output stream: ANSI colour as [`use_color`] decides for it.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    color: bool,
}

impl Style {
    fn for_stream(terminal: bool) -> Style {
        let choice = COLOR.get().copied().unwrap_or_default();
        Style {
            color: use_color(choice, terminal, |k| std::env::var_os(k)),
        }
    }

    pub fn stdout() -> Style {
        Style::for_stream(std::io::stdout().is_terminal())
    }

    pub fn stderr() -> Style {
        Style::for_stream(std::io::stderr().is_terminal())
    }

    /// Whether this stream may take terminal control sequences beyond colour (a progress bar
    /// redrawn in place): a terminal that is not `TERM=dumb`.
    pub fn stderr_redraws() -> bool {
        std::io::stderr().is_terminal() && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
    }

    fn paint(self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }

    pub fn bold(self, s: &str) -> String {
        self.paint("1", s)
    }

    pub fn dim(self, s: &str) -> String {
        self.paint("2", s)
    }

    pub fn warn(self, s: &str) -> String {
        self.paint("33", s)
    }

    pub fn error(self, s: &str) -> String {
        self.paint("1;31", s)
    }
}

/// Prints an error to stderr as `error: …`, with an optional hint on what to do next. Errors are
/// one line and often quote a file's content (a name, a key, a claim), so the message is
/// [escaped](escape): nothing in it can start another line or move the cursor.
pub fn error(message: &dyn std::fmt::Display, hint: Option<&str>) {
    let style = Style::stderr();
    let message = message.to_string();
    eprintln!("{} {}", style.error("error:"), escape(&message));
    if let Some(hint) = hint {
        eprintln!("  {}", style.dim(hint));
    }
}

/// Before writing `output`: names the temporaries an earlier, killed run left beside it
/// (`marker` says whose kind), removing those whose process no longer runs.
pub fn sweep_stale(output: &std::path::Path, marker: &str) {
    let dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    for note in weightguard::interrupt::sweep(dir, marker) {
        eprintln!("note: {note}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let vars: Vec<(String, OsString)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).into()))
            .collect();
        move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn colour_follows_the_flag_then_the_environment_then_the_terminal() {
        use ColorChoice::*;
        assert!(use_color(Auto, true, env(&[])));
        assert!(!use_color(Auto, false, env(&[])));
        assert!(!use_color(Auto, true, env(&[("NO_COLOR", "1")])));
        // An empty NO_COLOR is unset (no-color.org).
        assert!(use_color(Auto, true, env(&[("NO_COLOR", "")])));
        assert!(use_color(Auto, false, env(&[("CLICOLOR_FORCE", "1")])));
        assert!(!use_color(Auto, false, env(&[("CLICOLOR_FORCE", "0")])));
        assert!(!use_color(
            Auto,
            true,
            env(&[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")])
        ));
        assert!(!use_color(Auto, true, env(&[("TERM", "dumb")])));
        assert!(use_color(Auto, true, env(&[("TERM", "xterm-256color")])));
        assert!(!use_color(Auto, true, env(&[("CLICOLOR", "0")])));
        assert!(use_color(
            Auto,
            false,
            env(&[("TERM", "dumb"), ("CLICOLOR_FORCE", "1")])
        ));
        assert!(use_color(
            Always,
            false,
            env(&[("NO_COLOR", "1"), ("TERM", "dumb")])
        ));
        assert!(!use_color(Never, true, env(&[("CLICOLOR_FORCE", "1")])));
    }
}
