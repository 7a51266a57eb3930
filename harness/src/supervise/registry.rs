//! What a signal must clean up: the process groups this harness has started (a signal or a
//! panic stops them all) and the temporary files and folders it is writing (a signal removes
//! them before the harness exits, so an interrupted write leaves nothing behind).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use super::unix::{KILL, group_alive, signal_group};

/// Time an interrupted harness gives its apps between their stop signal and SIGKILL.
const INTERRUPT_GRACE: Duration = Duration::from_secs(1);

/// Process group -> the signal that asks it to stop.
fn groups() -> &'static Mutex<HashMap<i32, i32>> {
    static GROUPS: OnceLock<Mutex<HashMap<i32, i32>>> = OnceLock::new();
    GROUPS.get_or_init(|| Mutex::new(HashMap::new()))
}

fn snapshot() -> Vec<(i32, i32)> {
    groups()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(g, s)| (*g, *s))
        .collect()
}

pub(super) fn register(pgid: i32, stop_signal: i32) {
    groups()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(pgid, stop_signal);
}

pub(super) fn unregister(pgid: i32) {
    groups()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&pgid);
}

/// SIGKILLs every registered process group.
pub fn kill_all() {
    for (pgid, _) in snapshot() {
        signal_group(pgid, KILL);
    }
}

/// Sends every group its stop signal, waits up to `grace` for all to exit, SIGKILLs the rest.
pub fn stop_all(grace: Duration) {
    let groups = snapshot();
    for &(pgid, signal) in &groups {
        signal_group(pgid, signal);
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && groups.iter().any(|&(pgid, _)| group_alive(pgid)) {
        std::thread::sleep(Duration::from_millis(20));
    }
    kill_all();
}

/// For commands that start children or write files: a panic kills every child group; SIGINT or
/// SIGTERM removes the temporary files being written and stops the children (a second signal
/// kills them at once), then the harness exits with 130 or 143. Call once, inside the runtime,
/// before the first temporary file: the signals are caught from the moment it returns.
pub fn guard_process() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    if INSTALLED.set(()).is_err() {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        kill_all();
        previous(info);
    }));
    use tokio::signal::unix::{SignalKind, signal};
    // Registered here, not in the task: a signal that comes before the task first runs is caught.
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    tokio::spawn(async move {
        let code = tokio::select! {
            _ = int.recv() => 130,
            _ = term.recv() => 143,
        };
        let _ = tokio::task::spawn_blocking(remove_temps).await;
        if snapshot().is_empty() {
            eprintln!("interrupted");
            std::process::exit(code);
        }
        eprintln!(
            "interrupted: stopping every app the harness started (again to kill them at once)"
        );
        tokio::spawn(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            kill_all();
            std::process::exit(code);
        });
        let _ = tokio::task::spawn_blocking(|| stop_all(INTERRUPT_GRACE)).await;
        std::process::exit(code);
    });
}

// ---------------------------------------------------------------------------------------------
// Temporary files and folders

/// The name prefix of every temporary file or folder the harness makes (`.gitignore` lists it).
pub const TEMP_PREFIX: &str = ".bh-tmp-";

/// Paths of the temporary files and folders that exist now (or are about to).
fn temps() -> MutexGuard<'static, HashSet<PathBuf>> {
    static TEMPS: OnceLock<Mutex<HashSet<PathBuf>>> = OnceLock::new();
    TEMPS
        .get_or_init(|| Mutex::new(HashSet::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Held while a temporary path is created or renamed, and by the signal's cleanup: the cleanup
/// sees every temporary path either not yet made, made and listed, or renamed and unlisted.
fn renaming() -> MutexGuard<'static, ()> {
    static RENAMING: Mutex<()> = Mutex::new(());
    RENAMING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Set by the signal's cleanup: no temporary path may be made or renamed any more.
static CLOSING: AtomicBool = AtomicBool::new(false);

fn closing_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::Interrupted,
        "the harness is being interrupted",
    )
}

/// A temporary file or folder: removed when dropped unless persisted, and by the signal's cleanup.
#[derive(Debug)]
pub struct TempPath {
    path: PathBuf,
    kept: bool,
}

impl TempPath {
    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames it to `to` (replacing a file there atomically) and stops tracking it.
    pub fn persist(mut self, to: &Path) -> io::Result<()> {
        exclusive(|| {
            std::fs::rename(&self.path, to)?;
            temps().remove(&self.path);
            self.kept = true;
            Ok(())
        })
    }
}

impl TempPath {
    /// Stops tracking it, leaving the path as it is: call inside [`exclusive`], right after the
    /// rename that made it permanent.
    pub fn forget(mut self) -> PathBuf {
        temps().remove(&self.path);
        self.kept = true;
        std::mem::take(&mut self.path)
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        remove_path(&self.path);
        temps().remove(&self.path);
    }
}

fn remove_path(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
            let _ = std::fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(path);
        }
        Err(_) => {}
    }
}

/// A fresh name in `dir`: `.bh-tmp-<pid>-<n>-<hint>` (the hint cut to keep names short).
pub fn temp_name(dir: &Path, hint: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut hint: String = hint
        .chars()
        .map(|c| if c == '/' || c.is_control() { '_' } else { c })
        .collect();
    let mut cut = hint.len().min(96);
    while !hint.is_char_boundary(cut) {
        cut -= 1;
    }
    hint.truncate(cut);
    dir.join(format!("{TEMP_PREFIX}{}-{n}-{hint}", std::process::id()))
}

/// Runs `step` where the signal's cleanup cannot interleave (renames that belong together);
/// refused once the harness is being interrupted.
pub fn exclusive<T>(step: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    let _guard = renaming();
    if CLOSING.load(Ordering::SeqCst) {
        return Err(closing_error());
    }
    step()
}

/// Tracks `path` as temporary: the signal's cleanup removes it, and so does dropping the result.
/// Call inside [`exclusive`], before the step that makes `path` exist.
pub fn track(path: PathBuf) -> TempPath {
    temps().insert(path.clone());
    TempPath { path, kept: false }
}

/// Creates a new file in `dir` (named after `hint`) with permissions `mode`, tracked.
pub fn temp_file(dir: &Path, hint: &str, mode: u32) -> io::Result<(TempPath, File)> {
    use std::os::unix::fs::OpenOptionsExt;
    exclusive(|| {
        loop {
            let path = temp_name(dir, hint);
            let temp = track(path);
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(temp.path())
            {
                Ok(file) => return Ok((temp, file)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    // Not ours: leave it, untracked.
                    temps().remove(temp.path());
                    std::mem::forget(temp);
                }
                Err(e) => {
                    temps().remove(temp.path());
                    std::mem::forget(temp);
                    return Err(e);
                }
            }
        }
    })
}

/// Creates a new folder in `parent` (named after `hint`), tracked.
pub fn temp_dir(parent: &Path, hint: &str) -> io::Result<TempPath> {
    exclusive(|| {
        loop {
            let temp = track(temp_name(parent, hint));
            match std::fs::create_dir(temp.path()) {
                Ok(()) => return Ok(temp),
                Err(e) => {
                    temps().remove(temp.path());
                    std::mem::forget(temp);
                    if e.kind() != io::ErrorKind::AlreadyExists {
                        return Err(e);
                    }
                }
            }
        }
    })
}

/// Removes every temporary file and folder and refuses new ones: the signal's cleanup.
pub fn remove_temps() {
    let _guard = renaming();
    CLOSING.store(true, Ordering::SeqCst);
    let paths: Vec<PathBuf> = temps().drain().collect();
    for path in paths {
        remove_path(&path);
    }
}
