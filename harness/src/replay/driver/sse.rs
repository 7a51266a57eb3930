//! SSE replay: the request by reqwest, the body's chunks through the incremental parser that
//! load runs use too ([`crate::wire::SseParser`]): work linear in the bytes received, a line or
//! event past the driver's limit interrupts the replay (`event too large`), and each expected
//! event (or the end of the stream) must come before an absolute deadline, however busy the
//! server keeps the socket (with comments, say): `--timeout` after the previous one, or the
//! event's longer `within_ms`, and never before the stream's own `within_ms` has passed.

use std::time::{Duration, Instant};

use harness_fixture::model::{ExpectedEvent, SseEnd, SseExpected, SseFixture, SseRequest};
use reqwest::header::{ACCEPT, CONTENT_TYPE};

use super::{
    Driver, StepError, fixture_headers, micros, read_body, reply_headers, set_body, step_wait,
    target_of, with_headers,
};
use crate::check::event_matches;
use crate::results::Interrupted;
use crate::results::transcript::{Body, ReceivedEvent, SentRequest, SseTranscript, StreamEnd};
use crate::wire::{Deadline, EventRef, SseParser};

/// Events read past the expected ones before the harness gives up on a stream that should close.
pub(super) const MAX_EXTRA_EVENTS: usize = 100;

pub(super) async fn replay(driver: &Driver, fixture: &SseFixture) -> SseTranscript {
    let request = &fixture.request;
    let mut headers = fixture_headers(&request.headers);
    if !headers.iter().any(|(n, _)| n == ACCEPT.as_str()) {
        headers.push((ACCEPT.as_str().to_string(), "text/event-stream".to_string()));
    }
    let mut transcript = SseTranscript {
        request: SentRequest {
            method: request.method.clone(),
            target: request.path.clone(),
            headers,
            body: None,
            content_encoding: None,
        },
        status: None,
        headers: Vec::new(),
        events: Vec::new(),
        ignored: 0,
        body: None,
        end: StreamEnd::Interrupted,
        ended_us: None,
        interrupted: None,
    };
    if let Err((at, error)) = read(driver, fixture, &mut transcript).await {
        transcript.end = StreamEnd::Interrupted;
        transcript.interrupted = Some(Interrupted {
            at,
            reason: error.to_string(),
        });
    }
    transcript
}

/// An event as recorded, `at_us` after the request.
fn recorded(event: EventRef<'_>, at_us: u64) -> ReceivedEvent {
    ReceivedEvent {
        event: event.event.to_string(),
        id: event.id.to_string(),
        retry: event.retry,
        data: event.data.to_string(),
        at_us,
    }
}

/// Where the events read go: `events` in order, or counted in `ignored` when one of `ignore`
/// matches them (format 1.1).
struct Kept<'a> {
    ignore: &'a [ExpectedEvent],
    events: &'a mut Vec<ReceivedEvent>,
    ignored: &'a mut u64,
}

/// Sends the request and reads the reply into `transcript` until the expected end; an error
/// says where (`/request`, `/events/N`) and why the reading stopped.
async fn read(
    driver: &Driver,
    fixture: &SseFixture,
    transcript: &mut SseTranscript,
) -> Result<(), (String, StepError)> {
    let at_request = |error: StepError| ("/request".to_string(), error);
    // Over HTTP/2 each stream gets a connection of its own: an endless stream of small events
    // that is no longer read trips the client's guard against floods of small DATA frames
    // (GOAWAY ENHANCE_YOUR_CALM), which would end every other fixture on a shared connection.
    let own_connection = match driver.http2 {
        true => Some(
            super::http_client(driver.timeout, &driver.tls, true)
                .map_err(|e| at_request(StepError::Request(e)))?,
        ),
        false => None,
    };
    let client = own_connection.as_ref().unwrap_or(&driver.client);
    let builder = build_request(driver, client, &fixture.request, &mut transcript.request)
        .map_err(at_request)?;
    let started = Instant::now();
    let waits = Waits::new(driver.timeout, &fixture.expected, started);
    // Servers may hold the reply head until the first event: the head has the first event's
    // wait.
    let (deadline, wait) = waits.event(0);
    let mut response = match deadline.run(builder.send()).await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => return Err(at_request(StepError::Request(e))),
        Err(_) => return Err(at_request(StepError::NoReply(wait))),
    };
    transcript.status = Some(response.status().as_u16());
    transcript.headers = reply_headers(response.headers());
    if !is_event_stream(response.headers()) {
        let (deadline, wait) = waits.step(driver.timeout);
        let bytes = read_body(&mut response, deadline, wait)
            .await
            .map_err(at_request)?;
        transcript.body = Some(Body(bytes));
        transcript.end = StreamEnd::Closed;
        transcript.ended_us = Some(micros(started));
        return Ok(());
    }
    let mut parser = SseParser::with_limit(driver.max_event_size);
    let ending = Ending::of(&fixture.expected);
    let kept = Kept {
        ignore: &fixture.expected.ignore,
        events: &mut transcript.events,
        ignored: &mut transcript.ignored,
    };
    transcript.end = read_events(&mut response, &mut parser, &waits, &ending, kept).await?;
    transcript.ended_us = Some(micros(started));
    Ok(())
}

