//! Checks of an SSE stream: status, headers, each event, how it ended.
//!
//! An expected event without `event` expects the default type `message` (what the WHATWG event
//! stream rules give an event without an `event:` field); `"<<any>>"` accepts any type.

use harness_fixture::model::{BodyMatch, ExpectedEvent, SseEnd, SseFixture};
use serde_json::{Value, json};

use super::{Mismatch, check_headers, json};
use crate::results::transcript::{ReceivedEvent, SseTranscript, StreamEnd};

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
    super::timing::check_sse(fixture, transcript, &mut out);

    for (index, want) in expected.events.iter().enumerate() {
        let path = format!("/events/{index}");
        let Some(got) = transcript.events.get(index) else {
            if transcript.interrupted.is_none() {
                let message = match transcript.end {
                    StreamEnd::Closed => "the stream ended before this event",
                    _ => "not received",
                };
                out.push(Mismatch::missing(path, expected_event(want), message));
            }
            break;
        };
        check_event(want, got, &path, &mut out);
    }
    if expected.end == SseEnd::Closed {
        for (index, extra) in transcript
            .events
            .iter()
            .enumerate()
            .skip(expected.events.len())
        {
            let actual = json!({"event": extra.event, "id": extra.id, "data": extra.data});
            out.push(Mismatch::unexpected(
                format!("/events/{index}"),
                actual,
                "unexpected event",
            ));
        }
    }
    out
}

/// Whether `got` satisfies `want` in every field given (an `ignore` matcher of the fixture).
pub(crate) fn event_matches(want: &ExpectedEvent, got: &ReceivedEvent) -> bool {
    let mut out = Vec::new();
    check_event(want, got, "", &mut out);
    out.is_empty()
}

