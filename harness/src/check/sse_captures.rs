//! Captures in an SSE fixture (format 1.1): `<<capture:NAME>>` in an expected header or in an
//! expected event's `id`, `event`, `data`, `json` or `json_partial` binds what the stream had
//! there (the event of the same index); `<<same_as:NAME>>` in a later event expects it again.
//! A stream is one request, so the bindings come from the transcript when it is checked.

use harness_fixture::capture::{self, Bindings, CaptureToken};
use harness_fixture::model::{HeaderExpectation, SseFixture};
use serde_json::Value;

use crate::results::transcript::{SseTranscript, header_values};

/// Whether the fixture captures anything (else it is checked as it is).
pub(super) fn captures(fixture: &SseFixture) -> bool {
    let texts = fixture
        .expected
        .events
        .iter()
        .flat_map(|e| [&e.id, &e.event, &e.data]);
    let headers = fixture.expected.headers.values().filter_map(|h| match h {
        HeaderExpectation::One(text) => Some(text),
        HeaderExpectation::Lines(_) => None,
    });
    let json = fixture
        .expected
        .events
        .iter()
        .flat_map(|e| [&e.json, &e.json_partial])
        .flatten()
        .any(|v| v.to_string().contains("<<capture:"));
    json || texts
        .flatten()
        .chain(headers)
        .any(|t| matches!(capture::token(t), Some(CaptureToken::Capture(_))))
}

/// The values the expectations of `fixture` capture from `transcript`.
pub(super) fn bind(fixture: &SseFixture, transcript: &SseTranscript) -> Bindings {
    let mut out = Bindings::new();
    for (name, want) in &fixture.expected.headers {
        if let HeaderExpectation::One(text) = want
            && let Some(value) = header_values(&transcript.headers, name).first()
        {
            capture::bind_json(&Value::from(text.as_str()), &Value::from(*value), &mut out);
        }
    }
    for (want, got) in fixture.expected.events.iter().zip(&transcript.events) {
        for (field, actual) in [
            (&want.id, &got.id),
            (&want.event, &got.event),
            (&want.data, &got.data),
        ] {
            if let Some(field) = field {
                capture::bind_json(
                    &Value::from(field.as_str()),
                    &Value::from(actual.as_str()),
                    &mut out,
                );
            }
        }
        if let Ok(actual) = serde_json::from_str::<Value>(&got.data) {
            for expected in [&want.json, &want.json_partial].into_iter().flatten() {
                capture::bind_json(expected, &actual, &mut out);
            }
        }
    }
    out
}

/// The fixture with every `<<same_as:NAME>>` of its events resolved from `bindings`.
pub(super) fn resolved(fixture: &SseFixture, bindings: &Bindings) -> SseFixture {
    let mut resolved = fixture.clone();
    for event in &mut resolved.expected.events {
        *event = event.resolved(bindings);
    }
    resolved
}
