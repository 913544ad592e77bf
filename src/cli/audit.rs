//! `weightguard audit ROOT|s3://bucket/prefix [--format …] [-o FILE] [--fail-on SEVERITY] …`
//! and `weightguard audit merge FILE… [--format …] [-o FILE]`: find weights where they should not
//! be. Exit 0 when no finding reaches `--fail-on`, 6 when one does, 1 on error.

use super::Exit;
use super::inputs::{self, parse_country, parse_date};
use super::output::out;
use super::render as human;
use super::selection::SetArgs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use weightguard::artifact_set::ignore::Rules;
use weightguard::audit::examine::Context;
use weightguard::audit::fingerprint::{Fingerprints, MAX_FINGERPRINT_BYTES};
use weightguard::audit::listing::{Listing, parse_shard};
use weightguard::audit::render::{self, OutputFormat};
use weightguard::audit::run::{self, Options};
use weightguard::audit::s3::{S3Options, S3Store};
use weightguard::audit::store::{LocalStore, Store};
use weightguard::audit::{AuditReport, Severity};
use weightguard::compute::AcceleratorTable;
use weightguard::policy::{self, Date};

/// Audit a directory tree or an S3-compatible bucket: weights of controlled models stored
/// unencrypted, envelopes sealed for elsewhere or expired, unsafe pickles, files that fail to
/// parse, copies of fingerprinted models. Reads headers only (except with --fingerprints).
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Sub>,
    /// Directories, files, or s3://bucket/prefix: each is audited and the results form one
    /// report (pre-commit passes the changed files so).
    #[arg(required = true, value_name = "ROOT")]
    roots: Vec<String>,
    #[command(flatten)]
    out: OutArgs,
    #[command(flatten)]
    set: SetArgs,
    /// Country the store is in (ISO 3166-1 alpha-2): envelopes sealed for another are findings.
    #[arg(long, value_name = "CC", value_parser = parse_country)]
    store_country: Option<String>,
    /// `weightguard hash --json` output of known controlled models: weights whose tensors match
    /// are findings (reads the tensor data of every weight artifact).
    #[arg(long, value_name = "FILE")]
    fingerprints: Option<PathBuf>,
    /// Policy: a built-in id (`weightguard policy list`) or a TOML file.
    #[arg(long, default_value = policy::DEFAULT_POLICY, value_name = "ID|FILE")]
    policy: String,
    /// Evaluate on this date instead of today (UTC): classification and envelope expiry.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    as_of: Option<Date>,
    /// Units (model directories, files) examined at once.
    #[arg(long, default_value_t = 32, value_name = "N")]
    concurrency: usize,
    /// Audit only shard K of N (1-based; a Kubernetes Indexed Job's index + 1).
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    shard: Option<(u32, u32)>,
    /// Take the shard from the environment, for a Kubernetes Indexed Job: K from
    /// JOB_COMPLETION_INDEX (0-based, set by Kubernetes), N from JOB_COMPLETIONS (set it in the
    /// Job's env to its `completions`).
    #[arg(long, conflicts_with = "shard")]
    shard_from_env: bool,
    /// Audit the directory holding each file ROOT instead of the file alone (each directory
    /// once), so a file is judged with its model directory's config and training record: what
    /// the pre-commit hook does with the files a commit stages.
    #[arg(long)]
    parent_dirs: bool,
    /// A trusted sealer (`weightguard-signer-v1:…` or a file holding it), repeatable: an envelope
    /// signed by anyone else is an `envelope-unverified` finding.
    #[arg(long = "signer", value_name = "PUBKEY")]
    signers: Vec<String>,
    /// State file: completed units are appended to it; rerun with the same file to resume.
    #[arg(long, value_name = "STATE")]
    resume: Option<PathBuf>,
    /// S3 endpoint URL (default: AWS_ENDPOINT_URL, else AWS).
    #[arg(long, visible_alias = "endpoint-url", value_name = "URL")]
    endpoint: Option<String>,
    /// S3 region (default: AWS_REGION).
    #[arg(long)]
    region: Option<String>,
    /// Allow plain-HTTP S3 endpoints (loopback test servers); also AWS_ALLOW_HTTP=true.
    #[arg(long)]
    allow_http: bool,
    /// No progress on stderr (neither the bar on a terminal nor the heartbeat lines elsewhere).
    #[arg(long)]
    no_progress: bool,
}

