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

/// `8030261248` → `8.030 B`: four significant digits and a short-scale suffix.
pub fn count(n: u64) -> String {
    scaled(n, &["", " K", " M", " B", " T", " Q"])
}

/// A count held as a float (tokens, operations): [`count`] while it is a whole number of at most
/// 10^18 (`15.60 T`), scientific notation above (`4.04e21`), never a cast that saturates at
/// `u64::MAX` (which printed 4.04e21 tokens as "18446.7 Q").
pub fn count_f64(v: f64) -> String {
    if !v.is_finite() {
        "unbounded".into()
    } else if v.abs() < 1e18 && v >= 0.0 {
        // Below 10^18, so the rounded value fits a u64 exactly enough for four digits.
        count(v.round() as u64)
    } else {
        format!("{v:.2e}")
    }
}

/// `16060522496` → `16.06 GB` (decimal units, as model hubs report sizes).
pub fn bytes(n: u64) -> String {
    if n < 1000 {
        return format!("{n} B");
    }
    scaled(n, &[" B", " KB", " MB", " GB", " TB", " PB", " EB"])
}

fn scaled(n: u64, units: &[&str]) -> String {
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        return format!("{n}{}", units[0]);
    }
    let decimals = if value >= 100.0 {
        1
    } else if value >= 10.0 {
        2
    } else {
        3
    };
    format!("{value:.decimals$}{}", units[unit])
}

/// `8030261248` → `8,030,261,248`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Styling for one output stream: ANSI only on a terminal and when `NO_COLOR` is unset.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    color: bool,
}

impl Style {
    pub fn stdout() -> Style {
        Style {
            color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    pub fn stderr() -> Style {
        Style {
            color: std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
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

    #[test]
    fn numbers_read_like_the_design_says() {
        assert_eq!(count(405_853_388_800), "405.9 B");
        assert_eq!(count(8_030_261_248), "8.030 B");
        assert_eq!(count(999), "999");
        assert_eq!(count(46_702_792_704), "46.70 B");
        assert_eq!(bytes(811_706_777_600), "811.7 GB");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(grouped(8_030_261_248), "8,030,261,248");
        assert_eq!(grouped(100), "100");
        assert_eq!(grouped(0), "0");
        assert_eq!(count_f64(4.04e21), "4.04e21");
        assert_eq!(count_f64(u64::MAX as f64), "1.84e19");
        assert_eq!(count_f64(15.6e12), "15.60 T");
        assert_eq!(count_f64(f64::INFINITY), "unbounded");
    }
}
