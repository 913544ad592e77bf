//! Colour as terminals and CI logs expect: `--color`, `NO_COLOR`, `CLICOLOR_FORCE`, `TERM=dumb`,
//! through the binary (standard output is a pipe here, so `auto` means no colour unless forced).

use std::process::Command;

fn policy_list(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut c = Command::new(env!("CARGO_BIN_EXE_weightguard"));
    c.args(args).arg("policy").arg("list");
    for k in ["NO_COLOR", "CLICOLOR_FORCE", "CLICOLOR", "TERM"] {
        c.env_remove(k);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn coloured(s: &str) -> bool {
    s.contains("\x1b[")
}

#[test]
fn colour_follows_flag_and_environment() {
    assert!(!coloured(&policy_list(&[], &[])), "a pipe gets no colour");
    assert!(coloured(&policy_list(&["--color", "always"], &[])));
    assert!(coloured(&policy_list(
        &["--color=always"],
        &[("NO_COLOR", "1")]
    )));
    assert!(!coloured(&policy_list(
        &["--color", "never"],
        &[("CLICOLOR_FORCE", "1")]
    )));
    assert!(coloured(&policy_list(&[], &[("CLICOLOR_FORCE", "1")])));
    assert!(!coloured(&policy_list(&[], &[("CLICOLOR_FORCE", "0")])));
    assert!(!coloured(&policy_list(
        &[],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]
    )));
    // An empty NO_COLOR does not count.
    assert!(coloured(&policy_list(
        &[],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "")]
    )));
    // The flag is global: after the command too.
    let mut c = Command::new(env!("CARGO_BIN_EXE_weightguard"));
    let out = c
        .args(["policy", "list", "--color", "always"])
        .output()
        .unwrap();
    assert!(coloured(&String::from_utf8_lossy(&out.stdout)));
    let out = Command::new(env!("CARGO_BIN_EXE_weightguard"))
        .args(["--color", "sometimes", "policy", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
