//! A transcript as a snapshot shows it: timings dropped, headers sorted (volatile ones dropped),
//! JSON shown as JSON, gzip bodies decoded, volatile values redacted by pattern
//! ([`super::volatile`]) and wherever the fixture expects a class matcher (`<<number>>`...).

use harness_fixture::model::{HeaderExpectation, MessageMatch, WsMatch, WsStep};
use harness_fixture::{Fixture, Spec};
use serde_json::{Map, Value, json};

use super::volatile::{redact_text, redact_value};
use crate::check::matcher::Matcher;
use crate::results::Interrupted;
use crate::results::transcript::{
    Body, BroadcastTranscript, Direction, Headers, RestTranscript, SseTranscript, Transcript,
    WsTranscript,
};

/// Headers that differ on every run.
const DROPPED_HEADERS: &[&str] = &["date", "sec-websocket-accept", "keep-alive"];

/// Headers whose value is a set of comma-separated tokens: sorted, since servers may list them
/// in any order.
const SET_HEADERS: &[&str] = &[
    "allow",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "vary",
];

/// The transcript without timings, with volatile values redacted: by pattern (UUIDs, dates,
/// addresses, time-like keys) and wherever the fixture expects a class matcher (`<<number>>`...).
pub fn normalize(fixture: &Fixture, transcript: &Transcript) -> Value {
    let mut value = normalize_transcript(transcript);
    redact_by_fixture(fixture, &mut value);
    value
}

fn normalize_transcript(transcript: &Transcript) -> Value {
    match transcript {
        Transcript::Rest(t) => rest(t),
        Transcript::WebSocket(t) => websocket(t),
        Transcript::Broadcast(t) => broadcast(t),
        Transcript::Sse(t) => sse(t),
    }
}

/// The transcript's fields, then why it stopped short, if it did.
fn finish(mut out: Map<String, Value>, interrupted: &Option<Interrupted>) -> Value {
    if let Some(i) = interrupted {
        out.insert(
            "interrupted".into(),
            json!({"at": i.at, "reason": redact_text(&i.reason)}),
        );
    }
    Value::Object(out)
}

fn rest(t: &RestTranscript) -> Value {
    let mut out = Map::new();
    out.insert(
        "request".into(),
        json!({
            "method": t.request.method,
            "target": t.request.target,
            "headers": headers(&t.request.headers),
            "body": t.request.body.as_ref().map(body),
        }),
    );
    // The redirects followed, only where a fixture follows them.
    if !t.redirects.is_empty() {
        let chain: Vec<Value> = t
            .redirects
            .iter()
            .map(|r| json!({"status": r.status, "location": redact_text(&r.location), "method": r.method}))
            .collect();
        out.insert("redirects".into(), Value::Array(chain));
    }
    if let Some(response) = &t.response {
        out.insert(
            "response".into(),
            json!({
                "status": response.status,
                "headers": headers(&response.headers),
                "body": encoded_body(&response.body, &response.headers),
            }),
        );
    }
    finish(out, &t.interrupted)
}

fn websocket(t: &WsTranscript) -> Value {
    let mut out = Map::new();
    if let Some(h) = &t.handshake {
        out.insert(
            "handshake".into(),
            json!({
                "status": h.status,
                "subprotocol": h.subprotocol,
                "headers": headers(&h.headers),
            }),
        );
    }
    let steps: Vec<Value> = t
        .steps
        .iter()
        .map(|r| {
            let mut frame = serde_json::to_value(&r.frame).unwrap_or(Value::Null);
            if let Some(text) = frame.get("text").and_then(Value::as_str)
                && let Ok(parsed) = serde_json::from_str::<Value>(text)
            {
                frame = json!({ "json": parsed });
            }
            redact_value(&mut frame, None);
            json!({"step": r.step, (match r.direction {
                Direction::Sent => "sent",
                Direction::Received => "received",
            }): frame})
        })
        .collect();
    out.insert("steps".into(), Value::Array(steps));
    finish(out, &t.interrupted)
}

