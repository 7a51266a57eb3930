//! Recording: connections are grouped in [`Shard`]s, each holding the HDR histograms and counters
//! of its connections (a connection's [`Recorder`] is a handle on its shard, plus whether an
//! operation is in flight), so memory grows with cores, not connections. A shard ships one
//! interval histogram per second of measurement for the interval log and ends as a [`Tally`];
//! tallies are merged at the end. Besides the shard locks, only two relaxed atomics for the
//! progress bar are shared.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::mpsc::UnboundedSender;

use super::schedule::{Pacer, Slot, Window};

/// Lowest latency tracked: 1 microsecond.
pub const LOWEST_US: u64 = 1;
/// Highest latency tracked: 60 seconds (larger values are recorded as 60 s).
pub const HIGHEST_US: u64 = 60_000_000;
/// Significant digits kept.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// An empty latency histogram: microseconds, 1 us to 60 s, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)
        .expect("constant histogram bounds are valid")
}

/// Microseconds of a duration, saturating.
pub fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// Why an operation failed: a reply that differs from the fixture, or a transport failure.
/// Its text is the key of `errors_by_kind` in results.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// The reply differs from the fixture, said as `run` says it: the JSON pointer `run` reports
    /// (`/status`, `/headers/content-type`, `/body/message`, `/transcript/2/expect/json/id`,
    /// `/events/0/event`, `/subscribers/0/delivery/json/m`) and the first difference there:
    /// `/body/message: different string`.
    Differs {
        /// Where, as `run` points at it.
        path: String,
        /// What differs, as `run` words it.
        message: String,
    },
    /// The connection could not be opened: `connection refused`.
    Refused,
    /// The connection was reset.
    Reset,
    /// The server closed the connection (or stream) before the reply.
    Closed,
    /// No reply within the timeout.
    Timeout,
    /// Bytes that are not the protocol.
    Garbage,
    /// Broadcast: a delivery whose `seq` the publisher never sent (not yet, or ever).
    SeqOutOfRange,
    /// What the server sent is past `--max-event-size`: `event too large` (an SSE line or
    /// event), `message too large` (a WebSocket message or frame).
    TooLarge(&'static str),
    /// Anything else, with its text.
    Other(String),
    /// A connection (a WebSocket handshake, an SSE subscription's head) could not be opened,
    /// and why: `connect: timeout`, `connect: connection refused`; kept apart from the same
    /// causes of operations on an open connection.
    Connect(Box<ErrorKind>),
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Differs { path, message } => {
                let path = if path.is_empty() { "/" } else { path };
                write!(f, "{path}: {message}")
            }
            ErrorKind::Refused => f.write_str("connection refused"),
            ErrorKind::Reset => f.write_str("reset"),
            ErrorKind::Closed => f.write_str("connection closed"),
            ErrorKind::Timeout => f.write_str("timeout"),
            ErrorKind::Garbage => f.write_str("garbage reply"),
            ErrorKind::SeqOutOfRange => f.write_str("seq out of range"),
            ErrorKind::TooLarge(what) => write!(f, "{what} too large"),
            ErrorKind::Other(text) => f.write_str(text),
            ErrorKind::Connect(cause) => write!(f, "connect: {cause}"),
        }
    }
}

/// The most distinct error kinds a run keeps apart; failures of further kinds (a server that
/// differs in a new place on every reply) are counted under [`MORE_KINDS`].
pub const MAX_ERROR_KINDS: usize = 64;
/// The `errors_by_kind` key of failures past [`MAX_ERROR_KINDS`] kinds.
pub const MORE_KINDS: &str = "other kinds (more than 64)";

/// Counts `count` failures of `kind` in `kinds`, keeping at most [`MAX_ERROR_KINDS`] keys
/// besides [`MORE_KINDS`].
fn count_kind(kinds: &mut BTreeMap<String, u64>, kind: String, count: u64) {
    let distinct = kinds.len() - usize::from(kinds.contains_key(MORE_KINDS));
    let key = if kinds.contains_key(&kind) || distinct < MAX_ERROR_KINDS {
        kind
    } else {
        MORE_KINDS.to_string()
    };
    *kinds.entry(key).or_default() += count;
}

