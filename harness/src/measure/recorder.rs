//! Recording: one [`Recorder`] per connection holds its own HDR histograms and counters (nothing
//! shared on the hot path but two relaxed atomics for the progress bar), ships one interval
//! histogram per second of measurement for the interval log, and ends as a [`Tally`]; tallies
//! are merged at the end.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::mpsc::UnboundedSender;

use super::schedule::{Pacer, Window};

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
    /// The reply had another status: `status 500`.
    Status(u16),
    /// A checked header was missing or different: `header content-type differs`.
    Header(String),
    /// The body differs from the expectation at a JSON pointer: `body differs at /message`.
    Body(String),
    /// A WebSocket message differs: `message differs at /payload`.
    Message(String),
    /// An SSE event differs: `event differs at /events/0/id`.
    Event(String),
    /// The WebSocket upgrade was answered with another status: `handshake status 403`.
    Handshake(u16),
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
    /// Anything else, with its text.
    Other(String),
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Status(status) => write!(f, "status {status}"),
            ErrorKind::Header(name) => write!(f, "header {name} differs"),
            ErrorKind::Body(at) => write!(f, "body differs at {}", or_root(at)),
            ErrorKind::Message(at) => write!(f, "message differs at {}", or_root(at)),
            ErrorKind::Event(at) => write!(f, "event differs at {}", or_root(at)),
            ErrorKind::Handshake(status) => write!(f, "handshake status {status}"),
            ErrorKind::Refused => f.write_str("connection refused"),
            ErrorKind::Reset => f.write_str("reset"),
            ErrorKind::Closed => f.write_str("connection closed"),
            ErrorKind::Timeout => f.write_str("timeout"),
            ErrorKind::Garbage => f.write_str("garbage reply"),
            ErrorKind::Other(text) => f.write_str(text),
        }
    }
}

fn or_root(pointer: &str) -> &str {
    if pointer.is_empty() { "/" } else { pointer }
}

impl ErrorKind {
    /// Classifies a transport error by the I/O error in its source chain, else by its text.
    pub fn of_error(error: &(dyn std::error::Error + 'static)) -> ErrorKind {
        let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(e) = current {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                return ErrorKind::of_io(io);
            }
            current = e.source();
        }
        let text = error.to_string();
        let lower = text.to_ascii_lowercase();
        if lower.contains("closed") || lower.contains("incomplete") || lower.contains("canceled") {
            ErrorKind::Closed
        } else if lower.contains("parse") || lower.contains("invalid") {
            ErrorKind::Garbage
        } else {
            ErrorKind::Other(text)
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
    /// Latency of measured operations, in microseconds.
    pub latency: Histogram<u64>,
    /// WebSocket handshake latency (every handshake, warmup included).
    pub connect: Histogram<u64>,
    /// SSE time from the request to the first event (every subscription).
    pub first_event: Histogram<u64>,
    /// SSE time between consecutive events (measured).
    pub event_gap: Histogram<u64>,
    /// Measured operations, errors included.
    pub operations: u64,
    /// Measured operations that failed.
    pub errors: u64,
    /// Errors by kind (their text).
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Open-loop schedule lag.
    pub lag: Lag,
    /// Operations in flight when the run ended (neither counted nor recorded).
    pub unfinished: u64,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            latency: histogram(),
            connect: histogram(),
            first_event: histogram(),
            event_gap: histogram(),
            operations: 0,
            errors: 0,
            errors_by_kind: BTreeMap::new(),
            lag: Lag::default(),
            unfinished: 0,
        }
    }
}

impl Tally {
    /// Adds `other` to this tally.
    pub fn merge(&mut self, other: &Tally) {
        for (mine, theirs) in [
            (&mut self.latency, &other.latency),
            (&mut self.connect, &other.connect),
            (&mut self.first_event, &other.first_event),
            (&mut self.event_gap, &other.event_gap),
        ] {
            // Same bounds on both sides: adding cannot fail.
            let _ = mine.add(theirs);
        }
        self.operations += other.operations;
        self.errors += other.errors;
        for (kind, count) in &other.errors_by_kind {
            *self.errors_by_kind.entry(kind.clone()).or_default() += count;
        }
        self.lag.max_us = self.lag.max_us.max(other.lag.max_us);
        self.lag.final_us = self.lag.final_us.max(other.lag.final_us);
        self.lag.unsent += other.lag.unsent;
        self.unfinished += other.unfinished;
    }
}

/// One connection's recorder.
pub struct Recorder {
    window: Window,
    tally: Tally,
    live: Arc<Live>,
    intervals: Option<UnboundedSender<IntervalReport>>,
    interval: Option<(u64, Histogram<u64>)>,
    in_flight: bool,
}

impl Recorder {
    /// A recorder for `window`, counting into `live` and sending intervals to `intervals`.
    pub fn new(
        window: Window,
        live: Arc<Live>,
        intervals: Option<UnboundedSender<IntervalReport>>,
    ) -> Recorder {
        Recorder {
            window,
            tally: Tally::default(),
            live,
            intervals,
            interval: None,
            in_flight: false,
        }
    }

    /// The run's phases.
    pub fn window(&self) -> &Window {
        &self.window
    }

    /// Marks an operation as started (so that one cut off by the end of the run is reported).
    pub fn begin(&mut self) {
        self.in_flight = true;
    }

    /// An operation intended to start at `at` succeeded after `latency`.
    pub fn success(&mut self, at: Instant, latency: Duration) {
        self.in_flight = false;
        if !self.window.measures(at) {
            return;
        }
        self.tally.operations += 1;
        self.live.operations.fetch_add(1, Ordering::Relaxed);
        self.record_latency(micros(latency));
    }

