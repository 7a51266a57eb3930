//! Broadcast load: publish-to-delivery latency.
//!
//! The run has two phases. First the `--connections` subscribers connect (assigned round-robin
//! over the fixture's `subscribers`, openings spread over `--ramp`): a WebSocket subscriber counts
//! as connected once its ack arrived (when the fixture expects one), an SSE subscriber once the
//! 200 head arrived. Then the window (warmup, duration) starts and one publisher publishes on an
//! open-loop schedule (`--rate`, 100/s by default for broadcast: a closed loop makes no sense for
//! a fan-out), each message being the fixture's JSON object plus `"seq": n`, n from 0: over one
//! keep-alive HTTP/1.1 connection (REST publish) or a WebSocket connection of its own.
//!
//! Each subscriber reads its deliveries, takes `seq`, and records the delivery latency (receive
//! instant minus the message's intended publish instant, the publisher's own timer slack
//! forgiven as everywhere else: [`Slot::measured_from`]). One operation is one delivery to one
//! subscriber. Deliveries are checked against `expected.delivery` (the `seq` key ignored) and
//! `expected.event` (`message` when absent); a seq never received by the time the publisher is
//! done (its last publish, due before the end, completed: later than the end when publishing fell
//! behind) plus a grace period (the timeout or 1 s, whichever is shorter) is a `not delivered`
//! error, a seq received twice a `duplicate delivery`,
//! one received after a later one an `out of order` delivery, and one the publisher has not sent
//! (at or beyond the count published so far: the server made it up) a `seq out of range`, which
//! is counted and otherwise ignored (no bookkeeping grows with a seq the server chose). A message
//! belongs to the phase its intended publish instant falls in.
//!
//! The REST publish reply's status is checked (its body is not: the fixture's count is that of
//! its own subscribers); publish failures are errors (`publish: ...`). Publishes are sequential on
//! one connection: if one takes longer than the interval, the next ones start late, which shows
//! in `schedule_lag_us` and in the delivery latencies.
//!
//! The parts: [`prepared`] (the fixture prepared, subscriptions opened), [`seq`] (the publish
//! log and each subscription's seqs), [`subscriber`], [`publisher`]; this module runs them.

mod prepared;
mod publisher;
mod seq;
mod shared;
mod subscriber;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use harness_fixture::model::BroadcastFixture;
use hdrhistogram::Histogram;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use url::Url;

use self::prepared::{BroadcastLoad, Connection, Publisher, Target};
use self::publisher::publish;
use self::seq::{PublishLog, SeqTracker};
use self::shared::{Counts, Shared};
use self::subscriber::{account_missing, subscriber};
use crate::load::measurement::{Measurement, Outcome};
use crate::load::recorder::{ErrorKind, Recorder, Shard, histogram};
use crate::load::schedule::{Pacer, Schedule};
use crate::load::worker::{LoadConfig, LoadError, Unloadable};
use crate::results::load::{BroadcastBlock, Percentiles, SubscriberCounts};

/// The default publish rate of a broadcast run, messages per second.
pub const DEFAULT_RATE: f64 = 100.0;
/// The longest grace period for late deliveries after the end.
const MAX_GRACE: Duration = Duration::from_secs(1);

