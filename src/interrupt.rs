//! Interrupted runs leave nothing behind.
//!
//! Every temporary that holds part of an output (a partly written envelope, partly decrypted
//! weights) is registered here while it exists. On SIGINT, SIGTERM or SIGHUP (Ctrl-C, `timeout`,
//! systemd, the kubelet), a handler thread removes every registered temporary and exits with
//! 128 + the signal's number (130, 143, 129), so no unverified plaintext and no half envelope
//! survives an interrupted `open` or `seal`. A SIGKILL or a power loss cannot be caught: the
//! temporaries are named with the process id, and the next run in that directory finds them
//! ([`stale`]).
//!
//! Outputs that are not files (a multipart upload to object storage) register an abort hook
//! instead ([`on_interrupt`]): the handler runs each one after removing the temporaries and before
//! it exits. A hook blocks until its abort is done or its own short timeout passes.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Registered temporaries, by registration id.
static TEMPORARIES: Mutex<Vec<(u64, PathBuf)>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A hook: undoes a partial output that is not a file; returns what it did, to print.
type Hook = Box<dyn Fn() -> Option<String> + Send + Sync>;

/// Registered abort hooks, by registration id.
static HOOKS: Mutex<Vec<(u64, Hook)>> = Mutex::new(Vec::new());

/// Removes its hook from the registry when dropped (once the output is complete, or undone on
/// an error).
pub struct HookGuard {
    id: u64,
}

impl Drop for HookGuard {
    fn drop(&mut self) {
        let mut list = HOOKS.lock().unwrap_or_else(|e| e.into_inner());
        list.retain(|(id, _)| *id != self.id);
    }
}

/// Registers `hook`, run if the process is interrupted while the guard lives. The handler thread
/// runs it while the main work may still be going on, so it must be safe to call at any moment
/// (and at most once).
pub fn on_interrupt(hook: impl Fn() -> Option<String> + Send + Sync + 'static) -> HookGuard {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    HOOKS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((id, Box::new(hook)));
    HookGuard { id }
}

/// Removes its temporary from the registry when dropped (once the temporary was renamed into
/// place, or removed on an error).
#[derive(Debug)]
pub struct Registered {
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut list = TEMPORARIES.lock().unwrap_or_else(|e| e.into_inner());
        list.retain(|(id, _)| *id != self.id);
    }
}

/// Creates a temporary with `create` and registers the path `path_of` gives, both while holding
/// the registry: a signal arriving in between cannot leave the new temporary unregistered, since
/// the handler must take the registry before it removes anything.
pub fn create<T>(
    create: impl FnOnce() -> std::io::Result<T>,
    path_of: impl FnOnce(&T) -> PathBuf,
) -> std::io::Result<(T, Registered)> {
    let mut list = TEMPORARIES.lock().unwrap_or_else(|e| e.into_inner());
    let t = create()?;
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    list.push((id, path_of(&t)));
    Ok((t, Registered { id }))
}

/// The signals that end a run cleanly.
pub const SIGNALS: [i32; 3] = [
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
];

/// Installs the handler (the CLI does, before any command runs). The handler runs on its own
/// thread, so it never interrupts a write half-way: it removes what is registered (holding the
/// registry, so nothing new is created meanwhile) and ends the process.
pub fn install() -> std::io::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new(SIGNALS)?;
    std::thread::Builder::new()
        .name("interrupt".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                let list = TEMPORARIES.lock().unwrap_or_else(|e| e.into_inner());
                let mut removed = 0;
                for (_, path) in list.iter() {
                    if remove(path) {
                        removed += 1;
                    }
                }
                // Held until exit too: a hook's guard dropped meanwhile waits here.
                let hooks = HOOKS.lock().unwrap_or_else(|e| e.into_inner());
                for (_, hook) in hooks.iter() {
                    if let Some(done) = hook() {
                        eprintln!("\n{done}");
                    }
                }
                let name = match signal {
                    signal_hook::consts::SIGINT => "SIGINT",
                    signal_hook::consts::SIGTERM => "SIGTERM",
                    _ => "SIGHUP",
                };
                eprintln!(
                    "\ninterrupted by {name}: stopped; {removed} temporar{} removed, nothing left behind",
                    if removed == 1 { "y" } else { "ies" }
                );
                // Exits with the registries still held: no worker can create another temporary.
                std::process::exit(128 + signal);
            }
        })?;
    Ok(())
}

