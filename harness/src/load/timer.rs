//! The open-loop pacer's timer: wakes a connection when its next operation is due, to within
//! tens of microseconds rather than tokio's millisecond.
//!
//! The design, and why. Tokio's timer wheel ticks every millisecond and its reactor waits in
//! `epoll_wait` with a millisecond timeout, so a `sleep_until` wakes 0 to 1 ms late (wrk2 is no
//! better: its event loop rounds every wait up to the next millisecond). Spinning until the
//! due time would be precise but burns a core per busy connection. A dedicated timer thread
//! (a heap of wakers, a precise `nanosleep`) costs a second context switch per operation: the
//! thread wakes, then wakes the runtime's worker. Instead each connection's pacer owns a Linux
//! `timerfd` armed for its next due time, registered with tokio's reactor like a socket: the
//! kernel's high-resolution timer (no timer slack applies to a timerfd) makes the descriptor
//! readable at the due time, which wakes the worker thread in `epoll_wait` directly, and the
//! task runs. Where the process's operations are due closer together than 50 µs (above 20,000
//! a second), the due time is armed as an absolute time rounded up to a 50 µs grid
//! ([`TIMER_GRID`], [`grid_for`]), so that connections due close together expire together and
//! share a wake-up: one per operation saturated a core at 50,000 req/s. Slower schedules are
//! armed for the exact due time: there the grid would coalesce nothing and only add lateness.
//! One `timerfd_settime` per operation, no read (re-arming resets the expiry count,
//! and each expiry is a new edge for the reactor), no thread, no spinning; the descriptor is
//! created on the connection's first wait (closed loop has none) and closed with the pacer.
//!
//! Readiness is never trusted alone: a wait returns only once the clock says the due time has
//! passed (a stale edge from an earlier deadline is cleared and waited past), so no operation
//! starts early. Where no timerfd can be had (not Linux, or no descriptor left), the timer is
//! tokio's, and the lateness it adds shows in the run's `timer_lateness` block and counts in
//! the latencies beyond [`super::schedule::TIMER_SLACK`].
//!
//! `BENCHMARK_HARNESS_PACER=tokio` selects the previous pacer (tokio's `sleep_until`, 1 ms of
//! slack forgiven): it exists for `scripts/bench-pacer`, which compares the two.

use std::future::{Future as _, poll_fn};
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Instant;

/// The grid a timerfd's due time is rounded up to on the monotonic clock. Connections due within
/// the same 50 µs then expire together: the kernel fires one timer interrupt for them and the
/// reactor hands their readiness to a worker in one `epoll_wait`, so one wake-up of the worker
/// serves several operations instead of one each. At 50,000 req/s over 64 connections that took
/// the pacer's p99 lateness from about 850 µs (a wake-up per operation saturated the harness's
/// core) to 122 µs, harness pinned to one core and server to the other, and to 171 µs with
/// the two cores shared (README, "The open-loop pacer"). It adds at most 50 µs of lateness,
/// within [`super::schedule::TIMER_SLACK`]; a 30 µs grid coalesced too little and 75 µs added
/// more lateness than it saved.
pub const TIMER_GRID: std::time::Duration = std::time::Duration::from_micros(50);

/// The grid the timers of a process running `rate` operations a second (all its connections
/// together) round their due times up to: [`TIMER_GRID`] when operations are due closer together
/// than it on average, so that several share a wake-up; none (exact due times) when they are
/// not, since evenly spaced operations a grid or more apart each get a wake-up of their own
/// anyway, and the rounding would only make them later.
pub fn grid_for(rate: f64) -> std::time::Duration {
    if rate * TIMER_GRID.as_secs_f64() > 1.0 {
        TIMER_GRID
    } else {
        std::time::Duration::ZERO
    }
}

/// Which timer paces open-loop operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacing {
    /// A timerfd per connection (tokio's timer where there is none).
    Precise,
    /// Tokio's timer wheel (millisecond ticks): the pacer before the timerfd, kept for
    /// `scripts/bench-pacer`'s comparison.
    Tokio,
}

