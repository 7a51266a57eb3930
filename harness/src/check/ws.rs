//! Checks of a WebSocket conversation: the handshake, then every step against its record.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use harness_fixture::model::{BodyMatch, WsFixture, WsMatch, WsStep};
use serde_json::{Value, json};

use super::{Mismatch, check_headers, check_schema, json, ws_sets};
use crate::results::transcript::{Direction, Frame, WsRecord, WsTranscript};

/// The close code that stands for a close frame without one.
const NO_STATUS: u16 = 1005;

pub(super) fn check(fixture: &WsFixture, transcript: &WsTranscript) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let Some(handshake) = &transcript.handshake else {
        return out; // interrupted before any reply: the fixture is errored with the reason
    };
    let expect_handshake = match fixture.transcript.first() {
        Some(WsStep::ExpectHandshake(h)) => Some(h),
        _ => None,
    };
    let want_status = expect_handshake.map_or(101, |h| h.status);
    if handshake.status != want_status {
        let path = if expect_handshake.is_some() {
            "/transcript/0/expect_handshake/status"
        } else {
            "/connect"
        };
        let actual =
            json!({"status": handshake.status, "body": handshake.body.as_ref().map(|b| b.view())});
        out.push(Mismatch::new(
            path,
            want_status.into(),
            actual,
            "different handshake status",
        ));
        return out;
    }
    if let Some(h) = expect_handshake {
        if let Some(want) = &h.subprotocol {
            let got = handshake
                .subprotocol
                .clone()
                .map_or(Value::Null, Value::from);
            if *want != got {
                out.push(Mismatch::new(
                    "/transcript/0/expect_handshake/subprotocol",
                    want.clone(),
                    got,
                    "different subprotocol",
                ));
            }
        }
        check_headers(
            &h.headers,
            &handshake.headers,
            "/transcript/0/expect_handshake/headers",
            &mut out,
        );
    }

    check_steps(fixture, transcript, &mut out);
    out
}

/// Every step against what it recorded, in order, until the first step not reached.
fn check_steps(fixture: &WsFixture, transcript: &WsTranscript, out: &mut Vec<Mismatch>) {
    let mut previous_at = 0;
    for (index, step) in fixture.transcript.iter().enumerate() {
        if matches!(step, WsStep::ExpectHandshake(_)) {
            continue;
        }
        let path = format!("/transcript/{index}/{}", step.kind());
        let end = transcript.step_ends.iter().find(|e| e.step == index);
        if step.is_multiplexed() {
            // Reached when it ended; what it read are all the records of the step.
            let Some(end) = end else {
                if transcript.interrupted.is_none() {
                    not_reached(transcript, path, out);
                }
                break;
            };
            let frames: Vec<&Frame> = transcript
                .steps
                .iter()
                .filter(|r| r.step == index)
                .map(|r| &r.frame)
                .collect();
            let last_at = transcript
                .steps
                .iter()
                .rfind(|r| r.step == index)
                .map(|r| r.at_us)
                .unwrap_or(end.at_us);
            let waited_ms = last_at.saturating_sub(previous_at) / 1000;
            previous_at = end.at_us;
            ws_sets::check_set(step, &frames, waited_ms, &path, out);
            continue;
        }
        let Some(record) = transcript.steps.iter().find(|r| r.step == index) else {
            if transcript.interrupted.is_none() {
                not_reached(transcript, path, out);
            }
            break;
        };
        let waited_ms = record.at_us.saturating_sub(previous_at) / 1000;
        previous_at = record.at_us;
        check_step(step, record, waited_ms, &path, out);
    }
}

/// A step the conversation did not reach: it had ended before (the last frame shown).
fn not_reached(transcript: &WsTranscript, path: String, out: &mut Vec<Mismatch>) {
    let last = transcript.steps.last().map(|r| json!(r.frame));
    out.push(Mismatch::new(
        path,
        Value::Null,
        last.unwrap_or(Value::Null),
        "not reached: the connection had ended",
    ));
}

