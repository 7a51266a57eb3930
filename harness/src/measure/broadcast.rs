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

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use harness_fixture::model::{BodyMatch, BroadcastFixture, MessageMatch, Publish, Subscriber};
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{CONTENT_TYPE, HOST, HeaderMap, HeaderValue};
use hyper::{Method, Request, Uri};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use url::Url;

use super::chunked::{Decoder, Framing};
use super::engine::{LoadConfig, LoadError, Measurement, Outcome};
use super::expect::{DIFFERENT_TEXT, JsonExpect, TextExpect};
use super::recorder::{ErrorKind, Recorder, histogram, micros};
use super::rest::{AbortOnDrop, Endpoint, Http1, RECONNECT_PAUSE, header_name, header_value, open};
use super::result::{BroadcastBlock, Percentiles, SubscriberCounts};
use super::schedule::{Pacer, Schedule, Slot, Window};
use super::sse::open_stream;
use super::sse_parser::SseParser;
use super::ws::{Socket, classify, next_data, ws_config};
use crate::check::{DEFAULT_TYPE_DIFFERS, expected_event_type};

/// The default publish rate of a broadcast run, messages per second.
pub const DEFAULT_RATE: f64 = 100.0;
/// The key the harness adds to every message it publishes.
const SEQ: &str = "seq";
/// The longest grace period for late deliveries after the end.
const MAX_GRACE: Duration = Duration::from_secs(1);
/// Bytes read from an SSE socket at once.
const READ_BUFFER: usize = 16 * 1024;
/// Publish replies larger than this fail.
const MAX_REPLY: usize = 1024 * 1024;

/// What one delivery (or ack) must be.
#[derive(Debug)]
enum DeliveryExpect {
    Text(TextExpect),
    Json(JsonExpect),
}

/// Where `run` reports the differences of one of the fixture's subscribers
/// (`/subscribers/1/delivery/json`), or of the WebSocket publisher (`/publish`).
#[derive(Debug)]
struct Paths {
    status: String,
    ack: String,
    delivery: String,
    event: String,
}

impl Paths {
    fn new(base: &str, expected: &harness_fixture::model::BroadcastExpected) -> Paths {
        let key = |want: &MessageMatch| match want {
            MessageMatch::Text(_) => "text",
            MessageMatch::Json(_) => "json",
            MessageMatch::JsonPartial(_) => "json_partial",
        };
        let ack = expected.ack.as_ref().map_or("json", key);
        Paths {
            status: format!("{base}/status"),
            ack: format!("{base}/ack/{ack}"),
            delivery: format!("{base}/delivery/{}", key(&expected.delivery)),
            event: format!("{base}/event"),
        }
    }

    /// The subscription was refused with status `got`.
    fn refused(&self, got: u16) -> ErrorKind {
        ErrorKind::differs(&self.status, format!("subscription refused, got {got}"))
    }
}

/// How the harness publishes.
#[derive(Debug)]
enum Publisher {
    Rest {
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        status: Option<u16>,
    },
    WebSocket {
        url: Url,
    },
}

/// Where one subscriber connects.
#[derive(Debug)]
enum Target {
    WebSocket(Url),
    /// The request's bytes.
    Sse(Vec<u8>),
}

/// One of the fixture's subscribers: where it connects, and where `run` reports its differences.
#[derive(Debug)]
struct SubscriberTarget {
    target: Target,
    paths: Paths,
}

/// A broadcast fixture prepared for load.
#[derive(Debug)]
struct BroadcastLoad {
    endpoint: Endpoint,
    targets: Vec<SubscriberTarget>,
    /// The WebSocket publisher's paths (its ack).
    publisher_paths: Paths,
    ack: Option<DeliveryExpect>,
    delivery: DeliveryExpect,
    /// The type of SSE deliveries (`message` when the fixture names none).
    event: TextExpect,
    /// What a delivery of another type differs by.
    event_differs: &'static str,
    publisher: Publisher,
    /// The message without its closing brace (and without a `seq` of the fixture's).
    message_prefix: String,
}

fn compile(want: &MessageMatch) -> Result<DeliveryExpect, String> {
    Ok(match want {
        MessageMatch::Text(text) => DeliveryExpect::Text(TextExpect::new(text)?),
        MessageMatch::Json(value) => DeliveryExpect::Json(JsonExpect::new(value, BodyMatch::Exact)),
        MessageMatch::JsonPartial(value) => {
            DeliveryExpect::Json(JsonExpect::new(value, BodyMatch::Partial))
        }
    })
}