impl ErrorKind {
    /// The reply differs at `path` (as `run` points at it), by `message` (as `run` words it).
    pub fn differs(path: impl Into<String>, message: impl Into<String>) -> ErrorKind {
        ErrorKind::Differs {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The reply's status (at `path`: `/status`, `/publish/status`) is `got`, not the one expected.
    pub fn status(path: &str, got: u16) -> ErrorKind {
        ErrorKind::differs(path, format!("different status, got {got}"))
    }

    /// The WebSocket upgrade (expected at `path`: `/connect`) was answered with status `got`.
    pub fn handshake(path: &str, got: u16) -> ErrorKind {
        ErrorKind::differs(path, format!("different handshake status, got {got}"))
    }

    /// Opening a connection failed with `cause`: a transport failure becomes a `connect` one;
    /// a reply that differs (a refused upgrade, a subscription's status) stays keyed by its
    /// pointer, as `run` reports it.
    pub fn connect(cause: ErrorKind) -> ErrorKind {
        match cause {
            ErrorKind::Differs { .. } | ErrorKind::Connect(_) => cause,
            cause => ErrorKind::Connect(Box::new(cause)),
        }
    }

    /// Whether the connection was refused (nothing listens), opening it or on it.
    pub fn is_refused(&self) -> bool {
        match self {
            ErrorKind::Refused => true,
            ErrorKind::Connect(cause) => cause.is_refused(),
            _ => false,
        }
    }

    /// The first difference `run` would report of the same reply.
    pub fn of_mismatch(mismatch: crate::results::Mismatch) -> ErrorKind {
        ErrorKind::differs(mismatch.path, mismatch.message)
    }

    /// Classifies a transport error by the I/O error in its source chain, else by the hyper
    /// error in it: the connection closed (or the request canceled) before the reply, or a
    /// reply that does not parse. Anything else is kept with its text.
    pub fn of_error(error: &(dyn std::error::Error + 'static)) -> ErrorKind {
        let chain = || std::iter::successors(Some(error), |e| e.source());
        if let Some(io) = chain().find_map(|e| e.downcast_ref::<std::io::Error>()) {
            return ErrorKind::of_io(io);
        }
        match chain().find_map(|e| e.downcast_ref::<hyper::Error>()) {
            Some(e) if e.is_closed() || e.is_incomplete_message() || e.is_canceled() => {
                ErrorKind::Closed
            }
            Some(e) if e.is_parse() && !e.is_parse_too_large() => ErrorKind::Garbage,
            _ => ErrorKind::Other(error.to_string()),
        }
    }

    /// Classifies an I/O error.
    pub fn of_io(error: &std::io::Error) -> ErrorKind {
        use std::io::ErrorKind as Io;
        match error.kind() {
            Io::ConnectionRefused => ErrorKind::Refused,
            Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe => ErrorKind::Reset,
            Io::TimedOut | Io::WouldBlock => ErrorKind::Timeout,
            Io::UnexpectedEof | Io::NotConnected => ErrorKind::Closed,
            Io::InvalidData => ErrorKind::Garbage,
            _ => ErrorKind::Other(error.to_string()),
        }
    }
}

/// Counters the progress bar reads while the run goes on.
#[derive(Debug, Default)]
pub struct Live {
    /// Measured operations so far.
    pub operations: AtomicU64,
    /// Measured errors so far.
    pub errors: AtomicU64,
}

/// One connection's latencies of one second of measurement, for the interval log.
#[derive(Debug)]
pub struct IntervalReport {
    /// The second, counted from the start of measurement.
    pub second: u64,
    /// Latencies of operations that ended in it.
    pub latency: Histogram<u64>,
}

/// How far open-loop load fell behind its schedule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lag {
    /// The largest lag of any operation (or of a connection at the end).
    pub max_us: u64,
    /// How far behind the connections were when the run ended (the largest).
    pub final_us: u64,
    /// Operations due during measurement that were never started.
    pub unsent: u64,
}

/// What a run (or one connection) measured: mergeable data only.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Latency of measured operations that succeeded, in microseconds.
    pub latency: Histogram<u64>,
    /// Latency of measured operations that failed with a reply (a status or a body that
    /// differs), in microseconds: kept apart, so that failures never pass for latency figures.
    pub failed_latency: Histogram<u64>,
    /// WebSocket handshake latency (every handshake, warmup included).
    pub connect: Histogram<u64>,
    /// SSE time from the request to the first event (every subscription).
    pub first_event: Histogram<u64>,
    /// SSE time between consecutive events (measured).
    pub event_gap: Histogram<u64>,
    /// REST with `chunks`: time from writing the request to the body's first byte (measured
    /// successful operations).
    pub first_byte: Histogram<u64>,
    /// REST with `chunks`: time from writing the request to the body's last byte.
    pub last_byte: Histogram<u64>,
    /// REST scenario: each step's time, by step, in measured runs that passed.
    pub steps: Vec<Histogram<u64>>,
    /// JSON-RPC subscription items: delivery latency from the server's timestamp (measured).
    pub items: Histogram<u64>,
    /// JSON-RPC subscription items received and checked (measured), timestamped or not.
    pub item_count: u64,
    /// Measured operations, errors included.
    pub operations: u64,
    /// Measured operations that failed.
    pub errors: u64,
    /// Errors by kind (their text).
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Measured operations whose connection was refused ([`ErrorKind::Refused`]; among
    /// `errors`, and in `errors_by_kind`).
    pub refused: u64,
    /// Open-loop schedule lag.
    pub lag: Lag,
    /// Open loop: how late the pacer's timer woke, in microseconds, for measured operations it
    /// slept for (not those already due: that is the connection falling behind).
    pub timer_lateness: Histogram<u64>,
    /// Operations in flight when the run ended (neither counted nor recorded).
    pub unfinished: u64,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            latency: histogram(),
            failed_latency: histogram(),
            connect: histogram(),
            first_event: histogram(),
            event_gap: histogram(),
            first_byte: histogram(),
            last_byte: histogram(),
            steps: Vec::new(),
            items: histogram(),
            item_count: 0,
            operations: 0,
            errors: 0,
            errors_by_kind: BTreeMap::new(),
            refused: 0,
            lag: Lag::default(),
            timer_lateness: histogram(),
            unfinished: 0,
        }
    }
}