#[derive(Debug, clap::Args)]
struct OutArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: OutputFormat,
    /// Write the output to FILE instead of standard output: complete or not at all (a
    /// temporary beside it, renamed into place). An existing FILE is refused unless --force.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Replace an existing -o FILE (a link at FILE is replaced, never followed).
    #[arg(long, requires = "output")]
    force: bool,
    /// Exit 6 when a finding at or above this severity exists (info, low, medium, high,
    /// critical, or none).
    #[arg(long, default_value = "high", value_name = "SEVERITY", value_parser = parse_fail_on)]
    fail_on: FailOn,
}

/// `--fail-on`: a severity, or `none`.
#[derive(Debug, Clone, Copy)]
struct FailOn(Option<Severity>);

fn parse_fail_on(s: &str) -> Result<FailOn, String> {
    if s.eq_ignore_ascii_case("none") {
        return Ok(FailOn(None));
    }
    Severity::parse(s).map(|v| FailOn(Some(v)))
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Combine the JSON Lines outputs of sharded audits into one report.
    Merge(MergeArgs),
}

#[derive(Debug, clap::Args)]
struct MergeArgs {
    /// JSON Lines files written by `weightguard audit … --format jsonl`.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    out: OutArgs,
}

pub fn run(args: &Args) -> Exit {
    let result = match &args.command {
        Some(Sub::Merge(m)) => merge(m).map(|r| (r, &m.out)),
        None => audit(args).map(|r| (r, &args.out)),
    };
    match result.and_then(|(report, out)| emit(&report, out).map(|()| (report, out))) {
        Ok((report, out)) => match out.fail_on.0 {
            Some(level) if report.fails(level) => Exit::Findings,
            _ => Exit::Ok,
        },
        Err((msg, hint)) => {
            human::error(&msg, hint);
            Exit::Error
        }
    }
}

fn emit(report: &AuditReport, out: &OutArgs) -> Result<(), inputs::Failure> {
    let text = render::render(report, out.format);
    match &out.output {
        // A reader that stopped early (`| head`) or a full disk stops here (`output`).
        None => {
            out!("{text}");
            Ok(())
        }
        Some(path) => super::output::write_new("audit", path, text.as_bytes(), out.force),
    }
}

fn merge(args: &MergeArgs) -> Result<AuditReport, inputs::Failure> {
    let mut all = Vec::new();
    for f in &args.files {
        let text = inputs::read_text(f, "audit report", run::MAX_REPORT_BYTES as usize)?;
        all.extend(
            render::parse_jsonl(&f.display().to_string(), &text).map_err(|e| {
                (
                    e,
                    Some("merge reads what `weightguard audit --format jsonl` writes"),
                )
            })?,
        );
    }
    let root = args
        .files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(" + ");
    Ok(AuditReport::new(
        root,
        None,
        String::new(),
        String::new(),
        all,
    ))
}