impl DeliveryExpect {
    /// `None` when `text` is as expected, else its first difference under `base`.
    fn check_text(&self, text: &str, base: &str) -> Option<ErrorKind> {
        match self {
            DeliveryExpect::Text(want) => {
                (!want.matches(Some(text))).then(|| ErrorKind::differs(base, DIFFERENT_TEXT))
            }
            DeliveryExpect::Json(want) => want.check(text.as_bytes(), base, "message is not JSON"),
        }
    }

    /// Like [`DeliveryExpect::check_text`] for a delivery parsed (its `seq` already removed).
    fn check_value(&self, value: &serde_json::Value, base: &str) -> Option<ErrorKind> {
        match self {
            DeliveryExpect::Text(want) => (!want.matches(Some(&value.to_string())))
                .then(|| ErrorKind::differs(base, DIFFERENT_TEXT)),
            DeliveryExpect::Json(want) => want.check_value(value, base),
        }
    }
}

impl BroadcastLoad {
    async fn prepare(fixture: &BroadcastFixture, base: &Url) -> Result<BroadcastLoad, LoadError> {
        let bad = LoadError::Fixture;
        if fixture.subscribers.is_empty() {
            return Err(bad("the fixture lists no subscriber".into()));
        }
        let endpoint = Endpoint::resolve(base).await?;
        let ws_url = |path: &str| -> Result<Url, LoadError> {
            let mut url = endpoint.url(path, &[])?;
            let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
            let _ = url.set_scheme(scheme);
            Ok(url)
        };
        let expected = &fixture.expected;
        let mut targets = Vec::new();
        for (index, subscriber) in fixture.subscribers.iter().enumerate() {
            let target = match subscriber {
                Subscriber::Websocket(path) => Target::WebSocket(ws_url(path)?),
                Subscriber::Sse(path) => {
                    let uri = endpoint.target(path, &[])?;
                    let host = endpoint.host.to_str().unwrap_or_default();
                    Target::Sse(
                        format!(
                            "GET {uri} HTTP/1.1\r\nhost: {host}\r\naccept: text/event-stream\r\n\r\n"
                        )
                        .into_bytes(),
                    )
                }
            };
            targets.push(SubscriberTarget {
                target,
                paths: Paths::new(&format!("/subscribers/{index}"), expected),
            });
        }
        let publisher = match &fixture.publish {
            Publish::Rest(rest) => {
                let method = Method::from_bytes(rest.method.as_bytes())
                    .map_err(|e| bad(format!("method {:?}: {e}", rest.method)))?;
                let mut headers = HeaderMap::new();
                headers.insert(HOST, endpoint.host.clone());
                for (name, value) in &rest.headers {
                    headers.append(header_name(name)?, header_value(name, value)?);
                }
                if !headers.contains_key(CONTENT_TYPE) {
                    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                }
                Publisher::Rest {
                    method,
                    uri: endpoint.target(&rest.path, &[])?,
                    headers,
                    status: expected.publish.as_ref().map(|p| p.status),
                }
            }
            Publish::Websocket(ws) => Publisher::WebSocket {
                url: ws_url(&ws.path)?,
            },
        };
        let mut message = fixture.publish.message().clone();
        message.remove(SEQ);
        let mut message_prefix = serde_json::Value::Object(message.clone()).to_string();
        message_prefix.pop();
        if !message.is_empty() {
            message_prefix.push(',');
        }
        Ok(BroadcastLoad {
            endpoint,
            targets,
            publisher_paths: Paths::new("/publish", expected),
            ack: expected
                .ack
                .as_ref()
                .map(compile)
                .transpose()
                .map_err(bad)?,
            delivery: compile(&expected.delivery).map_err(bad)?,
            event: TextExpect::new(expected_event_type(expected.event.as_deref())).map_err(bad)?,
            event_differs: if expected.event.is_none() {
                DEFAULT_TYPE_DIFFERS
            } else {
                DIFFERENT_TEXT
            },
            publisher,
            message_prefix,
        })
    }

    /// Message `seq`: the fixture's object plus `"seq": seq`.
    fn message(&self, seq: u64) -> String {
        format!("{}\"{SEQ}\":{seq}}}", self.message_prefix)
    }

