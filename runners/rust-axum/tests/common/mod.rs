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

/// One part of a hand-made multipart body.
pub struct Part<'a> {
    pub name: &'a str,
    pub filename: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub data: &'a [u8],
}

/// A field part.
pub fn field<'a>(name: &'a str, text: &'a str) -> Part<'a> {
    Part {
        name,
        filename: None,
        content_type: None,
        data: text.as_bytes(),
    }
}

/// A file part.
pub fn file<'a>(
    name: &'a str,
    filename: &'a str,
    content_type: &'a str,
    data: &'a [u8],
) -> Part<'a> {
    Part {
        name,
        filename: Some(filename),
        content_type: Some(content_type),
        data,
    }
}

/// The boundary of [`multipart_body`].
pub const BOUNDARY: &str = "test-boundary-42";

/// A `multipart/form-data` body of these parts, delimited by [`BOUNDARY`] (RFC 7578).
pub fn multipart_body(parts: &[Part<'_>]) -> bytes::Bytes {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", part.name);
        if let Some(filename) = part.filename {
            disposition.push_str(&format!("; filename=\"{filename}\""));
        }
        out.extend_from_slice(disposition.as_bytes());
        out.extend_from_slice(b"\r\n");
        if let Some(content_type) = part.content_type {
            out.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(part.data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    bytes::Bytes::from(out)
}

/// The content type of [`multipart_body`].
pub fn multipart_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// gzip of `data`.
pub fn gzip(data: &[u8]) -> bytes::Bytes {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    bytes::Bytes::from(encoder.finish().unwrap())
}

/// The inverse of [`gzip`].
pub fn gunzip(data: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}