fn audit(args: &Args) -> Result<AuditReport, inputs::Failure> {
    let shard = match args.shard_from_env {
        true => Some(shard_from_env(|k| std::env::var(k).ok())?),
        false => args.shard,
    };
    let roots = match args.parent_dirs {
        true => parent_dirs(&args.roots),
        false => args.roots.clone(),
    };
    if roots.len() > 1 && args.resume.is_some() {
        return Err((
            "--resume takes one ROOT: its state file names units relative to it".into(),
            Some("audit each root with its own state file, then `weightguard audit merge`"),
        ));
    }
    let policy = inputs::read_policy(&args.policy)?;
    let as_of = args.as_of.unwrap_or_else(Date::today_utc);
    let fingerprints = match &args.fingerprints {
        None => None,
        Some(p) => {
            let text = inputs::read_text(p, "fingerprints file", MAX_FINGERPRINT_BYTES)?;
            Some(Arc::new(Fingerprints::parse(&text).map_err(|e| {
                (
                    format!("{}: {e}", p.display()),
                    Some("write the list with `weightguard hash --json MODEL… > FILE`"),
                )
            })?))
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(args.concurrency.clamp(1, 512))
        .enable_all()
        .build()
        .map_err(|e| (format!("starting the I/O runtime: {e}"), None))?;
    let allow_http = args.allow_http
        || std::env::var("AWS_ALLOW_HTTP").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    let mut trusted_signers = Vec::new();
    for s in &args.signers {
        trusted_signers.push(
            weightguard::envelope::SignerKey::parse_or_read(s)
                .map_err(|e| (e.to_string(), None))?,
        );
    }
    let mut names = Vec::new();
    let mut results = Vec::new();
    for root in &roots {
        let (shown, found) = audit_root(
            args,
            root,
            &runtime,
            allow_http,
            Root {
                policy: &policy,
                as_of,
                shard,
                trusted_signers: &trusted_signers,
                fingerprints: &fingerprints,
            },
        )?;
        names.push(shown);
        results.extend(found);
    }
    Ok(AuditReport::new(
        names.join(" + "),
        shard.map(|(k, n)| format!("{}/{n}", k + 1)),
        format!("{} {}", policy.data.policy.id, policy.data.policy.version),
        as_of.to_string(),
        results,
    ))
}

/// What every root of one audit shares.
struct Root<'a> {
    policy: &'a policy::Policy,
    as_of: Date,
    shard: Option<(u32, u32)>,
    trusted_signers: &'a [weightguard::envelope::SignerKey],
    fingerprints: &'a Option<Arc<Fingerprints>>,
}

/// Audits one root: its name as the report shows it, and its results.
fn audit_root(
    args: &Args,
    root: &str,
    runtime: &tokio::runtime::Runtime,
    allow_http: bool,
    shared: Root<'_>,
) -> Result<(String, Vec<weightguard::audit::ArtifactResult>), inputs::Failure> {
    let (store, listing): (Arc<dyn Store>, _) = if root.starts_with("s3://") {
        let s = S3Store::new(
            root,
            &S3Options {
                endpoint: args.endpoint.clone(),
                allow_http,
                region: args.region.clone(),
                ..Default::default()
            },
            runtime.handle().clone(),
        )
        .map_err(|e| (e.what, Some(e.hint)))?;
        let listing = runtime
            .block_on(s.list())
            .map_err(|e| (e.what, Some(e.hint)))?;
        (Arc::new(s), exclude(listing, &args.set)?)
    } else {
        let (s, listing) = LocalStore::open(Path::new(root), &args.set.options())
            .map_err(|e| (e, Some("name a directory, a file or s3://bucket/prefix")))?;
        (Arc::new(s), listing)
    };
    let ctx = Arc::new(Context {
        store: store.clone(),
        listing: Arc::new(listing),
        policy: shared.policy.clone(),
        as_of: shared.as_of,
        store_country: args.store_country.clone(),
        trusted_signers: shared.trusted_signers.to_vec(),
        fingerprints: shared.fingerprints.clone(),
        accelerators: AcceleratorTable::builtin(),
    });
    let opts = Options {
        concurrency: args.concurrency,
        shard: shared.shard,
        resume: args.resume.clone(),
    };
    let bar = super::progress::Progress::items("auditing", "units", !args.no_progress);
    let results = runtime
        .block_on(run::run(ctx, &opts, &|done, total| {
            bar.set(done as u64, total as u64)
        }))
        .map_err(|e| (e, None))?;
    bar.finish();
    Ok((store.root(), results))
}

/// `--parent-dirs`: each local file's directory instead of the file (`.` for a bare name),
/// directories and `s3://` roots as they are, each once, in the order given, leaving out a
/// directory inside another one of the list (its files are audited with the outer one).
fn parent_dirs(roots: &[String]) -> Vec<String> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut out: Vec<String> = Vec::new();
    for root in roots {
        if root.starts_with("s3://") {
            if !out.contains(root) {
                out.push(root.clone());
            }
            continue;
        }
        let path = Path::new(root);
        let dir = if path.is_dir() {
            path.to_path_buf()
        } else {
            match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            }
        };
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    // Compare by the directories' components, so `./a` is inside `.` and `a/b` inside `a`.
    let norm = |p: &Path| -> Vec<std::ffi::OsString> {
        p.components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .map(|c| c.as_os_str().to_owned())
            .collect()
    };
    let keys: Vec<_> = dirs.iter().map(|d| norm(d)).collect();
    for (i, d) in dirs.iter().enumerate() {
        let inside = keys
            .iter()
            .enumerate()
            .any(|(j, k)| j != i && k.len() < keys[i].len() && keys[i].starts_with(k));
        if !inside {
            out.push(d.display().to_string());
        }
    }
    out
}

