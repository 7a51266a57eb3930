//! Checks of a REST reply: status, headers, deadlines, body.
//!
//! A fixture that checks the body as JSON (`body`, `body_schema`) and names no `content-type`
//! header expects a JSON one ([`header::implies_json_content_type`]). The body checked is the
//! decoded one ([`crate::wire::coding`], done by the driver); a body that does not decode as its
//! `Content-Encoding` claims fails at `/body`, and no other check of the body is made.

use harness_fixture::model::{RestExpected, RestFixture};

use super::header::{self, HeaderWant};
use super::{Mismatch, check_headers, check_schema, json};
use crate::results::transcript::{Body, RestTranscript, header_values};

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
    if let Some(encoding) = &response.encoding
        && let Some(reason) = &encoding.undecodable
    {
        out.push(Mismatch::new(
            "/body",
            encoding.content_encoding.as_str().into(),
            response.body.view(),
            undecodable_message(&encoding.content_encoding, reason),
        ));
        return out;
    }
    check_body(expected, &response.body, &mut out);
    out
}

/// What `run` says of a body that does not decode as its `Content-Encoding` claims.
pub fn undecodable_message(content_encoding: &str, reason: &str) -> String {
    format!("content-encoding {content_encoding} claimed, but the body does not decode: {reason}")
}

/// The checks of the (decoded) body: `body`, `body_text`, `body_base64`, `body_length`,
/// `body_schema`, `chunks`.
fn check_body(expected: &RestExpected, body: &Body, out: &mut Vec<Mismatch>) {
    // Parsed once, and only when a check reads it as JSON.
    let parsed = (expected.body.is_some() || expected.body_schema.is_some())
        .then(|| body.json())
        .flatten();
    if let Some(want) = &expected.body {
        match &parsed {
            Some(got) => json::compare(want, Some(got), expected.body_match, "/body", out),
            None => out.push(Mismatch::new(
                "/body",
                want.clone(),
                body.view(),
                "reply body is not JSON",
            )),
        }
    }
    if let Some(want) = &expected.body_text {
        match body.text() {
            Some(text) => json::compare_text(want, Some(text), "/body_text", out),
            None => out.push(Mismatch::new(
                "/body_text",
                want.as_str().into(),
                body.view(),
                "reply body is not UTF-8",
            )),
        }
    }
    super::binary::check_body(expected, body, out);
    if let Some(schema) = &expected.body_schema {
        match &parsed {
            Some(got) => check_schema(schema, got, "/body", out),
            None => out.push(Mismatch::new(
                "/body",
                schema.clone(),
                body.view(),
                "reply body is not JSON",
            )),
        }
    }
    if let Some(chunks) = &expected.chunks {
        super::chunks::check(chunks, &body.0, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::transcript::{ReceivedResponse, ReplyEncoding, SentRequest};
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
                content_encoding: None,
            },
            response: Some(ReceivedResponse {
                status: 200,
                headers: content_type
                    .map(|t| ("content-type".to_string(), t.to_string()))
                    .into_iter()
                    .collect(),
                body: Body(body.as_bytes().to_vec()),
                encoding: None,
                elapsed_us: 1,
                first_byte_ms: 0,
                arrivals: Vec::new(),
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

    /// A reply of `body` (bytes as decoded, or as received when `undecodable`) sent with
    /// `content-encoding: gzip`.
    fn gzip_reply(body: &str, undecodable: Option<&str>) -> RestTranscript {
        let mut t = reply(Some("application/json"), body);
        let response = t.response.as_mut().unwrap();
        response
            .headers
            .push(("content-encoding".into(), "gzip".into()));
        response.encoding = Some(ReplyEncoding {
            content_encoding: "gzip".into(),
            encoded_length: 20,
            undecodable: undecodable.map(str::to_owned),
        });
        t
    }

    #[test]
    fn a_decoded_body_is_checked_and_one_that_does_not_decode_fails_at_body() {
        let want = fixture(
            json!({"status": 200, "headers": {"content-encoding": "gzip"},
                                  "body": {"a": 1}, "body_length": 7}),
        );
        assert_eq!(check(&want, &gzip_reply(r#"{"a":1}"#, None)), vec![]);
        let got = check(
            &want,
            &gzip_reply(r#"{"a":1}"#, Some("gzip: invalid gzip header")),
        );
        assert_eq!(
            got,
            vec![Mismatch::new(
                "/body",
                json!("gzip"),
                json!({"json": {"a": 1}}),
                "content-encoding gzip claimed, but the body does not decode: gzip: invalid \
                 gzip header",
            )]
        );
        // The status and headers are still checked; no other check of the body is made.
        let mut late = gzip_reply(r#"{"a":2}"#, Some("gzip: corrupt deflate stream"));
        late.response.as_mut().unwrap().status = 500;
        let paths: Vec<String> = check(&want, &late).into_iter().map(|m| m.path).collect();
        assert_eq!(paths, vec!["/status", "/body"]);
    }

    #[test]
    fn the_first_byte_has_its_deadline() {
        let want = fixture(json!({"status": 200, "body_text": "x", "first_byte_within_ms": 100}));
        let mut t = reply(None, "x");
        t.response.as_mut().unwrap().first_byte_ms = 100;
        assert_eq!(check(&want, &t), vec![]);
        t.response.as_mut().unwrap().first_byte_ms = 101;
        assert_eq!(
            check(&want, &t),
            vec![Mismatch::new(
                "/first_byte_within_ms",
                json!(100),
                json!(101),
                "the first byte of the body arrived after 101 ms, later than \
                 first_byte_within_ms 100",
            )]
        );
    }

    #[test]
    fn chunks_are_checked_on_the_body() {
        let want = fixture(
            json!({"status": 200, "chunks": [{"json": {"n": 1}}, {"json": {"n": 2}}],
                                  "body_length": 16}),
        );
        assert_eq!(check(&want, &reply(None, "{\"n\":1}\n{\"n\":2}\n")), vec![]);
        assert_eq!(
            check(&want, &reply(None, "{\"n\":1}\n{\"n\":3}\n")),
            vec![Mismatch::new(
                "/chunks/1/json/n",
                json!(2),
                json!(3),
                "different number"
            )]
        );
    }
}