impl Tally {
    /// Measured operations that succeeded.
    pub fn successes(&self) -> u64 {
        self.operations.saturating_sub(self.errors)
    }

    /// Whether operations were measured and every one had its connection refused: nothing
    /// listens at the target.
    pub fn only_refused(&self) -> bool {
        self.operations > 0 && self.refused == self.operations
    }

    /// Adds `other` to this tally.
    pub fn merge(&mut self, other: &Tally) {
        for (mine, theirs) in [
            (&mut self.latency, &other.latency),
            (&mut self.failed_latency, &other.failed_latency),
            (&mut self.connect, &other.connect),
            (&mut self.first_event, &other.first_event),
            (&mut self.event_gap, &other.event_gap),
            (&mut self.first_byte, &other.first_byte),
            (&mut self.last_byte, &other.last_byte),
            (&mut self.items, &other.items),
            (&mut self.timer_lateness, &other.timer_lateness),
        ] {
            // Same bounds on both sides: adding cannot fail.
            let _ = mine.add(theirs);
        }
        if self.steps.len() < other.steps.len() {
            self.steps.resize_with(other.steps.len(), histogram);
        }
        for (mine, theirs) in self.steps.iter_mut().zip(&other.steps) {
            let _ = mine.add(theirs);
        }
        self.item_count += other.item_count;
        self.operations += other.operations;
        self.errors += other.errors;
        for (kind, count) in &other.errors_by_kind {
            count_kind(&mut self.errors_by_kind, kind.clone(), *count);
        }
        self.refused += other.refused;
        self.lag.max_us = self.lag.max_us.max(other.lag.max_us);
        self.lag.final_us = self.lag.final_us.max(other.lag.final_us);
        self.lag.unsent += other.lag.unsent;
        self.unfinished += other.unfinished;
    }
}

/// A shard of the run's recording: the histograms and counts of the connections assigned to it
/// (connection `i` of `n` goes to shard `i % shards`). Connections record under a short lock
/// that is never held across an await; with a few shards per core it is rarely contended, and
/// memory stays per shard (four histograms of about 140 KB each) rather than per connection.
pub struct Shard {
    window: Window,
    live: Arc<Live>,
    intervals: Option<UnboundedSender<IntervalReport>>,
    state: Mutex<ShardState>,
}