/// `--shard-from-env`: the shard of a Kubernetes Indexed Job, from `JOB_COMPLETION_INDEX`
/// (0-based, set by Kubernetes in each pod) and `JOB_COMPLETIONS` (the Job's `completions`, set
/// in its env), so the Job needs no shell arithmetic. `var` reads a variable.
fn shard_from_env(var: impl Fn(&str) -> Option<String>) -> Result<(u32, u32), inputs::Failure> {
    let read = |name: &str| -> Result<u32, inputs::Failure> {
        let v = var(name).ok_or_else(|| {
            (
                format!("--shard-from-env: {name} is not set"),
                Some(
                    "run it in a Kubernetes Indexed Job (JOB_COMPLETION_INDEX) with \
                     JOB_COMPLETIONS set to the Job's completions, or use --shard K/N",
                ),
            )
        })?;
        v.trim().parse().map_err(|_| {
            (
                format!(
                    "--shard-from-env: {name} is `{}`, not a number",
                    human::escape(&v)
                ),
                None,
            )
        })
    };
    let index = read("JOB_COMPLETION_INDEX")?;
    let count = read("JOB_COMPLETIONS")?;
    if count == 0 || index >= count {
        return Err((
            format!(
                "--shard-from-env: JOB_COMPLETION_INDEX {index} is not below JOB_COMPLETIONS {count}"
            ),
            Some("set JOB_COMPLETIONS to the Job's completions"),
        ));
    }
    Ok((index, count))
}

/// A bucket's listing under the artifact set's ignore rules (the defaults and `--exclude`), as a
/// local tree is walked: `.git/` copies of weights in a mirrored repository are not audited twice.
fn exclude(listing: Listing, set: &SetArgs) -> Result<Listing, inputs::Failure> {
    let options = set.options();
    let rules = Rules::new(!options.no_default_excludes, &options.excludes)
        .map_err(|e| (e.to_string(), None))?;
    let kept = listing.files.into_iter().filter(|(key, _)| {
        let k = key.to_string_lossy();
        rules.rule_for_path(&k).is_none()
    });
    Ok(Listing::new(kept))
}

#[cfg(test)]
mod tests {
    use super::shard_from_env;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn shard_from_a_kubernetes_indexed_job() {
        let ok = |v: &[(&str, &str)]| shard_from_env(env(v)).map_err(|e| e.0);
        assert_eq!(
            ok(&[("JOB_COMPLETION_INDEX", "0"), ("JOB_COMPLETIONS", "8")]),
            Ok((0, 8))
        );
        assert_eq!(
            ok(&[("JOB_COMPLETION_INDEX", "7"), ("JOB_COMPLETIONS", "8")]),
            Ok((7, 8))
        );
        let e = ok(&[("JOB_COMPLETION_INDEX", "8"), ("JOB_COMPLETIONS", "8")]).unwrap_err();
        assert!(e.contains("not below"), "{e}");
        let e = ok(&[("JOB_COMPLETIONS", "8")]).unwrap_err();
        assert!(e.contains("JOB_COMPLETION_INDEX is not set"), "{e}");
        let e = ok(&[("JOB_COMPLETION_INDEX", "x\n"), ("JOB_COMPLETIONS", "8")]).unwrap_err();
        assert!(e.contains("`x\\n`"), "{e}");
    }
}