/// One received event against its expectation: type, id, retry, data, JSON.
fn check_event(want: &ExpectedEvent, got: &ReceivedEvent, path: &str, out: &mut Vec<Mismatch>) {
    check_event_type(
        want.event.as_deref(),
        &got.event,
        &format!("{path}/event"),
        out,
    );
    if let Some(id) = &want.id {
        json::compare_text(id, Some(&got.id), &format!("{path}/id"), out);
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
        json::compare_text(data, Some(&got.data), &format!("{path}/data"), out);
    }
    if let Some(schema) = &want.json_schema {
        let path = format!("{path}/json_schema");
        match serde_json::from_str::<Value>(&got.data) {
            Ok(got_json) => super::check_schema(schema, &got_json, &path, out),
            Err(_) => out.push(Mismatch::new(
                path,
                schema.clone(),
                got.data.clone().into(),
                "data is not JSON",
            )),
        }
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
                    out,
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

/// The event type an expectation stands for: `event` when given, else the default `message`.
pub(crate) fn expected_event_type(event: Option<&str>) -> &str {
    event.unwrap_or(DEFAULT_EVENT_TYPE)
}

/// The type of an event without an `event:` field (WHATWG HTML, "dispatch the event").
pub(crate) const DEFAULT_EVENT_TYPE: &str = "message";

/// Compares an event's type with the expected one (`None`: the default `message`); when the
/// fixture gave none, the message says that the default applied.
pub(super) fn check_event_type(want: Option<&str>, got: &str, path: &str, out: &mut Vec<Mismatch>) {
    let mut found = Vec::new();
    json::compare_text(expected_event_type(want), Some(got), path, &mut found);
    if want.is_none() {
        for mismatch in &mut found {
            mismatch.message = DEFAULT_TYPE_DIFFERS.into();
        }
    }
    out.append(&mut found);
}

/// What differs when an event has another type than the default one a fixture expects by
/// naming none.
pub(crate) const DEFAULT_TYPE_DIFFERS: &str = "different event type: an expected event without \"event\" means the default type \"message\" (\"<<any>>\" for any type)";

fn expected_event(want: &harness_fixture::model::ExpectedEvent) -> Value {
    let mut object = serde_json::Map::new();
    let fields = [
        ("event", want.event.clone().map(Value::from)),
        ("id", want.id.clone().map(Value::from)),
        ("retry", want.retry.map(Value::from)),
        ("data", want.data.clone().map(Value::from)),
        ("json", want.json.clone()),
        ("json_partial", want.json_partial.clone()),
        ("json_schema", want.json_schema.clone()),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            object.insert(key.into(), value);
        }
    }
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::transcript::{ReceivedEvent, SentRequest};

    fn fixture(events: Value) -> SseFixture {
        serde_json::from_value(json!({
            "request": {"path": "/s"},
            "expected": {"status": 200, "events": events},
        }))
        .unwrap()
    }

    fn stream(types: &[&str]) -> SseTranscript {
        SseTranscript {
            request: SentRequest {
                method: "GET".into(),
                target: "/s".into(),
                headers: Vec::new(),
                body: None,
                content_encoding: None,
            },
            status: Some(200),
            headers: Vec::new(),
            events: types
                .iter()
                .map(|t| ReceivedEvent {
                    event: t.to_string(),
                    id: String::new(),
                    retry: None,
                    data: "x".into(),
                    at_us: 0,
                })
                .collect(),
            ignored: 0,
            body: None,
            end: StreamEnd::Closed,
            ended_us: None,
            interrupted: None,
        }
    }

    #[test]
    fn json_schema_validates_the_data_parsed_as_json() {
        let want = fixture(json!([{"json_schema": {"type": "object", "required": ["n"],
                                                   "properties": {"n": {"type": "integer"}}}}]));
        let mut right = stream(&["message"]);
        right.events[0].data = r#"{"n": 2}"#.into();
        assert!(check(&want, &right).is_empty());
        let mut wrong = stream(&["message"]);
        wrong.events[0].data = r#"{"n": "two"}"#.into();
        let found = check(&want, &wrong);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].path, "/events/0/json_schema/n");
        assert_eq!(found[0].actual, json!("two"));
        assert!(
            found[0].message.starts_with("schema: "),
            "{}",
            found[0].message
        );
        let not_json = check(&want, &stream(&["message"]));
        assert_eq!(not_json[0].path, "/events/0/json_schema");
        assert_eq!(not_json[0].message, "data is not JSON");
    }

    #[test]
    fn an_event_without_a_type_expects_message() {
        let want = fixture(json!([{"data": "x"}]));
        assert!(check(&want, &stream(&["message"])).is_empty());
        assert_eq!(
            check(&want, &stream(&["tick"])),
            vec![Mismatch::new(
                "/events/0/event",
                json!("message"),
                json!("tick"),
                "different event type: an expected event without \"event\" means the default \
                 type \"message\" (\"<<any>>\" for any type)",
            )]
        );
    }

    #[test]
    fn a_named_or_any_type() {
        let named = fixture(json!([{"event": "tick", "data": "x"}]));
        assert!(check(&named, &stream(&["tick"])).is_empty());
        assert_eq!(
            check(&named, &stream(&["message"])),
            vec![Mismatch::new(
                "/events/0/event",
                json!("tick"),
                json!("message"),
                "different text",
            )]
        );
        let any = fixture(json!([{"event": "<<any>>"}, {"event": "<<any>>"}]));
        assert!(check(&any, &stream(&["tick", "message"])).is_empty());
    }

    #[test]
    fn an_ignore_matcher_matches_by_the_fields_given() {
        let got = &stream(&["ping"]).events[0];
        let matcher = |v: Value| serde_json::from_value::<ExpectedEvent>(v).unwrap();
        assert!(event_matches(&matcher(json!({"event": "ping"})), got));
        assert!(event_matches(
            &matcher(json!({"event": "<<any>>", "data": "x"})),
            got
        ));
        // No event type means the default "message", as for expected events.
        assert!(!event_matches(&matcher(json!({"data": "x"})), got));
        assert!(!event_matches(
            &matcher(json!({"event": "ping", "data": "y"})),
            got
        ));
    }
}