fn broadcast(t: &BroadcastTranscript) -> Value {
    let subscribers: Vec<Value> = t
        .subscribers
        .iter()
        .map(|s| {
            let mut out = Map::new();
            out.insert("kind".into(), s.kind.into());
            out.insert("path".into(), s.path.clone().into());
            out.insert("status".into(), json!(s.status));
            if let Some(ack) = &s.ack {
                out.insert("ack".into(), message_view(ack));
            }
            if let Some(d) = &s.delivery {
                let mut delivery = message_view(&d.data);
                if let (Some(event), Value::Object(map)) = (&d.event, &mut delivery) {
                    map.insert("event".into(), event.clone().into());
                }
                out.insert("delivery".into(), delivery);
            }
            Value::Object(out)
        })
        .collect();
    let mut out = Map::new();
    if let Some(reply) = &t.publish {
        out.insert(
            "publish".into(),
            json!({"status": reply.status, "headers": headers(&reply.headers), "body": encoded_body(&reply.body, &reply.headers)}),
        );
    }
    out.insert("subscribers".into(), Value::Array(subscribers));
    finish(out, &t.interrupted)
}

fn sse(t: &SseTranscript) -> Value {
    let events: Vec<Value> = t
        .events
        .iter()
        .map(|e| {
            let mut event = Map::new();
            event.insert("event".into(), e.event.clone().into());
            event.insert("id".into(), e.id.clone().into());
            if let Some(retry) = e.retry {
                event.insert("retry".into(), retry.into());
            }
            match serde_json::from_str::<Value>(&e.data) {
                Ok(mut parsed) if !e.data.trim().is_empty() => {
                    redact_value(&mut parsed, None);
                    event.insert("json".into(), parsed);
                }
                _ => {
                    event.insert("data".into(), redact_text(&e.data).into());
                }
            }
            Value::Object(event)
        })
        .collect();
    let mut out = Map::new();
    let mut request = json!({"target": t.request.target, "headers": headers(&t.request.headers)});
    // A method and a body only where a fixture sends them (POST streams): GET streams
    // keep the snapshots they had.
    if t.request.method != "GET" {
        request["method"] = t.request.method.clone().into();
    }
    if let Some(b) = &t.request.body {
        request["body"] = body(b);
    }
    out.insert("request".into(), request);
    out.insert("status".into(), json!(t.status));
    out.insert("headers".into(), headers(&t.headers));
    out.insert("events".into(), Value::Array(events));
    if let Some(b) = &t.body {
        out.insert("body".into(), encoded_body(b, &t.headers));
    }
    out.insert("end".into(), json!(t.end));
    finish(out, &t.interrupted)
}

/// Replaces values the fixture matches by class (`<<number>>`, `<<uuid>>`, `<<any>>`, ...) with
/// the matcher's token: the fixture says they vary.
fn redact_by_fixture(fixture: &Fixture, value: &mut Value) {
    match &fixture.spec {
        Spec::Rest(rest) => {
            if let (Some(want), Some(got)) = (
                &rest.expected.body,
                value.pointer_mut("/response/body/json"),
            ) {
                redact_matched(want, got);
            }
            if let Some(got) = value.pointer_mut("/response/headers") {
                redact_matched(&header_expectations(&rest.expected.headers), got);
            }
            // `body_base64: "<<any>>"` says the bytes vary: the snapshot keeps the token.
            if rest.expected.body_base64.as_deref() == Some("<<any>>")
                && let Some(got) = value.pointer_mut("/response/body")
            {
                *got = json!({"base64": "<<any>>"});
            }
        }
        Spec::Sse(sse) => {
            for (index, want) in sse.expected.events.iter().enumerate() {
                if let (Some(want), Some(got)) = (
                    want.json.as_ref().or(want.json_partial.as_ref()),
                    value.pointer_mut(&format!("/events/{index}/json")),
                ) {
                    redact_matched(want, got);
                }
            }
            if let Some(got) = value.pointer_mut("/headers") {
                redact_matched(&header_expectations(&sse.expected.headers), got);
            }
        }
        Spec::Broadcast(broadcast) => {
            let expected = &broadcast.expected;
            if let (Some(want), Some(got)) = (
                expected.publish.as_ref().and_then(|p| p.body.as_ref()),
                value.pointer_mut("/publish/body/json"),
            ) {
                redact_matched(want, got);
            }
            let (MessageMatch::Json(want) | MessageMatch::JsonPartial(want)) = &expected.delivery
            else {
                return;
            };
            if let Some(Value::Array(subscribers)) = value.get_mut("subscribers") {
                for subscriber in subscribers {
                    if let Some(got) = subscriber.pointer_mut("/delivery/json") {
                        redact_matched(want, got);
                    }
                }
            }
        }
        Spec::WebSocket(ws) => {
            let Some(Value::Array(steps)) = value.get_mut("steps") else {
                return;
            };
            for record in steps {
                let Some(index) = record.get("step").and_then(Value::as_u64) else {
                    continue;
                };
                let Some(WsStep::Expect(expect)) = ws.transcript.get(index as usize) else {
                    continue;
                };
                if let (WsMatch::Json(want) | WsMatch::JsonPartial(want), Some(got)) =
                    (&expect.matches, record.pointer_mut("/received/json"))
                {
                    redact_matched(want, got);
                }
            }
        }
    }
}

