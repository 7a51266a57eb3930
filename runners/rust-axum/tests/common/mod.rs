//! Inline fixtures for the tests: the tests do not depend on the corpus.
#![allow(dead_code)]

use std::path::PathBuf;

use harness_fixture::Fixture;
use serde_json::{Value, json};

/// Parses one fixture document, panicking with the loader's errors.
pub fn fixture(doc: Value) -> Fixture {
    let name = doc["name"].as_str().unwrap_or("unnamed").to_owned();
    let file = PathBuf::from(format!("{name}.json"));
    harness_fixture::load::parse_fixture(&file, &doc.to_string()).unwrap_or_else(|errors| {
        let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
        panic!("bad test fixture {name}: {errors:#?}")
    })
}

/// A REST fixture with this handler (the request/expected parts are placeholders).
pub fn rest(name: &str, handler: Value) -> Fixture {
    fixture(json!({
        "name": name, "protocol": "rest", "handler": handler,
        "request": {"path": "/"}, "expected": {"status": 200}
    }))
}

/// A WebSocket fixture with this handler.
pub fn ws(name: &str, handler: Value) -> Fixture {
    fixture(json!({
        "name": name, "protocol": "websocket", "handler": handler,
        "connect": {"path": "/"}, "transcript": []
    }))
}

/// An SSE fixture with this handler.
pub fn sse(name: &str, handler: Value) -> Fixture {
    fixture(json!({
        "name": name, "protocol": "sse", "handler": handler,
        "request": {"path": "/"}, "expected": {"status": 200}
    }))
}

/// The 422 body with every `message` replaced by `"..."`.
pub fn without_messages(mut body: Value) -> Value {
    if let Some(errors) = body.get_mut("errors").and_then(Value::as_array_mut) {
        for error in errors {
            assert!(error["message"].is_string(), "message is text: {error}");
            error["message"] = json!("...");
        }
    }
    body
}

/// The canonical 422 body for these (in, pointer) entries, messages as `"..."`.
pub fn validation_error(entries: &[(&str, &str)]) -> Value {
    let errors: Vec<Value> = entries
        .iter()
        .map(|(location, pointer)| json!({"in": location, "pointer": pointer, "message": "..."}))
        .collect();
    json!({
        "type": "urn:benchmark-harness:validation-error",
        "title": "Request validation failed",
        "status": 422,
        "errors": errors
    })
}