    /// Opens subscriber `index`'s connection; it is subscribed when this returns.
    async fn subscribe(&self, index: usize, timeout: Duration) -> Result<Connection, ErrorKind> {
        let SubscriberTarget { target, paths } = self.subscriber(index);
        let opening = async {
            match target {
                Target::WebSocket(url) => {
                    let socket = self.connect_ws(url, paths).await?;
                    Ok(Connection::Ws(Box::new(socket)))
                }
                Target::Sse(request) => {
                    let mut buffer = Vec::with_capacity(READ_BUFFER);
                    let refused = |got| paths.refused(got);
                    let addr = self.endpoint.addr;
                    let (stream, framing) =
                        open_stream(addr, request, 200, refused, &[], &mut buffer).await?;
                    Ok(Connection::Sse {
                        stream,
                        framing,
                        pending: buffer,
                    })
                }
            }
        };
        tokio::time::timeout(timeout, opening)
            .await
            .unwrap_or(Err(ErrorKind::Timeout))
    }

    /// The fixture's subscriber that connection `index` is.
    fn subscriber(&self, index: usize) -> &SubscriberTarget {
        &self.targets[index % self.targets.len()]
    }

    /// A WebSocket connection, its ack read and checked (when the fixture expects one);
    /// differences are reported under `paths`.
    async fn connect_ws(&self, url: &Url, paths: &Paths) -> Result<Socket, ErrorKind> {
        let request = url
            .as_str()
            .into_client_request()
            .map_err(|e| ErrorKind::Other(e.to_string()))?;
        let stream = TcpStream::connect(self.endpoint.addr)
            .await
            .map_err(|e| ErrorKind::of_io(&e))?;
        stream.set_nodelay(true).ok();
        let mut socket =
            match tokio_tungstenite::client_async_with_config(request, stream, Some(ws_config()))
                .await
            {
                Ok((socket, _)) => socket,
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                    return Err(paths.refused(response.status().as_u16()));
                }
                Err(e) => return Err(classify(e)),
            };
        if let Some(ack) = &self.ack {
            let message = next_data(&mut socket).await?;
            let text = message.to_text().map_err(|_| ErrorKind::Garbage)?;
            if let Some(difference) = ack.check_text(text, &paths.ack) {
                return Err(difference);
            }
        }
        Ok(socket)
    }

    /// Checks one delivery's text: its seq, and its first difference (under `base`) if any.
    fn check_delivery(
        &self,
        text: &str,
        base: &str,
    ) -> Result<(u64, Option<ErrorKind>), ErrorKind> {
        let Ok(mut value) = serde_json::from_str::<serde_json::Value>(text) else {
            return Err(ErrorKind::Garbage);
        };
        let seq = value
            .as_object_mut()
            .and_then(|object| object.remove(SEQ))
            .and_then(|seq| seq.as_u64())
            .ok_or_else(|| ErrorKind::Other("delivery without seq".into()))?;
        Ok((seq, self.delivery.check_value(&value, base)))
    }
}

/// An open subscription.
enum Connection {
    Ws(Box<Socket>),
    Sse {
        stream: TcpStream,
        framing: Framing,
        /// The body's first bytes, read with the head.
        pending: Vec<u8>,
    },
}

/// What the publisher did, shared with the subscribers.
struct PublishLog {
    /// Where every message's latency is measured from, in nanoseconds after `origin`, plus one
    /// (0: not published yet).
    stamps: Vec<AtomicU64>,
    /// Messages whose publish started.
    published: AtomicU64,
    origin: Instant,
    /// The schedule, for messages beyond `stamps`.
    pacer: Pacer,
}

impl PublishLog {
    fn new(origin: Instant, schedule: Schedule, capacity: usize) -> PublishLog {
        PublishLog {
            stamps: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
            published: AtomicU64::new(0),
            origin,
            pacer: Pacer::new(schedule, origin, 0, 1),
        }
    }

    /// The stamp of message `seq`, when it is in the table.
    fn stamp(&self, seq: u64) -> Option<&AtomicU64> {
        usize::try_from(seq)
            .ok()
            .and_then(|index| self.stamps.get(index))
    }

