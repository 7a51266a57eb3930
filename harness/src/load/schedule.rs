//! The load schedule as data: closed loop (each connection sends as soon as its previous
//! operation ended) or open loop (operations due at fixed times, `rate` per second in total).
//!
//! Pure arithmetic on [`Instant`]s, apart from [`Pacer::wait`] (and [`Pacer::poll_due`]),
//! which sleeps until the next operation is due on the connection's timer ([`super::timer`]). In open loop an operation's latency is measured from its *intended* start,
//! so a server that falls behind shows it in the latency (coordinated omission corrected, as in
//! wrk2), and the pacer says how far behind schedule a connection fell.

use std::time::{Duration, Instant};

use super::timer::{Pacing, Timer, grid_for};

/// How load is offered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Schedule {
    /// Every connection starts its next operation when the previous one ends.
    Closed,
    /// Operations are due at a fixed total rate (per second), spread evenly over connections.
    Open {
        /// Operations per second, all connections together.
        rate: f64,
    },
}

/// The fastest open-loop rate the schedule represents: one operation a nanosecond (intended
/// starts are nanoseconds apart at least).
pub const MAX_RATE: f64 = 1e9;
/// The slowest: one operation every 10^9 seconds (about 32 years; the interval is a count of
/// nanoseconds).
pub const MIN_RATE: f64 = 1e-9;

/// Why the schedule cannot represent an open-loop rate (`--rate`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RateError {
    /// Not a finite number from [`MIN_RATE`] to [`MAX_RATE`]. The value is not repeated: clap
    /// (or the caller) names it, and 1e300 in full is long.
    #[error(
        "not a rate the schedule can represent: give operations per second from {MIN_RATE} \
         to {MAX_RATE:e} (at most one operation a nanosecond)"
    )]
    OutOfRange,
    /// More operations over the run than a 64-bit count holds.
    #[error(
        "{rate} operations per second for {} makes {operations:e} operations, more than \
         a 64-bit count holds",
        humantime::format_duration(*run_time)
    )]
    TooManyOperations {
        /// Operations per second.
        rate: f64,
        /// The run, warmup included.
        run_time: Duration,
        /// How many operations that makes.
        operations: f64,
    },
}

/// Whether the schedule can represent `rate` operations per second: a finite number from
/// [`MIN_RATE`] to [`MAX_RATE`]. The error says the range.
pub fn check_rate(rate: f64) -> Result<f64, RateError> {
    if rate.is_finite() && (MIN_RATE..=MAX_RATE).contains(&rate) {
        Ok(rate)
    } else {
        Err(RateError::OutOfRange)
    }
}

impl Schedule {
    /// An open loop at `rate` over a run of `run_time` (warmup included), or why the schedule
    /// cannot represent it: a rate out of [`check_rate`]'s range, or more operations than a
    /// 64-bit count holds.
    pub fn open(rate: f64, run_time: Duration) -> Result<Schedule, RateError> {
        let rate = check_rate(rate)?;
        let operations = rate * run_time.as_secs_f64();
        // 2^64 as a float: u64::MAX rounds up to it.
        if operations >= u64::MAX as f64 {
            return Err(RateError::TooManyOperations {
                rate,
                run_time,
                operations,
            });
        }
        Ok(Schedule::Open { rate })
    }

    /// `closed` or `open`, as in result documents.
    pub fn mode(&self) -> &'static str {
        match self {
            Schedule::Closed => "closed",
            Schedule::Open { .. } => "open",
        }
    }

    /// The total rate, in open loop.
    pub fn rate(&self) -> Option<f64> {
        match self {
            Schedule::Closed => None,
            Schedule::Open { rate } => Some(*rate),
        }
    }
}

/// One generator's share of a run split over several (`--shard I/N`): connection `g` of the
/// run's `--connections` belongs to shard `g mod N`, so the shards together open exactly the
/// connections, and in open loop send exactly the operations, of one generator of the whole
/// run (each connection keeps its place in the run's schedule: see [`Pacer::new`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 0.
    pub index: usize,
    /// How many shards the run has.
    pub count: usize,
}

