//! The connection phase: every connection of the run is opened before warm-up and measurement
//! start, so that thousands of handshakes still queued at the server are not measured as the
//! timeouts of operations. Openings are spread over `--ramp` (connection `g` of `n` opens at
//! `g/n` of it) and at most `--connect-concurrency` are in flight at once, each
//! bounded by `--timeout`. What comes out is data: each connection's opened connection (or
//! `None`), and the [`ConnectPhase`] block of the result document.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::progress::LoadProgress;
use super::recorder::{ErrorKind, histogram, micros};
use crate::results::load::{ConnectPhase, Percentiles};

/// Openings in flight at once by default: 10,000 WebSocket connections to `serve` on loopback
/// open in about 1.0 s on two cores (handshake p99 19 ms); 256 or 1024 at once take 1.5 to 2.2 s
/// and leave some handshakes a second behind (a SYN retransmitted).
pub const DEFAULT_CONCURRENCY: usize = 64;

/// How the phase opens connections.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pace {
    /// Openings spread over this time.
    pub ramp: Duration,
    /// Openings in flight at once, at most.
    pub concurrency: usize,
    /// Bound on one opening.
    pub timeout: Duration,
}

/// One connection as the phase left it: open, and how long opening it took.
pub(super) type Opened<C> = Option<(C, Duration)>;

/// How often the phase tells `progress` how far it is.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Opens connections `mine` (their places among the run's `count`) with `open`, as `pace`
/// says, telling `progress` how far it is; returns them in the order of `mine`, and the phase's
/// block. At most `pace.concurrency` openings exist at once, so that the phase's memory does
/// not grow with the connections (an opening's state is kilobytes).
pub(super) async fn establish<C, F, Fut>(
    mine: &[usize],
    count: usize,
    pace: Pace,
    progress: Option<&dyn LoadProgress>,
    open: F,
) -> (Vec<Opened<C>>, ConnectPhase)
where
    C: Send + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<C, ErrorKind>> + Send + 'static,
{
    let began = Instant::now();
    let mut tally = Tally::new(mine.len(), began);
    let mut openings = JoinSet::new();
    for (position, &index) in mine.iter().enumerate() {
        while openings.len() >= pace.concurrency.max(1) {
            if let Some(done) = openings.join_next().await {
                tally.record(done, progress);
            }
        }
        let opens_at = began + pace.ramp.mul_f64(index as f64 / count as f64);
        tokio::time::sleep_until(opens_at.into()).await;
        // Boxed, so that the task is small: a connection keeps the wakers of the task that
        // opened it (and with them its memory) until its worker first polls it.
        let opening = Box::pin(open());
        openings.spawn(async move {
            let started = Instant::now();
            let outcome = match tokio::time::timeout(pace.timeout, opening).await {
                Ok(Ok(connection)) => Ok((connection, started.elapsed())),
                Ok(Err(kind)) => Err(kind),
                Err(_) => Err(ErrorKind::Timeout),
            };
            (position, outcome)
        });
    }
    while let Some(done) = openings.join_next().await {
        tally.record(done, progress);
    }
    tally.finish(pace)
}

/// The phase's openings as they end, in any order.
struct Tally<C> {
    opened: Vec<Opened<C>>,
    handshakes: hdrhistogram::Histogram<u64>,
    failed_by_kind: BTreeMap<String, u64>,
    tried: usize,
    began: Instant,
    reported: Instant,
}

/// An opening's end: its place in `mine`, and the connection and how long it took, or why not.
type Ended<C> = Result<(usize, Result<(C, Duration), ErrorKind>), tokio::task::JoinError>;

impl<C> Tally<C> {
    fn new(connections: usize, began: Instant) -> Tally<C> {
        Tally {
            opened: std::iter::repeat_with(|| None).take(connections).collect(),
            handshakes: histogram(),
            failed_by_kind: BTreeMap::new(),
            tried: 0,
            began,
            reported: began,
        }
    }

