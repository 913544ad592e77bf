//! `weightguard inspect PATH… [--json]`: what a model artifact is, from its headers alone.

use super::Exit;
use super::output::{out, outln};
use super::render::{self, Style, bytes, count, grouped};
use super::selection::{self, SetArgs};
use std::fmt::Write as _;
use std::path::PathBuf;
use weightguard::artifact::{self, InspectReport, Layout, RoleCount};
use weightguard::artifact_set::Ignored;
use weightguard::reports;

/// Report format, files, tensors, parameters (learned vs buffers) and architecture of model
/// weights, reading headers only.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A weight file (safetensors, GGUF, PyTorch .bin/.pt/.pth; detected by content), a shard
    /// index (*.safetensors.index.json) or a model directory.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// One JSON object per artifact, one per line.
    #[arg(long)]
    json: bool,
    /// Also read every byte and report the model root digest (as `weightguard hash` computes
    /// it): the one fingerprint that survives renaming and resharding.
    #[arg(long)]
    hash: bool,
    #[command(flatten)]
    set: SetArgs,
}

pub fn run(args: &Args) -> Exit {
    let mut exit = Exit::Ok;
    // Any model with a security finding makes the run exit 6, unless an error made it 1.
    let mut unsafe_seen = false;
    let style = Style::stdout();
    let mut first = true;
    for path in &args.paths {
        let inspected = match reports::inspect::inspect(path, &args.set.options(), args.hash) {
            Ok(i) => i,
            Err(f) => {
                render::error(&f.message, f.hint);
                exit = Exit::Error;
                continue;
            }
        };
        let (set, root) = (&inspected.set, &inspected.root);
        let mut shown = 0;
        let models = inspected.models.len();
        if !args.json && models > 1 {
            if !first {
                outln!();
            }
            first = false;
            outln!(
                "{}  {}",
                style.bold(&render::escape(&path.display().to_string())),
                style.dim(&format!(
                    "{models} models; each is counted, decided and sealed"
                ))
            );
        }
        for result in &inspected.models {
            let report = match result {
                Ok(r) => r,
                Err(e) => {
                    render::error(e, reports::inspect::hint(e));
                    exit = Exit::Error;
                    continue;
                }
            };
            shown += 1;
            unsafe_seen |= !report.safe;
            if args.json {
                match inspected.json_line(report) {
                    Ok(line) => outln!("{line}"),
                    Err(e) => {
                        render::error(&e, None);
                        exit = Exit::Error;
                    }
                }
            } else {
                if !first {
                    outln!();
                }
                first = false;
                out!("{}", human(report, style));
                if models == 1 {
                    out!("{}", ignored_and_root(&set.ignored, root, style));
                }
            }
        }
        if !args.json && models > 1 {
            outln!();
            out!("{}", ignored_and_root(&set.ignored, root, style));
        }
        if shown == 0 && exit == Exit::Ok {
            let f = inspected.no_weights();
            render::error(&f.message, f.hint);
            exit = Exit::Error;
        }
    }
    if exit == Exit::Ok && unsafe_seen {
        return Exit::Findings;
    }
    exit
}

fn ignored_and_root(ignored: &[Ignored], root: &Option<Option<String>>, style: Style) -> String {
    let mut s = selection::ignored_line(ignored, style).unwrap_or_default();
    if let Some(root) = root {
        s.push_str(&format!(
            "  {:<13} {}\n",
            "model root",
            root.as_deref().unwrap_or("none (no tensors)")
        ));
    }
    s
}