impl Shard {
    /// The whole run on one generator.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Parses `I/N` (`0/4` to `3/4`); the error says what is wrong.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (index, count) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not I/N (shard I of N, from 0: 0/4 to 3/4)"))?;
        let number = |part: &str| {
            part.trim()
                .parse::<usize>()
                .map_err(|_| format!("{text:?}: {part:?} is not a whole number"))
        };
        let (index, count) = (number(index)?, number(count)?);
        if count == 0 || index >= count {
            return Err(format!(
                "{text:?}: shards are numbered from 0 to N-1 (0/{n} to {last}/{n})",
                n = count.max(1),
                last = count.max(1) - 1
            ));
        }
        Ok(Shard { index, count })
    }

    /// The run's connections this shard opens, by their index in the whole run.
    pub fn connections(&self, total: usize) -> impl Iterator<Item = usize> + use<> {
        (self.index..total).step_by(self.count.max(1))
    }
}

/// The phases of a run: warmup from `start`, measurement from `measure_from` until `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// When load begins (warmup included).
    pub start: Instant,
    /// When measurement begins: operations intended to start earlier are warmup.
    pub measure_from: Instant,
    /// When the run ends, whatever is in flight.
    pub end: Instant,
}

impl Window {
    /// A window beginning at `start`.
    pub fn new(start: Instant, warmup: Duration, duration: Duration) -> Window {
        let measure_from = start + warmup;
        Window {
            start,
            measure_from,
            end: measure_from + duration,
        }
    }

    /// Whether an operation intended to start at `at` is measured.
    pub fn measures(&self, at: Instant) -> bool {
        at >= self.measure_from && at < self.end
    }

    /// The whole second of measurement `at` falls in (0 for the first second, and before).
    pub fn second_of(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.measure_from).as_secs()
    }
}

/// The lateness of the pacer's own timer forgiven before each open-loop operation: up to this
/// much is the load generator waking up, not the server falling behind.
///
/// The decision, and why: latency is measured from the intended start, and the generator's
/// own lateness is a client artefact. The pacer's timer ([`super::timer`], a timerfd per
/// connection) wakes a connection tens of microseconds after its operation was due even when
/// nothing is wrong (the kernel's timer interrupt, the reactor, the task's turn on a worker
/// thread); counting that in full would add it to every open-loop latency of a server that
/// answers in tens of microseconds. Measured on loopback with 64 connections on 2 cores
/// (`scripts/bench-pacer`, README "Measured"), the wake-up is within this at the 99th
/// percentile while the machine has a core to spare (p99 60 µs at 10,000 operations a second);
/// when harness and server saturate the cores a due connection waits for one, and its lateness
/// (beyond this slack) counts in full. Spinning to be more precise would cost a core per busy connection, on a machine that also
/// hosts the server under test. So the pacer keeps this slack: up to this much lateness is
/// forgiven, anything beyond counts in full (a stalled server shows its whole stall, and so
/// does a timer that woke later than this), and the slack is written in every open-loop result
/// document as `timer_slack_us`, beside `schedule_lag_us` and the run's measured wake-up
/// lateness (`timer_lateness`), so that a reader knows the resolution of the figures.
pub const TIMER_SLACK: Duration = Duration::from_micros(100);

/// The slack of the comparison pacer (`BENCHMARK_HARNESS_PACER=tokio`, for
/// `scripts/bench-pacer`): tokio's timer wheel ticks every millisecond and rounds every sleep up
/// to its next tick, so it wakes 0 to 1 ms late.
pub const TOKIO_TIMER_SLACK: Duration = Duration::from_millis(1);

/// The slack forgiven in this process: [`TIMER_SLACK`], or [`TOKIO_TIMER_SLACK`] under the
/// comparison pacer.
pub fn timer_slack() -> Duration {
    match Pacing::selected() {
        Pacing::Precise => TIMER_SLACK,
        Pacing::Tokio => TOKIO_TIMER_SLACK,
    }
}

/// One operation's place in the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// When it should have started: it belongs to the phase this falls in.
    pub intended: Instant,
    /// How late it actually started (zero in closed loop).
    pub lag: Duration,
    /// Whether the pacer slept until it was due (then `lag` is its timer's lateness), rather
    /// than finding it already due (or overdue: the connection was behind).
    pub slept: bool,
}