/// The environment variable that selects the pacer: `tokio` for the comparison one, anything
/// else (or nothing) for the precise one.
pub const PACER_VARIABLE: &str = "BENCHMARK_HARNESS_PACER";

impl Pacing {
    /// The pacing of this process ([`PACER_VARIABLE`]), read once.
    pub fn selected() -> Pacing {
        static SELECTED: OnceLock<Pacing> = OnceLock::new();
        *SELECTED.get_or_init(|| match std::env::var(PACER_VARIABLE) {
            Ok(value) if value.eq_ignore_ascii_case("tokio") => Pacing::Tokio,
            _ => Pacing::Precise,
        })
    }
}

/// One connection's timer.
pub struct Timer {
    kind: Kind,
}

enum Kind {
    #[cfg(target_os = "linux")]
    Fd(linux::TimerFd),
    Tokio(Pin<Box<tokio::time::Sleep>>),
}

impl std::fmt::Debug for Timer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_precise() {
            "Timer(timerfd)"
        } else {
            "Timer(tokio)"
        })
    }
}

impl Timer {
    /// A timer for `pacing`: a timerfd when precise and one can be had (its due times rounded
    /// up to `grid`, none when zero: see [`grid_for`]), else tokio's. Must be called within a
    /// tokio runtime with I/O and time enabled.
    pub fn new(pacing: Pacing, grid: std::time::Duration) -> Timer {
        #[cfg(target_os = "linux")]
        if pacing == Pacing::Precise {
            match linux::TimerFd::new(grid) {
                Ok(fd) => return Timer { kind: Kind::Fd(fd) },
                Err(e) => fallback(&e),
            }
        }
        let _ = (pacing, grid);
        Timer::tokio()
    }

    fn tokio() -> Timer {
        let sleep = tokio::time::sleep_until(tokio::time::Instant::now());
        Timer {
            kind: Kind::Tokio(Box::pin(sleep)),
        }
    }

    /// Whether this timer is a timerfd (sub-millisecond), not tokio's.
    pub fn is_precise(&self) -> bool {
        !matches!(self.kind, Kind::Tokio(_))
    }

    /// Ready once `due` has passed, never before. Polling again with another `due` re-arms the
    /// timer (earlier or later); a future dropped before it is ready leaves nothing behind but
    /// the armed deadline, which the next poll replaces.
    pub fn poll_until(&mut self, due: Instant, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= due {
            return Poll::Ready(());
        }
        #[cfg(target_os = "linux")]
        if let Kind::Fd(fd) = &mut self.kind {
            match fd.poll_until(due, cx) {
                Ok(poll) => return poll,
                Err(e) => {
                    fallback(&e);
                    *self = Timer::tokio();
                }
            }
        }
        let Kind::Tokio(sleep) = &mut self.kind else {
            unreachable!("a timerfd timer returned above")
        };
        let due = tokio::time::Instant::from_std(due);
        if sleep.deadline() != due {
            sleep.as_mut().reset(due);
        }
        sleep.as_mut().poll(cx)
    }

    /// Sleeps until `due` (not at all when it has passed).
    pub async fn sleep_until(&mut self, due: Instant) {
        poll_fn(|cx| self.poll_until(due, cx)).await
    }
}

/// Says once per process that a timer fell back to tokio's.
fn fallback(error: &std::io::Error) {
    static SAID: OnceLock<()> = OnceLock::new();
    SAID.get_or_init(|| {
        tracing::warn!(
            "no timerfd for the open-loop pacer ({error}): tokio's millisecond timer paces \
             the connections that have none; see timer_lateness in the result"
        );
    });
}

#[cfg(target_os = "linux")]
mod linux {
    use std::os::fd::OwnedFd;
    use std::task::{Context, Poll};
    use std::time::{Duration, Instant};

    use rustix::time::{
        ClockId, Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec,
        clock_gettime, timerfd_create, timerfd_settime,
    };
    use tokio::io::Interest;
    use tokio::io::unix::AsyncFd;

    /// A monotonic clock reading in nanoseconds rounded up to the next multiple of `grid`
    /// (itself when it is one, or when the grid is zero).
    pub(super) fn on_the_grid(nanos: u128, grid: Duration) -> u128 {
        match grid.as_nanos() {
            0 => nanos,
            grid => nanos.div_ceil(grid) * grid,
        }
    }

