//! SSE replay: reqwest streaming, parsed by eventsource-stream.

use std::time::Instant;

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use harness_fixture::model::{SseEnd, SseFixture};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderName, HeaderValue};

use super::{Driver, micros, reason};
use crate::driver::rest::MAX_BODY;
use crate::transcript::{
    Body, Headers, Interrupted, ReceivedEvent, SentRequest, SseTranscript, StreamEnd,
};

/// Events read past the expected ones before the harness gives up on a stream that should close.
const MAX_EXTRA_EVENTS: usize = 100;

pub(super) async fn replay(driver: &Driver, fixture: &SseFixture) -> SseTranscript {
    let request = &fixture.request;
    let mut headers: Headers = request
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .collect();
    if !headers.iter().any(|(n, _)| n == ACCEPT.as_str()) {
        headers.push((ACCEPT.as_str().to_string(), "text/event-stream".to_string()));
    }
    let mut transcript = SseTranscript {
        request: SentRequest {
            method: "GET".into(),
            target: request.path.clone(),
            headers,
            body: None,
        },
        status: None,
        headers: Vec::new(),
        events: Vec::new(),
        body: None,
        end: StreamEnd::Interrupted,
        interrupted: None,
    };
    let url = match driver.url(&request.path, &request.query.pairs()) {
        Ok(url) => url,
        Err(e) => return interrupt(transcript, "/request", format!("bad URL: {e}")),
    };
    transcript.request.target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let mut builder = driver.client.get(url);
    for (name, value) in transcript.request.headers.clone() {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            (Ok(name), Ok(value)) => builder = builder.header(name, value),
            _ => {
                return interrupt(
                    transcript,
                    "/request",
                    format!("header {name:?} cannot be sent"),
                );
            }
        }
    }

    let started = Instant::now();
    let response = match tokio::time::timeout(driver.timeout, builder.send()).await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => return interrupt(transcript, "/request", reason(&e)),
        Err(_) => {
            return interrupt(
                transcript,
                "/request",
                format!("no reply within {:?}", driver.timeout),
            );
        }
    };
    transcript.status = Some(response.status().as_u16());
    transcript.headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
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
        return read_plain_body(driver, transcript, response).await;
    }

    let expected = fixture.expected.events.len();
    let stop_after = match fixture.expected.end {
        SseEnd::Open => Some(expected),
        SseEnd::Closed => None,
    };
    let mut events = response.bytes_stream().eventsource();
    loop {
        if stop_after == Some(transcript.events.len()) {
            transcript.end = StreamEnd::StoppedReading;
            return transcript;
        }
        if transcript.events.len() >= expected + MAX_EXTRA_EVENTS {
            let at = format!("/events/{}", transcript.events.len());
            return interrupt(
                transcript,
                &at,
                format!("more than {MAX_EXTRA_EVENTS} events past the expected ones"),
            );
        }
        let at = format!("/events/{}", transcript.events.len());
        match tokio::time::timeout(driver.timeout, events.next()).await {
            Err(_) => {
                let waiting_for = if transcript.events.len() < expected {
                    "event"
                } else {
                    "end of the stream"
                };
                return interrupt(
                    transcript,
                    &at,
                    format!("no {waiting_for} within {:?}", driver.timeout),
                );
            }
            Ok(None) => {
                transcript.end = StreamEnd::Closed;
                return transcript;
            }
            Ok(Some(Err(e))) => {
                return interrupt(transcript, &at, format!("broken stream: {}", reason(&e)));
            }
            Ok(Some(Ok(event))) => transcript.events.push(ReceivedEvent {
                event: event.event,
                id: event.id,
                retry: event
                    .retry
                    .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                data: event.data,
                at_us: micros(started),
            }),
        }
    }
}

async fn read_plain_body(
    driver: &Driver,
    mut transcript: SseTranscript,
    mut response: reqwest::Response,
) -> SseTranscript {
    let read = async {
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| reason(&e))? {
            if bytes.len() + chunk.len() > MAX_BODY {
                return Err(format!("reply body larger than {MAX_BODY} bytes"));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    };
    match tokio::time::timeout(driver.timeout, read).await {
        Ok(Ok(bytes)) => {
            transcript.body = Some(Body(bytes));
            transcript.end = StreamEnd::Closed;
            transcript
        }
        Ok(Err(reason)) => interrupt(transcript, "/request", reason),
        Err(_) => interrupt(
            transcript,
            "/request",
            format!("no complete reply within {:?}", driver.timeout),
        ),
    }
}

fn interrupt(mut transcript: SseTranscript, at: &str, reason: String) -> SseTranscript {
    transcript.end = StreamEnd::Interrupted;
    transcript.interrupted = Some(Interrupted {
        at: at.to_string(),
        reason,
    });
    transcript
}
