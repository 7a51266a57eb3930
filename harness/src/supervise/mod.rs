//! Supervision of child processes: apps under test and setup commands.
//!
//! Every child gets its own process group and a parent-death signal, is registered in a
//! process-wide list that a signal handler and the panic hook kill, and is killed by `Drop` if
//! nobody stopped it. Stopping sends the runner's stop signal to the group, waits a grace
//! period, then sends SIGKILL. No child outlives the harness.

mod app;
mod registry;
#[cfg(unix)]
mod unix;

pub use app::{App, StartError};
pub use registry::{
    TEMP_PREFIX, TempPath, exclusive, guard_process, kill_all, remove_temps, stop_all, temp_dir,
    temp_file, temp_name, track,
};
pub use unix::{group_alive, signal_number};

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// The last lines a child wrote, for error reports.
#[derive(Debug, Clone, Default)]
pub struct OutputTail(Arc<Mutex<VecDeque<String>>>);

const TAIL_LINES: usize = 40;
const TAIL_LINE_BYTES: usize = 400;

impl OutputTail {
    fn push(&self, line: String) {
        let mut line = line;
        if line.len() > TAIL_LINE_BYTES {
            let mut cut = TAIL_LINE_BYTES;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
            line.push_str(" ...");
        }
        let mut lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() == TAIL_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// The kept lines, oldest first.
    pub fn text(&self) -> String {
        let lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
        lines.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// Reads `stream` to its end in a task, keeping its last lines.
    fn drain(&self, stream: impl AsyncRead + Unpin + Send + 'static) {
        let tail = self.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tail.push(line);
            }
        });
    }
}

/// A guarded child: its own process group, killed with the harness; SIGKILLed when dropped.
#[derive(Debug)]
pub struct GuardedChild {
    child: tokio::process::Child,
    pgid: i32,
}

impl GuardedChild {
    /// Waits for the child to exit.
    pub async fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        let status = self.child.wait().await;
        if status.is_ok() {
            // The leader is gone; anything it left behind in its group goes too.
            unix::signal_group(self.pgid, unix::KILL);
            registry::unregister(self.pgid);
        }
        status
    }
}

impl Drop for GuardedChild {
    fn drop(&mut self) {
        unix::signal_group(self.pgid, unix::KILL);
        registry::unregister(self.pgid);
    }
}

/// Spawns `command` in its own process group, registered for [`kill_all`].
pub fn spawn_guarded(command: &mut tokio::process::Command) -> std::io::Result<GuardedChild> {
    unix::configure(command);
    let child = command.spawn()?;
    let pgid = child.id().map_or(0, |id| id as i32);
    registry::register(pgid, libc::SIGTERM);
    Ok(GuardedChild { child, pgid })
}