    fn record(&mut self, done: Ended<C>, progress: Option<&dyn LoadProgress>) {
        let failed = match done {
            Ok((position, Ok((connection, took)))) => {
                self.handshakes.saturating_record(micros(took));
                self.opened[position] = Some((connection, took));
                None
            }
            Ok((_, Err(kind))) => Some(kind),
            Err(e) => Some(ErrorKind::Other(format!("the opening task failed: {e}"))),
        };
        if let Some(kind) = failed {
            *self.failed_by_kind.entry(kind.to_string()).or_insert(0) += 1;
        }
        self.tried += 1;
        let total = self.opened.len();
        if let Some(progress) = progress
            && (self.tried == total || self.reported.elapsed() >= PROGRESS_EVERY)
        {
            progress.connecting(self.tried, total);
            self.reported = Instant::now();
        }
    }

    fn finish(self, pace: Pace) -> (Vec<Opened<C>>, ConnectPhase) {
        let connections = self.opened.len();
        let established = self.opened.iter().filter(|o| o.is_some()).count();
        let phase = ConnectPhase {
            connections,
            established,
            failed: connections - established,
            failed_by_kind: self.failed_by_kind,
            concurrency: pace.concurrency,
            ramp_s: pace.ramp.as_secs_f64(),
            duration_ms: (self.began.elapsed().as_secs_f64() * 1e4).round() / 10.0,
            handshake_us: Percentiles::of(&self.handshakes),
        };
        (self.opened, phase)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn every_connection_is_opened_at_most_concurrency_at_once() {
        let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let pace = Pace {
            ramp: Duration::ZERO,
            concurrency: 3,
            timeout: Duration::from_secs(5),
        };
        let mine: Vec<usize> = (0..10).collect();
        let seen = Seen::default();
        // An opening counts from its making, not its first poll: at most `concurrency` exist
        // at once, whatever the number of connections (their state is kilobytes each).
        let (opened, phase) = establish(&mine, 10, pace, Some(&seen), || {
            use std::sync::atomic::Ordering::SeqCst;
            let (in_flight, most) = (in_flight.clone(), most.clone());
            let now = in_flight.fetch_add(1, SeqCst) + 1;
            most.fetch_max(now, SeqCst);
            async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                in_flight.fetch_sub(1, SeqCst);
                Ok::<(), ErrorKind>(())
            }
        })
        .await;
        assert_eq!(opened.len(), 10);
        assert_eq!(phase.established, 10);
        assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 3);
        // Four waves of 20 ms at least.
        assert!(phase.duration_ms >= 80.0, "{phase:?}");
        assert!(phase.handshake_us.unwrap().min >= 20_000);
        // Progress hears of the phase's end (and of nothing past it).
        let reports = seen.0.lock().unwrap();
        assert_eq!(reports.last(), Some(&(10, 10)), "{reports:?}");
        assert!(reports.windows(2).all(|w| w[0].0 < w[1].0), "{reports:?}");
    }

    /// A progress that keeps what the phase told it.
    #[derive(Debug, Default)]
    struct Seen(std::sync::Mutex<Vec<(usize, usize)>>);

    impl LoadProgress for Seen {
        fn connecting(&self, tried: usize, total: usize) {
            self.0.lock().unwrap().push((tried, total));
        }
        fn start(&self, _: Duration) {}
        fn update(&self, _: Duration, _: Option<&super::super::progress::LiveFigures>) {}
        fn finish(&self) {}
    }

    #[tokio::test]
    async fn failures_are_counted_by_kind_and_leave_no_connection() {
        let pace = Pace {
            ramp: Duration::from_millis(50),
            concurrency: 8,
            timeout: Duration::from_millis(100),
        };
        let turn = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (opened, phase) = establish(&[0, 2, 4, 6], 8, pace, None, || {
            let n = turn.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                match n {
                    0 => Err(ErrorKind::Refused),
                    1 => {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        Ok(n)
                    }
                    _ => Ok(n),
                }
            }
        })
        .await;
        let opened: Vec<Option<usize>> = opened.into_iter().map(|o| o.map(|(n, _)| n)).collect();
        assert_eq!(opened, [None, None, Some(2), Some(3)]);
        assert_eq!(
            (phase.connections, phase.established, phase.failed),
            (4, 2, 2)
        );
        assert_eq!(phase.failed_by_kind["connection refused"], 1);
        assert_eq!(phase.failed_by_kind["timeout"], 1);
        // The last opens at 6/8 of the 50 ms ramp.
        assert!(phase.duration_ms >= 37.0, "{phase:?}");
    }
}