fn check_step(
    step: &WsStep,
    record: &WsRecord,
    waited_ms: u64,
    path: &str,
    out: &mut Vec<Mismatch>,
) {
    let received = record.direction == Direction::Received;
    match step {
        WsStep::Send(_) | WsStep::Ping(_) | WsStep::Close(_) => {
            if received {
                out.push(Mismatch::new(
                    path,
                    Value::Null,
                    json!(record.frame),
                    "could not send: the connection had ended",
                ));
            }
        }
        WsStep::Expect(expect) => {
            check_message(&expect.matches, &record.frame, path, out);
            check_deadline(expect.within_ms, waited_ms, "arrived", path, out);
        }
        WsStep::ExpectPong(payload) => match &record.frame {
            Frame::Pong(got) if got == payload => {}
            other => out.push(Mismatch::new(
                path,
                json!({"pong": payload}),
                json!(other),
                "expected a pong",
            )),
        },
        WsStep::ExpectClose(expect) => {
            // A close frame without a code reads as 1005 ("no status code was present", RFC 6455
            // 7.4.1), the end of the connection without a close frame as 1006.
            let (code, reason) = match &record.frame {
                Frame::Close { code, reason } => (*code, Some(reason.as_str())),
                Frame::Ended => (Some(1006), None),
                other => {
                    out.push(Mismatch::new(
                        path,
                        json!({"close": expect.code}),
                        json!(other),
                        "expected the connection to close",
                    ));
                    return;
                }
            };
            if let Some(want) = expect.code
                && want != code.unwrap_or(NO_STATUS)
            {
                let message = if code.is_some() {
                    "different close code"
                } else {
                    "different close code: the close frame had none"
                };
                out.push(Mismatch::new(
                    format!("{path}/code"),
                    want.into(),
                    json!(code),
                    message,
                ));
            }
            if let Some(want) = &expect.reason {
                json::compare_text(want, reason, &format!("{path}/reason"), out);
            }
            check_deadline(expect.within_ms, waited_ms, "closed", path, out);
        }
        WsStep::ExpectHandshake(_)
        | WsStep::ExpectUnordered(_)
        | WsStep::ExpectAnyOf(_)
        | WsStep::ExpectCount(_)
        | WsStep::ExpectNone(_) => {}
    }
}

/// A step's `within_ms`: the frame `what` (arrived, closed) no later than that.
fn check_deadline(
    within: Option<u64>,
    waited_ms: u64,
    what: &str,
    path: &str,
    out: &mut Vec<Mismatch>,
) {
    if let Some(within) = within
        && waited_ms > within
    {
        let message = format!("{what} after {waited_ms} ms");
        out.push(Mismatch::new(
            format!("{path}/within_ms"),
            within.into(),
            waited_ms.into(),
            message,
        ));
    }
}

/// Every difference between the message `want` and `frame`, under `path`.
pub(super) fn check_message(want: &WsMatch, frame: &Frame, path: &str, out: &mut Vec<Mismatch>) {
    match (want, frame) {
        (WsMatch::BinaryBase64(b64), Frame::Binary(bytes)) => {
            let got = BASE64.encode(bytes);
            if *b64 != got {
                out.push(Mismatch::new(
                    format!("{path}/binary_base64"),
                    b64.as_str().into(),
                    got.into(),
                    "different bytes",
                ));
            }
        }
        (WsMatch::Text(want), Frame::Text(text)) => {
            json::compare_text(want, Some(text), &format!("{path}/text"), out)
        }
        (
            WsMatch::Json(_) | WsMatch::JsonPartial(_) | WsMatch::JsonSchema(_),
            Frame::Text(text),
        ) => {
            let (key, expected) = json_expectation(want);
            let path = format!("{path}/{key}");
            let Ok(got) = serde_json::from_str::<Value>(text) else {
                out.push(Mismatch::new(
                    path,
                    expected.clone(),
                    text.as_str().into(),
                    "message is not JSON",
                ));
                return;
            };
            match want {
                WsMatch::Json(w) => json::compare(w, Some(&got), BodyMatch::Exact, &path, out),
                WsMatch::JsonPartial(w) => {
                    json::compare(w, Some(&got), BodyMatch::Partial, &path, out)
                }
                WsMatch::JsonSchema(schema) => check_schema(schema, &got, &path, out),
                _ => {}
            }
        }
        (want, other) => {
            let (key, expected) = json_expectation(want);
            let wanted = if matches!(want, WsMatch::BinaryBase64(_)) {
                "a binary message"
            } else {
                "a text message"
            };
            out.push(Mismatch::new(
                format!("{path}/{key}"),
                expected.clone(),
                json!(other),
                format!("expected {wanted}"),
            ));
        }
    }
}

/// The key of an `expect` step's matcher (`json`, `text`...) and its expected value.
pub(crate) fn json_expectation(want: &WsMatch) -> (&'static str, Value) {
    match want {
        WsMatch::Text(t) => ("text", t.as_str().into()),
        WsMatch::Json(v) => ("json", v.clone()),
        WsMatch::JsonPartial(v) => ("json_partial", v.clone()),
        WsMatch::JsonSchema(v) => ("json_schema", v.clone()),
        WsMatch::BinaryBase64(b) => ("binary_base64", b.as_str().into()),
    }
}