/// Expected headers as the snapshot shows received ones: a string, or an array of lines.
fn header_expectations(headers: &harness_fixture::model::ExpectedHeaders) -> Value {
    headers
        .iter()
        .map(|(n, v)| {
            let value = match v {
                HeaderExpectation::One(text) => Value::from(text.as_str()),
                HeaderExpectation::Lines(items) => items.iter().map(|i| i.as_str()).collect(),
            };
            (n.to_ascii_lowercase(), value)
        })
        .collect::<Map<_, _>>()
        .into()
}

fn redact_matched(expected: &Value, actual: &mut Value) {
    match (expected, actual) {
        (Value::String(token), actual) => {
            if let Some(Ok(matcher)) = Matcher::parse(token)
                && matcher.is_class()
            {
                *actual = Value::String(token.clone());
            }
        }
        (Value::Object(want), Value::Object(got)) => {
            for (key, w) in want {
                if let Some(g) = got.get_mut(key) {
                    redact_matched(w, g);
                }
            }
        }
        (Value::Array(want), Value::Array(got)) => {
            for (w, g) in want.iter().zip(got.iter_mut()) {
                redact_matched(w, g);
            }
        }
        _ => {}
    }
}

/// A message as JSON when it parses, else as text: `{"json": ..}` or `{"text": ..}`.
fn message_view(text: &str) -> Value {
    match serde_json::from_str::<Value>(text) {
        Ok(mut parsed) => {
            redact_value(&mut parsed, None);
            json!({ "json": parsed })
        }
        Err(_) => json!({ "text": redact_text(text) }),
    }
}

/// Headers sorted by name (values in order), volatile ones dropped, values redacted.
fn headers(list: &Headers) -> Value {
    let mut sorted: Vec<&(String, String)> = list
        .iter()
        .filter(|(n, _)| !DROPPED_HEADERS.contains(&n.as_str()))
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut map = Map::new();
    for (name, value) in sorted {
        let value = if SET_HEADERS.contains(&name.as_str()) {
            let mut tokens: Vec<&str> = value.split(',').map(str::trim).collect();
            tokens.sort_unstable();
            Value::from(tokens.join(", "))
        } else {
            Value::from(redact_text(value))
        };
        match map.get_mut(name) {
            Some(Value::Array(values)) => values.push(value),
            Some(existing) => *existing = Value::Array(vec![existing.clone(), value]),
            None => {
                map.insert(name.clone(), value);
            }
        }
    }
    Value::Object(map)
}

fn body(body: &Body) -> Value {
    let mut view = body.view();
    redact_value(&mut view, None);
    view
}