/// The human report: a heading line, then aligned `label  value` rows.
pub fn human(r: &InspectReport, style: Style) -> String {
    let mut out = String::new();
    let layout = match r.layout {
        Layout::Single => "single file".to_owned(),
        Layout::Sharded => format!("sharded in {} files", r.files.len()),
        Layout::Unindexed => format!("{} files, no index", r.files.len()),
    };
    let _ = writeln!(
        out,
        "{}  {}",
        style.bold(&render::escape(&r.name)),
        style.dim(&format!("{}, {layout}", r.format.name()))
    );
    let mut row = |label: &str, value: String| {
        let _ = writeln!(out, "  {label:<13} {value}");
    };
    row("tensors", grouped(r.tensor_count as u64));
    row(
        "data",
        format!("{} ({} bytes)", bytes(r.data_bytes), grouped(r.data_bytes)),
    );
    row(
        "parameters",
        format!(
            "{} ({})",
            count(r.parameters.total),
            grouped(r.parameters.total)
        ),
    );
    if r.parameters.by_dtype.len() > 1 || r.buffers.tensors + r.quantization_aux.tensors > 0 {
        let by: Vec<String> = r
            .parameters
            .by_dtype
            .iter()
            .map(|(d, n)| format!("{d} {}", count(*n)))
            .collect();
        row("  by dtype", by.join(", "));
    }
    let not_params = |c: &RoleCount, what: &str| {
        format!(
            "{} {}, {} elements ({what}, not parameters)",
            c.tensors,
            if c.tensors == 1 { "tensor" } else { "tensors" },
            grouped(c.elements)
        )
    };
    if r.packed_weights.tensors > 0 {
        row(
            "packed",
            format!(
                "{} tensors of packed quantized weights (counted by stored elements)",
                r.packed_weights.tensors
            ),
        );
    }
    if r.quantization_aux.tensors > 0 {
        row(
            "quant. aux",
            not_params(&r.quantization_aux, "scales, zero points"),
        );
    }
    if r.tied.tensors > 0 {
        row(
            "tied",
            format!(
                "{} {} naming another tensor's bytes (counted once)",
                r.tied.tensors,
                if r.tied.tensors == 1 {
                    "tensor"
                } else {
                    "tensors"
                }
            ),
        );
    }
    row(
        "buffers",
        if r.buffers.tensors == 0 {
            "none".to_owned()
        } else {
            not_params(&r.buffers, "not learned")
        },
    );
    if let Some(c) = &r.architecture {
        let mut facts = Vec::new();
        let mut fact = |label: &str, v: &Option<artifact::config::Fact>| {
            if let Some(f) = v {
                facts.push(format!("{label} {}", grouped(f.value)));
            }
        };
        fact("layers", &c.layers);
        fact("hidden", &c.hidden_size);
        fact("heads", &c.attention_heads);
        fact("KV heads", &c.kv_heads);
        fact("vocab", &c.vocab_size);
        fact("experts", &c.experts);
        fact("per token", &c.experts_per_token);
        fact("shared experts", &c.shared_experts);
        // `model_type` and `quant_method` come from the model's config: escaped.
        let kind = c
            .model_type
            .as_deref()
            .map_or_else(|| "unknown type".into(), |t| render::escape(t).into_owned());
        row("architecture", format!("{kind}: {}", facts.join(", ")));
        if let Some(q) = &c.quant_method {
            row("quantized", render::escape(q).into_owned());
        }
    }
    row(
        "read",
        format!(
            "{} of headers and metadata ({} of the {} on disk)",
            bytes(r.bytes_read),
            percent(r.bytes_read, r.files.iter().map(|f| f.size).sum()),
            bytes(r.files.iter().map(|f| f.size).sum())
        ),
    );
    for w in &r.warnings {
        // Warnings and findings quote the file (tensor names, pickle globals): escaped.
        let _ = writeln!(out, "  {} {}", style.warn("warning:"), render::escape(w));
    }
    if !r.safe {
        let _ = writeln!(
            out,
            "  {} loading this with pickle (torch.load without weights_only) would run code: {} finding{}",
            style.warn("UNSAFE:"),
            r.security_findings.len(),
            if r.security_findings.len() == 1 {
                ""
            } else {
                "s"
            }
        );
        for f in &r.security_findings {
            let _ = writeln!(out, "    {}", render::escape(&f.describe()));
        }
    }
    out
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "all".into();
    }
    let p = part as f64 / whole as f64 * 100.0;
    if p >= 0.01 {
        format!("{p:.2}%")
    } else {
        format!("{p:.0e}%")
    }
}
