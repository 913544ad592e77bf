//! Shell completions, man pages and `--help` examples, as a user would use them: the completion
//! script sourced into bash completes commands and flags; the man pages name every command.

mod common;
use common::*;
use std::process::Command;

const COMMANDS: &[&str] = &[
    "inspect",
    "estimate",
    "classify",
    "gate",
    "hash",
    "keygen",
    "seal",
    "verify",
    "open",
    "policy",
    "demo",
    "audit",
    "completions",
    "manpage",
];

/// Completions bash offers for the words of a command line (the last one being completed).
fn bash_complete(script: &str, words: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("weightguard.bash");
    std::fs::write(&file, script).unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE='{}'; COMP_POINT=${{#COMP_LINE}}; \
         _weightguard weightguard '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display(),
        quoted.join(" "),
        words.len() - 1,
        words.join(" "),
        words[words.len() - 1],
        words[words.len().saturating_sub(2)],
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(program)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).lines().map(str::to_owned).collect()
}

#[test]
fn bash_completion_completes_commands_and_flags() {
    let out = weightguard(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let script = stdout(&out);
    let syntax = Command::new("bash")
        .arg("-n")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert!(syntax.status.success(), "{}", stderr(&syntax));
    assert_eq!(bash_complete(&script, &["weightguard", "ins"]), ["inspect"]);
    let flags = bash_complete(&script, &["weightguard", "audit", "--form"]);
    assert_eq!(flags, ["--format"]);
    let formats = bash_complete(&script, &["weightguard", "audit", "--format", ""]);
    for f in ["table", "json", "jsonl", "csv", "sarif", "html"] {
        assert!(formats.iter().any(|c| c == f), "{f} in {formats:?}");
    }
}

#[test]
fn zsh_and_fish_completions_name_every_command() {
    for shell in ["zsh", "fish"] {
        let out = weightguard(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let script = stdout(&out);
        for c in COMMANDS {
            assert!(script.contains(c), "{shell}: {c}");
        }
    }
    let out = weightguard(&["completions", "tcsh"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[test]
fn man_pages_cover_every_command() {
    let out = weightguard(&["manpage"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let page = stdout(&out);
    assert!(
        page.contains(&format!(
            ".TH weightguard 1  \"weightguard {}\"",
            env!("CARGO_PKG_VERSION")
        )),
        "{page}"
    );
    for c in COMMANDS {
        assert!(page.contains(&format!("weightguard\\-{c}(1)")), "{c}");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = weightguard(&["manpage", "--dir", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for c in COMMANDS {
        let p = dir.path().join(format!("weightguard-{c}.1"));
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(text.contains("Examples:"), "{c}: no examples");
    }
}

#[test]
fn every_command_shows_examples_in_its_help() {
    for c in COMMANDS {
        let out = weightguard(&[c, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{c}: {}", stderr(&out));
        let help = stdout(&out);
        let (_, examples) = help
            .split_once("\nExamples:\n")
            .unwrap_or_else(|| panic!("{c} --help has no examples:\n{help}"));
        assert!(
            examples.contains(&format!("weightguard {c}")),
            "{c}: {examples}"
        );
    }
}