    /// Message `seq` is being published in `slot`.
    fn publishing(&self, seq: u64, slot: &Slot) {
        if let Some(stamp) = self.stamp(seq) {
            let nanos = slot.measured_from().saturating_duration_since(self.origin);
            stamp.store(
                u64::try_from(nanos.as_nanos()).unwrap_or(u64::MAX - 1) + 1,
                Ordering::Relaxed,
            );
        }
        self.published
            .fetch_max(seq.saturating_add(1), Ordering::Release);
    }

    fn published(&self) -> u64 {
        self.published.load(Ordering::Acquire)
    }

    /// When message `seq` was due, and where its latency is measured from.
    fn slot(&self, seq: u64) -> (Instant, Instant) {
        let intended = self.pacer.intended(seq).unwrap_or(self.origin);
        let stamp = self.stamp(seq).map_or(0, |s| s.load(Ordering::Relaxed));
        let from = match stamp {
            0 => intended,
            stamp => self.origin + Duration::from_nanos(stamp - 1),
        };
        (intended, from)
    }
}

/// What a subscriber makes of a seq it received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// Published before the subscription: not expected, not counted.
    Stale,
    /// The next one, or a later one (the ones skipped are missing so far).
    InOrder,
    /// An earlier one than one already received.
    OutOfOrder,
    /// Received before.
    Duplicate,
    /// Never published (yet): the server made it up. Not recorded in the bookkeeping.
    OutOfRange,
}

/// One subscription's bookkeeping of seqs: which were received since `from`.
#[derive(Debug, Clone)]
pub(crate) struct SeqTracker {
    /// The first seq this subscription must receive.
    from: u64,
    /// One past the highest seq received (at least `from`).
    next: u64,
    /// Bit `i`: seq `from + i` was received.
    seen: Vec<u64>,
}

impl SeqTracker {
    /// A subscription that must receive every message from `from` on.
    pub(crate) fn new(from: u64) -> SeqTracker {
        SeqTracker {
            from,
            next: from,
            seen: Vec::new(),
        }
    }

    /// Seq `seq` arrived, `published` messages (seqs `0..published`) having been sent so far.
    /// The bitmap grows up to the highest seq published, never to one the server chose.
    pub(crate) fn receive(&mut self, seq: u64, published: u64) -> Arrival {
        if seq >= published {
            return Arrival::OutOfRange;
        }
        let Some(offset) = seq.checked_sub(self.from) else {
            return Arrival::Stale;
        };
        let Ok(word) = usize::try_from(offset / 64) else {
            return Arrival::OutOfRange;
        };
        let bit = 1u64 << (offset % 64);
        if word >= self.seen.len() {
            self.seen.resize(word + 1, 0);
        }
        if self.seen[word] & bit != 0 {
            return Arrival::Duplicate;
        }
        self.seen[word] |= bit;
        if seq < self.next {
            return Arrival::OutOfOrder;
        }
        self.next = seq + 1;
        Arrival::InOrder
    }

    /// The seqs from `from` up to `published` (excluded) that never arrived.
    pub(crate) fn missing(&self, published: u64) -> impl Iterator<Item = u64> + '_ {
        (self.from..published).filter(move |&seq| {
            let offset = seq - self.from;
            let word = (offset / 64) as usize;
            self.seen
                .get(word)
                .is_none_or(|w| w & (1u64 << (offset % 64)) == 0)
        })
    }
}

/// Counters shared by the subscribers.
#[derive(Default)]
struct Counts {
    deliveries: AtomicU64,
    expected: AtomicU64,
    not_delivered: AtomicU64,
}

/// Everything a subscriber task needs.
struct Shared {
    load: BroadcastLoad,
    log: PublishLog,
    counts: Counts,
    window: Window,
    timeout: Duration,
}

