//! The canonical error replies (RFC 9457 problem details), exactly as in `fixtures/README.md`.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use jsonschema::error::ValidationErrorKind;
use serde::Serialize;
use serde_json::Value;

const PROBLEM_JSON: HeaderValue = HeaderValue::from_static("application/problem+json");

const PAYLOAD_TOO_LARGE: &str = r#"{"type":"urn:benchmark-harness:payload-too-large","title":"Payload too large","status":413}"#;
const UNSUPPORTED_MEDIA_TYPE: &str = r#"{"type":"urn:benchmark-harness:unsupported-media-type","title":"Unsupported media type","status":415}"#;
const MALFORMED_BODY: &str = r#"{"type":"urn:benchmark-harness:malformed-body","title":"Malformed request body","status":400}"#;

/// A parameter location, in the order errors are sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Location {
    Path,
    Query,
    Headers,
    Cookies,
    Body,
}

/// One entry of a 422 reply.
#[derive(Debug, Serialize)]
pub(crate) struct FieldError {
    #[serde(rename = "in")]
    pub location: Location,
    pub pointer: String,
    pub message: String,
}

#[derive(Serialize)]
struct ValidationProblem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    status: u16,
    errors: &'a [FieldError],
}

fn problem(status: StatusCode, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, PROBLEM_JSON);
    response
}

/// 413.
pub(crate) fn payload_too_large() -> Response {
    problem(StatusCode::PAYLOAD_TOO_LARGE, Body::from(PAYLOAD_TOO_LARGE))
}

/// 415.
pub(crate) fn unsupported_media_type() -> Response {
    problem(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Body::from(UNSUPPORTED_MEDIA_TYPE),
    )
}

/// 415 for a body in a content coding the handler does not decode, with the `Accept-Encoding`
/// it does (RFC 9110 section 15.5.16).
pub(crate) fn unsupported_coding(accept_encoding: HeaderValue) -> Response {
    let mut response = unsupported_media_type();
    response
        .headers_mut()
        .insert(header::ACCEPT_ENCODING, accept_encoding);
    response
}

/// 400.
pub(crate) fn malformed_body() -> Response {
    problem(StatusCode::BAD_REQUEST, Body::from(MALFORMED_BODY))
}

/// 422: sorts the errors by location then pointer and keeps the first per (location, pointer).
pub(crate) fn validation_failed(mut errors: Vec<FieldError>) -> Response {
    sort_dedup(&mut errors);
    let body = ValidationProblem {
        kind: "urn:benchmark-harness:validation-error",
        title: "Request validation failed",
        status: 422,
        errors: &errors,
    };
    // Serializing plain strings and numbers cannot fail.
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    problem(StatusCode::UNPROCESSABLE_ENTITY, Body::from(bytes))
}

/// Stable sort by (location, pointer), then one entry per (location, pointer): the first found.
pub(crate) fn sort_dedup(errors: &mut Vec<FieldError>) {
    errors.sort_by(|a, b| (a.location, &a.pointer).cmp(&(b.location, &b.pointer)));
    errors.dedup_by(|later, earlier| {
        later.location == earlier.location && later.pointer == earlier.pointer
    });
}

/// Every error of `instance` against `validator`, as (pointer, message). A `required` error
/// points at the missing property; any other at the value at fault.
pub(crate) fn schema_errors(
    validator: &jsonschema::Validator,
    instance: &Value,
    mut push: impl FnMut(String, String),
) {
    if validator.is_valid(instance) {
        return;
    }
    for error in validator.iter_errors(instance) {
        let mut pointer = error.instance_path().as_str().to_owned();
        if let ValidationErrorKind::Required { property } = error.kind() {
            pointer.push('/');
            match property {
                Value::String(name) => push_escaped(&mut pointer, name),
                other => push_escaped(&mut pointer, &other.to_string()),
            }
        }
        push(pointer, error.to_string());
    }
}

/// Appends a JSON pointer reference token (`~` -> `~0`, `/` -> `~1`).
pub(crate) fn push_escaped(pointer: &mut String, token: &str) {
    for c in token.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn required_points_at_the_missing_property() {
        let validator = jsonschema::validator_for(&json!({
            "type": "object", "required": ["a/b"],
            "properties": {"n": {"type": "integer"}, "o": {"type": "object", "required": ["x"]}}
        }))
        .unwrap();
        let mut found = Vec::new();
        schema_errors(&validator, &json!({"n": "x", "o": {}}), |p, _| {
            found.push(p)
        });
        found.sort();
        assert_eq!(found, vec!["/a~1b", "/n", "/o/x"]);
    }

    #[test]
    fn sorted_and_deduplicated() {
        let error = |location, pointer: &str, message: &str| FieldError {
            location,
            pointer: pointer.into(),
            message: message.into(),
        };
        let mut errors = vec![
            error(Location::Body, "/a", "1"),
            error(Location::Query, "/z", "2"),
            error(Location::Query, "/b", "3"),
            error(Location::Query, "/b", "4"),
            error(Location::Path, "/id", "5"),
        ];
        sort_dedup(&mut errors);
        let got: Vec<_> = errors
            .iter()
            .map(|e| (e.location, e.pointer.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Location::Path, "/id", "5"),
                (Location::Query, "/b", "3"),
                (Location::Query, "/z", "2"),
                (Location::Body, "/a", "1"),
            ]
        );
    }
}