/// A reply body as the snapshot shows it. A gzip body (`Content-Encoding: gzip` on one line) is
/// shown decoded, beside `"content_encoding": "gzip"`: its bytes hold the time it was
/// compressed (the header's MTIME), so they change on every run while the content does not.
/// One that does not decode within [`MAX_BODY`] bytes is shown as base64 with the 4 MTIME bytes
/// zeroed, and the reason.
fn encoded_body(raw: &Body, reply_headers: &Headers) -> Value {
    let encodings = crate::results::transcript::header_values(reply_headers, "content-encoding");
    let gzip = matches!(encodings.as_slice(), [one] if ["gzip", "x-gzip"]
        .iter()
        .any(|g| one.trim().eq_ignore_ascii_case(g)));
    if !gzip {
        return body(raw);
    }
    let (mut view, note) = match gunzip(&raw.0) {
        Ok(decoded) => (body(&Body(decoded)), "gzip".to_string()),
        Err(reason) => {
            let mut bytes = raw.0.clone();
            if bytes.len() >= 10 && bytes[..2] == [0x1f, 0x8b] {
                bytes[4..8].fill(0);
            }
            (
                json!({"base64": Body(bytes).base64()}),
                format!("gzip, not decoded: {reason}"),
            )
        }
    };
    if let Value::Object(map) = &mut view {
        map.insert("content_encoding".into(), note.into());
    }
    view
}

/// The most a gzip body may decode to in a snapshot: a reply's own cap.
const MAX_BODY: usize = crate::wire::request::MAX_BODY;

/// Why a gzip body is shown undecoded in a snapshot.
#[derive(Debug, thiserror::Error)]
enum GunzipError {
    /// Not gzip, or cut short.
    #[error("{0}")]
    Corrupt(std::io::Error),
    /// More than [`MAX_BODY`] bytes once decoded.
    #[error("decodes to more than {MAX_BODY} bytes")]
    TooLarge,
}

/// Decodes gzip members (RFC 1952), refusing more than [`MAX_BODY`] bytes of output.
fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, GunzipError> {
    use std::io::Read;
    let mut decoded = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut decoded)
        .map_err(GunzipError::Corrupt)?;
    if decoded.len() > MAX_BODY {
        return Err(GunzipError::TooLarge);
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gzipped(text: &str, mtime: u32) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::GzBuilder::new()
            .mtime(mtime)
            .write(Vec::new(), flate2::Compression::default());
        encoder.write_all(text.as_bytes()).unwrap();
        encoder.finish().unwrap()
    }

    fn gzip_headers() -> Headers {
        vec![("content-encoding".into(), "gzip".into())]
    }

    #[test]
    fn gzip_bodies_show_decoded_whatever_their_mtime() {
        let one = encoded_body(&Body(gzipped(r#"{"n":1}"#, 1)), &gzip_headers());
        let later = encoded_body(&Body(gzipped(r#"{"n":1}"#, 2)), &gzip_headers());
        assert_eq!(one, json!({"json": {"n": 1}, "content_encoding": "gzip"}));
        assert_eq!(one, later);
        let other = encoded_body(&Body(gzipped(r#"{"n":2}"#, 1)), &gzip_headers());
        assert_ne!(one, other);
        // Without the header the bytes are shown as they came.
        let raw = encoded_body(&Body(gzipped("x", 1)), &Vec::new());
        assert!(raw.get("base64").is_some(), "{raw}");
    }

    #[test]
    fn gzip_that_does_not_decode_keeps_its_bytes_without_the_mtime() {
        let mut one = gzipped("hello", 1);
        let mut later = gzipped("hello", 2);
        let cut = one.len() - 6;
        one.truncate(cut);
        later.truncate(cut);
        let a = encoded_body(&Body(one), &gzip_headers());
        let b = encoded_body(&Body(later), &gzip_headers());
        assert_eq!(a, b);
        let note = a["content_encoding"].as_str().unwrap();
        assert!(note.starts_with("gzip, not decoded: "), "{note}");
        assert!(a.get("base64").is_some(), "{a}");
    }

    #[test]
    fn headers_are_sorted_and_date_dropped() {
        let list = vec![
            ("x-b".to_string(), "2".to_string()),
            (
                "date".to_string(),
                "Mon, 23 Nov 2026 21:00:00 GMT".to_string(),
            ),
            ("set-cookie".to_string(), "a=1".to_string()),
            ("set-cookie".to_string(), "b=2".to_string()),
        ];
        assert_eq!(
            headers(&list),
            json!({"set-cookie": ["a=1", "b=2"], "x-b": "2"})
        );
        let allow = vec![("allow".to_string(), "PATCH,GET, DELETE".to_string())];
        assert_eq!(headers(&allow), json!({"allow": "DELETE, GET, PATCH"}));
    }
}
