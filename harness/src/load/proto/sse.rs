//! SSE load: each worker is a subscriber reading the stream (subscriptions spread over
//! `--ramp`, renewed when the server ends a stream). One operation is one event. The first
//! events of every subscription are checked against the fixture; the time to the first event and
//! the gaps between events get their own histograms. When the fixture's counter names a
//! `timestamp_field`, an event's latency is its delivery latency (receive time minus that Unix
//! microsecond timestamp, same machine); otherwise it is the gap since the previous event.
//!
//! The hot path keeps up with a server writing as fast as the socket allows: the body's chunks
//! go through the incremental [`SseParser`] (no allocation per event), the clocks are read once
//! per chunk (the events of a chunk arrived together), and measured events are recorded in
//! batches (one shard lock per batch, at most [`FLUSH_EVERY`] apart).
//!
//! A hostile server cannot hold a subscriber: a line or event past `--max-event-size` is an
//! `event too large` error, and a subscription that gets no event within `--timeout` (a stream
//! of comments only, a stalled one) is a `timeout` error; either way the subscription is renewed.

use std::ops::ControlFlow;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use harness_fixture::capture;
use harness_fixture::model::{BodyMatch, ExpectedEvent, SseFixture};
use hyper::HeaderMap;
use hyper::header::{ACCEPT, HOST, HeaderValue};
use tokio::io::AsyncReadExt;
use url::Url;

use crate::check::{DEFAULT_TYPE_DIFFERS, expected_event_type};
use crate::load::expect::{DIFFERENT_TEXT, HeaderExpect, JsonExpect, SchemaExpect, TextExpect};
use crate::load::net::chunked::{BadFraming, Decoder, Framing};
use crate::load::net::endpoint::{Endpoint, header_name, header_value};
use crate::load::net::sse::open_stream;
use crate::load::recorder::{ErrorKind, micros};
use crate::load::source::SourceAddrs;
use crate::load::worker::{LoadError, RECONNECT_PAUSE, Unloadable, Worker};
use crate::wire::Deadline;
use crate::wire::sse_parser::{EventRef, SseParser};
use crate::wire::tls::TlsSettings;
use crate::wire::transport::Stream;

/// Measured events are handed to the recorder at least this often (and every [`BATCH`] events).
const FLUSH_EVERY: Duration = Duration::from_millis(20);
/// The largest batch of events recorded at once: every subscriber keeps a batch's room (two
/// `u64` a event, 1 KiB in all), so it is small; the recorder's lock is still taken only once
/// per 64 events. (4096 cost 15 KB a subscriber at 10,000 of them: `scripts/scale-connections`.)
const BATCH: usize = 64;
/// Bytes read from the socket at once: small, for every subscriber has its own (100,000
/// subscribers at 32 KiB would hold 3 GiB); an event larger than this is read in several reads.
const READ_BUFFER: usize = 8 * 1024;

/// One expected event, compiled: only the fields given are checked.
#[derive(Debug)]
struct EventExpect {
    /// The type (`message` when the fixture names none).
    event: TextExpect,
    /// The fixture names no type: a difference says the default applied.
    default_type: bool,
    id: Option<TextExpect>,
    retry: Option<u64>,
    data: Option<TextExpect>,
    json: Option<JsonExpect>,
    /// `json_schema`.
    schema: Option<SchemaExpect>,
    /// Its pointer, as `run` reports it: `/events/3`.
    path: String,
    /// `json` or `json_partial`.
    json_key: &'static str,
}

impl EventExpect {
    /// Compiles expected event `index`.
    fn new(want: &ExpectedEvent, index: usize) -> Result<EventExpect, Unloadable> {
        let text = |t: &Option<String>| t.as_deref().map(TextExpect::new).transpose();
        let (json, json_key) = match (&want.json, &want.json_partial) {
            (Some(v), _) => (Some(JsonExpect::new(v, BodyMatch::Exact)), "json"),
            (None, Some(v)) => (Some(JsonExpect::new(v, BodyMatch::Partial)), "json_partial"),
            (None, None) => (None, "json"),
        };
        Ok(EventExpect {
            event: TextExpect::new(expected_event_type(want.event.as_deref()))?,
            default_type: want.event.is_none(),
            id: text(&want.id)?,
            retry: want.retry,
            data: text(&want.data)?,
            json,
            schema: want
                .json_schema
                .as_ref()
                .map(SchemaExpect::new)
                .transpose()?,
            path: format!("/events/{index}"),
            json_key,
        })
    }

