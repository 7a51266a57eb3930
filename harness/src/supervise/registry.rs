//! The process groups this harness has started, so that a signal or a panic kills them all.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use super::unix::{KILL, signal_group};

fn groups() -> &'static Mutex<HashSet<i32>> {
    static GROUPS: OnceLock<Mutex<HashSet<i32>>> = OnceLock::new();
    GROUPS.get_or_init(|| Mutex::new(HashSet::new()))
}

pub(super) fn register(pgid: i32) {
    groups()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(pgid);
}

pub(super) fn unregister(pgid: i32) {
    groups()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&pgid);
}

/// SIGKILLs every registered process group.
pub fn kill_all() {
    let groups = groups().lock().unwrap_or_else(|e| e.into_inner());
    for &pgid in groups.iter() {
        signal_group(pgid, KILL);
    }
}

/// For commands that start children: a panic or SIGINT/SIGTERM kills every child group, then
/// the harness exits (130 for SIGINT, 143 for SIGTERM). Call once, inside the runtime.
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
        eprintln!("interrupted: stopping every app the harness started");
        kill_all();
        std::process::exit(code);
    });
}