impl Slot {
    /// Where its latency is measured from: the intended start, forgiving the first
    /// [`timer_slack`] of lateness (so a reply of tens of microseconds is not reported longer
    /// because the timer woke late). Lateness beyond the slack counts in full: a server that
    /// falls behind shows it in the latency.
    pub fn measured_from(&self) -> Instant {
        self.measured_from_with(timer_slack())
    }

    /// [`Slot::measured_from`], forgiving `slack`.
    pub fn measured_from_with(&self, slack: Duration) -> Instant {
        self.intended + self.lag.min(slack)
    }
}

/// The schedule of one connection: when each of its operations is due, and the timer that
/// wakes it then.
#[derive(Debug)]
pub struct Pacer {
    origin: Instant,
    /// Open loop: offset of the first operation and spacing between operations, in nanoseconds.
    open: Option<(f64, f64)>,
    /// Index of the next operation.
    next: u64,
    /// Which timer wakes the connection.
    pacing: Pacing,
    /// The grid its timer rounds due times up to ([`grid_for`]).
    grid: Duration,
    /// The connection's timer, made on its first sleep (closed loop never sleeps).
    timer: Option<Timer>,
}

impl Pacer {
    /// The pacer of connection `worker` of `workers`, whose schedule starts at `origin`. In open
    /// loop connection `k` takes operations `k`, `k + workers`, `k + 2 * workers`, ... of the
    /// whole run, operation `i` being due `i / rate` seconds after `origin`. Its timer takes the
    /// grid of a process running the whole rate (a shard says its own: [`Pacer::in_process_of`]).
    pub fn new(schedule: Schedule, origin: Instant, worker: usize, workers: usize) -> Pacer {
        let open = match schedule {
            Schedule::Closed => None,
            Schedule::Open { rate } => {
                let spacing = 1e9 / rate;
                Some((worker as f64 * spacing, workers.max(1) as f64 * spacing))
            }
        };
        Pacer {
            origin,
            open,
            next: 0,
            pacing: Pacing::selected(),
            grid: grid_for(schedule.rate().unwrap_or(0.0)),
            timer: None,
        }
    }

    /// This pacer in a process that runs `connections` of the run's connections (a shard's
    /// share): its timer's grid is chosen for the rate this process wakes for, rather than the
    /// whole run's.
    pub fn in_process_of(mut self, connections: usize) -> Pacer {
        if let Some((_, spacing)) = self.open {
            // Each connection runs one operation every `spacing` nanoseconds.
            self.grid = grid_for(connections as f64 * 1e9 / spacing);
        }
        self
    }

    /// When operation `index` of this connection is due (open loop only).
    pub fn intended(&self, index: u64) -> Option<Instant> {
        let (first, spacing) = self.open?;
        let nanos = first + index as f64 * spacing;
        Some(self.origin + Duration::from_nanos(nanos.min(u64::MAX as f64) as u64))
    }

    /// When the next operation is due; `None` in closed loop (at once).
    pub fn next_due(&self) -> Option<Instant> {
        self.intended(self.next)
    }

    /// Takes the next operation, starting at `now`.
    pub fn take(&mut self, now: Instant) -> Slot {
        let slot = match self.next_due() {
            None => Slot {
                intended: now,
                lag: Duration::ZERO,
                slept: false,
            },
            Some(due) => Slot {
                intended: due,
                lag: now.saturating_duration_since(due),
                slept: false,
            },
        };
        self.next += 1;
        slot
    }

    /// Sleeps until the next operation is due (not at all when it is overdue), then takes it.
    pub async fn wait(&mut self) -> Slot {
        let mut slept = false;
        if let Some(due) = self.next_due()
            && due > Instant::now()
        {
            match self.pacing {
                Pacing::Precise => self.timer().sleep_until(due).await,
                Pacing::Tokio => tokio::time::sleep_until(due.into()).await,
            }
            slept = true;
        }
        Slot {
            slept,
            ..self.take(Instant::now())
        }
    }

    /// Ready once the next operation is due (at once in closed loop), for a connection that
    /// waits for other things meanwhile (HTTP/2 replies); [`Pacer::take`] takes it.
    pub fn poll_due(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        match self.next_due() {
            Some(due) => self.timer().poll_until(due, cx),
            None => std::task::Poll::Ready(()),
        }
    }

