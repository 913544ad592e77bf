//! `weightguard policy list | show ID | validate FILE`.

use super::Exit;
use super::inputs;
use super::output::{out, outln};
use super::render::{self, Style};
use clap::Subcommand;
use std::path::PathBuf;
use weightguard::policy::{self, Policy};

/// List, print and check export-control policies (TOML; format in docs/policy-format.md).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// The built-in policies.
    List,
    /// Print a built-in policy's file (or a policy file's), exactly as it is evaluated.
    Show {
        /// A built-in id or a file.
        id: String,
    },
    /// Check a policy file; errors name the line. Exit 0 when valid, 1 when not.
    Validate { file: PathBuf },
}

pub fn run(args: &Args) -> Exit {
    let style = Style::stdout();
    match &args.action {
        Action::List => {
            for (id, text) in policy::BUILTIN {
                match Policy::parse(id, text) {
                    Ok(p) => {
                        let d = &p.data;
                        let status = if d.status.enforced {
                            "enforced"
                        } else if d.status.codified {
                            "codified, not enforced"
                        } else {
                            "not codified"
                        };
                        outln!("{}  {}", style.bold(id), d.policy.title);
                        outln!(
                            "  {}",
                            style.dim(&format!(
                                "version {}, {status}, threshold {:.1e} operations, {}",
                                d.policy.version, d.threshold.operations, p.digest
                            ))
                        );
                    }
                    Err(e) => {
                        render::error(&e, None);
                        return Exit::Error;
                    }
                }
            }
            for (path, _) in policy::EXAMPLES {
                outln!(
                    "{}",
                    style.dim(&format!(
                        "example (not built in; use --policy with the file): {path}"
                    ))
                );
            }
            Exit::Ok
        }
        Action::Show { id } => {
            let text = match policy::builtin(id) {
                Some(t) => t.to_owned(),
                None => match inputs::read_text(
                    std::path::Path::new(id),
                    "policy",
                    policy::format::MAX_POLICY_BYTES,
                ) {
                    Ok(t) => t,
                    Err((e, _)) => {
                        render::error(
                            &format!("{e} (and `{id}` is not a built-in policy)"),
                            Some("built-in policies: `weightguard policy list`"),
                        );
                        return Exit::Error;
                    }
                },
            };
            out!("{text}");
            Exit::Ok
        }
        Action::Validate { file } => match inputs::read_policy(&file.display().to_string()) {
            Ok(p) => {
                let d = &p.data;
                outln!(
                    "{}: valid policy `{}` version {} ({} groups, {} destination rules, {} orders; {})",
                    file.display(),
                    d.policy.id,
                    d.policy.version,
                    d.groups.len(),
                    d.destinations.rules.len(),
                    d.orders.len(),
                    p.digest
                );
                Exit::Ok
            }
            Err((m, h)) => {
                render::error(&m, h);
                Exit::Error
            }
        },
    }
}