/// Runs a broadcast fixture as `config` says.
pub(super) async fn run(
    fixture: &BroadcastFixture,
    base: &Url,
    config: &LoadConfig,
) -> Result<Outcome, LoadError> {
    let load = BroadcastLoad::prepare(fixture, base).await?;
    let rate = config.schedule.rate().ok_or_else(|| {
        LoadError::Fixture("a broadcast run publishes at a rate: give --rate".into())
    })?;
    let count = config.connections;

    // Phase 1: every subscriber connects (spread over the ramp).
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
    let load = Arc::try_unwrap(load).map_err(|_| LoadError::Fixture("still shared".into()))?;

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
    let mut subscribers = Vec::with_capacity(count);
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
        let published_done = done_receiver.clone();
        subscribers.push(tokio::spawn(async move {
            let mut tracker = SeqTracker::new(0);
            tokio::select! {
                () = subscriber(&shared, index, connection, &mut tracker, &mut recorder) => {}
                () = after_last_publish(published_done, window.end, grace) => {}
            }
            account_missing(&shared, &tracker, &mut recorder);
        }));
    }
    let publisher = {
        let shared = shared.clone();
        let mut recorder = Recorder::new(shards[count % shards.len()].clone());
        let schedule = config.schedule;
        tokio::spawn(async move {
            let mut pacer = Pacer::new(schedule, start, 0, 1);
            let mut latency = histogram();
            // Every message due before the end is published (a publish in flight at the end
            // completes), within the timeout.
            let _ = tokio::time::timeout_at(
                (window.end + shared.timeout).into(),
                publish(&shared, &mut pacer, &mut recorder, &mut latency),
            )
            .await;
            done_sender.send_replace(Some(Instant::now()));
            recorder.finish(&pacer);
            latency
        })
    };
    let publish_latency = publisher.await.unwrap_or_else(|_| histogram());
    for subscriber in subscribers {
        if let Err(e) = subscriber.await {
            tracing::error!("a subscriber failed: {e}");
        }
    }
    let log = &shared.log;
    let published = log.published();
    let measured_published = (0..published)
        .filter(|&seq| window.measures(log.slot(seq).0))
        .count() as u64;
    let counts = &shared.counts;
    let broadcast = BroadcastBlock {
        published: measured_published,
        publish_rate: rate,
        subscribers: SubscriberCounts {
            websocket,
            sse: count - websocket,
        },
        deliveries_expected: counts.expected.load(Ordering::Relaxed),
        deliveries: counts.deliveries.load(Ordering::Relaxed),
        not_delivered: counts.not_delivered.load(Ordering::Relaxed),
        publish_latency_us: matches!(shared.load.publisher, Publisher::Rest { .. })
            .then(|| Percentiles::of(&publish_latency))
            .flatten(),
    };
    Ok(measurement.finish(Some(broadcast)).await)
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

/// The seqs a subscription was owed up to now: measured ones are expected deliveries, and those
/// missing are `not delivered` errors.
fn account_missing(shared: &Shared, tracker: &SeqTracker, recorder: &mut Recorder) {
    let published = shared.log.published();
    let window = &shared.window;
    let expected = (tracker.from..published)
        .filter(|&seq| window.measures(shared.log.slot(seq).0))
        .count() as u64;
    shared
        .counts
        .expected
        .fetch_add(expected, Ordering::Relaxed);
    for seq in tracker.missing(published) {
        let (intended, _) = shared.log.slot(seq);
        if window.measures(intended) {
            shared.counts.not_delivered.fetch_add(1, Ordering::Relaxed);
            recorder.failure(intended, ErrorKind::Other("not delivered".into()), None);
        }
    }
}

/// One subscriber: reads deliveries, reconnecting after a failure, until cancelled.
async fn subscriber(
    shared: &Shared,
    index: usize,
    mut connection: Option<Connection>,
    tracker: &mut SeqTracker,
    recorder: &mut Recorder,
) {
    loop {
        let open = match connection.take() {
            Some(open) => open,
            None => {
                tokio::time::sleep(RECONNECT_PAUSE).await;
                let started = Instant::now();
                match shared.load.subscribe(index, shared.timeout).await {
                    Ok(open) => {
                        recorder.connected(started.elapsed());
                        account_missing(shared, tracker, recorder);
                        // Messages published before the subscription was complete are not owed.
                        *tracker = SeqTracker::new(shared.log.published());
                        open
                    }
                    Err(kind) => {
                        recorder.failure(Instant::now(), kind, None);
                        continue;
                    }
                }
            }
        };
        let paths = &shared.load.subscriber(index).paths;
        let failure = match open {
            Connection::Ws(mut socket) => {
                read_ws(shared, paths, &mut socket, tracker, recorder).await
            }
            Connection::Sse {
                stream,
                framing,
                pending,
            } => read_sse(shared, paths, stream, framing, pending, tracker, recorder).await,
        };
        recorder.failure(Instant::now(), failure, None);
    }
}