    fn timer(&mut self) -> &mut Timer {
        let (pacing, grid) = (self.pacing, self.grid);
        self.timer.get_or_insert_with(|| Timer::new(pacing, grid))
    }

    /// How many operations of this connection are due before `at` (open loop; 0 in closed loop).
    pub fn due_before(&self, at: Instant) -> u64 {
        let Some((first, spacing)) = self.open else {
            return 0;
        };
        let elapsed = at.saturating_duration_since(self.origin).as_nanos() as f64;
        if elapsed <= first {
            return 0;
        }
        ((elapsed - first) / spacing).ceil() as u64
    }

    /// Operations due in `[from, to)` that were never started: the connection fell behind.
    pub fn unsent(&self, from: Instant, to: Instant) -> u64 {
        let due = self.due_before(to);
        due.saturating_sub(self.next.max(self.due_before(from)))
    }

    /// How far behind schedule the connection is at `at`: how long its next operation is overdue.
    pub fn lag_at(&self, at: Instant) -> Duration {
        self.next_due()
            .map_or(Duration::ZERO, |due| at.saturating_duration_since(due))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn open_loop_spreads_operations_evenly_over_connections() {
        let origin = Instant::now();
        // 100 ops/s over 4 connections: the run's operations are 10 ms apart, each connection's 40.
        let schedule = Schedule::Open { rate: 100.0 };
        let pacers: Vec<Pacer> = (0..4).map(|k| Pacer::new(schedule, origin, k, 4)).collect();
        let mut all: Vec<Duration> = pacers
            .iter()
            .flat_map(|p| (0..5).map(|i| p.intended(i).unwrap() - origin))
            .collect();
        all.sort();
        let expected: Vec<Duration> = (0..20).map(|i| ms(10 * i)).collect();
        assert_eq!(all, expected);
        assert_eq!(pacers[1].intended(2).unwrap() - origin, ms(90));
    }

    #[test]
    fn timers_are_put_on_the_grid_for_the_rate_their_process_runs() {
        use super::super::timer::TIMER_GRID;
        let origin = Instant::now();
        let fast = Schedule::Open { rate: 50_000.0 };
        // The whole run in one process: operations 20 us apart, closer than the grid.
        assert_eq!(Pacer::new(fast, origin, 3, 64).grid, TIMER_GRID);
        assert_eq!(
            Pacer::new(fast, origin, 3, 64).in_process_of(64).grid,
            TIMER_GRID
        );
        // A shard of 4 wakes for 16 of the 64 connections, 12,500 a second: 80 us apart.
        let shard = Pacer::new(fast, origin, 3, 64).in_process_of(16);
        assert_eq!(shard.grid, Duration::ZERO);
        // Slow runs and closed loop: exact due times.
        let slow = Schedule::Open { rate: 1_000.0 };
        assert_eq!(Pacer::new(slow, origin, 0, 64).grid, Duration::ZERO);
        let closed = Pacer::new(Schedule::Closed, origin, 0, 1).in_process_of(1);
        assert_eq!(closed.grid, Duration::ZERO);
    }

    #[test]
    fn latency_counts_from_the_intended_start_and_lag_is_reported() {
        let origin = Instant::now();
        let mut pacer = Pacer::new(Schedule::Open { rate: 10.0 }, origin, 0, 1);
        let first = pacer.take(origin + ms(3));
        assert_eq!(first.intended, origin);
        assert_eq!(first.lag, ms(3));
        // The server stalled: the second operation (due at 100 ms) starts at 350 ms.
        let second = pacer.take(origin + ms(350));
        assert_eq!(second.intended, origin + ms(100));
        assert_eq!(second.lag, ms(250));
        // Only the timer's slack is forgiven.
        assert_eq!(second.measured_from_with(ms(1)), origin + ms(101));
        assert_eq!(first.measured_from_with(ms(1)), origin + ms(1));
        let slack = Duration::from_micros(100);
        assert_eq!(second.measured_from_with(slack), origin + ms(100) + slack);
        assert!(!first.slept && !second.slept);
        // At 400 ms operations due at 200, 300 and 400 ms... the next (200 ms) is 200 ms overdue.
        assert_eq!(pacer.lag_at(origin + ms(400)), ms(200));
        // Due before 450 ms: 0, 100, 200, 300, 400 = 5; two were started.
        assert_eq!(pacer.due_before(origin + ms(450)), 5);
        assert_eq!(pacer.unsent(origin, origin + ms(450)), 3);
        // Only those due in the measured part count.
        assert_eq!(pacer.unsent(origin + ms(250), origin + ms(450)), 2);
    }

    #[test]
    fn closed_loop_starts_now_without_lag() {
        let origin = Instant::now();
        let mut pacer = Pacer::new(Schedule::Closed, origin, 3, 8);
        let now = origin + ms(42);
        let slot = pacer.take(now);
        assert_eq!(slot.intended, now);
        assert_eq!(slot.lag, Duration::ZERO);
        assert_eq!(pacer.next_due(), None);
        assert_eq!(pacer.unsent(origin, origin + ms(1000)), 0);
        assert_eq!(pacer.lag_at(origin + ms(1000)), Duration::ZERO);
    }

    #[test]
    fn only_rates_the_schedule_represents_are_taken() {
        let minute = Duration::from_secs(60);
        assert_eq!(
            Schedule::open(250.0, minute),
            Ok(Schedule::Open { rate: 250.0 })
        );
        assert_eq!(
            Schedule::open(1e9, minute),
            Ok(Schedule::Open { rate: 1e9 })
        );
        for bad in [
            1e300,
            1e9 * 1.001,
            0.0,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            1e-300,
        ] {
            let error = Schedule::open(bad, minute).unwrap_err().to_string();
            assert!(error.contains("from 0.000000001 to 1e9"), "{bad}: {error}");
        }
        let forever = Duration::from_secs(u64::MAX / 4);
        let error = Schedule::open(1e9, forever).unwrap_err().to_string();
        assert!(error.contains("64-bit"), "{error}");
        // At the extremes, the pacer's counts stay within their range.
        let origin = Instant::now();
        let pacer = Pacer::new(Schedule::Open { rate: MAX_RATE }, origin, 0, 1);
        assert_eq!(pacer.intended(1).unwrap() - origin, Duration::from_nanos(1));
        assert_eq!(pacer.due_before(origin + minute), 60_000_000_000);
        let slow = Pacer::new(Schedule::Open { rate: MIN_RATE }, origin, 0, 1);
        assert_eq!(slow.due_before(origin + minute), 1);
        assert_eq!(slow.unsent(origin, origin + minute), 1);
    }

    #[test]
    fn window_phases() {
        let start = Instant::now();
        let window = Window::new(start, ms(2000), ms(10_000));
        assert!(!window.measures(start + ms(1999)));
        assert!(window.measures(start + ms(2000)));
        assert!(!window.measures(start + ms(12_000)));
        assert_eq!(window.second_of(start + ms(4500)), 2);
        assert_eq!(window.second_of(start), 0);
        assert_eq!(Schedule::Open { rate: 5.0 }.mode(), "open");
        assert_eq!(Schedule::Closed.rate(), None);
    }

    #[test]
    fn shards_together_are_the_one_generator_schedule() {
        assert_eq!(Shard::parse("1/4"), Ok(Shard { index: 1, count: 4 }));
        for bad in ["4/4", "1", "a/2", "0/0", "-1/2"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        // 10 connections over 3 shards: each connection in exactly one shard.
        let mut all: Vec<usize> = (0..3)
            .flat_map(|i| Shard { index: i, count: 3 }.connections(10))
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        // Open loop: the intended starts of the shards' connections are the whole run's.
        let origin = Instant::now();
        let schedule = Schedule::Open { rate: 1000.0 };
        let starts = |workers: Vec<usize>| {
            let mut times: Vec<Instant> = workers
                .into_iter()
                .flat_map(|w| {
                    let pacer = Pacer::new(schedule, origin, w, 10);
                    (0..5).filter_map(move |i| pacer.intended(i))
                })
                .collect();
            times.sort_unstable();
            times
        };
        let sharded: Vec<usize> = (0..3)
            .flat_map(|i| Shard { index: i, count: 3 }.connections(10))
            .collect();
        assert_eq!(starts(sharded), starts((0..10).collect()));
    }
}
