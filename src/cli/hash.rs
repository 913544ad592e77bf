//! `weightguard hash PATH… [--b3sum] [--json]`: BLAKE3 digests per segment and tensor (weight
//! files) or per file (everything else), and a model root digest.

use super::Exit;
use super::progress::ByteProgress;
use super::render::{self, Style, bytes, escape};
use super::selection::SetArgs;
use std::borrow::Cow;
use std::path::PathBuf;
use weightguard::digest::{self, HashReport, Options, ReadMode, SegmentKind};
use weightguard::reports;

/// BLAKE3 digests of model weights: for weight files (safetensors, GGUF, PyTorch checkpoints,
/// recognised by content) one per header, tensor, storage and gap, tiling the file; one per file
/// for everything else; and a root digest naming the model's tensors.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or model directories (every file under a directory is hashed).
    #[arg(required_unless_present = "check")]
    paths: Vec<PathBuf>,
    /// Also give weight files a whole-file digest (equal to `b3sum`'s), from the same read.
    #[arg(long)]
    b3sum: bool,
    /// Only whole-file digests, one line per file exactly as `b3sum` prints it (names with `\`
    /// or a newline escaped as b3sum escapes them), so `b3sum --check` reads the output back.
    #[arg(long, conflicts_with_all = ["json", "check"])]
    whole_files: bool,
    /// Re-verify a previous `hash` output (per-tensor lines, whole-file lines, b3sum's lines;
    /// `-`: standard input): prints `NAME: OK` or `NAME: FAILED` per line.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["paths", "json"])]
    check: Option<PathBuf>,
    /// One JSON object per path, one per line.
    #[arg(long)]
    json: bool,
    /// Never memory-map: read every file with positioned reads into bounded buffers.
    #[arg(long)]
    no_mmap: bool,
    #[command(flatten)]
    set: SetArgs,
}

pub fn run(args: &Args) -> Exit {
    let opts = Options {
        whole_file: args.b3sum || args.whole_files,
        read: if args.no_mmap {
            ReadMode::Buffered
        } else {
            ReadMode::Auto
        },
    };
    if let Some(file) = &args.check {
        return super::hash_check::run(file, &opts, &args.set.options());
    }
    let mut exit = Exit::Ok;
    let style = Style::stdout();
    for path in &args.paths {
        let result = digest::target(path, &args.set.options()).and_then(|target| {
            let bar = ByteProgress::start("hashing", target.bytes());
            let result = digest::hash_target(&target, &opts, &|n| bar.add(n));
            bar.finish();
            result
        });
        match result {
            Ok(report) if args.json => match reports::hash::json_line(&report) {
                Ok(line) => println!("{line}"),
                Err(e) => {
                    render::error(&e, None);
                    exit = Exit::Error;
                }
            },
            Ok(report) if args.whole_files => print!("{}", super::hash_check::whole_files(&report)),
            Ok(report) => {
                print!("{}", human(&report, style));
                // Not on stdout: its lines stay b3sum's format.
                if let Some(line) = super::selection::ignored_line(&report.ignored, Style::stderr())
                {
                    eprint!("{}: {}", report.path.display(), line.trim_start());
                }
            }
            Err(e) => {
                let f = reports::Failure::from(e);
                render::error(&f.message, f.hint);
                exit = Exit::Error;
            }
        }
    }
    exit
}

/// `b3sum`-style lines: `<digest>  <file>` for whole files; for weight files, each segment in
/// file order (`<file>:(header)`, `<file>:<tensor>`, `<file>:(storage data/0)`,
/// `<file>:(gap <offset>+<len>)`), then for PyTorch each tensor view (`<file>:<tensor>`); the
/// root last.
///
/// File and tensor names come from the disk and from the file: each is [escaped](escape), and a
/// line with an escaped name starts with `\`, as b3sum marks its escaped lines, so no name can
/// forge a line or reach the terminal as a control sequence.
pub fn human(r: &HashReport, style: Style) -> String {
    let mut out = String::new();
    // `\` before the digest when any name on the line was escaped (b3sum's rule).
    let mut line = |digest: String, names: &[&str], rest: &str| {
        let escaped: Vec<_> = names.iter().map(|n| escape(n)).collect();
        if escaped.iter().any(|e| matches!(e, Cow::Owned(_))) {
            out.push('\\');
        }
        out.push_str(&digest);
        out.push_str("  ");
        out.push_str(&escaped.concat());
        out.push_str(rest);
        out.push('\n');
    };
    for f in &r.files {
        let file = f.path.display().to_string();
        if let Some(d) = f.blake3 {
            line(d.to_string(), &[&file], "");
        }
        for s in &f.segments {
            let digest = s.blake3.to_string();
            match (s.kind, &s.name) {
                (SegmentKind::Tensor, Some(name)) => line(digest, &[&file, ":", name], ""),
                (SegmentKind::Header, _) => {
                    line(digest, &[&file, ":"], &style.dim("(header)"));
                }
                (SegmentKind::Storage, Some(name)) => {
                    // The storage key comes from the checkpoint too.
                    let what = format!("(storage {name})");
                    let shown = escape(&what);
                    if matches!(shown, Cow::Owned(_)) {
                        line(digest, &[&file, ":", &what], "");
                    } else {
                        line(digest, &[&file, ":"], &style.dim(&what));
                    }
                }
                _ => line(
                    digest,
                    &[&file, ":"],
                    &style.dim(&format!("(gap {}+{})", s.offset, s.len)),
                ),
            }
        }
        for t in f.tensors.iter().filter(|t| t.storage.is_some()) {
            line(t.blake3.to_string(), &[&file, ":", &t.name], "");
        }
    }
    if let Some(root) = r.root {
        let path = r.path.display().to_string();
        let escaped = escape(&path);
        out.push_str(&format!(
            "{}{}  {escaped}  {}\n",
            if matches!(escaped, Cow::Owned(_)) {
                "\\"
            } else {
                ""
            },
            style.bold(&root.to_string()),
            style.dim(&format!(
                "(model root: {} tensors, {} files, {})",
                r.tensor_count,
                r.files.len(),
                bytes(r.bytes)
            ))
        ));
    }
    out
}