/// Records one delivery of `seq` received at `now`; `differs` is the error its content makes.
fn deliver(
    shared: &Shared,
    seq: u64,
    differs: Option<ErrorKind>,
    now: Instant,
    tracker: &mut SeqTracker,
    recorder: &mut Recorder,
) {
    let arrival = tracker.receive(seq, shared.log.published());
    match arrival {
        Arrival::Stale => return,
        Arrival::OutOfRange => {
            recorder.failure(now, ErrorKind::SeqOutOfRange, None);
            return;
        }
        _ => {}
    }
    let (intended, from) = shared.log.slot(seq);
    let latency = now.saturating_duration_since(from);
    let measured = shared.window.measures(intended);
    let kind = match arrival {
        Arrival::Duplicate => Some(ErrorKind::Other("duplicate delivery".into())),
        Arrival::OutOfOrder => Some(ErrorKind::Other("out of order".into())),
        _ => differs,
    };
    if measured && arrival != Arrival::Duplicate {
        shared.counts.deliveries.fetch_add(1, Ordering::Relaxed);
    }
    match kind {
        None => recorder.success(intended, latency),
        Some(kind) => recorder.failure(intended, kind, Some(latency)),
    }
}

/// Reads a WebSocket subscription until it fails.
async fn read_ws(
    shared: &Shared,
    paths: &Paths,
    socket: &mut Socket,
    tracker: &mut SeqTracker,
    recorder: &mut Recorder,
) -> ErrorKind {
    loop {
        let message = match next_data(socket).await {
            Ok(message) => message,
            Err(kind) => return kind,
        };
        let now = Instant::now();
        let Ok(text) = message.to_text() else {
            recorder.failure(now, ErrorKind::Other("not a text message".into()), None);
            continue;
        };
        match shared.load.check_delivery(text, &paths.delivery) {
            Ok((seq, differs)) => deliver(shared, seq, differs, now, tracker, recorder),
            Err(kind) => recorder.failure(now, kind, None),
        }
    }
}

/// Reads an SSE subscription until it ends or fails.
async fn read_sse(
    shared: &Shared,
    paths: &Paths,
    mut stream: TcpStream,
    framing: Framing,
    mut pending: Vec<u8>,
    tracker: &mut SeqTracker,
    recorder: &mut Recorder,
) -> ErrorKind {
    let mut decoder = Decoder::new(framing);
    let mut parser = SseParser::new();
    let mut buffer = vec![0u8; READ_BUFFER];
    let mut received: Vec<Result<(u64, Option<ErrorKind>), ErrorKind>> = Vec::new();
    loop {
        let read = if pending.is_empty() {
            match stream.read(&mut buffer).await {
                Ok(0) => return ErrorKind::Closed,
                Ok(read) => &buffer[..read],
                Err(e) => return ErrorKind::of_io(&e),
            }
        } else {
            &pending[..]
        };
        let now = Instant::now();
        let load = &shared.load;
        let decoded = decoder.decode(read, |data| {
            parser.feed(data, |event| {
                let delivery = load.check_delivery(event.data, &paths.delivery);
                if !load.event.matches(Some(event.event)) {
                    // Still a delivery of its seq, when it has one.
                    let differs = ErrorKind::differs(&paths.event, load.event_differs);
                    received.push(delivery.map(|(seq, _)| (seq, Some(differs))));
                    return;
                }
                received.push(delivery);
            });
        });
        pending.clear();
        for outcome in received.drain(..) {
            match outcome {
                Ok((seq, differs)) => deliver(shared, seq, differs, now, tracker, recorder),
                Err(kind) => recorder.failure(now, kind, None),
            }
        }
        if decoded.is_err() {
            return ErrorKind::Garbage;
        }
        if decoder.done() {
            return ErrorKind::Closed;
        }
    }
}

/// A failure of the publisher: a difference already points under `/publish`; anything else is
/// said to be the publisher's (`publish: timeout`).
fn publishing(kind: ErrorKind) -> ErrorKind {
    match kind {
        ErrorKind::Differs { .. } => kind,
        other => ErrorKind::Other(format!("publish: {other}")),
    }
}

