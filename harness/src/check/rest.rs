//! Checks of a REST reply: status, headers, body.

use harness_fixture::model::RestFixture;

use super::{Mismatch, check_headers, check_schema, json};
use crate::transcript::RestTranscript;

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
    if let Some(want) = &expected.body_base64 {
        let got = response.body.base64();
        if *want != got {
            out.push(Mismatch::new(
                "/body_base64",
                want.as_str().into(),
                got.into(),
                "different bytes",
            ));
        }
    }
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
