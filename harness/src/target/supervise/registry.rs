//! The process groups this harness has started: a signal or a panic stops them all (the
//! temporary files being written are removed too, by [`crate::fsutil::remove_temps`]).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::unix::{KILL, group_alive, signal_group};

/// Process group -> the signal that asks it to stop.
fn groups() -> &'static Mutex<HashMap<i32, i32>> {
    static GROUPS: OnceLock<Mutex<HashMap<i32, i32>>> = OnceLock::new();
    GROUPS.get_or_init(|| Mutex::new(HashMap::new()))
}

pub(super) fn snapshot() -> Vec<(i32, i32)> {
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
