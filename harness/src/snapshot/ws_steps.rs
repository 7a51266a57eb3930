//! How a WebSocket conversation's received messages show in a snapshot, per step: redacted
//! where the step's matchers expect a class matcher (`<<number>>`...), and, for the steps of
//! format 1.1 whose order does not count (`expect_unordered`), sorted so that a server that
//! answers in another order on another run leaves the snapshot as it was. Messages skipped by
//! `ignore` never show (the transcript counts them, in `step_ends`): how many heartbeats come
//! depends on timing.

use harness_fixture::model::{WsFixture, WsMatch, WsStep};
use serde_json::Value;

use super::normalize::redact_matched;
use crate::check::ws_sets::message_matches;
use crate::results::transcript::Frame;

/// Redacts, then orders, the normalized `steps` (`{"step": N, "received": ...}`) of `ws`.
pub(super) fn redact_and_sort(ws: &WsFixture, steps: &mut [Value]) {
    for record in steps.iter_mut() {
        let Some(step) = step_of(ws, record) else {
            continue;
        };
        let Some(got) = record.pointer_mut("/received/json") else {
            continue;
        };
        let want = match step {
            WsStep::Expect(expect) => Some(&expect.matches),
            WsStep::ExpectCount(count) => Some(&count.message),
            // The first matcher of the set that the message satisfies.
            WsStep::ExpectUnordered(set) | WsStep::ExpectAnyOf(set) => {
                let frame = Frame::Text(got.to_string());
                set.messages.iter().find(|w| message_matches(w, &frame))
            }
            _ => None,
        };
        if let Some(WsMatch::Json(want) | WsMatch::JsonPartial(want)) = want {
            redact_matched(want, got);
        }
    }
    // Runs of records of one expect_unordered step, each sorted by its text.
    let mut start = 0;
    while start < steps.len() {
        let index = steps[start].get("step").and_then(Value::as_u64);
        let mut end = start + 1;
        while end < steps.len() && steps[end].get("step").and_then(Value::as_u64) == index {
            end += 1;
        }
        if matches!(step_of(ws, &steps[start]), Some(WsStep::ExpectUnordered(_))) {
            steps[start..end].sort_by_cached_key(Value::to_string);
        }
        start = end;
    }
}

/// The fixture step a normalized record belongs to.
fn step_of<'a>(ws: &'a WsFixture, record: &Value) -> Option<&'a WsStep> {
    let index = record.get("step").and_then(Value::as_u64)?;
    ws.transcript.get(usize::try_from(index).ok()?)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use harness_fixture::{Spec, parse_fixture_bytes};
    use serde_json::json;

    use super::super::normalize::normalize;
    use crate::results::transcript::{
        Direction, Frame, Handshake, Transcript, WsRecord, WsStepEnd, WsTranscript,
    };

    fn received(step: usize, text: &str) -> WsRecord {
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
                    received(1, first),
                    received(1, second),
                    received(2, r#"{"n":7}"#),
                    received(2, r#"{"n":8}"#),
                ],
                step_ends: vec![WsStepEnd {
                    step: 1,
                    ignored: 4,
                    at_us: 9,
                }],
                interrupted: None,
            })
        };
        let one = normalize(&fixture, &transcript(r#"{"id":2}"#, r#"{"id":1,"at":5}"#));
        let other = normalize(&fixture, &transcript(r#"{"id":1,"at":6}"#, r#"{"id":2}"#));
        assert_eq!(one, other, "the order of an unordered set does not show");
        assert_eq!(one["steps"][1]["received"], json!({"json": {"id": 1, "at": "<<number>>"}}));
        assert_eq!(one["steps"][2]["received"], json!({"json": {"id": 2}}));
        // expect_count keeps the server's order; its class matchers redact.
        assert_eq!(one["steps"][3]["received"], json!({"json": {"n": "<<number>>"}}));
        assert!(one.get("step_ends").is_none(), "{one:#}");
    }
}
