//! Deadlines that fire even when the peer keeps the socket busy.
//!
//! `tokio::time::timeout` polls its future first and its timer only when the future is pending.
//! A peer whose bytes are always ready (a ping flood, a comment flood) keeps a read future ready,
//! and a loop that wraps every read in a fresh timeout may never see its timer: tokio's
//! cooperative budget makes the read pending now and then, but a timer polled without budget is
//! pending too. Loops that read from a peer therefore wait through [`Deadline::run`], which gives
//! the scheduler a turn when the task's budget is spent and reads the clock itself before every
//! wait. A step's deadline is absolute: it is set once per step, not renewed by each read.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// The deadline passed before the awaited thing happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("deadline passed")]
pub struct Expired;

/// An absolute point in time by which a step must be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline {
    at: Instant,
}

impl Deadline {
    /// The deadline `wait` from now.
    pub fn after(wait: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + wait,
        }
    }

    /// The deadline at `at`.
    pub fn at(at: std::time::Instant) -> Deadline {
        Deadline { at: at.into() }
    }

    /// Whether it has passed.
    pub fn passed(&self) -> bool {
        Instant::now() >= self.at
    }

    /// Awaits `future` unless the deadline passes first. Call it once per wait in a loop: it
    /// yields to the scheduler when the task has used up its budget, and it checks the clock
    /// before waiting, so a future that is always ready cannot outrun the deadline.
    pub async fn run<F: Future>(&self, future: F) -> Result<F::Output, Expired> {
        tokio::task::coop::consume_budget().await;
        if self.passed() {
            return Err(Expired);
        }
        tokio::time::timeout_at(self.at, future)
            .await
            .map_err(|_| Expired)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_future_that_is_always_ready_cannot_outrun_the_deadline() {
        let deadline = Deadline::after(Duration::from_millis(50));
        let started = std::time::Instant::now();
        let mut spins = 0u64;
        // `std::future::ready` never touches the budget: only the clock check stops this loop.
        while deadline.run(std::future::ready(())).await.is_ok() {
            spins += 1;
        }
        assert!(spins > 0);
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(deadline.passed());
    }

    #[tokio::test]
    async fn a_pending_future_ends_at_the_deadline() {
        let deadline = Deadline::after(Duration::from_millis(20));
        let never = std::future::pending::<()>();
        assert_eq!(deadline.run(never).await, Err(Expired));
        assert_eq!(deadline.run(async { 1 }).await, Err(Expired));
    }
}
