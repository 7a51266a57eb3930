//! The process groups this harness has started, so that a signal or a panic stops them all.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
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

/// For commands that start children: a panic kills every child group; SIGINT or SIGTERM stops
/// them (a second signal kills them at once), then the harness exits with 130 or 143.
/// Call once, inside the runtime.
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
    tokio::spawn(async {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        let code = tokio::select! {
            _ = int.recv() => 130,
            _ = term.recv() => 143,
        };
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
