//! The machinery every measured run shares, whatever the protocol: the clock and the window,
//! the shards recorders write to, the interval log and the figures reported to a
//! [`LoadProgress`] (the monitor), the runner's CPU and memory (the sampler), and the merge into
//! an [`Outcome`].
//!
//! How progress is shown is not this layer's business: the command hands a [`LoadProgress`]
//! in [`LoadConfig::progress`]; the run tells it when it starts, then the monitor tells it the
//! elapsed time and the [`LiveFigures`] four times a second.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use super::hlog::IntervalSeries;
use super::progress::{LiveFigures, LoadProgress};
use super::recorder::{IntervalReport, Live, Shard, Tally, shard_count};
use super::resources::sample_group;
use super::schedule::Window;
use super::worker::LoadConfig;
use crate::results::load::BroadcastBlock;
use crate::results::load::RunnerResources;

/// What a run measured.
pub struct Outcome {
    /// Every connection's tally, merged.
    pub tally: Tally,
    /// Latency by second of measurement.
    pub intervals: IntervalSeries,
    /// Wall-clock time measurement started.
    pub measured_from: SystemTime,
    /// The runner's CPU and memory, when its process group was sampled.
    pub runner_resources: Option<RunnerResources>,
    /// Broadcast: what was published and delivered.
    pub broadcast: Option<crate::results::load::BroadcastBlock>,
    /// A JSON-RPC conversation with subscription items: the timestamp field its handler names,
    /// if any (`None`: no items expected).
    pub subscription_items: Option<Option<String>>,
    /// The connection phase before the run, when it had one.
    pub connect_phase: Option<crate::results::load::ConnectPhase>,
}

/// The machinery every measured run shares: the live counters behind the progress, the
/// monitor (progress, interval log), the runner sampler, and the shards recorders write to.
pub(super) struct Measurement {
    /// When the run (its warm-up) started.
    pub start: Instant,
    /// Warm-up and measured window.
    pub window: Window,
    /// Wall-clock start of the measured window.
    measured_from: SystemTime,
    /// Where recorders write; merged by [`Measurement::finish`].
    pub shards: Vec<Arc<Shard>>,
    monitor: tokio::task::JoinHandle<IntervalSeries>,
    sampler: Option<tokio::task::JoinHandle<RunnerResources>>,
}

impl Measurement {
    /// Starts the clock, the monitor and the sampler, with shards for `connections` recorders.
    pub(super) fn begin(config: &LoadConfig, connections: usize) -> Measurement {
        let live = Arc::new(Live::default());
        let (sender, receiver) = unbounded_channel();
        // `--start-at`: the run's start on the wall clock, as an instant (now when past).
        let (start, started) = match config.start_at {
            Some(at) => {
                let ahead = at.duration_since(SystemTime::now()).unwrap_or_default();
                (Instant::now() + ahead, at.max(SystemTime::now()))
            }
            None => (Instant::now(), SystemTime::now()),
        };
        let measured_from = started + config.warmup;
        let window = Window::new(start, config.warmup, config.duration);
        if let Some(progress) = &config.progress {
            progress.start(config.warmup + config.duration);
        }
        let monitor = tokio::spawn(monitor(
            receiver,
            live.clone(),
            window,
            config.keep_intervals,
            config.progress.clone(),
        ));
        let sampler = config
            .sample_group
            .map(|pgid| tokio::spawn(sample_group(pgid, window)));
        let shards = (0..shard_count(connections))
            .map(|_| Shard::new(window, live.clone(), Some(sender.clone())))
            .collect();
        Measurement {
            start,
            window,
            measured_from,
            shards,
            monitor,
            sampler,
        }
    }

    /// Merges the shards and collects the interval log and the runner samples.
    pub(super) async fn finish(self, broadcast: Option<BroadcastBlock>) -> Outcome {
        let mut tally = Tally::default();
        for shard in self.shards {
            tally.merge(&shard.take());
        }
        let intervals = self
            .monitor
            .await
            .unwrap_or_else(|_| IntervalSeries::new(false));
        let runner_resources = match self.sampler {
            Some(sampler) => sampler.await.ok(),
            None => None,
        };
        Outcome {
            tally,
            intervals,
            measured_from: self.measured_from,
            runner_resources,
            broadcast,
            subscription_items: None,
            connect_phase: None,
        }
    }
}

/// Gathers interval reports and keeps `progress` current until every worker is done.
async fn monitor(
    mut reports: UnboundedReceiver<IntervalReport>,
    live: Arc<Live>,
    window: Window,
    keep: bool,
    progress: Option<Arc<dyn LoadProgress>>,
) -> IntervalSeries {
    let mut series = IntervalSeries::new(keep);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let (mut last_operations, mut last_at) = (0u64, Instant::now());
    let mut p99 = None;
    loop {
        tokio::select! {
            report = reports.recv() => match report {
                Some(report) => series.add(report),
                None => break,
            },
            _ = tick.tick() => {
                let now = Instant::now();
                let elapsed = now.saturating_duration_since(window.start);
                if now < window.measure_from {
                    if let Some(progress) = &progress {
                        progress.update(elapsed, None);
                    }
                    continue;
                }
                let second = window.second_of(now);
                if let Some(h) = second.checked_sub(1).and_then(|s| series.second(s)) {
                    p99 = Some(h.value_at_quantile(0.99));
                }
                series.seal_before(second.saturating_sub(2));
                let operations = live.operations.load(Ordering::Relaxed);
                let errors = live.errors.load(Ordering::Relaxed);
                let span = now.saturating_duration_since(last_at.max(window.measure_from));
                let rate = if span.is_zero() {
                    0.0
                } else {
                    (operations - last_operations) as f64 / span.as_secs_f64()
                };
                (last_operations, last_at) = (operations, now);
                if let Some(progress) = &progress {
                    let figures = LiveFigures { rate, operations, errors, p99_us: p99 };
                    progress.update(elapsed, Some(&figures));
                }
            }
        }
    }
    if let Some(progress) = &progress {
        progress.finish();
    }
    series
}