    /// The smallest wait a timerfd is armed for: a zero `it_value` would disarm it.
    const MIN_ARM: Duration = Duration::from_nanos(1);

    /// A monotonic timerfd registered with the reactor, the grid its due times are rounded up
    /// to, and the deadline it is armed for.
    pub(super) struct TimerFd {
        fd: AsyncFd<OwnedFd>,
        grid: Duration,
        armed: Option<Instant>,
    }

    impl TimerFd {
        pub(super) fn new(grid: Duration) -> std::io::Result<TimerFd> {
            let flags = TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC;
            let fd = timerfd_create(TimerfdClockId::Monotonic, flags)?;
            // SAFETY: the AsyncFd owns the descriptor, which stays open and the same timerfd
            // until the AsyncFd is dropped (it is never taken out, replaced or closed apart).
            let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }?;
            Ok(TimerFd {
                fd,
                grid,
                armed: None,
            })
        }

        /// Arms the timer for `due` (unless it is already), then waits for its edge and the
        /// clock to pass `due`.
        pub(super) fn poll_until(
            &mut self,
            due: Instant,
            cx: &mut Context<'_>,
        ) -> std::io::Result<Poll<()>> {
            if self.armed != Some(due) {
                // Instant is CLOCK_MONOTONIC, but its value is not public: the due time on that
                // clock is its reading now plus the wait (read after Instant::now, so never
                // earlier than the due time), rounded up to the grid (if any).
                let wait = due.saturating_duration_since(Instant::now()).max(MIN_ARM);
                let now = clock_gettime(ClockId::Monotonic);
                let now = now.tv_sec as u128 * 1_000_000_000 + now.tv_nsec as u128;
                let at = on_the_grid(now + wait.as_nanos(), self.grid);
                let spec = Itimerspec {
                    it_interval: Timespec {
                        tv_sec: 0,
                        tv_nsec: 0,
                    },
                    it_value: Timespec {
                        tv_sec: (at / 1_000_000_000) as _,
                        tv_nsec: (at % 1_000_000_000) as _,
                    },
                };
                timerfd_settime(&self.fd, TimerfdTimerFlags::ABSTIME, &spec)?;
                self.armed = Some(due);
            }
            loop {
                let mut ready = match self.fd.poll_read_ready(cx) {
                    Poll::Pending => return Ok(Poll::Pending),
                    Poll::Ready(ready) => ready?,
                };
                // The edge was seen: clear it (an expiry after this is a new edge).
                ready.clear_ready();
                if Instant::now() >= due {
                    self.armed = None;
                    return Ok(Poll::Ready(()));
                }
                // A stale edge (an earlier deadline's): wait for this one's.
            }
        }

