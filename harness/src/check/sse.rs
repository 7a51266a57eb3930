//! Checks of an SSE stream: status, headers, each event, how it ended.

use harness_fixture::model::{BodyMatch, SseEnd, SseFixture};
use serde_json::{Value, json};

use super::{Mismatch, check_headers, json};
use crate::transcript::{SseTranscript, StreamEnd};

pub(super) fn check(fixture: &SseFixture, transcript: &SseTranscript) -> Vec<Mismatch> {
    let expected = &fixture.expected;
    let mut out = Vec::new();
    let Some(status) = transcript.status else {
        return out; // interrupted: the fixture is errored with the reason
    };
    if status != expected.status {
        out.push(Mismatch::new(
            "/status",
            expected.status.into(),
            status.into(),
            "different status",
        ));
    }
    check_headers(&expected.headers, &transcript.headers, "/headers", &mut out);

    for (index, want) in expected.events.iter().enumerate() {
        let path = format!("/events/{index}");
        let Some(got) = transcript.events.get(index) else {
            if transcript.interrupted.is_none() {
                let message = match transcript.end {
                    StreamEnd::Closed => "the stream ended before this event",
                    _ => "not received",
                };
                out.push(Mismatch::new(
                    path,
                    expected_event(want),
                    Value::Null,
                    message,
                ));
            }
            break;
        };
        if let Some(event) = &want.event {
            json::compare_text(event, Some(&got.event), &format!("{path}/event"), &mut out);
        }
        if let Some(id) = &want.id {
            json::compare_text(id, Some(&got.id), &format!("{path}/id"), &mut out);
        }
        if let Some(retry) = want.retry
            && got.retry != Some(retry)
        {
            out.push(Mismatch::new(
                format!("{path}/retry"),
                retry.into(),
                json!(got.retry),
                "different retry",
            ));
        }
        if let Some(data) = &want.data {
            json::compare_text(data, Some(&got.data), &format!("{path}/data"), &mut out);
        }
        for (key, want_json, mode) in [
            ("json", &want.json, BodyMatch::Exact),
            ("json_partial", &want.json_partial, BodyMatch::Partial),
        ] {
            if let Some(want_json) = want_json {
                match serde_json::from_str::<Value>(&got.data) {
                    Ok(got_json) => json::compare(
                        want_json,
                        Some(&got_json),
                        mode,
                        &format!("{path}/{key}"),
                        &mut out,
                    ),
                    Err(_) => out.push(Mismatch::new(
                        format!("{path}/{key}"),
                        want_json.clone(),
                        got.data.clone().into(),
                        "data is not JSON",
                    )),
                }
            }
        }
    }
    if expected.end == SseEnd::Closed {
        for (index, extra) in transcript
            .events
            .iter()
            .enumerate()
            .skip(expected.events.len())
        {
            let actual = json!({"event": extra.event, "id": extra.id, "data": extra.data});
            out.push(Mismatch::new(
                format!("/events/{index}"),
                Value::Null,
                actual,
                "unexpected event",
            ));
        }
    }
    out
}

fn expected_event(want: &harness_fixture::model::ExpectedEvent) -> Value {
    let mut object = serde_json::Map::new();
    let fields = [
        ("event", want.event.clone().map(Value::from)),
        ("id", want.id.clone().map(Value::from)),
        ("retry", want.retry.map(Value::from)),
        ("data", want.data.clone().map(Value::from)),
        ("json", want.json.clone()),
        ("json_partial", want.json_partial.clone()),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            object.insert(key.into(), value);
        }
    }
    Value::Object(object)
}