/// Runs a broadcast fixture as `config` says.
pub(crate) async fn run(
    fixture: &BroadcastFixture,
    base: &Url,
    config: &LoadConfig,
) -> Result<Outcome, LoadError> {
    let load = BroadcastLoad::prepare(fixture, base, &config.http1_tls(), &config.sources).await?;
    let rate = config.schedule.rate().ok_or(Unloadable::NoRate)?;
    let count = config.connections;

    // Phase 1: every subscriber connects (spread over the ramp).
    let (load, connections) = connect_subscribers(load, config).await?;

    // Phase 2: publish and deliver.
    let measurement = Measurement::begin(config, count + 1);
    let (start, window, shards) = (measurement.start, measurement.window, &measurement.shards);
    let capacity = ((rate * (config.warmup + config.duration).as_secs_f64()).ceil() as usize)
        .saturating_add(16);
    let shared = Arc::new(Shared {
        load,
        log: PublishLog::new(start, config.schedule, capacity.min(1 << 26)),
        counts: Counts::default(),
        window,
        timeout: config.timeout,
    });
    let grace = config.timeout.min(MAX_GRACE);
    // When the publisher is done: subscribers read until then, plus the grace period.
    let (done_sender, done_receiver) = watch::channel(None::<Instant>);
    let (subscribers, websocket) =
        spawn_subscribers(&shared, connections, shards, &done_receiver, grace);
    let publisher = spawn_publisher(
        &shared,
        shards[count % shards.len()].clone(),
        config.schedule,
        start,
        done_sender,
    );
    let publish_latency = publisher.await.unwrap_or_else(|_| histogram());
    for subscriber in subscribers {
        if let Err(e) = subscriber.await {
            tracing::error!("a subscriber failed: {e}");
        }
    }
    let subscribers = SubscriberCounts {
        websocket,
        sse: count - websocket,
    };
    let broadcast = broadcast_block(&shared, rate, subscribers, &publish_latency);
    Ok(measurement.finish(Some(broadcast)).await)
}

/// A subscriber's connection as phase 1 left it (or why it has none), and how long opening it
/// took.
type Opened = (Result<Connection, ErrorKind>, Duration);

/// Phase 1: opens the `config.connections` subscriptions, their openings spread over the ramp,
/// and waits for all of them.
async fn connect_subscribers(
    load: BroadcastLoad,
    config: &LoadConfig,
) -> Result<(BroadcastLoad, Vec<Opened>), LoadError> {
    let count = config.connections;
    let load = Arc::new(load);
    let connect_start = Instant::now();
    let mut openings = Vec::with_capacity(count);
    for index in 0..count {
        let load = load.clone();
        let opens_at = connect_start + config.ramp.mul_f64(index as f64 / count as f64);
        let timeout = config.timeout;
        openings.push(tokio::spawn(async move {
            tokio::time::sleep_until(opens_at.into()).await;
            let started = Instant::now();
            let connection = load.subscribe(index, timeout).await;
            (connection, started.elapsed())
        }));
    }
    let mut connections = Vec::with_capacity(count);
    for opening in openings {
        connections.push(
            opening
                .await
                .unwrap_or_else(|e| (Err(ErrorKind::Other(e.to_string())), Duration::ZERO)),
        );
    }
    let load = Arc::try_unwrap(load).map_err(|_| Unloadable::StillShared)?;
    Ok((load, connections))
}

/// Phase 2's subscribers: one task per connection (a failed one only records its failure and
/// what it is owed), each reading until `grace` after the publisher is done. Also says how many
/// are WebSocket subscribers.
fn spawn_subscribers(
    shared: &Arc<Shared>,
    connections: Vec<Opened>,
    shards: &[Arc<Shard>],
    done: &watch::Receiver<Option<Instant>>,
    grace: Duration,
) -> (Vec<JoinHandle<()>>, usize) {
    let window = shared.window;
    let mut subscribers = Vec::with_capacity(connections.len());
    let mut websocket = 0;
    for (index, (connection, took)) in connections.into_iter().enumerate() {
        if matches!(shared.load.subscriber(index).target, Target::WebSocket(_)) {
            websocket += 1;
        }
        let mut recorder = Recorder::new(shards[index % shards.len()].clone());
        let connection = match connection {
            Ok(connection) => {
                recorder.connected(took);
                Some(connection)
            }
            Err(kind) => {
                recorder.failure(window.measure_from, kind, None);
                None
            }
        };
        let shared = shared.clone();
        let published_done = done.clone();
        subscribers.push(tokio::spawn(async move {
            let mut tracker = SeqTracker::new(0);
            tokio::select! {
                () = subscriber(&shared, index, connection, &mut tracker, &mut recorder) => {}
                () = after_last_publish(published_done, window.end, grace) => {}
            }
            account_missing(&shared, &tracker, &mut recorder);
        }));
    }
    (subscribers, websocket)
}