    /// `None` when the event is as expected, else its first difference, as `run` reports it.
    fn check(&self, got: &EventRef<'_>) -> Option<ErrorKind> {
        let at = |field: &str, message: &str| {
            Some(ErrorKind::differs(
                format!("{}/{field}", self.path),
                message,
            ))
        };
        if !self.event.matches(Some(got.event)) {
            let message = if self.default_type {
                DEFAULT_TYPE_DIFFERS
            } else {
                DIFFERENT_TEXT
            };
            return at("event", message);
        }
        if let Some(want) = &self.id
            && !want.matches(Some(got.id))
        {
            return at("id", DIFFERENT_TEXT);
        }
        if let Some(want) = self.retry
            && got.retry != Some(want)
        {
            return at("retry", "different retry");
        }
        if let Some(want) = &self.data
            && !want.matches(Some(got.data))
        {
            return at("data", DIFFERENT_TEXT);
        }
        if let Some(schema) = &self.schema {
            let base = format!("{}/json_schema", self.path);
            return schema.check(got.data.as_bytes(), &base, "data is not JSON");
        }
        let base = format!("{}/{}", self.path, self.json_key);
        self.json
            .as_ref()?
            .check(got.data.as_bytes(), &base, "data is not JSON")
    }
}

/// An open subscription whose head was checked: its body's first bytes in `buffer`, and when
/// it was requested (the time to its first event counts from then).
pub(crate) struct Subscribed {
    stream: Stream,
    framing: Framing,
    buffer: Vec<u8>,
    requested: Instant,
}

/// An SSE fixture prepared for load.
#[derive(Debug)]
pub(crate) struct SseLoad {
    endpoint: Endpoint,
    /// The request's bytes, written as is on every subscription.
    request: Vec<u8>,
    status: u16,
    expect_headers: Vec<HeaderExpect>,
    events: Vec<EventExpect>,
    /// `"<timestamp_field>"`, JSON-quoted, when events carry their send time.
    timestamp_key: Option<String>,
    /// The longest line, and the most data of one event, a subscriber holds.
    max_event_size: usize,
}

