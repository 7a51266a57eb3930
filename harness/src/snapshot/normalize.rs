//! A transcript as a snapshot shows it: timings dropped, headers sorted (volatile ones dropped),
//! JSON shown as JSON, bodies in a content coding shown decoded, request bodies before their
//! coding, generated multipart boundaries replaced by `<boundary>`, volatile values redacted by pattern
//! ([`super::volatile`]) and wherever the fixture expects a class matcher (`<<number>>`...).

use harness_fixture::model::{HeaderExpectation, MessageMatch};
use harness_fixture::{Fixture, Spec};
use serde_json::{Map, Value, json};

use super::volatile::{redact_text, redact_value};
use crate::check::matcher::Matcher;
use crate::results::Interrupted;
use crate::results::transcript::{
    Body, BroadcastTranscript, Direction, Headers, ReplyEncoding, RestTranscript, SseTranscript,
    Transcript, WsTranscript,
};
use crate::wire::coding;
use crate::wire::request::MAX_BODY;
use harness_fixture::capture;

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
    let mut value = normalize_transcript(fixture, transcript);
    redact_by_fixture(fixture, &mut value);
    value
}

fn normalize_transcript(fixture: &Fixture, transcript: &Transcript) -> Value {
    match transcript {
        Transcript::Rest(t) => {
            // A boundary made fresh for the request differs on every run; a pinned one shows.
            let fresh_boundary = matches!(&fixture.spec, Spec::Rest(rest)
                if rest.request.multipart.is_some() && rest.request.multipart_boundary.is_none());
            rest(t, fresh_boundary)
        }
        Transcript::Scenario(t) => {
            let Spec::Scenario(scenario) = &fixture.spec else {
                return Value::Null;
            };
            let steps = scenario.steps.iter().zip(&t.steps).map(|(step, reached)| {
                let fresh_boundary =
                    step.request.multipart.is_some() && step.request.multipart_boundary.is_none();
                let mut view = rest(reached, fresh_boundary);
                if let Some(request) = view.get_mut("request") {
                    let substituted = super::scenario::substituted(step, &t.captures);
                    super::scenario::write_back(request, &substituted);
                }
                view
            });
            let mut out = Map::new();
            out.insert("steps".into(), steps.collect());
            if !t.captures.is_empty() {
                out.insert("captures".into(), captures_by_class(&t.captures));
            }
            Value::Object(out)
        }
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

fn rest(t: &RestTranscript, fresh_boundary: bool) -> Value {
    let mut out = Map::new();
    let mut sent_headers = t.request.headers.clone();
    let mut sent_body = t.request.body.clone();
    if fresh_boundary && let Some(sent) = &mut sent_body {
        hide_boundary(&mut sent.0, &mut sent_headers);
    }
    let mut sent_body = sent_body.as_ref().map(body);
    // The body before its content coding, the coding beside it.
    if let (Some(coding), Some(Value::Object(view))) =
        (t.request.content_encoding, sent_body.as_mut())
    {
        view.insert("content_encoding".into(), coding.token().into());
    }
    out.insert(
        "request".into(),
        json!({
            "method": t.request.method,
            "target": t.request.target,
            "headers": headers(&sent_headers),
            "body": sent_body,
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
                "body": reply_body(&response.body, response.encoding.as_ref()),
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
    if !t.captures.is_empty() {
        out.insert("captures".into(), captures_by_class(&t.captures));
    }
    finish(out, &t.interrupted)
}

/// Captured values by class (`<<string>>`...): they may differ on every run.
fn captures_by_class(captures: &capture::Bindings) -> Value {
    captures
        .iter()
        .map(|(name, value)| (name.clone(), Value::from(capture::class_of(value))))
        .collect::<Map<_, _>>()
        .into()
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
            json!({"status": reply.status, "headers": headers(&reply.headers), "body": reply_body(&reply.body, reply.encoding.as_ref())}),
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

/// What stands for a multipart boundary made fresh for the request.
const BOUNDARY_TOKEN: &str = "<boundary>";

/// Replaces a multipart body's boundary (its first line is `--BOUNDARY`) with
/// [`BOUNDARY_TOKEN`], in the body and in the request's headers (its `content-type`).
fn hide_boundary(body: &mut Vec<u8>, headers: &mut Headers) {
    let Some(line) = body
        .strip_prefix(b"--")
        .and_then(|rest| rest.split(|&b| b == b'\r').next())
    else {
        return;
    };
    let Ok(boundary) = String::from_utf8(line.to_vec()) else {
        return;
    };
    if boundary.is_empty() {
        return;
    }
    *body = replace_bytes(body, boundary.as_bytes(), BOUNDARY_TOKEN.as_bytes());
    for (_, value) in headers.iter_mut() {
        *value = value.replace(&boundary, BOUNDARY_TOKEN);
    }
}

/// `haystack` with every occurrence of `needle` (not empty) replaced by `with`.
fn replace_bytes(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while !rest.is_empty() {
        if rest.starts_with(needle) {
            out.extend_from_slice(with);
            rest = &rest[needle.len()..];
        } else {
            out.push(rest[0]);
            rest = &rest[1..];
        }
    }
    out
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
        Spec::Scenario(scenario) => {
            for (index, step) in scenario.steps.iter().enumerate() {
                let base = format!("/steps/{index}/response");
                if let (Some(want), Some(got)) = (
                    &step.expected.body,
                    value.pointer_mut(&format!("{base}/body/json")),
                ) {
                    redact_matched(want, got);
                }
                if let Some(got) = value.pointer_mut(&format!("{base}/headers")) {
                    redact_matched(&header_expectations(&step.expected.headers), got);
                }
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
            if let Some(Value::Array(steps)) = value.get_mut("steps") {
                super::ws_steps::redact_and_sort(ws, steps, redact_matched);
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

/// Replaces `actual` by the class matcher (`<<number>>`...) wherever `expected` holds one.
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

/// A reply body as the snapshot shows it. A body in a content coding is shown decoded, beside
/// `"content_encoding": "gzip"` (the codings, as [`coding::codings`] lists them): its bytes may
/// differ on every run (gzip's header holds the time it was compressed) while the content does
/// not. One that does not decode is shown as it came (gzip's MTIME bytes zeroed), beside
/// `"content_encoding": "gzip, not decoded: <reason>"`.
fn reply_body(body: &Body, encoding: Option<&ReplyEncoding>) -> Value {
    let Some(encoding) = encoding else {
        return self::body(body);
    };
    let codings = coding::codings(encoding.content_encoding.split(',')).join(", ");
    let (mut view, note) = match &encoding.undecodable {
        None => (self::body(body), codings),
        Some(reason) => {
            let mut bytes = body.0.clone();
            if bytes.len() >= 10 && bytes[..2] == [0x1f, 0x8b] {
                bytes[4..8].fill(0);
            }
            (
                self::body(&Body(bytes)),
                format!("{codings}, not decoded: {reason}"),
            )
        }
    };
    if let Value::Object(map) = &mut view {
        map.insert("content_encoding".into(), note.into());
    }
    view
}

/// A body read as it came (an SSE reply that is not an event stream), shown as
/// [`reply_body`] shows a decoded one.
fn encoded_body(raw: &Body, reply_headers: &Headers) -> Value {
    let lines = crate::results::transcript::header_values(reply_headers, "content-encoding");
    match coding::decode_reply(&lines, raw.0.clone(), MAX_BODY) {
        Ok((decoded, encoding)) => reply_body(&Body(decoded), encoding.as_ref()),
        Err(too_large) => {
            let encoding = ReplyEncoding {
                content_encoding: lines.join(", "),
                encoded_length: raw.0.len() as u64,
                undecodable: Some(too_large.to_string()),
            };
            reply_body(raw, Some(&encoding))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    use crate::results::transcript::{Frame, Handshake, WsRecord, WsStepEnd};
    use harness_fixture::parse_fixture_bytes;

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

    fn transcript(
        headers: Headers,
        body: &[u8],
        coding: Option<harness_fixture::model::Coding>,
    ) -> RestTranscript {
        use crate::results::transcript::{Arrival, ReceivedResponse, SentRequest};
        RestTranscript {
            request: SentRequest {
                method: "POST".into(),
                target: "/up".into(),
                headers,
                body: Some(Body(body.to_vec())),
                content_encoding: coding,
            },
            redirects: Vec::new(),
            response: Some(ReceivedResponse {
                status: 200,
                headers: vec![("content-encoding".into(), "br".into())],
                body: Body(br#"{"ok":true}"#.to_vec()),
                encoding: Some(ReplyEncoding {
                    content_encoding: "br".into(),
                    encoded_length: 15,
                    undecodable: None,
                }),
                elapsed_us: 1234,
                first_byte_ms: 1,
                arrivals: vec![Arrival {
                    at_ms: 1,
                    bytes: 15,
                }],
            }),
            interrupted: None,
        }
    }

    #[test]
    fn a_fresh_multipart_boundary_is_hidden_and_a_pinned_one_shown() {
        let headers = vec![(
            "content-type".to_string(),
            "multipart/form-data; boundary=bh-0123456789abcdef01234567".to_string(),
        )];
        let body = b"--bh-0123456789abcdef01234567\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n\x00\xff\r\n--bh-0123456789abcdef01234567--\r\n";
        let hidden = rest(&transcript(headers.clone(), body, None), true);
        assert_eq!(
            hidden["request"]["headers"]["content-type"],
            "multipart/form-data; boundary=<boundary>"
        );
        use base64::Engine;
        let shown = hidden["request"]["body"]["base64"].as_str().unwrap();
        let sent = base64::engine::general_purpose::STANDARD
            .decode(shown)
            .unwrap();
        let expected = b"--<boundary>\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n\x00\xff\r\n--<boundary>--\r\n";
        assert_eq!(sent, expected.to_vec());
        let pinned = rest(&transcript(headers, body, None), false);
        assert_eq!(
            pinned["request"]["headers"]["content-type"],
            "multipart/form-data; boundary=bh-0123456789abcdef01234567"
        );
    }

    #[test]
    fn bodies_show_before_their_coding_with_the_coding_beside_them() {
        let t = transcript(
            vec![("content-encoding".into(), "gzip".into())],
            br#"{"n":1}"#,
            Some(harness_fixture::model::Coding::Gzip),
        );
        let value = rest(&t, false);
        assert_eq!(
            value["request"]["body"],
            json!({"json": {"n": 1}, "content_encoding": "gzip"})
        );
        assert_eq!(
            value["response"]["body"],
            json!({"json": {"ok": true}, "content_encoding": "br"})
        );
        // No timing: not the elapsed time, not the arrivals.
        let text = value.to_string();
        assert!(
            !text.contains("arrivals") && !text.contains("first_byte"),
            "{text}"
        );
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

    fn ws_received(step: usize, text: &str) -> WsRecord {
        WsRecord {
            step,
            direction: Direction::Received,
            frame: Frame::Text(text.into()),
            at_us: 0,
        }
    }

    #[test]
    fn unordered_replies_show_sorted_redacted_and_ignored_messages_not_at_all() {
        let doc = json!({"name": "w", "protocol": "websocket", "connect": {"path": "/ws"},
        "ignore": [{"json_partial": {"type": "heartbeat"}}],
        "transcript": [
            {"send": {"text": "go"}},
            {"expect_unordered": [{"json": {"id": 1, "at": "<<number>>"}}, {"json": {"id": 2}}]},
            {"expect_count": {"count": 2, "message": {"json_partial": {"n": "<<number>>"}}}}
        ]});
        let fixture = parse_fixture_bytes(Path::new("w.json"), doc.to_string().as_bytes())
            .unwrap_or_else(|e| panic!("{e:#?}"));
        assert!(matches!(fixture.spec, Spec::WebSocket(_)));
        let transcript = |first: &str, second: &str| {
            Transcript::WebSocket(WsTranscript {
                handshake: Some(Handshake {
                    status: 101,
                    subprotocol: None,
                    headers: Vec::new(),
                    body: None,
                }),
                steps: vec![
                    WsRecord {
                        step: 0,
                        direction: Direction::Sent,
                        frame: Frame::Text("go".into()),
                        at_us: 0,
                    },
                    ws_received(1, first),
                    ws_received(1, second),
                    ws_received(2, r#"{"n":7}"#),
                    ws_received(2, r#"{"n":8}"#),
                ],
                step_ends: vec![WsStepEnd {
                    step: 1,
                    ignored: 4,
                    at_us: 9,
                }],
                captures: Default::default(),
                interrupted: None,
            })
        };
        let one = normalize(&fixture, &transcript(r#"{"id":2}"#, r#"{"id":1,"at":5}"#));
        let other = normalize(&fixture, &transcript(r#"{"id":1,"at":6}"#, r#"{"id":2}"#));
        assert_eq!(one, other, "the order of an unordered set does not show");
        assert_eq!(
            one["steps"][1]["received"],
            json!({"json": {"id": 1, "at": "<<number>>"}})
        );
        assert_eq!(one["steps"][2]["received"], json!({"json": {"id": 2}}));
        // expect_count keeps the server's order; its class matchers redact.
        assert_eq!(
            one["steps"][3]["received"],
            json!({"json": {"n": "<<number>>"}})
        );
        assert!(one.get("step_ends").is_none(), "{one:#}");
    }
}