struct ShardState {
    tally: Tally,
    interval: Option<(u64, Histogram<u64>)>,
}

/// How many shards a run of `connections` gets: a few per core (so that two connections on
/// different threads rarely share one), never more than connections.
pub fn shard_count(connections: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    connections.clamp(1, (4 * cores).min(64))
}

impl Shard {
    /// A shard for `window`, counting into `live` and sending intervals to `intervals`.
    pub fn new(
        window: Window,
        live: Arc<Live>,
        intervals: Option<UnboundedSender<IntervalReport>>,
    ) -> Arc<Shard> {
        Arc::new(Shard {
            window,
            live,
            intervals,
            state: Mutex::new(ShardState {
                tally: Tally::default(),
                interval: None,
            }),
        })
    }

    fn state(&self) -> MutexGuard<'_, ShardState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Ends the shard's recording: ships its last interval and hands over its tally.
    pub fn take(&self) -> Tally {
        let mut state = self.state();
        if let (Some((second, latency)), Some(sender)) = (state.interval.take(), &self.intervals) {
            let _ = sender.send(IntervalReport { second, latency });
        }
        std::mem::take(&mut state.tally)
    }

    /// Records one latency (microseconds) of a successful operation in the run's histogram and
    /// this second's.
    fn record_latency(&self, state: &mut ShardState, us: u64, second: Option<u64>) {
        state.tally.latency.saturating_record(us);
        let (Some(sender), Some(second)) = (&self.intervals, second) else {
            return;
        };
        match &mut state.interval {
            Some((current, histogram)) if *current == second => histogram.saturating_record(us),
            _ => {
                if let Some((second, latency)) = state.interval.take() {
                    let _ = sender.send(IntervalReport { second, latency });
                }
                let mut histogram = histogram();
                histogram.saturating_record(us);
                state.interval = Some((second, histogram));
            }
        }
    }

    /// The second of measurement it is now, when intervals are kept.
    fn second_now(&self) -> Option<u64> {
        self.intervals
            .as_ref()
            .map(|_| self.window.second_of(Instant::now()))
    }
}

/// One connection's recorder: a handle on its shard, and how many operations are in flight
/// (one at most on HTTP/1.1, up to `--streams` on HTTP/2).
pub struct Recorder {
    shard: Arc<Shard>,
    in_flight: u64,
}

impl Recorder {
    /// A connection recording into `shard`.
    pub fn new(shard: Arc<Shard>) -> Recorder {
        Recorder {
            shard,
            in_flight: 0,
        }
    }

    /// The run's phases.
    pub fn window(&self) -> &Window {
        &self.shard.window
    }

    /// Marks an operation as started (so that one cut off by the end of the run is reported);
    /// its success or failure ends it.
    pub fn begin(&mut self) {
        self.in_flight += 1;
    }

