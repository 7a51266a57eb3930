//! Entry points for fuzzing: each takes arbitrary bytes and runs one reader of untrusted input
//! the way the harness does, so that a fuzzer (`harness/tests/integration/fuzz.rs`, bounded in time in CI)
//! can prove it never panics. What they return is the amount of work done, so the optimizer
//! cannot drop it; they are not an API.
//!
//! The targets, one per reader of input from a peer or a file:
//! - [`fixture`]: the fixture loader (JSON, schema, decoding, load-time checks);
//! - [`sse`]: the `text/event-stream` parser, fed in chunks cut where the input says;
//! - [`chunked`]: the HTTP/1.1 body framing decoder (chunked, length, close);
//! - [`ws_check`]: the WebSocket transcript checks, on corpus fixtures against transcripts
//!   built from the input;
//! - [`redact`]: the redaction of credentials in server text, headers, JSON and diffs;
//! - [`result_document`]: the reader of result documents (`compare`, `report`), then the
//!   report made of what it read (summary, JUnit, the page with its decoded histograms).

use std::path::Path;

use arbitrary::{Arbitrary, Unstructured};

use crate::load::net::chunked::{Decoder, Framing};
use crate::results::Interrupted;
use crate::results::transcript::{Direction, Frame, Handshake, Transcript, WsRecord};
use crate::wire::sse_parser::SseParser;

/// The fixture loader on `bytes` as a file's content.
pub fn fixture(bytes: &[u8]) -> usize {
    match harness_fixture::parse_fixture_bytes(Path::new("fuzz.json"), bytes) {
        Ok(fixture) => fixture.name.len(),
        Err(errors) => errors.iter().map(|e| e.to_string().len()).sum(),
    }
}

/// The SSE parser on `bytes`: the first byte seeds where the stream is cut into chunks and,
/// when odd, sets a small size limit (so that the refusal of a too large line or event runs).
pub fn sse(bytes: &[u8]) -> usize {
    let Some((&seed, stream)) = bytes.split_first() else {
        return 0;
    };
    let mut parser = if seed % 2 == 1 {
        SseParser::with_limit(usize::from(seed))
    } else {
        SseParser::new()
    };
    let mut seen = 0;
    for chunk in chunks(stream, seed) {
        parser.feed(chunk, |event| {
            seen += event.event.len() + event.data.len() + event.id.len();
        });
    }
    seen + usize::from(parser.too_large().is_some())
}

/// The body framing decoder on `bytes`: the first byte picks the framing and the chunk cuts.
pub fn chunked(bytes: &[u8]) -> usize {
    let Some((&seed, body)) = bytes.split_first() else {
        return 0;
    };
    let framing = match seed % 3 {
        0 => Framing::Chunked,
        1 => Framing::Length(u64::from(seed) * 7),
        _ => Framing::Close,
    };
    let mut decoder = Decoder::new(framing);
    let mut payload = 0;
    for chunk in chunks(body, seed) {
        if decoder.decode(chunk, |data| payload += data.len()).is_err() {
            break;
        }
    }
    payload + usize::from(decoder.done()) + usize::from(decoder.may_end())
}

/// The WebSocket checks: the input picks one of `fixtures` (WebSocket fixtures) and builds the
/// transcript the server is said to have produced.
pub fn ws_check(fixtures: &[harness_fixture::Fixture], bytes: &[u8]) -> usize {
    let mut input = Unstructured::new(bytes);
    let Ok(index) = input.choose_index(fixtures.len()) else {
        return 0;
    };
    let fixture = &fixtures[index];
    let transcript = Transcript::WebSocket(ws_transcript(&mut input));
    crate::check::check(fixture, &transcript).len()
}

/// The result-document reader of `report` and of `compare` on `bytes` as one file.
pub fn result_document(bytes: &[u8]) -> usize {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return 0;
    };
    if let Err(refused) = crate::compare::document::check_histograms(&value) {
        return refused.to_string().len();
    }
    let mut side = crate::compare::document::Side::default();
    let compared = crate::compare::document::add(&mut side, &value).map_or(0, |()| 1);
    let mut inputs = crate::report::document::Inputs::default();
    let rendered = match crate::report::bundle::add(&mut inputs, Path::new("fuzz.json"), value) {
        Ok(()) => {
            let document = crate::report::document::ReportDocument::new(inputs, None, "now".into());
            crate::report::markdown::report(&document).len()
                + crate::report::junit::report(&document).len()
                + crate::report::html::page(&document).len()
        }
        Err(problem) => problem.to_string().len(),
    };
    compared + rendered + side.fixtures.len() + side.load.len()
}

