//! `weightguard demo`: the tool's flow on generated models, offline, in a temporary directory.

use super::Exit;
use super::render::{self, Style};
use std::path::Path;
use std::time::Instant;
use weightguard::artifact;
use weightguard::fixture::{DataFill, ModelSpec, WriteOptions, write_model};

/// Generate small and huge synthetic models in a temporary directory and show what weightguard
/// does with them. Needs no network and no arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keep the generated models in this directory instead of a temporary one.
    #[arg(long)]
    keep: Option<std::path::PathBuf>,
}

pub fn run(args: &Args) -> Exit {
    match demo(args) {
        Ok(()) => Exit::Ok,
        Err(e) => {
            render::error(&e, None);
            Exit::Error
        }
    }
}

fn demo(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let root = args.keep.as_deref().unwrap_or(tmp.path());
    let style = Style::stdout();
    let step = |title: &str| println!("\n{}", style.bold(&format!("== {title}")));

    step("A small Llama-style model, real bytes");
    let small = root.join("tiny-llama");
    write_model(
        &ModelSpec::tiny_llama(),
        &small,
        WriteOptions {
            fill: DataFill::Pattern(1),
            max_shard_bytes: None,
        },
    )?;
    inspect(&small, style)?;

    step("A DeepSeek-style mixture of experts (routed + shared experts, latent attention)");
    let moe = root.join("tiny-deepseek");
    write_model(
        &ModelSpec::tiny_deepseek(),
        &moe,
        WriteOptions {
            fill: DataFill::Pattern(2),
            max_shard_bytes: Some(4 << 20),
        },
    )?;
    inspect(&moe, style)?;

    step("Llama 3.1 405B's exact layout: 812 GB of BF16 weights in sparse shards");
    let big = root.join("llama-405b-sparse");
    write_model(
        &ModelSpec::llama31_405b(),
        &big,
        WriteOptions {
            fill: DataFill::Sparse,
            max_shard_bytes: Some(5_000_000_000),
        },
    )?;
    let started = Instant::now();
    inspect(&big, style)?;
    println!(
        "  {}",
        style.dim(&format!(
            "inspected in {:.1} ms: headers only, never the weights",
            started.elapsed().as_secs_f64() * 1e3
        ))
    );
    if let Some(dir) = &args.keep {
        println!("\nmodels kept in {}", dir.display());
    }
    Ok(())
}

fn inspect(path: &Path, style: Style) -> Result<(), artifact::ArtifactError> {
    println!(
        "{}",
        style.dim(&format!("$ weightguard inspect {}", path.display()))
    );
    let a = artifact::open(path)?;
    print!("{}", super::inspect::human(&a.report(), style));
    Ok(())
}