        #[cfg(test)]
        pub(super) fn raw(&self) -> i32 {
            use std::os::fd::AsRawFd;
            self.fd.as_raw_fd()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// This module's tests one at a time: one of them watches a descriptor number, which
    /// another's new timerfd could take.
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    #[tokio::test]
    async fn never_wakes_before_the_due_time() {
        let _one = ONE_AT_A_TIME.lock().await;
        for grid in [TIMER_GRID, Duration::ZERO] {
            let mut timer = Timer::new(Pacing::Precise, grid);
            assert!(timer.is_precise() || !cfg!(target_os = "linux"));
            for wait in [1, 10, 50, 100, 300, 1000, 2500] {
                let due = Instant::now() + us(wait);
                timer.sleep_until(due).await;
                assert!(
                    Instant::now() >= due,
                    "woke before a due time {wait} us ahead (grid {grid:?})"
                );
            }
            // A due time already passed: at once, and the timer still works after.
            timer.sleep_until(Instant::now() - us(5)).await;
            let due = Instant::now() + us(200);
            timer.sleep_until(due).await;
            assert!(Instant::now() >= due);
        }
        let mut tokio = Timer::new(Pacing::Tokio, TIMER_GRID);
        assert!(!tokio.is_precise());
        let due = Instant::now() + us(300);
        tokio.sleep_until(due).await;
        assert!(Instant::now() >= due);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn due_times_round_up_to_the_grid() {
        let on = |nanos| linux::on_the_grid(nanos, TIMER_GRID);
        let grid = TIMER_GRID.as_nanos();
        assert_eq!(on(0), 0);
        assert_eq!(on(1), grid);
        assert_eq!(on(grid), grid);
        assert_eq!(on(grid + 1), 2 * grid);
        let late = 1_733_000_000_123_456_789u128;
        let rounded = on(late);
        assert!(rounded >= late && rounded - late < grid && rounded.is_multiple_of(grid));
        // No grid: the due time itself.
        assert_eq!(linux::on_the_grid(late, Duration::ZERO), late);
    }

    #[test]
    fn only_operations_due_closer_than_the_grid_are_put_on_it() {
        // 50 us: above 20,000 operations a second they come closer than that.
        assert_eq!(grid_for(50_000.0), TIMER_GRID);
        assert_eq!(grid_for(20_001.0), TIMER_GRID);
        assert_eq!(grid_for(20_000.0), Duration::ZERO);
        assert_eq!(grid_for(1_000.0), Duration::ZERO);
        assert_eq!(grid_for(1e-9), Duration::ZERO);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_timer_wakes_at_its_own_due_time() {
        let _one = ONE_AT_A_TIME.lock().await;
        // Connections' timers are independent: each wakes at its own due time, none before.
        let start = Instant::now() + Duration::from_millis(2);
        let dues: Vec<Instant> = [9, 3, 6, 0, 12]
            .iter()
            .map(|ms| start + Duration::from_millis(*ms))
            .collect();
        let tasks: Vec<_> = dues
            .iter()
            .map(|&due| {
                tokio::spawn(async move {
                    let mut timer = Timer::new(Pacing::Precise, TIMER_GRID);
                    timer.sleep_until(due).await;
                    Instant::now()
                })
            })
            .collect();
        for (task, due) in tasks.into_iter().zip(&dues) {
            let woke = task.await.unwrap();
            assert!(woke >= *due);
        }
    }

    #[tokio::test]
    async fn rearming_moves_the_deadline_either_way() {
        let _one = ONE_AT_A_TIME.lock().await;
        let mut timer = Timer::new(Pacing::Precise, TIMER_GRID);
        // Armed an hour ahead, the wait abandoned (a run's end cancels its connections so).
        let far = Instant::now() + Duration::from_secs(3600);
        let abandoned = tokio::time::timeout(Duration::from_millis(2), timer.sleep_until(far));
        assert!(abandoned.await.is_err(), "an hour-long wait ended early");
        // Re-armed earlier: wakes at the new deadline, not the hour-long one.
        let near = Instant::now() + us(500);
        timer.sleep_until(near).await;
        assert!(Instant::now() >= near);
        // Later again, after an early one: the stale edge does not end the wait early.
        let soon = Instant::now() + us(50);
        timer.sleep_until(soon).await;
        let later = Instant::now() + Duration::from_millis(3);
        timer.sleep_until(later).await;
        assert!(Instant::now() >= later);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_dropped_timer_closes_its_descriptor() {
        let _one = ONE_AT_A_TIME.lock().await;
        let timer = Timer::new(Pacing::Precise, TIMER_GRID);
        let Kind::Fd(fd) = &timer.kind else {
            panic!("no timerfd");
        };
        let raw = fd.raw();
        let link = || std::fs::read_link(format!("/proc/self/fd/{raw}")).ok();
        let timerfd = Some(std::path::PathBuf::from("anon_inode:[timerfd]"));
        assert_eq!(link(), timerfd);
        let mut timer = timer;
        let far = Instant::now() + Duration::from_secs(3600);
        let _ = tokio::time::timeout(Duration::from_millis(1), timer.sleep_until(far)).await;
        drop(timer);
        // (Another test could open a timerfd at the same number meanwhile: none of this
        // module's does, they run one at a time.)
        assert_ne!(link(), timerfd, "the descriptor outlived its timer");
    }
}