/// Redaction of `bytes` as a header value, a text, a JSON value and a snapshot diff.
pub fn redact(bytes: &[u8]) -> usize {
    let text = String::from_utf8_lossy(bytes);
    let redactor = crate::snapshot::redact::Redactor::new(&["*session*".to_string()]);
    let mut value = serde_json::from_slice(bytes).unwrap_or(serde_json::Value::Null);
    redactor.value(&mut value);
    redactor.header("authorization", &text).len()
        + redactor.header("cookie", &text).len()
        + redactor.header("set-cookie", &text).len()
        + redactor.text(&text).len()
        + redactor.diff_text(&text).len()
        + value.to_string().len()
}

/// `bytes` cut into chunks whose lengths follow from `seed` (1 to 64 bytes, or all at once).
fn chunks(bytes: &[u8], seed: u8) -> impl Iterator<Item = &[u8]> {
    let mut rest = bytes;
    let mut state = u32::from(seed) | 1;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let len = if seed == 0 {
            rest.len()
        } else {
            (state % 64 + 1) as usize
        };
        let (chunk, tail) = rest.split_at(len.min(rest.len()));
        rest = tail;
        Some(chunk)
    })
}

/// A WebSocket transcript built from `input`: a handshake, then records of any frames.
fn ws_transcript(input: &mut Unstructured<'_>) -> crate::results::transcript::WsTranscript {
    let handshake = bool::arbitrary(input).unwrap_or(true).then(|| Handshake {
        status: if bool::arbitrary(input).unwrap_or(true) {
            101
        } else {
            u16::arbitrary(input).unwrap_or(403)
        },
        subprotocol: Option::<String>::arbitrary(input).unwrap_or(None),
        headers: Vec::<(String, String)>::arbitrary(input).unwrap_or_default(),
        body: None,
    });
    let mut steps = Vec::new();
    while !input.is_empty() && steps.len() < 64 {
        let frame = match u8::arbitrary(input).unwrap_or(0) % 8 {
            0 => Frame::Binary(Vec::<u8>::arbitrary(input).unwrap_or_default()),
            1 => Frame::Ping(String::arbitrary(input).unwrap_or_default()),
            2 => Frame::Pong(String::arbitrary(input).unwrap_or_default()),
            3 => Frame::Close {
                code: Option::<u16>::arbitrary(input).unwrap_or(Some(1000)),
                reason: String::arbitrary(input).unwrap_or_default(),
            },
            4 => Frame::Ended,
            5 => Frame::Text(json_text(input)),
            _ => Frame::Text(String::arbitrary(input).unwrap_or_default()),
        };
        steps.push(WsRecord {
            step: usize::from(u8::arbitrary(input).unwrap_or(0) % 16),
            direction: if bool::arbitrary(input).unwrap_or(true) {
                Direction::Received
            } else {
                Direction::Sent
            },
            frame,
            at_us: u64::arbitrary(input).unwrap_or(0),
        });
    }
    let interrupted = bool::arbitrary(input)
        .unwrap_or(false)
        .then(|| Interrupted {
            at: "/transcript/0".into(),
            reason: String::arbitrary(input).unwrap_or_default(),
        });
    let mut step_ends = Vec::new();
    while bool::arbitrary(input).unwrap_or(false) && step_ends.len() < 16 {
        step_ends.push(crate::results::transcript::WsStepEnd {
            step: usize::from(u8::arbitrary(input).unwrap_or(0) % 16),
            ignored: u64::from(u8::arbitrary(input).unwrap_or(0)),
            at_us: u64::arbitrary(input).unwrap_or(0),
        });
    }
    crate::results::transcript::WsTranscript {
        handshake,
        steps,
        step_ends,
        // Captured values in the shape the fuzzed checks resolve `<<same_as:NAME>>` with.
        captures: std::iter::from_fn(|| {
            bool::arbitrary(input).unwrap_or(false).then(|| {
                let name = format!("c{}", u8::arbitrary(input).unwrap_or(0) % 4);
                (
                    name,
                    serde_json::Value::from(String::arbitrary(input).unwrap_or_default()),
                )
            })
        })
        .take(4)
        .collect(),
        interrupted,
    }
}

/// A small JSON text built from `input`, so that JSON expectations get past parsing.
fn json_text(input: &mut Unstructured<'_>) -> String {
    let key = String::arbitrary(input).unwrap_or_default();
    let value = match u8::arbitrary(input).unwrap_or(0) % 4 {
        0 => serde_json::Value::from(i64::arbitrary(input).unwrap_or(0)),
        1 => serde_json::Value::from(String::arbitrary(input).unwrap_or_default()),
        2 => serde_json::Value::from(bool::arbitrary(input).unwrap_or(false)),
        _ => serde_json::Value::Null,
    };
    let mut object = serde_json::Map::new();
    object.insert(key, value);
    if bool::arbitrary(input).unwrap_or(false) {
        object.insert("type".into(), "echo".into());
    }
    serde_json::Value::Object(object).to_string()
}