    /// An operation intended to start at `at` succeeded after `latency`.
    pub fn success(&mut self, at: Instant, latency: Duration) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if !self.shard.window.measures(at) {
            return;
        }
        self.shard.live.operations.fetch_add(1, Ordering::Relaxed);
        let second = self.shard.second_now();
        let mut state = self.shard.state();
        state.tally.operations += 1;
        self.shard
            .record_latency(&mut state, micros(latency), second);
    }

    /// Operations that succeeded together (the replies an HTTP/2 connection read at once), each
    /// intended to start at its instant and taking its latency: one lock for the batch.
    pub fn successes(&mut self, batch: &[(Instant, Duration)]) {
        self.in_flight = self.in_flight.saturating_sub(batch.len() as u64);
        let window = self.shard.window;
        let measured = batch.iter().filter(|(at, _)| window.measures(*at));
        let count = measured.clone().count() as u64;
        if count == 0 {
            return;
        }
        self.shard
            .live
            .operations
            .fetch_add(count, Ordering::Relaxed);
        let second = self.shard.second_now();
        let mut state = self.shard.state();
        state.tally.operations += count;
        for (_, latency) in measured {
            self.shard
                .record_latency(&mut state, micros(*latency), second);
        }
    }

    /// Measured SSE events read since the last call, batched by the reader (one lock per
    /// batch): their latencies and the gaps before them, in microseconds. The caller has
    /// checked that they fall in the measured window.
    pub fn events(&mut self, latencies_us: &[u64], gaps_us: &[u64]) {
        if latencies_us.is_empty() && gaps_us.is_empty() {
            return;
        }
        let count = latencies_us.len() as u64;
        self.shard
            .live
            .operations
            .fetch_add(count, Ordering::Relaxed);
        let second = self.shard.second_now();
        let mut state = self.shard.state();
        state.tally.operations += count;
        for &us in latencies_us {
            self.shard.record_latency(&mut state, us, second);
        }
        for &us in gaps_us {
            state.tally.event_gap.saturating_record(us);
        }
    }

    /// A run of a REST scenario intended to start at `at` passed after `latency`, its steps
    /// taking `steps` (in order).
    pub fn scenario(&mut self, at: Instant, latency: Duration, steps: &[Duration]) {
        self.success(at, latency);
        if !self.shard.window.measures(at) {
            return;
        }
        let mut state = self.shard.state();
        let tally = &mut state.tally;
        if tally.steps.len() < steps.len() {
            tally.steps.resize_with(steps.len(), histogram);
        }
        for (histogram, step) in tally.steps.iter_mut().zip(steps) {
            histogram.saturating_record(micros(*step));
        }
    }

    /// JSON-RPC subscription items received at `at` and checked: their delivery latencies
    /// (microseconds) for those that carried a timestamp, and how many there were in all.
    pub fn items(&mut self, at: Instant, latencies_us: &[u64], count: u64) {
        if count == 0 || !self.shard.window.measures(at) {
            return;
        }
        let mut state = self.shard.state();
        state.tally.item_count += count;
        for &us in latencies_us {
            state.tally.items.saturating_record(us);
        }
    }

    /// An operation intended to start at `at` failed; `latency` when a reply came (recorded
    /// apart from the latency of successes, in no interval).
    pub fn failure(&mut self, at: Instant, kind: ErrorKind, latency: Option<Duration>) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if !self.shard.window.measures(at) {
            return;
        }
        self.shard.live.operations.fetch_add(1, Ordering::Relaxed);
        self.shard.live.errors.fetch_add(1, Ordering::Relaxed);
        let mut state = self.shard.state();
        state.tally.operations += 1;
        state.tally.errors += 1;
        state.tally.refused += u64::from(kind.is_refused());
        count_kind(&mut state.tally.errors_by_kind, kind.to_string(), 1);
        if let Some(latency) = latency {
            state
                .tally
                .failed_latency
                .saturating_record(micros(latency));
        }
    }

    /// How late an open-loop operation (its `slot`) started; when the pacer slept for it, that
    /// is its timer's lateness.
    pub fn lag(&mut self, slot: &Slot) {
        // No lag (closed loop, or on time) cannot raise the maximum: no lock.
        if (slot.slept || !slot.lag.is_zero()) && self.shard.window.measures(slot.intended) {
            let us = micros(slot.lag);
            let mut state = self.shard.state();
            state.tally.lag.max_us = state.tally.lag.max_us.max(us);
            if slot.slept {
                state.tally.timer_lateness.saturating_record(us);
            }
        }
    }

    /// A successful REST operation intended to start at `at` got its body's first byte and last
    /// byte after `times` (recorded when `at` is measured).
    pub fn body_timing(&mut self, at: Instant, times: crate::load::proto::BodyTimes) {
        if !self.shard.window.measures(at) {
            return;
        }
        let mut state = self.shard.state();
        state
            .tally
            .first_byte
            .saturating_record(micros(times.first_byte));
        state
            .tally
            .last_byte
            .saturating_record(micros(times.last_byte));
    }

    /// A WebSocket handshake took `latency` (recorded whatever the phase).
    pub fn connected(&mut self, latency: Duration) {
        self.shard
            .state()
            .tally
            .connect
            .saturating_record(micros(latency));
    }

    /// An SSE subscription's first event came `latency` after the request.
    pub fn first_event(&mut self, latency: Duration) {
        self.shard
            .state()
            .tally
            .first_event
            .saturating_record(micros(latency));
    }

    /// Ends the connection's recording: what `pacer` left undone goes into its shard.
    pub fn finish(self, pacer: &Pacer) {
        let window = self.shard.window;
        let final_us = micros(pacer.lag_at(window.end));
        let unsent = pacer.unsent(window.measure_from, window.end);
        let mut state = self.shard.state();
        let lag = &mut state.tally.lag;
        lag.final_us = lag.final_us.max(final_us);
        lag.max_us = lag.max_us.max(final_us);
        lag.unsent += unsent;
        state.tally.unfinished += self.in_flight;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::schedule::Schedule;

    fn window() -> Window {
        Window::new(
            Instant::now() - Duration::from_secs(1),
            Duration::ZERO,
            Duration::from_secs(60),
        )
    }

    fn recorder(w: Window) -> (Arc<Shard>, Recorder) {
        let shard = Shard::new(w, Arc::default(), None);
        (shard.clone(), Recorder::new(shard))
    }

    #[test]
    fn merging_tallies_adds_histograms_counts_and_kinds() {
        let w = window();
        let at = w.measure_from + Duration::from_millis(1);
        let (shard_a, mut a) = recorder(w);
        a.success(at, Duration::from_micros(100));
        a.success(at, Duration::from_micros(200));
        a.failure(
            at,
            ErrorKind::status("/status", 500),
            Some(Duration::from_micros(300)),
        );
        let (shard_b, mut b) = recorder(w);
        b.success(at, Duration::from_micros(1000));
        b.failure(at, ErrorKind::status("/status", 500), None);
        b.failure(at, ErrorKind::Refused, None);
        b.lag(&Slot {
            intended: at,
            lag: Duration::from_millis(7),
            slept: false,
        });
        // Slept for, woke 40 us late: the timer's lateness.
        a.lag(&Slot {
            intended: at,
            lag: Duration::from_micros(40),
            slept: true,
        });
        let pacer = Pacer::new(Schedule::Closed, w.start, 0, 1);
        a.finish(&pacer);
        b.finish(&pacer);
        let mut total = shard_a.take();
        total.merge(&shard_b.take());
        assert_eq!(total.operations, 6);
        assert_eq!(total.errors, 3);
        // Successes only; the failure with a reply apart.
        assert_eq!(total.latency.len(), 3);
        assert_eq!(total.failed_latency.len(), 1);
        assert_eq!(total.failed_latency.max(), 300);
        assert_eq!(total.successes(), 3);
        assert_eq!(total.latency.min(), 100);
        assert_eq!(total.latency.max(), 1000);
        assert_eq!(
            total.errors_by_kind["/status: different status, got 500"],
            2
        );
        assert_eq!(total.errors_by_kind["connection refused"], 1);
        assert_eq!(total.refused, 1);
        assert!(!total.only_refused());
        let refused = Tally {
            operations: 2,
            errors: 2,
            refused: 2,
            ..Tally::default()
        };
        assert!(refused.only_refused());
        assert!(!Tally::default().only_refused());
        assert_eq!(total.lag.max_us, 7000);
        assert_eq!(total.timer_lateness.len(), 1);
        assert_eq!(total.timer_lateness.max(), 40);
    }

    #[test]
    fn a_batch_of_successes_counts_its_measured_ones_and_ends_them() {
        let w = window();
        let at = w.measure_from + Duration::from_millis(1);
        let warmup = w.measure_from - Duration::from_millis(1);
        let (shard, mut r) = recorder(w);
        for _ in 0..3 {
            r.begin();
        }
        let micros = Duration::from_micros;
        r.successes(&[(at, micros(10)), (warmup, micros(20)), (at, micros(30))]);
        r.successes(&[]);
        r.finish(&Pacer::new(Schedule::Closed, w.start, 0, 1));
        let tally = shard.take();
        assert_eq!(tally.operations, 2);
        assert_eq!(tally.latency.len(), 2);
        assert_eq!(tally.latency.max(), 30);
        assert_eq!(tally.unfinished, 0);
    }

    #[test]
    fn connections_share_a_shard() {
        let w = window();
        let at = w.measure_from + Duration::from_millis(1);
        let shard = Shard::new(w, Arc::default(), None);
        let (mut a, mut b) = (Recorder::new(shard.clone()), Recorder::new(shard.clone()));
        a.success(at, Duration::from_micros(10));
        b.events(&[20, 30, 40], &[5, 0, 0]);
        b.begin();
        b.begin();
        b.success(at, Duration::from_micros(60));
        let pacer = Pacer::new(Schedule::Open { rate: 10.0 }, w.start, 0, 1);
        a.finish(&pacer);
        b.finish(&pacer);
        let tally = shard.take();
        assert_eq!(tally.operations, 5);
        assert_eq!(tally.latency.len(), 5);
        assert_eq!(tally.event_gap.len(), 3);
        assert_eq!(tally.event_gap.max(), 5);
        assert_eq!(tally.unfinished, 1);
        // Neither started any operation of a 10/s schedule over the 60 s window: 600 each.
        assert_eq!(tally.lag.unsent, 1200);
        assert!(shard_count(10_000) <= 64 && shard_count(3) <= 3 && shard_count(0) == 1);
    }

    #[test]
    fn warmup_is_not_recorded_and_intervals_are_shipped() {
        let start = Instant::now() - Duration::from_secs(2);
        let w = Window::new(start, Duration::from_secs(1), Duration::from_secs(60));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let live = Arc::new(Live::default());
        let shard = Shard::new(w, live.clone(), Some(tx));
        let mut r = Recorder::new(shard.clone());
        r.success(start, Duration::from_micros(5)); // warmup
        r.failure(start, ErrorKind::Timeout, None); // warmup
        r.success(w.measure_from, Duration::from_micros(50));
        r.begin();
        r.finish(&Pacer::new(Schedule::Closed, start, 0, 1));
        let tally = shard.take();
        assert_eq!(tally.operations, 1);
        assert_eq!(tally.errors, 0);
        assert_eq!(tally.unfinished, 1);
        assert_eq!(live.operations.load(Ordering::Relaxed), 1);
        let report = rx.try_recv().expect("one interval");
        assert_eq!(report.second, 1);
        assert_eq!(report.latency.len(), 1);
    }

    #[test]
    fn error_kinds_read_like_the_cause() {
        assert_eq!(
            ErrorKind::status("/status", 500).to_string(),
            "/status: different status, got 500"
        );
        assert_eq!(
            ErrorKind::differs("/body/message", "different string").to_string(),
            "/body/message: different string"
        );
        assert_eq!(
            ErrorKind::differs("", "reply body is not JSON").to_string(),
            "/: reply body is not JSON"
        );
        assert_eq!(
            ErrorKind::handshake("/connect", 403).to_string(),
            "/connect: different handshake status, got 403"
        );
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(ErrorKind::of_io(&refused).to_string(), "connection refused");
        assert_eq!(ErrorKind::TooLarge("event").to_string(), "event too large");
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(ErrorKind::of_error(&reset), ErrorKind::Reset);
        // An I/O error wrapped in another error is found through the source chain.
        #[derive(Debug, thiserror::Error)]
        #[error("request failed")]
        struct Wrapper(#[source] std::io::Error);
        let wrapped = Wrapper(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert_eq!(ErrorKind::of_error(&wrapped), ErrorKind::Reset);
    }

    #[test]
    fn error_kinds_are_bounded_by_folding_the_rest() {
        let w = window();
        let at = w.measure_from + Duration::from_millis(1);
        let (shard_a, mut a) = recorder(w);
        // A server that differs in a new place on every reply.
        for key in 0..MAX_ERROR_KINDS + 10 {
            a.failure(
                at,
                ErrorKind::differs(format!("/body/k{key}"), "unexpected key"),
                None,
            );
        }
        a.failure(at, ErrorKind::differs("/body/k0", "unexpected key"), None);
        let (shard_b, mut b) = recorder(w);
        b.failure(at, ErrorKind::Timeout, None);
        b.failure(at, ErrorKind::differs("/body/k1", "unexpected key"), None);
        let mut total = shard_a.take();
        assert_eq!(total.errors_by_kind.len(), MAX_ERROR_KINDS + 1);
        assert_eq!(total.errors_by_kind[MORE_KINDS], 10);
        assert_eq!(total.errors_by_kind["/body/k0: unexpected key"], 2);
        total.merge(&shard_b.take());
        assert_eq!(total.errors_by_kind.len(), MAX_ERROR_KINDS + 1);
        assert_eq!(total.errors_by_kind[MORE_KINDS], 11, "timeout folded in");
        assert_eq!(total.errors_by_kind["/body/k1: unexpected key"], 2);
        assert_eq!(total.errors_by_kind.values().sum::<u64>(), total.errors);
    }
}
