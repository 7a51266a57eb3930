//! SSE load: each worker is a subscriber reading the stream (subscriptions spread over
//! `--ramp`, renewed when the server ends a stream). One operation is one event. The first
//! events of every subscription are checked against the fixture; the time to the first event and
//! the gaps between events get their own histograms. When the fixture's counter names a
//! `timestamp_field`, an event's latency is its delivery latency (receive time minus that Unix
//! microsecond timestamp, same machine); otherwise it is the gap since the previous event.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use eventsource_stream::{Event, Eventsource};
use futures_util::StreamExt;
use harness_fixture::model::{BodyMatch, ExpectedEvent, SseFixture};
use http_body_util::{BodyDataStream, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{ACCEPT, HOST, HeaderValue};
use hyper::{HeaderMap, Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use url::Url;

use super::engine::{LoadError, Worker};
use super::expect::{HeaderExpect, JsonExpect, TextExpect, first_header_mismatch};
use super::recorder::ErrorKind;
use super::rest::{AbortOnDrop, Endpoint, RECONNECT_PAUSE, header_name, header_value};

/// One expected event, compiled: only the fields given are checked.
#[derive(Debug)]
struct EventExpect {
    event: Option<TextExpect>,
    id: Option<TextExpect>,
    retry: Option<u64>,
    data: Option<TextExpect>,
    json: Option<JsonExpect>,
}

impl EventExpect {
    fn new(want: &ExpectedEvent) -> Result<EventExpect, String> {
        let text = |t: &Option<String>| t.as_deref().map(TextExpect::new).transpose();
        let json = match (&want.json, &want.json_partial) {
            (Some(v), _) => Some(JsonExpect::new(v, BodyMatch::Exact)),
            (None, Some(v)) => Some(JsonExpect::new(v, BodyMatch::Partial)),
            (None, None) => None,
        };
        Ok(EventExpect {
            event: text(&want.event)?,
            id: text(&want.id)?,
            retry: want.retry,
            data: text(&want.data)?,
            json,
        })
    }

    /// `None` when the event is as expected, else the field (or JSON pointer) that differs.
    fn check(&self, got: &Event) -> Option<String> {
        let field = |name: &str| Some(format!("/{name}"));
        if let Some(want) = &self.event
            && !want.matches(Some(&got.event))
        {
            return field("event");
        }
        if let Some(want) = &self.id
            && !want.matches(Some(&got.id))
        {
            return field("id");
        }
        if let Some(want) = self.retry
            && got.retry != Some(Duration::from_millis(want))
        {
            return field("retry");
        }
        if let Some(want) = &self.data
            && !want.matches(Some(&got.data))
        {
            return field("data");
        }
        let at = self.json.as_ref()?.check(got.data.as_bytes())?;
        Some(format!("/data{at}"))
    }
}

/// An SSE fixture prepared for load.
#[derive(Debug)]
pub(crate) struct SseLoad {
    endpoint: Endpoint,
    uri: Uri,
    headers: HeaderMap,
    status: u16,
    expect_headers: Vec<HeaderExpect>,
    events: Vec<EventExpect>,
    /// `"<timestamp_field>"`, JSON-quoted, when events carry their send time.
    timestamp_key: Option<String>,
}

impl SseLoad {
    /// Builds the request and compiles the expectations of `fixture` against `base`.
    pub(crate) async fn prepare(fixture: &SseFixture, base: &Url) -> Result<SseLoad, LoadError> {
        let bad = LoadError::Fixture;
        let endpoint = Endpoint::resolve(base).await?;
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
        let expected = &fixture.expected;
        let events = expected
            .events
            .iter()
            .map(EventExpect::new)
            .collect::<Result<_, _>>()
            .map_err(bad)?;
        let timestamp_key = fixture
            .handler
            .as_ref()
            .and_then(|h| h.counter.as_ref())
            .and_then(|c| c.timestamp_field.as_ref())
            .map(|field| serde_json::Value::from(field.as_str()).to_string());
        Ok(SseLoad {
            endpoint,
            uri,
            headers,
            status: expected.status,
            expect_headers: HeaderExpect::all(&expected.headers).map_err(bad)?,
            events,
            timestamp_key,
        })
    }

    /// Subscribes (again after every end or failure) until the run's end cancels it.
    pub(crate) async fn worker(&self, worker: &mut Worker) {
        tokio::time::sleep_until(worker.opens_at.into()).await;
        loop {
            let requested = Instant::now();
            let subscribed = tokio::time::timeout(worker.timeout, self.subscribe()).await;
            let (body, _driver) = match subscribed {
                Ok(Ok(open)) => open,
                outcome => {
                    let kind = match outcome {
                        Ok(Err(kind)) => kind,
                        _ => ErrorKind::Timeout,
                    };
                    worker.recorder.failure(Instant::now(), kind, None);
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    continue;
                }
            };
            self.read(body, requested, worker).await;
        }
    }

    /// Opens a connection, sends the request, checks the reply's head.
    async fn subscribe(&self) -> Result<(hyper::body::Incoming, AbortOnDrop), ErrorKind> {
        let stream = TcpStream::connect(self.endpoint.addr)
            .await
            .map_err(|e| ErrorKind::of_io(&e))?;
        stream.set_nodelay(true).ok();
        let (mut sender, connection): (SendRequest<Empty<Bytes>>, _) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| ErrorKind::of_error(&e))?;
        let driver = AbortOnDrop(tokio::spawn(async move {
            let _ = connection.await;
        }));
        let mut request = Request::new(Empty::new());
        *request.method_mut() = Method::GET;
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| ErrorKind::of_error(&e))?;
        let status = response.status().as_u16();
        if status != self.status {
            return Err(ErrorKind::Status(status));
        }
        if let Some(name) = first_header_mismatch(&self.expect_headers, response.headers()) {
            return Err(ErrorKind::Header(name.as_str().to_string()));
        }
        Ok((response.into_body(), driver))
    }

    /// Reads one subscription's events until it ends or fails.
    async fn read(&self, body: hyper::body::Incoming, requested: Instant, worker: &mut Worker) {
        let mut events = BodyDataStream::new(body).eventsource();
        let mut previous = requested;
        let mut index = 0usize;
        loop {
            let next = tokio::time::timeout(worker.timeout, events.next()).await;
            let now = Instant::now();
            let event = match next {
                Ok(Some(Ok(event))) => event,
                Ok(None) => {
                    // The server ended the stream: only an error before the expected events.
                    if index < self.events.len() {
                        worker.recorder.failure(now, ErrorKind::Closed, None);
                    }
                    return;
                }
                Ok(Some(Err(e))) => {
                    let kind = match &e {
                        eventsource_stream::EventStreamError::Transport(t) => {
                            ErrorKind::of_error(t)
                        }
                        _ => ErrorKind::Garbage,
                    };
                    worker.recorder.failure(now, kind, None);
                    return;
                }
                Err(_) => {
                    worker.recorder.failure(now, ErrorKind::Timeout, None);
                    return;
                }
            };
            let gap = now - previous;
            if index == 0 {
                worker.recorder.first_event(gap);
            } else {
                worker.recorder.event_gap(now, gap);
            }
            let latency = self
                .timestamp_key
                .as_deref()
                .and_then(|key| timestamp(&event.data, key))
                .map_or(gap, delivery_latency);
            match self.events.get(index).and_then(|want| want.check(&event)) {
                None => worker.recorder.success(now, latency),
                Some(at) => worker.recorder.failure(
                    now,
                    ErrorKind::Event(format!("/events/{index}{at}")),
                    Some(latency),
                ),
            }
            previous = now;
            index += 1;
        }
    }
}

/// Time since a Unix-microsecond timestamp, by this machine's clock (zero if in the future).
fn delivery_latency(sent_us: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    Duration::from_micros(now.saturating_sub(sent_us))
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
        let want = EventExpect::new(&want).unwrap();
        let event = |id: &str, data: &str| Event {
            event: "tick".into(),
            data: data.into(),
            id: id.into(),
            retry: None,
        };
        assert_eq!(want.check(&event("1", r#"{"n":1,"ts_us":5}"#)), None);
        assert_eq!(
            want.check(&event("2", r#"{"n":1,"ts_us":5}"#)).as_deref(),
            Some("/id")
        );
        assert_eq!(
            want.check(&event("1", r#"{"n":2,"ts_us":5}"#)).as_deref(),
            Some("/data/n")
        );
    }
}
