//! Driving an audit: the units of this shard, minus those a resumed audit already did,
//! examined concurrently on blocking threads with a bound, each unit's results appended to the
//! state file as soon as it is done.

use super::ArtifactResult;
use super::examine::{Context, examine};
use super::listing::{self, Unit};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
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

/// One line of a state file.
#[derive(Debug, Serialize, Deserialize)]
struct Done {
    root: String,
    unit: String,
    artifacts: Vec<ArtifactResult>,
}

/// Reads a state file: completed units by key. A torn last line (an audit killed mid-write)
/// is ignored, so its unit is done again.
fn load_state(path: &PathBuf, root: &str) -> Result<HashMap<String, Vec<ArtifactResult>>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut done = HashMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(d) = serde_json::from_str::<Done>(line) else {
            continue;
        };
        if d.root != root {
            return Err(format!(
                "{}: state of an audit of {}, not of {root}",
                path.display(),
                d.root
            ));
        }
        done.insert(d.unit, d.artifacts);
    }
    Ok(done)
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
    let mut state = match &opts.resume {
        Some(p) => Some((p.clone(), load_state(p, &root)?)),
        None => None,
    };
    let mut results = Vec::new();
    let mut pending: Vec<Unit> = Vec::new();
    for u in units {
        match state.as_mut().and_then(|(_, s)| s.remove(&u.key())) {
            Some(done) => results.extend(done),
            None => pending.push(u),
        }
    }
    let total = pending.len();
    let mut writer = match &state {
        Some((p, _)) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| format!("{}: {e}", p.display()))?,
        ),
        None => None,
    };
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
