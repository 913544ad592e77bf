//! Driving an audit: the units of this shard, minus those a resumed audit already did,
//! examined concurrently on blocking threads with a bound, each unit's results appended to the
//! state file as soon as it is done.

use super::ArtifactResult;
use super::examine::{Context, examine};
use super::listing::{self, Unit};
use crate::artifact::read::{FileSource, MeteredFile};
use crate::artifact_set::identity::kind_name;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How to run an audit.
#[derive(Debug, Clone)]
pub struct Options {
    /// Units examined at once (each makes one or a few ranged reads at a time).
    pub concurrency: usize,
    /// `(k, n)`: only units whose key hashes to `k` modulo `n` (0-based `k`).
    pub shard: Option<(u32, u32)>,
    /// State file: each completed unit is appended as one JSON line; a restarted audit skips
    /// the units in it and re-emits their results.
    pub resume: Option<PathBuf>,
}

/// The largest state file `--resume` reads: one line per completed unit (a model directory's
/// results are a few KiB), so a million units fit well under it.
pub const MAX_STATE_BYTES: u64 = 1 << 30;
/// The largest JSON Lines report `audit merge` reads, per file (one shard's output).
pub const MAX_REPORT_BYTES: u64 = 1 << 30;
/// The state file format written by this build (its header's `weightguard_audit_state`).
pub const STATE_VERSION: u32 = 1;

/// The first line of a state file: that weightguard wrote it, in which format, for which root.
/// A file without it is not appended to, whatever it holds.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    weightguard_audit_state: u32,
    root: String,
}

/// One line of a state file.
#[derive(Debug, Serialize, Deserialize)]
struct Done {
    root: String,
    unit: String,
    artifacts: Vec<ArtifactResult>,
}

/// What to do about a file that is not this root's state file.
const STATE_HINT: &str = "name a new file (it is created) or the state file of an earlier audit of the same root; nothing was written to it";

/// Opens the state file for reading and appending, creating it (with its header) if it is
/// missing or empty, and reads the units it records as done. Only a state file this tool wrote
/// for `root` is accepted: anything else (a `config.json`, a report, a FIFO, a device) is refused
/// before a byte is written. One descriptor is checked, read and appended to, so the file
/// checked is the file written. A torn last line (an audit killed mid-write) is ignored, so its
/// unit is done again.
fn open_state(
    path: &Path,
    root: &str,
) -> Result<(File, HashMap<String, Vec<ArtifactResult>>), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let shown = path.display();
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        // Never wait on a FIFO; the type is checked on the descriptor just below.
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| format!("{shown}: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("{shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!(
            "{shown}: {}, not a state file; {STATE_HINT}",
            kind_name(&meta)
        ));
    }
    if meta.len() == 0 {
        let header = Header {
            weightguard_audit_state: STATE_VERSION,
            root: root.to_owned(),
        };
        // Serialising plain values cannot fail.
        let mut line = serde_json::to_string(&header).unwrap_or_default();
        line.push('\n');
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|e| format!("{shown}: writing the state header: {e}"))?;
        return Ok((file, HashMap::new()));
    }
    let clone = file.try_clone().map_err(|e| format!("{shown}: {e}"))?;
    let bytes = MeteredFile::from_source(path, Box::new(FileSource::from_open(clone, &meta)))
        .read_all_limited("audit state file", MAX_STATE_BYTES)
        .map_err(|e| format!("{e}; start a new state file"))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines();
    let header = lines
        .next()
        .and_then(|l| serde_json::from_str::<Header>(l).ok())
        .ok_or_else(|| {
            format!("{shown}: not an audit state file written by weightguard (no state header on its first line); {STATE_HINT}")
        })?;
    if header.weightguard_audit_state != STATE_VERSION {
        return Err(format!(
            "{shown}: an audit state file of format {}, this weightguard reads format {STATE_VERSION}; start a new state file",
            header.weightguard_audit_state
        ));
    }
    if header.root != root {
        return Err(format!(
            "{shown}: state of an audit of {}, not of {root}; {STATE_HINT}",
            header.root
        ));
    }
    let mut done = HashMap::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let Ok(d) = serde_json::from_str::<Done>(line) else {
            continue;
        };
        if d.root != root {
            return Err(format!(
                "{shown}: state of an audit of {}, not of {root}; {STATE_HINT}",
                d.root
            ));
        }
        done.insert(d.unit, d.artifacts);
    }
    Ok((file, done))
}

/// Audits the units of `ctx`'s listing; `progress(done, total)` is called as units complete.
pub async fn run(
    ctx: Arc<Context>,
    opts: &Options,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<ArtifactResult>, String> {
    let root = ctx.store.root();
    let mut units = listing::units(&ctx.listing);
    if let Some((k, n)) = opts.shard {
        units.retain(|u| u.in_shard(k, n));
    }
    let (mut writer, mut state) = match &opts.resume {
        Some(p) => {
            let (file, done) = open_state(p, &root)?;
            (Some(file), Some(done))
        }
        None => (None, None),
    };
    let mut results = Vec::new();
    let mut pending: Vec<Unit> = Vec::new();
    for u in units {
        match state.as_mut().and_then(|s| s.remove(&u.key())) {
            Some(done) => results.extend(done),
            None => pending.push(u),
        }
    }
    let total = pending.len();
    let mut stream = futures::stream::iter(pending)
        .map(|u| {
            let ctx = ctx.clone();
            tokio::task::spawn_blocking(move || {
                let r = examine(&ctx, &u);
                (u.key(), r)
            })
        })
        .buffer_unordered(opts.concurrency.max(1));
    let mut done = 0;
    progress(0, total);
    while let Some(joined) = stream.next().await {
        let (unit, artifacts) = joined.map_err(|e| format!("a worker failed: {e}"))?;
        if let Some(w) = writer.as_mut() {
            let line = Done {
                root: root.clone(),
                unit,
                artifacts,
            };
            // Serialising plain values cannot fail.
            let mut s = serde_json::to_string(&line).unwrap_or_default();
            s.push('\n');
            // One write per line, in append mode: a crash leaves at most a torn last line.
            w.write_all(s.as_bytes())
                .map_err(|e| format!("writing the state file: {e}"))?;
            results.extend(line.artifacts);
        } else {
            results.extend(artifacts);
        }
        done += 1;
        progress(done, total);
    }
    Ok(results)
}