/// Phase 2's publisher, recording into `shard`: publishes every message due before the end
/// (within the timeout), then says when it is done on `done`. Its result is the publish
/// latencies.
fn spawn_publisher(
    shared: &Arc<Shared>,
    shard: Arc<Shard>,
    schedule: Schedule,
    start: Instant,
    done: watch::Sender<Option<Instant>>,
) -> JoinHandle<Histogram<u64>> {
    let shared = shared.clone();
    let mut recorder = Recorder::new(shard);
    tokio::spawn(async move {
        let window = shared.window;
        let mut pacer = Pacer::new(schedule, start, 0, 1);
        let mut latency = histogram();
        // Every message due before the end is published (a publish in flight at the end
        // completes), within the timeout.
        let _ = tokio::time::timeout_at(
            (window.end + shared.timeout).into(),
            publish(&shared, &mut pacer, &mut recorder, &mut latency),
        )
        .await;
        done.send_replace(Some(Instant::now()));
        recorder.finish(&pacer);
        latency
    })
}

/// The run's broadcast figures: the measured messages published, the deliveries the subscribers
/// counted, and the REST publish latency.
fn broadcast_block(
    shared: &Shared,
    rate: f64,
    subscribers: SubscriberCounts,
    publish_latency: &Histogram<u64>,
) -> BroadcastBlock {
    let (log, window) = (&shared.log, &shared.window);
    let published = log.published();
    let measured_published = (0..published)
        .filter(|&seq| window.measures(log.slot(seq).0))
        .count() as u64;
    let counts = &shared.counts;
    BroadcastBlock {
        published: measured_published,
        publish_rate: rate,
        subscribers,
        deliveries_expected: counts.expected.load(Ordering::Relaxed),
        deliveries: counts.deliveries.load(Ordering::Relaxed),
        not_delivered: counts.not_delivered.load(Ordering::Relaxed),
        publish_latency_us: matches!(shared.load.publisher, Publisher::Rest(_))
            .then(|| Percentiles::of(publish_latency))
            .flatten(),
    }
}

/// Returns `grace` after the publisher is done (its last publish completed, or timed out), and
/// not before `end + grace`. A publisher that fell behind its schedule publishes the messages due
/// before the end after the end: a subscriber stopped at a fixed deadline would be owed the ones
/// in flight then, and count them `not delivered` although the server delivers them.
async fn after_last_publish(
    mut done: watch::Receiver<Option<Instant>>,
    end: Instant,
    grace: Duration,
) {
    // The sender gone without a value (the publisher task failed): from now.
    let finished = match done.wait_for(Option::is_some).await {
        Ok(at) => at.unwrap_or_else(Instant::now),
        Err(_) => Instant::now(),
    };
    tokio::time::sleep_until((finished.max(end) + grace).into()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_read_until_a_late_publisher_is_done_plus_the_grace() {
        let grace = Duration::from_millis(50);
        let end = Instant::now();
        let (done, receiver) = watch::channel(None);
        let waiting = tokio::spawn(after_last_publish(receiver, end, grace));
        // The publisher, behind its schedule, is still publishing well past end + grace.
        tokio::time::sleep(grace * 4).await;
        assert!(
            !waiting.is_finished(),
            "stopped before the publisher was done"
        );
        let finished = Instant::now();
        done.send_replace(Some(finished));
        waiting.await.unwrap();
        assert!(Instant::now() >= finished + grace);
        // A publisher done on time: end + grace.
        let (done, receiver) = watch::channel(None);
        let end = Instant::now() + grace;
        done.send_replace(Some(Instant::now()));
        after_last_publish(receiver, end, grace).await;
        assert!(Instant::now() >= end + grace);
        // A publisher gone without saying: from then.
        let (done, receiver) = watch::channel(None::<Instant>);
        drop(done);
        let before = Instant::now();
        after_last_publish(receiver, before, grace).await;
        assert!(Instant::now() >= before + grace);
    }
}
