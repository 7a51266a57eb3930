//! One guarded child: its own process group, registered so that a signal or a panic stops it,
//! stopped with its stop signal then SIGKILL, and SIGKILLed when dropped unless it was stopped.

use std::io;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use super::OutputTail;
use super::registry::{register, unregister};
use super::unix::{KILL, configure, group_alive, signal_group};

/// A child in its own process group, owned by the harness.
#[derive(Debug)]
pub struct GuardedChild {
    child: Child,
    pgid: i32,
    stop_signal: i32,
    done: bool,
}

impl GuardedChild {
    /// Spawns `command` in its own process group, registered for [`super::kill_all`];
    /// `stop_signal` is what [`GuardedChild::stop`] sends first.
    pub fn spawn(command: &mut Command, stop_signal: i32) -> io::Result<GuardedChild> {
        configure(command);
        let child = command.spawn()?;
        let pgid = child.id().map_or(0, |id| id as i32);
        register(pgid, stop_signal);
        Ok(GuardedChild {
            child,
            pgid,
            stop_signal,
            done: false,
        })
    }

    /// The process group (its leader's pid): every process the child started is in it.
    pub fn process_group(&self) -> i32 {
        self.pgid
    }

    /// Keeps the last lines of the child's piped stdout and stderr in `tail`.
    pub fn drain_output(&mut self, tail: &OutputTail) {
        if let Some(stdout) = self.child.stdout.take() {
            tail.drain(stdout);
        }
        if let Some(stderr) = self.child.stderr.take() {
            tail.drain(stderr);
        }
    }

    /// The leader's exit status, if it has exited.
    pub fn try_exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits up to `wait` for the leader to exit; its status if it did.
    pub async fn exited_within(&mut self, wait: Duration) -> Option<ExitStatus> {
        tokio::time::timeout(wait, self.child.wait())
            .await
            .ok()?
            .ok()
    }

    /// Waits for the leader to exit, then kills what it left behind in its group.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        let status = self.child.wait().await;
        if status.is_ok() {
            self.finish();
        }
        status
    }

    /// Stops the group: its stop signal, up to `grace` for every process to exit, then SIGKILL.
    /// True when it had to be killed.
    pub async fn stop(&mut self, grace: Duration) -> bool {
        if self.done {
            return false;
        }
        signal_group(self.pgid, self.stop_signal);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            let leader_gone = matches!(self.child.try_wait(), Ok(Some(_)));
            if leader_gone && !group_alive(self.pgid) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let killed = group_alive(self.pgid);
        if killed {
            signal_group(self.pgid, KILL);
        }
        let _ = self.child.wait().await;
        unregister(self.pgid);
        self.done = true;
        killed
    }

    /// The leader is gone: anything it left behind in its group goes too.
    fn finish(&mut self) {
        signal_group(self.pgid, KILL);
        unregister(self.pgid);
        self.done = true;
    }
}

impl Drop for GuardedChild {
    fn drop(&mut self) {
        if !self.done {
            signal_group(self.pgid, KILL);
            unregister(self.pgid);
        }
    }
}
