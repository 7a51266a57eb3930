//! Process-group plumbing on Unix: own groups, signals to a group, signal names.

use tokio::process::Command;

/// Puts the child in its own process group and, on Linux, has the kernel kill it if the harness
/// dies (elsewhere the registry's signal handler and panic hook are what stop it).
pub(super) fn configure(command: &mut Command) {
    command.process_group(0);
    #[cfg(target_os = "linux")]
    super::linux::kill_with_parent(command);
}

/// Sends `signal` to every process of group `pgid`; false when the group is gone.
pub fn signal_group(pgid: i32, signal: i32) -> bool {
    // Group 0 is our own group and 1 is init's: never ours to signal.
    if pgid <= 1 {
        return false;
    }
    // SAFETY: killpg has no memory effects.
    unsafe { libc::killpg(pgid, signal) == 0 }
}

/// Whether any process of group `pgid` is still alive.
pub fn group_alive(pgid: i32) -> bool {
    signal_group(pgid, 0)
}

/// The number of a signal named `SIGTERM`, `TERM`, `SIGINT`, ...
pub fn signal_number(name: &str) -> Option<i32> {
    let name = name.trim().to_ascii_uppercase();
    let name = name.strip_prefix("SIG").unwrap_or(&name);
    Some(match name {
        "TERM" => libc::SIGTERM,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "HUP" => libc::SIGHUP,
        "KILL" => libc::SIGKILL,
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        _ => return None,
    })
}

/// SIGKILL.
pub const KILL: i32 = libc::SIGKILL;
