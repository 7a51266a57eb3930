//! Reading an HTTP reply (REST, a broadcast publish, an SSE reply that is not a stream): its
//! head, then its body piece by piece before the step's deadline, recording when each piece
//! arrived, then the body decoded as its `Content-Encoding` says ([`crate::wire::coding`]).
//!
//! A body that does not decode is kept as received, with the reason beside it (the check fails
//! at `/body`); one that decodes past [`MAX_BODY`] interrupts the replay.

use std::time::{Duration, Instant};

use super::{StepError, micros};
use crate::results::transcript::{
    Arrival, Body, Headers, ReceivedResponse, ReplyEncoding, header_values, record_arrival,
};
use crate::wire::Deadline;
use crate::wire::coding;
use crate::wire::request::MAX_BODY;

/// A reply's headers as received, in order.
pub(super) fn reply_headers(map: &reqwest::header::HeaderMap) -> Headers {
    map.iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// A body as read, with when its pieces came.
struct TimedBody {
    bytes: Vec<u8>,
    /// Milliseconds from `started` to the first byte (to the call, for an empty body).
    first_byte_ms: u64,
    arrivals: Vec<Arrival>,
}

/// Reads a reply body to its end before `deadline` (`wait` is how long that was, for the
/// message), refusing more than [`MAX_BODY`] bytes.
pub(super) async fn read_body(
    response: &mut reqwest::Response,
    deadline: Deadline,
    wait: Duration,
) -> Result<Vec<u8>, StepError> {
    let started = Instant::now();
    Ok(read_timed_body(response, deadline, wait, started)
        .await?
        .bytes)
}

/// [`read_body`], recording when each piece arrived (milliseconds since `started`).
async fn read_timed_body(
    response: &mut reqwest::Response,
    deadline: Deadline,
    wait: Duration,
    started: Instant,
) -> Result<TimedBody, StepError> {
    let head_ms = millis(started);
    let mut body = TimedBody {
        bytes: Vec::new(),
        first_byte_ms: head_ms,
        arrivals: Vec::new(),
    };
    loop {
        let chunk = deadline
            .run(response.chunk())
            .await
            .map_err(|_| StepError::NoCompleteReply(wait))?
            .map_err(StepError::Request)?;
        let Some(chunk) = chunk else {
            return Ok(body);
        };
        if chunk.is_empty() {
            continue;
        }
        let at_ms = millis(started);
        if body.arrivals.is_empty() {
            body.first_byte_ms = at_ms;
        }
        record_arrival(&mut body.arrivals, at_ms, chunk.len() as u64);
        if body.bytes.len() + chunk.len() > MAX_BODY {
            return Err(StepError::BodyTooLarge);
        }
        body.bytes.extend_from_slice(&chunk);
    }
}

/// Sends a request and reads its whole reply before `deadline` (`wait` is how long that was,
/// for the message); times count from `started`.
pub(super) async fn send_and_read_by(
    request: reqwest::RequestBuilder,
    deadline: Deadline,
    wait: Duration,
    started: Instant,
) -> Result<ReceivedResponse, StepError> {
    let mut response = deadline
        .run(request.send())
        .await
        .map_err(|_| StepError::NoCompleteReply(wait))?
        .map_err(StepError::Request)?;
    let status = response.status().as_u16();
    let headers = reply_headers(response.headers());
    let body = read_timed_body(&mut response, deadline, wait, started).await?;
    let elapsed_us = micros(started);
    let (decoded, encoding) = decode(&headers, body.bytes).await?;
    Ok(ReceivedResponse {
        status,
        headers,
        body: decoded,
        encoding,
        elapsed_us,
        first_byte_ms: body.first_byte_ms,
        arrivals: body.arrivals,
    })
}

/// The body decoded as the reply's `Content-Encoding` says ([`coding::decode_reply`]), on a
/// blocking thread (a large body takes a while to inflate); one that decodes past
/// [`MAX_BODY`] is the error.
async fn decode(
    headers: &Headers,
    bytes: Vec<u8>,
) -> Result<(Body, Option<ReplyEncoding>), StepError> {
    let lines: Vec<String> = header_values(headers, "content-encoding")
        .into_iter()
        .map(str::to_owned)
        .collect();
    if lines.is_empty() {
        return Ok((Body(bytes), None));
    }
    let content_encoding = lines.join(", ");
    let decoded = tokio::task::spawn_blocking(move || {
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        coding::decode_reply(&lines, bytes, MAX_BODY)
    })
    .await
    .map_err(|join| StepError::DecodePanicked(join.to_string()))?;
    match decoded {
        Ok((bytes, encoding)) => Ok((Body(bytes), encoding)),
        Err(source) => Err(StepError::Decode {
            content_encoding,
            source,
        }),
    }
}

/// Whole milliseconds since `since`, saturating.
fn millis(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}
