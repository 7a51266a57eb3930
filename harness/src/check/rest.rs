//! Checks of a REST reply: status, headers, body.
//!
//! A fixture that checks the body as JSON (`body`, `body_schema`) and names no `content-type`
//! header expects a JSON one ([`header::implies_json_content_type`]).

use harness_fixture::model::RestFixture;

use super::header::{self, HeaderWant};
use super::{Mismatch, check_headers, check_schema, json};
use crate::results::transcript::{RestTranscript, header_values};

pub(super) fn check(fixture: &RestFixture, transcript: &RestTranscript) -> Vec<Mismatch> {
    let expected = &fixture.expected;
    let mut out = Vec::new();
    let Some(response) = &transcript.response else {
        return out; // interrupted: the fixture is errored with the reason
    };
    if response.status != expected.status {
        out.push(Mismatch::new(
            "/status",
            expected.status.into(),
            response.status.into(),
            "different status",
        ));
    }
    check_headers(&expected.headers, &response.headers, "/headers", &mut out);
    if header::implies_json_content_type(expected) {
        let lines = header_values(&response.headers, "content-type");
        if let Some(fault) = HeaderWant::JsonMediaType.fault(lines.iter().map(|v| Some(*v))) {
            let path = "/headers/content-type";
            let want = header::JSON_MEDIA_TYPE.into();
            out.push(header::mismatch(fault, path, &want, &lines));
        }
    }
    super::timing::check_rest(fixture, transcript, &mut out);

    let parsed = response.body.json();
    if let Some(want) = &expected.body {
        match &parsed {
            Some(got) => json::compare(want, Some(got), expected.body_match, "/body", &mut out),
            None => out.push(Mismatch::new(
                "/body",
                want.clone(),
                response.body.view(),
                "reply body is not JSON",
            )),
        }
    }
    if let Some(want) = &expected.body_text {
        match response.body.text() {
            Some(text) => json::compare_text(want, Some(text), "/body_text", &mut out),
            None => out.push(Mismatch::new(
                "/body_text",
                want.as_str().into(),
                response.body.view(),
                "reply body is not UTF-8",
            )),
        }
    }
    super::binary::check_body(expected, &response.body, &mut out);
    if let Some(schema) = &expected.body_schema {
        match &parsed {
            Some(got) => check_schema(schema, got, "/body", &mut out),
            None => out.push(Mismatch::new(
                "/body",
                schema.clone(),
                response.body.view(),
                "reply body is not JSON",
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::transcript::{Body, ReceivedResponse, SentRequest};
    use serde_json::{Value, json};

    fn fixture(expected: Value) -> RestFixture {
        serde_json::from_value(json!({
            "request": {"method": "GET", "path": "/x"},
            "expected": expected,
        }))
        .unwrap()
    }

    fn reply(content_type: Option<&str>, body: &str) -> RestTranscript {
        RestTranscript {
            request: SentRequest {
                method: "GET".into(),
                target: "/x".into(),
                headers: Vec::new(),
                body: None,
            },
            response: Some(ReceivedResponse {
                status: 200,
                headers: content_type
                    .map(|t| ("content-type".to_string(), t.to_string()))
                    .into_iter()
                    .collect(),
                body: Body(body.as_bytes().to_vec()),
                elapsed_us: 1,
            }),
            redirects: Vec::new(),
            interrupted: None,
        }
    }

    #[test]
    fn a_json_body_expects_a_json_content_type() {
        let want = fixture(json!({"status": 200, "body": {"a": 1}}));
        assert!(check(&want, &reply(Some("application/json"), r#"{"a":1}"#)).is_empty());
        assert!(check(&want, &reply(Some("application/hal+json"), r#"{"a":1}"#)).is_empty());
        let message = "the fixture expects a JSON body but the reply's content type is not JSON; \
                       set expected.headers.content-type to accept another";
        assert_eq!(
            check(
                &want,
                &reply(Some("text/html; charset=utf-8"), r#"{"a":1}"#)
            ),
            vec![Mismatch::new(
                "/headers/content-type",
                json!("application/json or */*+json"),
                json!("text/html; charset=utf-8"),
                message,
            )]
        );
        assert_eq!(
            check(&want, &reply(None, r#"{"a":1}"#)),
            vec![Mismatch::new(
                "/headers/content-type",
                json!("application/json or */*+json"),
                Value::Null,
                message,
            )]
        );
        let schema = fixture(json!({"status": 200, "body_schema": {"type": "object"}}));
        assert_eq!(check(&schema, &reply(Some("text/html"), "{}")).len(), 1);
    }

    #[test]
    fn a_fixture_naming_the_content_type_decides_it() {
        let any = fixture(
            json!({"status": 200, "headers": {"Content-Type": "<<any>>"}, "body": {"a": 1}}),
        );
        assert!(check(&any, &reply(Some("text/html"), r#"{"a":1}"#)).is_empty());
        let text = fixture(json!({"status": 200, "body_text": "{\"a\":1}"}));
        assert!(check(&text, &reply(Some("text/html"), r#"{"a":1}"#)).is_empty());
    }
}
