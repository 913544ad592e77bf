//! Records the commit the binary is built from, for `weightguard --version`: the
//! `WEIGHTGUARD_COMMIT` environment variable when set (the Dockerfile's build argument, for a
//! context without .git), else `git rev-parse HEAD` in a git checkout, else `unknown`.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?;
    Some(s.trim().to_owned())
}

fn main() {
    // A build without .git (a container build context, a source tarball) can name its commit.
    println!("cargo:rerun-if-env-changed=WEIGHTGUARD_COMMIT");
    let given = std::env::var("WEIGHTGUARD_COMMIT")
        .ok()
        .filter(|c| !c.is_empty() && c != "unknown");
    let commit =
        given.or_else(|| git(&["rev-parse", "--short=12", "HEAD"]).filter(|c| !c.is_empty()));
    let commit = match commit {
        Some(c) => {
            // Rebuild when HEAD moves: HEAD itself (a checkout) and the branch it points to (a
            // commit), by their paths inside this checkout's git directory.
            for what in ["HEAD", "packed-refs"] {
                if let Some(p) = git(&["rev-parse", "--git-path", what]) {
                    println!("cargo:rerun-if-changed={p}");
                }
            }
            if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"])
                && let Some(p) = git(&["rev-parse", "--git-path", &r])
            {
                println!("cargo:rerun-if-changed={p}");
            }
            c
        }
        None => "unknown".to_owned(),
    };
    println!("cargo:rustc-env=WEIGHTGUARD_COMMIT={commit}");
    println!("cargo:rerun-if-changed=build.rs");
}
