//! `weightguard hash --check FILE` (re-verify a previous `hash` output, as `b3sum --check` does)
//! and `hash --whole-files` (lines `b3sum --check` accepts). The parsing and checking are
//! `weightguard::digest::check`'s.

use super::Exit;
use super::render;
use std::io::{IsTerminal, Read};
use std::path::Path;
use weightguard::digest::check::{self, MAX_CHECK_FILE_BYTES, Outcome};
use weightguard::digest::{HashReport, Options};

/// Checks every line of `file` (`-`: standard input): `NAME: OK`, `NAME: FAILED` or
/// `NAME: FAILED (why)` on stdout, one per line in order; exit 1 if any line failed. A malformed
/// line refuses the whole file (with its number) before any file is read.
pub fn run(file: &Path, opts: &Options, set: &weightguard::artifact_set::Options) -> Exit {
    let shown = if file.as_os_str() == "-" {
        "(standard input)".to_owned()
    } else {
        file.display().to_string()
    };
    let text = match read(file) {
        Ok(t) => t,
        Err(e) => {
            render::error(&format!("{shown}: {e}"), None);
            return Exit::Error;
        }
    };
    let lines = match check::parse(&text) {
        Ok(l) => l,
        Err((0, why)) => {
            render::error(&format!("{shown}: {why}"), None);
            return Exit::Error;
        }
        Err((n, why)) => {
            render::error(
                &format!("{shown}:{n}: {why}"),
                Some(
                    "nothing was checked: a check file is `[\\]<digest>  <name>` lines, as `hash` and `b3sum` print them",
                ),
            );
            return Exit::Error;
        }
    };
    let outcomes = check::check(&lines, opts, set);
    let mut failed = 0;
    for (line, outcome) in lines.iter().zip(&outcomes) {
        match outcome {
            Outcome::Ok => println!("{}: OK", line.shown()),
            Outcome::Failed => {
                failed += 1;
                println!("{}: FAILED", line.shown());
            }
            Outcome::Unchecked(why) => {
                failed += 1;
                println!("{}: FAILED ({})", line.shown(), render::escape(why));
            }
        }
    }
    if failed > 0 {
        render::error(
            &format!("{shown}: {failed} of {} lines FAILED", lines.len()),
            None,
        );
        return Exit::Error;
    }
    Exit::Ok
}

/// The check file's text, at most [`MAX_CHECK_FILE_BYTES`].
fn read(file: &Path) -> Result<String, String> {
    let mut bytes = Vec::new();
    let reader: Box<dyn Read> = if file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(file).map_err(|e| e.to_string())?)
    };
    reader
        .take(MAX_CHECK_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_CHECK_FILE_BYTES {
        return Err(format!(
            "more than {MAX_CHECK_FILE_BYTES} bytes: not a check file"
        ));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned())
}

/// `hash --whole-files`: one b3sum line per file. Into a file or a pipe the lines are b3sum's
/// byte for byte; on a terminal a name holding any other control or bidirectional character is
/// shown escaped (as all text from the disk is), since printed raw it would act on the terminal.
pub fn whole_files(r: &HashReport) -> String {
    let terminal = std::io::stdout().is_terminal();
    let mut out = String::new();
    for f in &r.files {
        let Some(d) = f.blake3 else { continue };
        let name = f.path.display().to_string();
        let safe_raw = !name
            .chars()
            .any(|c| c != '\n' && weightguard::text::is_unsafe(c));
        if terminal && !safe_raw {
            out.push_str(&format!("\\{d}  {}\n", render::escape(&name)));
        } else {
            out.push_str(&check::b3sum_line(d, &name));
            out.push('\n');
        }
    }
    out
}