/// The request as the fixture writes it: its target and body go into `sent` (whose headers it
/// sends).
fn build_request(
    driver: &Driver,
    client: &reqwest::Client,
    request: &SseRequest,
    sent: &mut SentRequest,
) -> Result<reqwest::RequestBuilder, StepError> {
    let url = driver
        .url(&request.path, &request.query.pairs())
        .map_err(StepError::BadUrl)?;
    sent.target = target_of(&url);
    set_body(sent, request.body(), None)?;
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|source| {
        StepError::Method {
            method: request.method.clone(),
            source,
        }
    })?;
    let mut builder = with_headers(client.request(method, url), &sent.headers)?;
    if let Some(body) = &sent.body {
        builder = builder.body(body.0.clone());
    }
    Ok(builder)
}

/// Whether a reply's `Content-Type` is `text/event-stream`.
fn is_event_stream(headers: &reqwest::header::HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("text/event-stream")
        })
}

/// The deadlines of a stream's waits: `--timeout` (or an event's longer `within_ms`) from
/// now, and with a whole-stream `within_ms`, never before the stream's own deadline.
struct Waits<'a> {
    /// When the request was sent.
    started: Instant,
    timeout: Duration,
    events: &'a [ExpectedEvent],
    /// When the stream's `within_ms` after sending the request passes.
    stream_end: Option<Instant>,
}

impl<'a> Waits<'a> {
    /// The waits of a stream whose request was sent at `started`.
    fn new(timeout: Duration, expected: &'a SseExpected, started: Instant) -> Waits<'a> {
        Waits {
            started,
            timeout,
            events: &expected.events,
            stream_end: expected
                .within_ms
                .map(|ms| started + Duration::from_millis(ms)),
        }
    }

    /// The deadline `wait` from now, or the stream's when that is later, with how long that is
    /// in whole milliseconds (for messages).
    fn step(&self, wait: Duration) -> (Deadline, Duration) {
        let now = Instant::now();
        let end = self.stream_end.map_or(now + wait, |s| s.max(now + wait));
        let millis = end.saturating_duration_since(now).as_millis();
        let wait = Duration::from_millis(u64::try_from(millis).unwrap_or(u64::MAX));
        (Deadline::at(end), wait)
    }

    /// The deadline of the event at `index` (or of the end, past the expected events).
    fn event(&self, index: usize) -> (Deadline, Duration) {
        let within = self.events.get(index).and_then(|e| e.within_ms);
        self.step(step_wait(self.timeout, within))
    }
}

/// Where the reading of an event stream ends: after the expected events with `end: open`, at
/// the server's close with `end: closed`, or [`MAX_EXTRA_EVENTS`] past the expected ones.
struct Ending {
    expected: usize,
    stop_after: Option<usize>,
}

impl Ending {
    fn of(expected: &SseExpected) -> Ending {
        let events = expected.events.len();
        Ending {
            expected: events,
            stop_after: match expected.end {
                SseEnd::Open => Some(events),
                SseEnd::Closed => None,
            },
        }
    }

    /// Whether reading is over after `received` events: `Some` with how it ended.
    fn settled(&self, received: usize) -> Option<Result<StreamEnd, (String, StepError)>> {
        if self.stop_after == Some(received) {
            return Some(Ok(StreamEnd::StoppedReading));
        }
        (received >= self.expected + MAX_EXTRA_EVENTS)
            .then(|| Err((format!("/events/{received}"), StepError::TooManyEvents)))
    }

