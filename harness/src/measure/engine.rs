//! The engine: prepares a fixture for load, runs one task per connection on the [`Schedule`]
//! for warmup plus duration (every task cancelled at the end, whatever it waits for), the
//! connections recording into a few shared [`Shard`]s (so that 10,000 connections cost
//! kilobytes each, not histograms each), shows progress, samples a runner's processes when asked,
//! and merges the shards' tallies.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use harness_fixture::{Fixture, Spec};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use url::Url;

use super::hlog::IntervalSeries;
use super::recorder::{IntervalReport, Live, Recorder, Shard, Tally, shard_count};
use super::resources::{RunnerResources, sample_group};
use super::rest::RestLoad;
use super::result::{BroadcastBlock, human_us};
use super::schedule::{Pacer, Schedule, Window};
use super::sse::SseLoad;
use super::ws::WsLoad;

/// Why a load run could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The fixture cannot be loaded this way (wrong protocol, nothing to measure, bad values).
    #[error("{0}")]
    Fixture(String),
    /// The target's address cannot be resolved.
    #[error("{0}")]
    Unreachable(String),
}

/// How to load.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Connections (SSE: subscribers), at least one.
    pub connections: usize,
    /// Closed or open loop.
    pub schedule: Schedule,
    /// Load before measurement starts.
    pub warmup: Duration,
    /// Measured load.
    pub duration: Duration,
    /// Bound on every wait: a connection, a reply, an event.
    pub timeout: Duration,
    /// The largest SSE line or event, and WebSocket message, read from the server; past it the
    /// operation fails (`event too large`, `message too large`).
    pub max_event_size: usize,
    /// Openings of connections spread over this time (WebSocket, SSE).
    pub ramp: Duration,
    /// Keep every second's histogram (for `--hlog`).
    pub keep_intervals: bool,
    /// Draw a progress bar on stderr (when it is a terminal).
    pub progress: bool,
    /// Sample the CPU and memory of this process group (a runner's app) while measuring.
    pub sample_group: Option<i32>,
}

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
    pub broadcast: Option<super::result::BroadcastBlock>,
}

/// One connection's state, handed to the protocol's worker loop.
pub(crate) struct Worker {
    /// When each operation is due.
    pub(crate) pacer: Pacer,
    /// Where results go.
    pub(crate) recorder: Recorder,
    /// Bound on every wait.
    pub(crate) timeout: Duration,
    /// When this connection opens (the ramp).
    pub(crate) opens_at: Instant,
}

/// A fixture prepared for load, by protocol (one per run, behind an `Arc`: sizes do not matter).
#[allow(clippy::large_enum_variant)]
enum Load {
    Rest(RestLoad),
    WebSocket(WsLoad),
    Sse(SseLoad),
}

impl Load {
    async fn prepare(
        fixture: &Fixture,
        base: &Url,
        config: &LoadConfig,
    ) -> Result<Load, LoadError> {
        let max = config.max_event_size;
        Ok(match &fixture.spec {
            Spec::Rest(rest) => Load::Rest(RestLoad::prepare(rest, base).await?),
            Spec::WebSocket(ws) => Load::WebSocket(WsLoad::prepare(ws, base, max).await?),
            Spec::Sse(sse) => {
                if config.schedule != Schedule::Closed {
                    return Err(LoadError::Fixture(
                        "an SSE stream is paced by the server: --rate applies to REST and WebSocket"
                            .into(),
                    ));
                }
                Load::Sse(SseLoad::prepare(sse, base, max).await?)
            }
            Spec::Broadcast(_) => {
                return Err(LoadError::Fixture(
                    "a broadcast fixture is loaded by its own engine".into(),
                ));
            }
        })
    }

    async fn worker(&self, worker: &mut Worker) {
        match self {
            Load::Rest(load) => load.worker(worker).await,
            Load::WebSocket(load) => load.worker(worker).await,
            Load::Sse(load) => load.worker(worker).await,
        }
    }
}

/// Loads `fixture` on the server at `base` as `config` says.
pub async fn run(fixture: &Fixture, base: &Url, config: &LoadConfig) -> Result<Outcome, LoadError> {
    if config.connections == 0 {
        return Err(LoadError::Fixture(
            "at least one connection is needed".into(),
        ));
    }
    if let Spec::Broadcast(broadcast) = &fixture.spec {
        return super::broadcast::run(broadcast, base, config).await;
    }
    let load = Arc::new(Load::prepare(fixture, base, config).await?);
    let count = config.connections;
    let measurement = Measurement::begin(config, count);
    let (start, window, shards) = (measurement.start, measurement.window, &measurement.shards);
    let mut workers = Vec::with_capacity(count);
    for index in 0..count {
        let opens_at = start + config.ramp.mul_f64(index as f64 / count as f64);
        let mut worker = Worker {
            pacer: Pacer::new(config.schedule, opens_at, index, count),
            recorder: Recorder::new(shards[index % shards.len()].clone()),
            timeout: config.timeout,
            opens_at,
        };
        let load = load.clone();
        workers.push(tokio::spawn(async move {
            let _ = tokio::time::timeout_at(window.end.into(), load.worker(&mut worker)).await;
            let Worker {
                pacer, recorder, ..
            } = worker;
            recorder.finish(&pacer);
        }));
    }

    for worker in workers {
        if let Err(e) = worker.await {
            tracing::error!("a load worker failed: {e}");
        }
    }
    Ok(measurement.finish(None).await)
}

/// The machinery every measured run shares: the live counters behind the progress bar, the
/// monitor (progress bar, interval log), the runner sampler, and the shards recorders write to.
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
        let start = Instant::now();
        let measured_from = SystemTime::now() + config.warmup;
        let window = Window::new(start, config.warmup, config.duration);
        let bar = progress_bar(config.progress, config.warmup + config.duration);
        let monitor = tokio::spawn(monitor(
            receiver,
            live.clone(),
            window,
            config.keep_intervals,
            bar,
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
        }
    }
}

fn progress_bar(wanted: bool, total: Duration) -> ProgressBar {
    if !wanted || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(
        Some(u64::try_from(total.as_millis()).unwrap_or(u64::MAX)),
        ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed:>4} {wide_bar} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Gathers interval reports and keeps the progress bar current until every worker is done.
async fn monitor(
    mut reports: UnboundedReceiver<IntervalReport>,
    live: Arc<Live>,
    window: Window,
    keep: bool,
    bar: ProgressBar,
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
                bar.set_position(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX));
                if now < window.measure_from {
                    bar.set_message("warming up");
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
                bar.set_message(format!(
                    "{rate:.0} ops/s  {operations} ops  {errors} errors  p99 {}",
                    p99.map_or("-".to_string(), human_us)
                ));
            }
        }
    }
    bar.finish_and_clear();
    series
}