    /// An operation intended to start at `at` failed; `latency` when a reply came.
    pub fn failure(&mut self, at: Instant, kind: ErrorKind, latency: Option<Duration>) {
        self.in_flight = false;
        if !self.window.measures(at) {
            return;
        }
        self.tally.operations += 1;
        self.tally.errors += 1;
        self.live.operations.fetch_add(1, Ordering::Relaxed);
        self.live.errors.fetch_add(1, Ordering::Relaxed);
        *self
            .tally
            .errors_by_kind
            .entry(kind.to_string())
            .or_default() += 1;
        if let Some(latency) = latency {
            self.record_latency(micros(latency));
        }
    }

    /// How late an open-loop operation intended at `at` started.
    pub fn lag(&mut self, at: Instant, lag: Duration) {
        if self.window.measures(at) {
            self.tally.lag.max_us = self.tally.lag.max_us.max(micros(lag));
        }
    }

    /// A WebSocket handshake took `latency` (recorded whatever the phase).
    pub fn connected(&mut self, latency: Duration) {
        self.tally.connect.saturating_record(micros(latency));
    }

    /// An SSE subscription's first event came `latency` after the request.
    pub fn first_event(&mut self, latency: Duration) {
        self.tally.first_event.saturating_record(micros(latency));
    }

    /// An SSE event came `gap` after the previous one, at `at`.
    pub fn event_gap(&mut self, at: Instant, gap: Duration) {
        if self.window.measures(at) {
            self.tally.event_gap.saturating_record(micros(gap));
        }
    }

    fn record_latency(&mut self, us: u64) {
        self.tally.latency.saturating_record(us);
        if self.intervals.is_none() {
            return;
        }
        let second = self.window.second_of(Instant::now());
        match &mut self.interval {
            Some((current, histogram)) if *current == second => histogram.saturating_record(us),
            _ => {
                self.flush_interval();
                let mut histogram = histogram();
                histogram.saturating_record(us);
                self.interval = Some((second, histogram));
            }
        }
    }

    fn flush_interval(&mut self) {
        if let (Some((second, latency)), Some(sender)) = (self.interval.take(), &self.intervals) {
            let _ = sender.send(IntervalReport { second, latency });
        }
    }

    /// Ends the connection's recording: what `pacer` left undone, the last interval, the tally.
    pub fn finish(mut self, pacer: &Pacer) -> Tally {
        self.flush_interval();
        let window = self.window;
        let lag = &mut self.tally.lag;
        lag.final_us = micros(pacer.lag_at(window.end));
        lag.max_us = lag.max_us.max(lag.final_us);
        lag.unsent = pacer.unsent(window.measure_from, window.end);
        if self.in_flight {
            self.tally.unfinished += 1;
        }
        self.tally
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::schedule::Schedule;

    fn window() -> Window {
        Window::new(
            Instant::now() - Duration::from_secs(1),
            Duration::ZERO,
            Duration::from_secs(60),
        )
    }

    #[test]
    fn merging_tallies_adds_histograms_counts_and_kinds() {
        let w = window();
        let at = w.measure_from + Duration::from_millis(1);
        let mut a = Recorder::new(w, Arc::default(), None);
        a.success(at, Duration::from_micros(100));
        a.success(at, Duration::from_micros(200));
        a.failure(at, ErrorKind::Status(500), Some(Duration::from_micros(300)));
        let mut b = Recorder::new(w, Arc::default(), None);
        b.success(at, Duration::from_micros(1000));
        b.failure(at, ErrorKind::Status(500), None);
        b.failure(at, ErrorKind::Refused, None);
        b.lag(at, Duration::from_millis(7));
        let pacer = Pacer::new(Schedule::Closed, w.start, 0, 1);
        let mut total = a.finish(&pacer);
        total.merge(&b.finish(&pacer));
        assert_eq!(total.operations, 6);
        assert_eq!(total.errors, 3);
        assert_eq!(total.latency.len(), 4);
        assert_eq!(total.latency.min(), 100);
        assert_eq!(total.latency.max(), 1000);
        assert_eq!(total.errors_by_kind["status 500"], 2);
        assert_eq!(total.errors_by_kind["connection refused"], 1);
        assert_eq!(total.lag.max_us, 7000);
    }

    #[test]
    fn warmup_is_not_recorded_and_intervals_are_shipped() {
        let start = Instant::now() - Duration::from_secs(2);
        let w = Window::new(start, Duration::from_secs(1), Duration::from_secs(60));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let live = Arc::new(Live::default());
        let mut r = Recorder::new(w, live.clone(), Some(tx));
        r.success(start, Duration::from_micros(5)); // warmup
        r.failure(start, ErrorKind::Timeout, None); // warmup
        r.success(w.measure_from, Duration::from_micros(50));
        r.begin();
        let tally = r.finish(&Pacer::new(Schedule::Closed, start, 0, 1));
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
        assert_eq!(ErrorKind::Status(500).to_string(), "status 500");
        assert_eq!(
            ErrorKind::Body("/message".into()).to_string(),
            "body differs at /message"
        );
        assert_eq!(
            ErrorKind::Body(String::new()).to_string(),
            "body differs at /"
        );
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(ErrorKind::of_io(&refused).to_string(), "connection refused");
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(ErrorKind::of_error(&reset), ErrorKind::Reset);
        // An I/O error wrapped in another error is found through the source chain.
        #[derive(Debug, thiserror::Error)]
        #[error("request failed")]
        struct Wrapper(#[source] std::io::Error);
        let wrapped = Wrapper(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert_eq!(ErrorKind::of_error(&wrapped), ErrorKind::Reset);
    }
}