impl SseLoad {
    /// Builds the request and compiles the expectations of `fixture` against `base`; lines and
    /// events past `max_event_size` bytes are errors.
    pub(crate) async fn prepare(
        fixture: &SseFixture,
        base: &Url,
        tls: &TlsSettings,
        sources: &SourceAddrs,
        max_event_size: usize,
    ) -> Result<SseLoad, LoadError> {
        let endpoint = Endpoint::resolve(base, tls, sources).await?;
        let request = &fixture.request;
        let uri = endpoint.target(&request.path, &request.query.pairs())?;
        let mut headers = HeaderMap::new();
        headers.insert(HOST, endpoint.host.clone());
        for (name, value) in &request.headers {
            headers.append(header_name(name)?, header_value(name, value)?);
        }
        if !headers.contains_key(ACCEPT) {
            headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        }
        if !headers.contains_key(hyper::header::USER_AGENT) {
            let agent = HeaderValue::from_static(crate::wire::request::USER_AGENT);
            headers.insert(hyper::header::USER_AGENT, agent);
        }
        let expected = &fixture.expected;
        if let Some(index) = expected.events.iter().position(|event| {
            let texts = [&event.id, &event.event, &event.data];
            let json = [&event.json, &event.json_partial];
            texts
                .into_iter()
                .flatten()
                .any(|t| capture::token(t).is_some())
                || json
                    .into_iter()
                    .flatten()
                    .any(|v| v.to_string().contains("<<capture:"))
        }) {
            return Err(Unloadable::UnsupportedStep {
                pointer: format!("/expected/events/{index}"),
                kind: "<<capture:…>>",
            }
            .into());
        }
        let events = expected
            .events
            .iter()
            .enumerate()
            .map(|(index, want)| EventExpect::new(want, index))
            .collect::<Result<_, _>>()?;
        let timestamp_key = fixture
            .handler
            .as_ref()
            .and_then(|h| h.counter.as_ref())
            .and_then(|c| c.timestamp_field.as_ref())
            .map(|field| serde_json::Value::from(field.as_str()).to_string());
        // The fixture's method and body, as replay sends them.
        let (body, default_type) =
            crate::wire::request::encode_body(request.body(), None).map_err(Unloadable::from)?;
        let body = body.map(|b| b.0).unwrap_or_default();
        if let Some(content_type) = default_type
            && !headers.contains_key(hyper::header::CONTENT_TYPE)
        {
            let value = HeaderValue::try_from(content_type)
                .expect("a default content type is a valid header value");
            headers.insert(hyper::header::CONTENT_TYPE, value);
        }
        if !body.is_empty() || request.method != "GET" {
            headers.insert(hyper::header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        let mut head = format!("{} {uri} HTTP/1.1\r\n", request.method).into_bytes();
        for (name, value) in &headers {
            head.extend_from_slice(name.as_str().as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"\r\n");
        head.extend_from_slice(&body);
        Ok(SseLoad {
            endpoint,
            request: head,
            status: expected.status,
            expect_headers: HeaderExpect::all(&expected.headers, "/headers")?,
            events,
            timestamp_key,
            max_event_size,
        })
    }

    /// Reads `first`, the subscription the connection phase opened, then subscribes again after
    /// every end or failure (a failure to open one is a `connect` error, a wrong status or
    /// header a difference) until the run's end cancels it.
    pub(crate) async fn worker(&self, worker: &mut Worker, mut first: Option<Subscribed>) {
        loop {
            let Subscribed {
                stream,
                framing,
                mut buffer,
                requested,
            } = match first.take() {
                Some(subscribed) => subscribed,
                // Boxed: opening's state is kilobytes, held by every subscriber's task otherwise.
                None => match tokio::time::timeout(worker.timeout, Box::pin(self.open())).await {
                    Ok(Ok(subscribed)) => subscribed,
                    outcome => {
                        let kind = match outcome {
                            Ok(Err(kind)) => kind,
                            _ => ErrorKind::Timeout,
                        };
                        worker
                            .recorder
                            .failure(Instant::now(), ErrorKind::connect(kind), None);
                        tokio::time::sleep(RECONNECT_PAUSE).await;
                        continue;
                    }
                },
            };
            self.read(stream, framing, &mut buffer, requested, worker)
                .await;
        }
    }

    /// Opens a subscription: connects, sends the request, reads and checks the reply's head
    /// (the caller bounds it).
    pub(crate) async fn open(&self) -> Result<Subscribed, ErrorKind> {
        let requested = Instant::now();
        let mut buffer = Vec::with_capacity(READ_BUFFER);
        let (stream, framing) = self.subscribe(&mut buffer).await?;
        Ok(Subscribed {
            stream,
            framing,
            buffer,
            requested,
        })
    }

    /// Opens a connection, sends the request, reads and checks the reply's head. On success
    /// `buffer` holds the first bytes of the body.
    async fn subscribe(&self, buffer: &mut Vec<u8>) -> Result<(Stream, Framing), ErrorKind> {
        open_stream(
            &self.endpoint,
            &self.request,
            self.status,
            |got| ErrorKind::status("/status", got),
            &self.expect_headers,
            buffer,
        )
        .await
    }

    /// Reads one subscription's events until it ends or fails. `buffer` holds the body's first
    /// bytes. Each event must come within the timeout of the previous one (of the request for the
    /// first): a subscription that gets none, however busy its socket is with comments, ends
    /// with a timeout error, counted, and the worker subscribes again.
    async fn read(
        &self,
        mut stream: Stream,
        framing: Framing,
        buffer: &mut Vec<u8>,
        requested: Instant,
        worker: &mut Worker,
    ) {
        let mut subscription = Subscription::new(framing, self.max_event_size, requested);
        // One buffer per subscriber: the head's holds the body's first bytes (taken as the
        // first chunk), then becomes the read buffer.
        let mut pending = std::mem::take(buffer);
        if pending.is_empty() {
            std::mem::swap(buffer, &mut pending);
        }
        let outcome = loop {
            let now;
            let read = if pending.is_empty() {
                if buffer.len() < READ_BUFFER {
                    buffer.resize(READ_BUFFER, 0);
                }
                let deadline = Deadline::at(subscription.previous + worker.timeout);
                let read = deadline.run(stream.read(buffer)).await;
                now = Instant::now();
                match read {
                    Ok(Ok(0)) => {
                        // The server ended the stream: an error if it was cut short, or before
                        // the expected events.
                        let short = !subscription.decoder.may_end()
                            || subscription.index < self.events.len();
                        break short.then_some(ErrorKind::Closed);
                    }
                    Ok(Ok(read)) => &buffer[..read],
                    Ok(Err(e)) => break Some(ErrorKind::of_io(&e)),
                    Err(_) => break Some(ErrorKind::Timeout),
                }
            } else {
                now = Instant::now();
                &pending[..]
            };
            let step = self.take_chunk(&mut subscription, read, now, worker);
            if !pending.is_empty() {
                pending.clear();
                std::mem::swap(buffer, &mut pending);
            }
            if let ControlFlow::Break(outcome) = step {
                break outcome;
            }
        };
        // Empty for the next subscription's head, its allocation kept.
        buffer.clear();
        subscription.batch.flush(worker, Instant::now());
        if let Some(kind) = outcome {
            worker.recorder.failure(Instant::now(), kind, None);
        }
    }

    /// Takes the events of one chunk of the body, received at `now`: checks and measures them,
    /// records them (in batches). Breaks with the subscription's end (and its error, if any).
    fn take_chunk(
        &self,
        subscription: &mut Subscription,
        chunk: &[u8],
        now: Instant,
        worker: &mut Worker,
    ) -> ControlFlow<Option<ErrorKind>> {
        let first = subscription.index;
        if self.parse_chunk(subscription, chunk, now, worker).is_err() {
            return ControlFlow::Break(Some(ErrorKind::Garbage));
        }
        let ended = subscription.decoder.done();
        let too_large = subscription.parser.too_large().is_some();
        if subscription.index == first {
            if too_large {
                return ControlFlow::Break(Some(ErrorKind::TooLarge("event")));
            }
            if ended {
                return ControlFlow::Break(self.closed_early(subscription));
            }
            return ControlFlow::Continue(());
        }
        if first == 0 {
            worker.recorder.first_event(now - subscription.requested);
        }
        subscription.previous = now;
        subscription.record(worker, now);
        if too_large {
            return ControlFlow::Break(Some(ErrorKind::TooLarge("event")));
        }
        if ended {
            return ControlFlow::Break(self.closed_early(subscription));
        }
        ControlFlow::Continue(())
    }

    /// Decodes and parses one chunk, received at `now`: each event is checked against the
    /// fixture's (a difference is kept for [`Subscription::record`]) or, measured, batched.
    /// An error when the body's framing is broken.
    fn parse_chunk(
        &self,
        subscription: &mut Subscription,
        chunk: &[u8],
        now: Instant,
        worker: &mut Worker,
    ) -> Result<(), BadFraming> {
        let measured = worker.recorder.window().measures(now);
        let wall_us = unix_us();
        let mut gap = now - subscription.previous;
        let Subscription {
            decoder,
            parser,
            batch,
            index,
            failures,
            ..
        } = subscription;
        decoder.decode(chunk, |data| {
            parser.feed(data, |event| {
                let latency_us = self
                    .timestamp_key
                    .as_deref()
                    .and_then(|key| timestamp(event.data, key))
                    .map_or(micros(gap), |sent| wall_us.saturating_sub(sent));
                if let Some(kind) = self.events.get(*index).and_then(|want| want.check(&event)) {
                    failures.push((kind, latency_us));
                } else if measured {
                    batch.latencies.push(latency_us);
                    if *index > 0 {
                        batch.gaps.push(micros(gap));
                    }
                    if batch.latencies.len() >= BATCH {
                        batch.flush(worker, now);
                    }
                }
                // The other events of the chunk came with this one.
                gap = Duration::ZERO;
                *index += 1;
            });
        })
    }

    /// The end of a stream whose body ended properly: an error before the expected events.
    fn closed_early(&self, subscription: &Subscription) -> Option<ErrorKind> {
        (subscription.index < self.events.len()).then_some(ErrorKind::Closed)
    }
}

/// One subscription being read: its body's decoder and event parser, the events it got so far,
/// and what they left to record.
struct Subscription {
    decoder: Decoder,
    parser: SseParser,
    /// Measured events not yet recorded.
    batch: Batch,
    /// When the subscription was requested.
    requested: Instant,
    /// When the last event came (the request, before the first).
    previous: Instant,
    /// The number of events so far: the next one's index.
    index: usize,
    /// The differences of the current chunk's events, with their latencies.
    failures: Vec<(ErrorKind, u64)>,
}

impl Subscription {
    fn new(framing: Framing, max_event_size: usize, requested: Instant) -> Subscription {
        Subscription {
            decoder: Decoder::new(framing),
            parser: SseParser::with_limit(max_event_size),
            batch: Batch::default(),
            requested,
            previous: requested,
            index: 0,
            failures: Vec::new(),
        }
    }

    /// Records the differences of the chunk received at `now`, and hands the batch to the
    /// recorder when it is full or due.
    fn record(&mut self, worker: &mut Worker, now: Instant) {
        for (kind, latency_us) in self.failures.drain(..) {
            worker
                .recorder
                .failure(now, kind, Some(Duration::from_micros(latency_us)));
        }
        // Near the end every chunk is flushed: the run's end cancels the reader.
        if self.batch.latencies.len() >= BATCH
            || now >= self.batch.since + FLUSH_EVERY
            || now + FLUSH_EVERY >= worker.recorder.window().end
        {
            self.batch.flush(worker, now);
        }
    }
}

/// Measured events not yet handed to the recorder.
struct Batch {
    latencies: Vec<u64>,
    gaps: Vec<u64>,
    since: Instant,
}

impl Default for Batch {
    fn default() -> Self {
        Batch {
            latencies: Vec::new(),
            gaps: Vec::new(),
            since: Instant::now(),
        }
    }
}

impl Batch {
    fn flush(&mut self, worker: &mut Worker, now: Instant) {
        worker.recorder.events(&self.latencies, &self.gaps);
        self.latencies.clear();
        self.gaps.clear();
        self.since = now;
    }
}

/// This machine's clock, in microseconds since the Unix epoch.
fn unix_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Time since a Unix-microsecond timestamp, by this machine's clock (zero if in the future).
#[cfg(test)]
fn delivery_latency(sent_us: u64) -> Duration {
    Duration::from_micros(unix_us().saturating_sub(sent_us))
}

/// The integer after `"key":` in a JSON text, found without parsing the whole document.
fn timestamp(data: &str, key: &str) -> Option<u64> {
    let after = &data[data.find(key)? + key.len()..];
    let after = after.trim_start().strip_prefix(':')?.trim_start();
    let digits = after.bytes().take_while(u8::is_ascii_digit).count();
    after[..digits].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expected_event_without_a_type_expects_message() {
        let event = |t| EventRef {
            event: t,
            data: "x",
            id: "",
            retry: None,
        };
        let unnamed: ExpectedEvent = serde_json::from_value(serde_json::json!({})).unwrap();
        let want = EventExpect::new(&unnamed, 0).unwrap();
        assert_eq!(want.check(&event("message")), None);
        assert_eq!(
            want.check(&event("tick")),
            Some(ErrorKind::differs("/events/0/event", DEFAULT_TYPE_DIFFERS))
        );
        let any: ExpectedEvent =
            serde_json::from_value(serde_json::json!({"event": "<<any>>"})).unwrap();
        assert_eq!(
            EventExpect::new(&any, 0).unwrap().check(&event("tick")),
            None
        );
    }

    #[test]
    fn timestamps_are_found_in_event_data() {
        assert_eq!(
            timestamp(r#"{"n":1,"ts_us":1700000000123456}"#, r#""ts_us""#),
            Some(1_700_000_000_123_456)
        );
        assert_eq!(timestamp(r#"{"ts_us" : 42 }"#, r#""ts_us""#), Some(42));
        assert_eq!(timestamp(r#"{"ts_us":"x"}"#, r#""ts_us""#), None);
        assert_eq!(timestamp(r#"{"n":1}"#, r#""ts_us""#), None);
        assert!(delivery_latency(0) > Duration::from_secs(1));
        assert_eq!(delivery_latency(u64::MAX), Duration::ZERO);
    }

    #[test]
    fn expected_events_point_at_the_differing_field() {
        let want: ExpectedEvent = serde_json::from_value(serde_json::json!(
            {"event": "tick", "id": "1", "json": {"n": 1, "ts_us": "<<number>>"}}
        ))
        .unwrap();
        let want = EventExpect::new(&want, 2).unwrap();
        let event = |id: &'static str, data: &'static str| EventRef {
            event: "tick",
            data,
            id,
            retry: None,
        };
        assert_eq!(want.check(&event("1", r#"{"n":1,"ts_us":5}"#)), None);
        let said = |id, data| want.check(&event(id, data)).map(|kind| kind.to_string());
        assert_eq!(
            said("2", r#"{"n":1,"ts_us":5}"#).as_deref(),
            Some("/events/2/id: different text")
        );
        assert_eq!(
            said("1", r#"{"n":2,"ts_us":5}"#).as_deref(),
            Some("/events/2/json/n: different number")
        );
        assert_eq!(
            said("1", "not json").as_deref(),
            Some("/events/2/json: data is not JSON")
        );
    }

    #[test]
    fn an_event_schema_is_checked_under_load() {
        let want: ExpectedEvent = serde_json::from_value(serde_json::json!(
            {"json_schema": {"type": "object", "required": ["n"]}}
        ))
        .unwrap();
        let want = EventExpect::new(&want, 0).unwrap();
        let event = |data: &'static str| EventRef {
            event: "message",
            data,
            id: "",
            retry: None,
        };
        assert_eq!(want.check(&event(r#"{"n":1}"#)), None);
        let said = want
            .check(&event(r#"{"m":1}"#))
            .map(|kind| kind.to_string());
        assert!(
            said.as_deref()
                .is_some_and(|s| s.starts_with("/events/0/json_schema: schema: ")),
            "{said:?}"
        );
    }
}
