//! How a WebSocket conversation's received messages show in a snapshot, per step: redacted
//! where the step's matchers expect a class matcher (`<<number>>`...), and, for the steps of
//! format 1.1 whose order does not count (`expect_unordered`), sorted so that a server that
//! answers in another order on another run leaves the snapshot as it was. Messages skipped by
//! `ignore` never show (the transcript counts them, in `step_ends`): how many heartbeats come
//! depends on timing.

use harness_fixture::capture;
use harness_fixture::model::{WsFixture, WsMatch, WsMessage, WsStep};
use serde_json::{Value, json};

use crate::check::ws_sets::message_matches;
use crate::results::transcript::Frame;

/// Redacts (with `redact_matched`: the expected value, the received one), then orders, the
/// normalized `steps` (`{"step": N, "received": ...}`) of `ws`.
pub(super) fn redact_and_sort(
    ws: &WsFixture,
    steps: &mut [Value],
    redact_matched: fn(&Value, &mut Value),
) {
    for record in steps.iter_mut() {
        let Some(step) = step_of(ws, record) else {
            continue;
        };
        // A message sent with captured values substituted shows as written (`{{NAME}}`): the
        // values may differ on every run.
        if let (WsStep::Send(message), Some(sent)) = (step, record.get_mut("sent"))
            && capture::has_placeholders(message)
        {
            *sent = match message {
                WsMessage::Json(value) => json!({ "json": value }),
                WsMessage::Text(text) => match serde_json::from_str::<Value>(text) {
                    Ok(value) => json!({ "json": value }),
                    Err(_) => json!({ "text": text }),
                },
                WsMessage::BinaryBase64(_) => continue,
            };
            continue;
        }
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
