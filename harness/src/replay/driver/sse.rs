//! SSE replay: the request by reqwest, the body's chunks through the incremental parser that
//! load runs use too ([`crate::wire::SseParser`]): work linear in the bytes received, a line or
//! event past the driver's limit interrupts the replay (`event too large`), and each expected
//! event (or the end of the stream) must come before an absolute deadline, however busy the
//! server keeps the socket (with comments, say): `--timeout` after the previous one, or the
//! event's longer `within_ms`, and never before the stream's own `within_ms` has passed.

use std::time::{Duration, Instant};

use harness_fixture::model::{SseEnd, SseFixture};
use reqwest::header::{ACCEPT, CONTENT_TYPE};

use super::{
    Driver, StepError, fixture_headers, micros, read_body, reply_headers, set_body, step_wait,
    target_of, with_headers,
};
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
        },
        status: None,
        headers: Vec::new(),
        events: Vec::new(),
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

/// Sends the request and reads the reply into `transcript` until the expected end; an error
/// says where (`/request`, `/events/N`) and why the reading stopped.
async fn read(
    driver: &Driver,
    fixture: &SseFixture,
    transcript: &mut SseTranscript,
) -> Result<(), (String, StepError)> {
    let at_request = |error: StepError| ("/request".to_string(), error);
    let request = &fixture.request;
    let url = driver
        .url(&request.path, &request.query.pairs())
        .map_err(|e| at_request(StepError::BadUrl(e)))?;
    transcript.request.target = target_of(&url);
    set_body(&mut transcript.request, request.body()).map_err(at_request)?;
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|source| {
        at_request(StepError::Method {
            method: request.method.clone(),
            source,
        })
    })?;
    let mut builder = with_headers(
        driver.client.request(method, url),
        &transcript.request.headers,
    )
    .map_err(at_request)?;
    if let Some(body) = &transcript.request.body {
        builder = builder.body(body.0.clone());
    }

    let started = Instant::now();
    // With a whole-stream `within_ms`, no wait ends before the stream's own deadline.
    let stream_end = fixture
        .expected
        .within_ms
        .map(|ms| started + Duration::from_millis(ms));
    let step = |wait: Duration| {
        let now = Instant::now();
        let end = stream_end.map_or(now + wait, |s| s.max(now + wait));
        // The wait in whole milliseconds, for messages.
        let millis = end.saturating_duration_since(now).as_millis();
        let wait = Duration::from_millis(u64::try_from(millis).unwrap_or(u64::MAX));
        (Deadline::at(end), wait)
    };
    let event_wait = |index: usize| {
        let within = fixture.expected.events.get(index).and_then(|e| e.within_ms);
        step(step_wait(driver.timeout, within))
    };
    // Servers may hold the reply head until the first event: the head has the first event's
    // wait.
    let (deadline, wait) = event_wait(0);
    let mut response = match deadline.run(builder.send()).await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => return Err(at_request(StepError::Request(e))),
        Err(_) => return Err(at_request(StepError::NoReply(wait))),
    };
    transcript.status = Some(response.status().as_u16());
    transcript.headers = reply_headers(response.headers());
    let is_stream = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("text/event-stream")
        });
    if !is_stream {
        let (deadline, wait) = step(driver.timeout);
        let bytes = read_body(&mut response, deadline, wait)
            .await
            .map_err(at_request)?;
        transcript.body = Some(Body(bytes));
        transcript.end = StreamEnd::Closed;
        transcript.ended_us = Some(micros(started));
        return Ok(());
    }

    let expected = fixture.expected.events.len();
    let stop_after = match fixture.expected.end {
        SseEnd::Open => Some(expected),
        SseEnd::Closed => None,
    };
    // Whether reading is over after `received` events: `Some` with how it ended.
    let settled = |received: usize| -> Option<Result<StreamEnd, (String, StepError)>> {
        if stop_after == Some(received) {
            return Some(Ok(StreamEnd::StoppedReading));
        }
        (received >= expected + MAX_EXTRA_EVENTS)
            .then(|| Err((format!("/events/{received}"), StepError::TooManyEvents)))
    };
    let mut parser = SseParser::with_limit(driver.max_event_size);
    let mut arrived = Vec::new();
    // One deadline per step: the next event (or the end) within the timeout of the last one
    // (or that event's longer `within_ms`, or the stream's `within_ms`).
    let (mut deadline, mut wait) = event_wait(0);
    loop {
        let received = transcript.events.len();
        if let Some(end) = settled(received) {
            transcript.end = end?;
            transcript.ended_us = Some(micros(started));
            return Ok(());
        }
        let at = format!("/events/{received}");
        let chunk = match deadline.run(response.chunk()).await {
            Err(_) => {
                let error = if received < expected {
                    StepError::NoEvent(wait)
                } else {
                    StepError::NoEnd(wait)
                };
                return Err((at, error));
            }
            Ok(Ok(Some(chunk))) => chunk,
            Ok(Ok(None)) => {
                transcript.end = StreamEnd::Closed;
                transcript.ended_us = Some(micros(started));
                return Ok(());
            }
            Ok(Err(e)) => return Err((at, StepError::BrokenStream(e))),
        };
        let at_us = micros(started);
        let fed = parser.try_feed(&chunk, |event| arrived.push(recorded(event, at_us)));
        for event in arrived.drain(..) {
            if let Some(end) = settled(transcript.events.len()) {
                transcript.end = end?;
                transcript.ended_us = Some(micros(started));
                return Ok(());
            }
            transcript.events.push(event);
            (deadline, wait) = event_wait(transcript.events.len());
        }
        if let Err(too_large) = fed {
            return Err((
                format!("/events/{}", transcript.events.len()),
                too_large.into(),
            ));
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