/// The publisher: one message per slot of the schedule, until cancelled.
async fn publish(
    shared: &Shared,
    pacer: &mut Pacer,
    recorder: &mut Recorder,
    latency: &mut hdrhistogram::Histogram<u64>,
) {
    let load = &shared.load;
    match &load.publisher {
        Publisher::Rest {
            method,
            uri,
            headers,
            status,
        } => {
            let mut connection: Option<Http1> = None;
            let mut seq = 0u64;
            while pacer.next_due().is_some_and(|due| due < shared.window.end) {
                let slot = pacer.wait().await;
                recorder.lag(slot.intended, slot.lag);
                let request = {
                    let mut request =
                        Request::new(Full::new(Bytes::from(load.message(seq).into_bytes())));
                    *request.method_mut() = method.clone();
                    *request.uri_mut() = uri.clone();
                    *request.headers_mut() = headers.clone();
                    request
                };
                shared.log.publishing(seq, &slot);
                seq += 1;
                let started = Instant::now();
                let sent = tokio::time::timeout(
                    shared.timeout,
                    post(load, &mut connection, request, *status),
                )
                .await
                .unwrap_or(Err(ErrorKind::Timeout));
                match sent {
                    Ok(()) => {
                        latency.saturating_record(micros(started.elapsed()));
                    }
                    Err(kind) => {
                        connection = None;
                        recorder.failure(slot.intended, publishing(kind), None);
                    }
                }
            }
        }
        Publisher::WebSocket { url } => {
            let socket = loop {
                let connecting = load.connect_ws(url, &load.publisher_paths);
                match tokio::time::timeout(shared.timeout, connecting).await {
                    Ok(Ok(socket)) => break socket,
                    outcome => {
                        let kind = outcome.unwrap_or(Err(ErrorKind::Timeout)).err();
                        let kind = kind.unwrap_or(ErrorKind::Timeout);
                        recorder.failure(Instant::now(), publishing(kind), None);
                        tokio::time::sleep(RECONNECT_PAUSE).await;
                    }
                }
            };
            let (mut sink, mut stream) = socket.split();
            // The publisher receives its own messages: drain them.
            let _drain = AbortOnDrop(tokio::spawn(async move {
                while let Some(Ok(_)) = stream.next().await {}
            }));
            let mut seq = 0u64;
            while pacer.next_due().is_some_and(|due| due < shared.window.end) {
                let slot = pacer.wait().await;
                recorder.lag(slot.intended, slot.lag);
                shared.log.publishing(seq, &slot);
                let text = load.message(seq);
                seq += 1;
                if let Err(e) = sink.send(Message::Text(text.into())).await {
                    recorder.failure(slot.intended, publishing(classify(e)), None);
                    return;
                }
            }
            let _ = sink.close().await;
        }
    }
}

