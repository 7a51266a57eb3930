//! Signals: what SIGINT and SIGTERM do to a harness that owns children or writes files
//! ([`guard_process`]), and the future a server command waits on ([`shutdown_signal`]).

use std::sync::OnceLock;
use std::time::Duration;

use super::registry::{kill_all, snapshot, stop_all};

/// Time an interrupted harness gives its apps between their stop signal and SIGKILL.
const INTERRUPT_GRACE: Duration = Duration::from_secs(1);

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
        let _ = tokio::task::spawn_blocking(crate::fsutil::remove_temps).await;
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

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let ctrl_c = tokio::signal::ctrl_c();
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = ctrl_c.await;
        return;
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
}