    /// The error when nothing came within `wait` after `received` events.
    fn timed_out(&self, received: usize, wait: Duration) -> StepError {
        if received < self.expected {
            StepError::NoEvent(wait)
        } else {
            StepError::NoEnd(wait)
        }
    }
}

/// Reads the event stream's chunks through `parser` into `events` until the `ending`; returns
/// how the stream ended. One deadline per step: the next event (or the end) within the timeout
/// of the last one (or that event's longer `within_ms`, or the stream's `within_ms`).
async fn read_events(
    response: &mut reqwest::Response,
    parser: &mut SseParser,
    waits: &Waits<'_>,
    ending: &Ending,
    kept: Kept<'_>,
) -> Result<StreamEnd, (String, StepError)> {
    let Kept {
        ignore,
        events,
        ignored,
    } = kept;
    let mut arrived = Vec::new();
    let (mut deadline, mut wait) = waits.event(0);
    loop {
        let received = events.len();
        if let Some(end) = ending.settled(received) {
            return end;
        }
        let at = format!("/events/{received}");
        let chunk = match deadline.run(response.chunk()).await {
            Err(_) => return Err((at, ending.timed_out(received, wait))),
            Ok(Ok(Some(chunk))) => chunk,
            Ok(Ok(None)) => return Ok(StreamEnd::Closed),
            Ok(Err(e)) => return Err((at, StepError::BrokenStream(e))),
        };
        let at_us = micros(waits.started);
        let fed = parser.try_feed(&chunk, |event| arrived.push(recorded(event, at_us)));
        for event in arrived.drain(..) {
            if let Some(end) = ending.settled(events.len()) {
                return end;
            }
            // Skipped, counted: neither an expected event nor a new deadline.
            if ignore.iter().any(|want| event_matches(want, &event)) {
                *ignored += 1;
                continue;
            }
            events.push(event);
            (deadline, wait) = waits.event(events.len());
        }
        if let Err(too_large) = fed {
            return Err((format!("/events/{}", events.len()), too_large.into()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `chunks` as the SSE driver does (reqwest's chunks into the parser, each event
    /// recorded).
    fn parse(chunks: &[&[u8]]) -> Vec<(String, String, String, Option<u64>)> {
        let mut parser = SseParser::new();
        let mut events = Vec::new();
        for chunk in chunks {
            parser
                .try_feed(chunk, |e| events.push(recorded(e, 0)))
                .expect("parses");
        }
        events
            .into_iter()
            .map(|e| (e.event, e.id, e.data, e.retry))
            .collect()
    }

    #[test]
    fn multi_line_data_comments_and_defaults() {
        let events = parse(&[b": heartbeat\n\ndata: line one\ndata: line two\n\nevent: tick\nid: 7\nretry: 1500\ndata: {\"n\":1}\n\n"]);
        assert_eq!(
            events,
            vec![
                (
                    "message".into(),
                    "".into(),
                    "line one\nline two".into(),
                    None
                ),
                ("tick".into(), "7".into(), "{\"n\":1}".into(), Some(1500)),
            ]
        );
    }

    #[test]
    fn last_event_id_carries_over_and_empty_data_dispatches() {
        let events = parse(&[b"id: 3\ndata: a\n\ndata: b\n\ndata:\n\n"]);
        let ids: Vec<_> = events.iter().map(|e| e.1.as_str()).collect();
        let data: Vec<_> = events.iter().map(|e| e.2.as_str()).collect();
        assert_eq!(ids, ["3", "3", "3"]);
        assert_eq!(data, ["a", "b", ""]);
    }

    #[test]
    fn chunk_boundaries_inside_lines_crlf_and_utf8() {
        let whole = "event: caf\u{e9}\r\ndata: \u{1F600} ok\r\n\r\n".as_bytes();
        let emoji = whole.iter().position(|&b| b == 0xF0).unwrap();
        let chunks: [&[u8]; 4] = [
            &whole[..7],
            &whole[7..emoji + 2],
            &whole[emoji + 2..whole.len() - 1],
            &whole[whole.len() - 1..],
        ];
        assert_eq!(
            parse(&chunks),
            vec![("caf\u{e9}".into(), "".into(), "\u{1F600} ok".into(), None)]
        );
    }

    #[test]
    fn an_event_without_its_blank_line_is_not_dispatched() {
        assert!(parse(&[b"data: cut off\n"]).is_empty());
    }
}