/// One REST publish on the keep-alive connection (opened when needed), its status checked.
async fn post(
    load: &BroadcastLoad,
    connection: &mut Option<Http1>,
    request: Request<Full<Bytes>>,
    status: Option<u16>,
) -> Result<(), ErrorKind> {
    let usable = match connection {
        Some(open) => open.sender.ready().await.is_ok(),
        None => false,
    };
    if !usable {
        *connection = Some(open(load.endpoint.addr).await?);
    }
    let Some(open) = connection else {
        return Err(ErrorKind::Closed);
    };
    let response = open
        .sender
        .send_request(request)
        .await
        .map_err(|e| ErrorKind::of_error(&e))?;
    let (parts, body) = response.into_parts();
    Limited::new(body, MAX_REPLY)
        .collect()
        .await
        .map_err(|e| ErrorKind::of_error(e.as_ref()))?;
    let got = parts.status.as_u16();
    match status {
        Some(want) if want != got => Err(ErrorKind::status("/publish/status", got)),
        None if !parts.status.is_success() => Err(ErrorKind::status("/publish/status", got)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seqs_in_order_with_gaps_duplicates_and_late_ones() {
        let mut t = SeqTracker::new(0);
        let p = 1000;
        assert_eq!(t.receive(0, p), Arrival::InOrder);
        assert_eq!(t.receive(1, p), Arrival::InOrder);
        // 2 and 3 skipped.
        assert_eq!(t.receive(4, p), Arrival::InOrder);
        assert_eq!(t.receive(4, p), Arrival::Duplicate);
        assert_eq!(t.receive(2, p), Arrival::OutOfOrder);
        assert_eq!(t.receive(2, p), Arrival::Duplicate);
        assert_eq!(t.receive(200, p), Arrival::InOrder);
        assert_eq!(t.missing(6).collect::<Vec<_>>(), vec![3, 5]);
        assert_eq!(t.missing(203).filter(|&s| s > 100).count(), 101);
        assert_eq!(t.missing(0).count(), 0);
    }

    #[test]
    fn a_late_subscription_owes_only_what_follows_it() {
        let mut t = SeqTracker::new(10);
        assert_eq!(t.receive(9, 20), Arrival::Stale);
        assert_eq!(t.receive(11, 20), Arrival::InOrder);
        assert_eq!(t.receive(10, 20), Arrival::OutOfOrder);
        assert_eq!(t.missing(14).collect::<Vec<_>>(), vec![12, 13]);
        assert_eq!(t.missing(5).count(), 0);
    }

    #[test]
    fn a_seq_never_published_is_out_of_range_and_grows_nothing() {
        let mut t = SeqTracker::new(0);
        assert_eq!(t.receive(u64::MAX, 5), Arrival::OutOfRange);
        assert_eq!(t.receive(1 << 33, 5), Arrival::OutOfRange);
        assert_eq!(t.receive(5, 5), Arrival::OutOfRange);
        assert!(t.seen.is_empty());
        assert_eq!(t.receive(4, 5), Arrival::InOrder);
        assert_eq!(t.seen.len(), 1);
        assert_eq!(t.missing(5).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
        assert_eq!(ErrorKind::SeqOutOfRange.to_string(), "seq out of range");
    }

    fn fixture(delivery: serde_json::Value) -> BroadcastFixture {
        serde_json::from_value(serde_json::json!({
            "subscribers": [{"websocket": "/b/ws"}, {"sse": "/b/events"}],
            "publish": {"rest": {"path": "/b", "json": {"payload": "tick", "seq": "theirs"}}},
            "expected": {"publish": {"status": 202}, "ack": {"json": {"subscribed": "b"}},
                         "delivery": delivery, "event": "b"}
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn messages_carry_a_seq_that_the_check_ignores() {
        let base = Url::parse("http://127.0.0.1:9").unwrap();
        let load = BroadcastLoad::prepare(
            &fixture(serde_json::json!({"json": {"payload": "tick"}})),
            &base,
        )
        .await
        .unwrap();
        assert_eq!(load.message(7), r#"{"payload":"tick","seq":7}"#);
        let delivery = &load.targets[1].paths.delivery;
        assert_eq!(delivery, "/subscribers/1/delivery/json");
        assert_eq!(
            load.check_delivery(&load.message(7), delivery),
            Ok((7, None))
        );
        let (seq, differs) = load
            .check_delivery(r#"{"payload":"tock","seq":3}"#, delivery)
            .unwrap();
        assert_eq!(seq, 3);
        assert_eq!(
            differs.map(|kind| kind.to_string()).as_deref(),
            Some("/subscribers/1/delivery/json/payload: different string")
        );
        assert!(
            load.check_delivery(r#"{"payload":"tick"}"#, delivery)
                .is_err()
        );
        assert!(load.check_delivery("nope", delivery).is_err());
        assert!(
            matches!(&load.targets[1].target, Target::Sse(r) if r.starts_with(b"GET /b/events "))
        );
        assert!(matches!(
            &load.targets[0].target,
            Target::WebSocket(u) if u.as_str() == "ws://127.0.0.1:9/b/ws"
        ));
        assert_eq!(
            load.targets[0].paths.refused(403).to_string(),
            "/subscribers/0/status: subscription refused, got 403"
        );
        assert_eq!(load.targets[0].paths.ack, "/subscribers/0/ack/json");
    }

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

    #[test]
    fn the_log_measures_from_the_publish_slot() {
        let origin = Instant::now();
        let log = PublishLog::new(origin, Schedule::Open { rate: 10.0 }, 2);
        let slot = Slot {
            intended: origin + Duration::from_millis(100),
            lag: Duration::from_millis(5),
        };
        log.publishing(1, &slot);
        assert_eq!(log.published(), 2);
        let (intended, from) = log.slot(1);
        assert_eq!(intended, origin + Duration::from_millis(100));
        assert_eq!(from, slot.measured_from());
        // Beyond the table: the schedule.
        assert_eq!(log.slot(5).0, origin + Duration::from_millis(500));
        assert_eq!(log.slot(5).1, log.slot(5).0);
    }
}
