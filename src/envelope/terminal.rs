//! How an age plugin talks to the person at the keyboard (a hardware key asking to be touched,
//! for a PIN, or which of two keys to try): on the controlling terminal, `/dev/tty`, never
//! standard input or output (those may carry an identity read with `-i -`, or JSON). Where there
//! is no terminal (CI, a service), a question gets no answer: the plugin is told so, and a line
//! on stderr says what it asked and why nobody could answer.

use age::secrecy::SecretString;
use std::io::{BufRead, BufReader, Write};

/// The [`age::Callbacks`] weightguard gives every plugin.
#[derive(Clone, Copy, Debug, Default)]
pub struct TerminalCallbacks;

/// The controlling terminal, opened for a question; None (and a line on stderr) without one.
fn terminal(asked: &str) -> Option<std::fs::File> {
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
    {
        Ok(tty) => Some(tty),
        Err(e) => {
            eprintln!(
                "weightguard: an age plugin asked {asked}, but there is no terminal to ask on (/dev/tty: {e}); the plugin was told no answer came"
            );
            None
        }
    }
}

/// Asks `prompt` on the terminal and reads one line (without its line ending).
fn ask(prompt: &str, asked: &str) -> Option<String> {
    let mut tty = terminal(asked)?;
    write!(tty, "{prompt}").ok()?;
    tty.flush().ok()?;
    let mut line = String::new();
    BufReader::new(tty).read_line(&mut line).ok()?;
    Some(line.trim_end_matches(['\r', '\n']).to_owned())
}

impl age::Callbacks for TerminalCallbacks {
    fn display_message(&self, message: &str) {
        // A message from a plugin binary: escaped, as all text from outside is.
        eprintln!("{}", crate::text::escape(message));
    }

    fn confirm(&self, message: &str, yes_string: &str, no_string: Option<&str>) -> Option<bool> {
        let message = crate::text::escape(message);
        let yes = crate::text::escape(yes_string);
        let no = no_string.map(crate::text::escape);
        let choices = match &no {
            Some(no) => format!("[1] {yes}, [2] {no}"),
            None => format!("[1] {yes}"),
        };
        let asked = format!("for a confirmation ({message})");
        loop {
            let answer = ask(&format!("{message}\n{choices}: "), &asked)?;
            match answer.trim() {
                "1" => return Some(true),
                "2" if no.is_some() => return Some(false),
                _ => continue,
            }
        }
    }

    fn request_public_string(&self, description: &str) -> Option<String> {
        let description = crate::text::escape(description);
        ask(
            &format!("{description} "),
            &format!("for input ({description})"),
        )
    }

    fn request_passphrase(&self, description: &str) -> Option<SecretString> {
        let description = crate::text::escape(description);
        // Checked first so that the refusal is ours and says why.
        terminal(&format!("for a secret ({description})"))?;
        // Read from /dev/tty with echo off.
        rpassword::prompt_password(format!("{description} "))
            .ok()
            .map(SecretString::from)
    }
}