/// Removes a temporary file or directory. Workers may still be writing into a directory while it
/// is removed, so a removal that fails (a file appeared meanwhile) is retried; once the
/// directory itself is gone, nothing can be created in it.
fn remove(path: &Path) -> bool {
    for _ in 0..20 {
        let r = match std::fs::symlink_metadata(path) {
            Err(_) => return false,
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
            Ok(_) => std::fs::remove_file(path),
        };
        if r.is_ok() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    false
}

/// The prefix of a temporary's name, with this process's id and host in it, so a later run can
/// tell a live temporary from one a killed process left (and never mistakes another host's live
/// run on a shared filesystem for a dead one): `<kind><pid>@<host>-`.
pub fn prefix(kind: &str) -> String {
    format!("{kind}{}@{}-", std::process::id(), host())
}

/// This machine's name, reduced to characters safe in a file name.
fn host() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let clean: String = name
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '_')
        .take(64)
        .collect();
    if clean.is_empty() {
        "localhost".into()
    } else {
        clean
    }
}

/// A temporary of `kind` found in a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    pub path: PathBuf,
    /// The process that made it, when its name says.
    pub pid: Option<u32>,
    /// The host it was made on, when its name says.
    pub host: Option<String>,
    /// Whether that process may still run: it runs here, or the temporary was made on another
    /// host (which this one cannot ask). Then it is left alone.
    pub live: bool,
}

/// Temporaries in `dir` whose names contain `marker` (`.weightguard-seal-`,
/// `.weightguard-partial-`), with the process that made them.
pub fn stale(dir: &Path, marker: &str) -> Vec<Stale> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(at) = name.find(marker) else {
            continue;
        };
        let rest = &name[at + marker.len()..];
        let owner = rest.rsplit_once('-').and_then(|(o, _)| o.split_once('@'));
        let pid = owner.and_then(|(p, _)| p.parse::<u32>().ok());
        let made_on = owner.map(|(_, h)| h.to_owned());
        let here = made_on.as_deref() == Some(host().as_str());
        let live = !here || pid.is_some_and(|p| Path::new(&format!("/proc/{p}")).exists());
        out.push(Stale {
            path: e.path(),
            pid,
            host: made_on,
            live,
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// Removes the stale temporaries of `kind` in `dir` that no running process owns, and describes
/// each one found (removed, or left because it is in use or its owner is unknown), for the
/// caller to print.
pub fn sweep(dir: &Path, marker: &str) -> Vec<String> {
    let mut notes = Vec::new();
    for s in stale(dir, marker) {
        let what = s.path.display();
        match (s.pid, s.live) {
            (Some(pid), true) if s.host.as_deref() != Some(host().as_str()) => notes.push(format!(
                "{what} was made by process {pid} on host {}: left alone",
                s.host.as_deref().unwrap_or("?")
            )),
            (Some(pid), false) => {
                if remove(&s.path) {
                    notes.push(format!(
                        "removed {what}, left by process {pid} that no longer runs (an interrupted run)"
                    ));
                } else {
                    notes.push(format!("{what} was left by process {pid}: could not remove it"));
                }
            }
            (Some(pid), true) => notes.push(format!(
                "{what} belongs to running process {pid}: left alone"
            )),
            (None, _) => notes.push(format!(
                "{what} was left by an earlier interrupted run: remove it once no weightguard runs here"
            )),
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temporaries_of_dead_processes_are_removed_live_ones_kept() {
        let d = tempfile::tempdir().unwrap();
        // A pid that cannot run: above the kernel's pid_max ceiling (2^22).
        let dead = d
            .path()
            .join(format!(".weightguard-seal-9999999@{}-abc", host()));
        std::fs::write(&dead, b"half an envelope").unwrap();
        let elsewhere = d.path().join(".weightguard-seal-1@another.host-abc");
        std::fs::write(&elsewhere, b"another host's live seal").unwrap();
        let live = d
            .path()
            .join(format!(".m{}xyz", prefix(".weightguard-partial-")));
        std::fs::create_dir(&live).unwrap();
        let notes = sweep(d.path(), ".weightguard-seal-");
        assert!(
            notes
                .iter()
                .any(|n| n.contains("removed") && n.contains("9999999")),
            "{notes:?}"
        );
        assert!(
            notes.iter().any(|n| n.contains("another.host")),
            "{notes:?}"
        );
        assert!(!dead.exists());
        assert!(elsewhere.exists());
        let notes = sweep(d.path(), ".weightguard-partial-");
        assert!(notes[0].contains("left alone"), "{notes:?}");
        assert!(live.exists());
    }

    #[test]
    fn a_registered_temporary_leaves_the_registry_when_dropped() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t");
        let (_, reg) = create(|| std::fs::write(&p, b"x"), |_| p.clone()).unwrap();
        assert!(TEMPORARIES.lock().unwrap().iter().any(|(_, q)| *q == p));
        drop(reg);
        assert!(!TEMPORARIES.lock().unwrap().iter().any(|(_, q)| *q == p));
    }
}
