//! Supervision of child processes (apps under test and setup commands), on Unix.
//!
//! Every child gets its own process group (and, on Linux, a parent-death signal), is registered
//! in a process-wide list that a signal handler and the panic hook kill ([`registry`],
//! [`signals`]), and is killed by `Drop` if nobody stopped it. Stopping sends the child's stop
//! signal to the group, waits a grace period, then sends SIGKILL. No child outlives the harness.

mod child;
#[cfg(target_os = "linux")]
mod linux;
mod registry;
mod signals;
mod unix;

pub use child::GuardedChild;
pub use signals::{guard_process, shutdown_signal};
pub use unix::signal_number;

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
    pub(crate) fn drain(&self, stream: impl AsyncRead + Unpin + Send + 'static) {
        let tail = self.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tail.push(line);
            }
        });
    }
}
