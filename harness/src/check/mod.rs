//! Checks compare a transcript with its fixture's expectations and list every difference.
//!
//! Pure functions: no I/O. [`check`] is the entry point; each protocol has its own module.

pub mod binary;
mod broadcast;
pub mod chunks;
pub mod header;
pub mod json;
pub mod matcher;
mod rest;
pub(crate) mod scenario;
mod sse;
mod sse_captures;
mod timing;
mod ws;
pub(crate) mod ws_sets;

use harness_fixture::{Fixture, Spec};

use crate::results::Mismatch;
pub(crate) use rest::undecodable_message;
pub(crate) use sse::{DEFAULT_TYPE_DIFFERS, event_matches, expected_event_type};
pub(crate) use ws::json_expectation;

use crate::results::transcript::{Headers, Transcript, header_values};

/// Every difference between what `fixture` expects and what `transcript` recorded.
pub fn check(fixture: &Fixture, transcript: &Transcript) -> Vec<Mismatch> {
    match (&fixture.spec, transcript) {
        (Spec::Rest(f), Transcript::Rest(t)) => rest::check(f, t),
        (Spec::Scenario(f), Transcript::Scenario(t)) => scenario::check(f, t),
        (Spec::WebSocket(f), Transcript::WebSocket(t)) if t.captures.is_empty() => ws::check(f, t),
        // `<<same_as:NAME>>` compared with what the replay captured (format 1.1).
        (Spec::WebSocket(f), Transcript::WebSocket(t)) => {
            let mut resolved = f.clone();
            for step in &mut resolved.transcript {
                *step = harness_fixture::capture::resolve_step(step, &t.captures);
            }
            ws::check(&resolved, t)
        }
        (Spec::Sse(f), Transcript::Sse(t)) if !sse_captures::captures(f) => sse::check(f, t),
        // `<<same_as:NAME>>` compared with what earlier events had (format 1.1).
        (Spec::Sse(f), Transcript::Sse(t)) => {
            let bindings = sse_captures::bind(f, t);
            sse::check(&sse_captures::resolved(f, &bindings), t)
        }
        (Spec::Broadcast(f), Transcript::Broadcast(t)) => broadcast::check(f, t),
        _ => vec![Mismatch::new(
            "",
            "a transcript of the fixture's protocol".into(),
            serde_json::Value::Null,
            "protocol mix-up",
        )],
    }
}

/// Checks the named headers, case-insensitively, by the rule of [`header`]: a string expects
/// the header sent once, an array each of its lines in order.
fn check_headers(
    expected: &harness_fixture::model::ExpectedHeaders,
    actual: &Headers,
    base: &str,
    out: &mut Vec<Mismatch>,
) {
    for (name, expectation) in expected {
        let path = header::pointer(base, name);
        let want = serde_json::to_value(expectation).unwrap_or_default();
        let lines = header_values(actual, name);
        match header::HeaderWant::new(expectation) {
            Err(error) => out.push(Mismatch::new(
                path,
                want,
                lines
                    .first()
                    .map_or(serde_json::Value::Null, |v| (*v).into()),
                error.to_string(),
            )),
            Ok(compiled) => {
                if let Some(fault) = compiled.fault(lines.iter().map(|v| Some(*v))) {
                    out.push(header::mismatch(fault, &path, &want, &lines));
                }
            }
        }
    }
}

/// Validates `value` against a JSON Schema, one mismatch per error under `base`.
fn check_schema(
    schema: &serde_json::Value,
    value: &serde_json::Value,
    base: &str,
    out: &mut Vec<Mismatch>,
) {
    match harness_fixture::schema::compile(schema) {
        Err(message) => out.push(Mismatch::new(base, schema.clone(), value.clone(), message)),
        Ok(validator) => {
            // Each error quotes only the value at fault (clipped in its message), and there are
            // at most MAX_SCHEMA_ERRORS: a large reply of many bad items stays a short diff.
            const MAX_SCHEMA_ERRORS: usize = 20;
            let mut errors = validator.iter_errors(value);
            for error in errors.by_ref().take(MAX_SCHEMA_ERRORS) {
                let path = format!("{base}{}", error.instance_path().as_str());
                out.push(Mismatch::new(
                    path,
                    schema.clone(),
                    error.instance().clone().into_owned(),
                    format!("schema: {}", harness_fixture::schema::describe(&error)),
                ));
            }
            let more = errors.count();
            if more > 0 {
                out.push(Mismatch::new(
                    base,
                    schema.clone(),
                    serde_json::Value::Null,
                    format!("schema: {more} more errors not shown"),
                ));
            }
        }
    }
}
