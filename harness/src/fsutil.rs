//! Files written so that nothing half-written is ever seen and nothing is left behind: every
//! temporary file or folder (`.bh-tmp-*`) is tracked, renamed into place when complete, removed
//! when dropped, and removed by the signal's cleanup ([`remove_temps`], called from
//! [`crate::target::supervise::guard_process`]) before an interrupted harness exits.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

/// Writes through a temporary file in the same folder (`.bh-tmp-*`), then renames: never a
/// half-written file. The temporary file is removed on every exit path: an error, a panic, or a
/// signal (by the cleanup of [`crate::target::supervise::guard_process`]).
pub fn write_atomically(path: &Path, text: &str) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The mode an ordinary new file gets (0644 under the usual umask), not a temporary file's
    // 0600: reports are read by CI artifact uploads and web servers.
    let (temp, mut file) = temp_file(dir, &name, 0o644)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    drop(file);
    temp.persist(path)
}

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
