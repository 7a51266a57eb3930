//! `expected.chunks`: a (decoded) reply body read as a sequence of records, in order. A `json`
//! record is the next line parsed as JSON and compared like `body`; a `text` record is the next
//! line compared as text (a matcher allowed); a `base64` record is exactly the next bytes it
//! decodes to. A line ends at LF, a CR before it dropped; the last line may lack its LF.
//! Bytes after the last record fail at `/chunks`; a record the body ends before fails at
//! `/chunks/i`. Pure, shared by `run` and `bench`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use harness_fixture::model::ChunkExpectation;
use serde_json::Value;

use super::json::{compare, compare_text};
use crate::results::Mismatch;
use crate::results::transcript::Body;

/// What `run` says of bytes left after the last record.
pub const EXTRA_DATA: &str = "extra data after the last chunk";
/// What `run` says of a record the body ends before.
pub const BODY_ENDED: &str = "the body ended before this chunk";

/// Every difference between `chunks` and `body`, appended to `out`.
pub fn check(chunks: &[ChunkExpectation], body: &[u8], out: &mut Vec<Mismatch>) {
    let mut rest = body;
    for (index, want) in chunks.iter().enumerate() {
        let path = format!("/chunks/{index}");
        if rest.is_empty() {
            out.push(Mismatch::missing(path, expectation(want), BODY_ENDED));
            return;
        }
        match want {
            ChunkExpectation::Json { json, body_match } => {
                let line = next_line(&mut rest);
                let path = format!("{path}/json");
                match serde_json::from_slice::<Value>(line) {
                    Ok(got) => compare(json, Some(&got), *body_match, &path, out),
                    Err(_) => out.push(Mismatch::new(
                        path,
                        json.clone(),
                        Body(line.to_vec()).view(),
                        "line is not JSON",
                    )),
                }
            }
            ChunkExpectation::Text { text } => {
                let line = next_line(&mut rest);
                let path = format!("{path}/text");
                match std::str::from_utf8(line) {
                    Ok(got) => compare_text(text, Some(got), &path, out),
                    Err(_) => out.push(Mismatch::new(
                        path,
                        text.as_str().into(),
                        Body(line.to_vec()).view(),
                        "line is not UTF-8",
                    )),
                }
            }
            ChunkExpectation::Base64 { base64 } => {
                let path = format!("{path}/base64");
                let expected = Value::from(base64.as_str());
                // The loader decoded it the same way: a fixture that loaded has none bad.
                let want = match BASE64.decode(base64) {
                    Ok(bytes) => bytes,
                    Err(error) => {
                        out.push(Mismatch::new(
                            path,
                            expected,
                            Value::Null,
                            error.to_string(),
                        ));
                        return;
                    }
                };
                let got = &rest[..want.len().min(rest.len())];
                rest = &rest[got.len()..];
                if got != want.as_slice() {
                    let message = if got.len() < want.len() {
                        format!(
                            "the body ended after {} of these {} bytes",
                            got.len(),
                            want.len()
                        )
                    } else {
                        "different bytes".to_string()
                    };
                    out.push(Mismatch::new(
                        path,
                        expected,
                        BASE64.encode(got).into(),
                        message,
                    ));
                }
            }
        }
    }
    if !rest.is_empty() {
        out.push(Mismatch::unexpected(
            "/chunks",
            Body(rest.to_vec()).view(),
            EXTRA_DATA,
        ));
    }
}

/// The first difference, as `bench` counts it.
pub fn first_difference(chunks: &[ChunkExpectation], body: &[u8]) -> Option<Mismatch> {
    let mut out = Vec::new();
    check(chunks, body, &mut out);
    out.into_iter().next()
}

/// The next line of `rest` (without its LF and a CR before it); `rest` moves past it.
fn next_line<'a>(rest: &mut &'a [u8]) -> &'a [u8] {
    let (mut line, after) = match rest.iter().position(|&b| b == b'\n') {
        Some(end) => (&rest[..end], &rest[end + 1..]),
        None => (*rest, &rest[rest.len()..]),
    };
    *rest = after;
    if let Some(stripped) = line.strip_suffix(b"\r") {
        line = stripped;
    }
    line
}

/// A record as the fixture writes it, for a missing one.
fn expectation(want: &ChunkExpectation) -> Value {
    match want {
        ChunkExpectation::Json { json, .. } => serde_json::json!({ "json": json }),
        ChunkExpectation::Text { text } => serde_json::json!({ "text": text }),
        ChunkExpectation::Base64 { base64 } => serde_json::json!({ "base64": base64 }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chunks(value: Value) -> Vec<ChunkExpectation> {
        serde_json::from_value(value).unwrap()
    }

    fn diff(want: Value, body: &[u8]) -> Vec<Mismatch> {
        let mut out = Vec::new();
        check(&chunks(want), body, &mut out);
        out
    }

    #[test]
    fn json_lines_exact_and_partial() {
        let want = json!([{"json": {"n": 1, "at": "<<number>>"}},
                          {"json": {"n": 2}, "match": "partial"}]);
        assert_eq!(
            diff(want.clone(), b"{\"n\":1,\"at\":5}\r\n{\"n\":2,\"x\":0}"),
            vec![]
        );
        assert_eq!(
            diff(want.clone(), b"{\"n\":1,\"at\":5,\"x\":0}\n{\"n\":2}\n"),
            vec![Mismatch::unexpected(
                "/chunks/0/json/x",
                json!(0),
                "unexpected key"
            )]
        );
        assert_eq!(
            diff(want, b"{\"n\":1,\"at\":5}\nnot json\n"),
            vec![Mismatch::new(
                "/chunks/1/json",
                json!({"n": 2}),
                json!({"text": "not json"}),
                "line is not JSON"
            )]
        );
    }

    #[test]
    fn text_lines_with_matchers() {
        let want = json!([{"text": "id,name"}, {"text": "<<regex:\\d+,.*>>"}]);
        assert_eq!(diff(want.clone(), b"id,name\r\n1,ada\r\n"), vec![]);
        assert_eq!(
            diff(want.clone(), b"id,name\nx,ada\n"),
            vec![Mismatch::new(
                "/chunks/1/text",
                json!("<<regex:\\d+,.*>>"),
                json!("x,ada"),
                "different text"
            )]
        );
        assert_eq!(
            diff(want, b"id,name\n\xff\xfe\n"),
            vec![Mismatch::new(
                "/chunks/1/text",
                json!("<<regex:\\d+,.*>>"),
                json!({"base64": "//4="}),
                "line is not UTF-8"
            )]
        );
    }

    #[test]
    fn base64_records_are_exact_bytes_not_lines() {
        let want = json!([{"base64": "AAEC"}, {"text": "tail"}]);
        assert_eq!(diff(want.clone(), b"\x00\x01\x02tail"), vec![]);
        assert_eq!(
            diff(want, b"\x00\x01\x03tail"),
            vec![Mismatch::new(
                "/chunks/0/base64",
                json!("AAEC"),
                json!("AAED"),
                "different bytes"
            )]
        );
        assert_eq!(
            diff(json!([{"base64": "AAEC"}]), b"\x00\x01"),
            vec![Mismatch::new(
                "/chunks/0/base64",
                json!("AAEC"),
                json!("AAE="),
                "the body ended after 2 of these 3 bytes"
            )]
        );
    }

    #[test]
    fn extra_data_and_missing_records() {
        let want = json!([{"text": "a"}, {"text": "b"}]);
        assert_eq!(
            diff(want.clone(), b"a\nb\nc\n"),
            vec![Mismatch::unexpected(
                "/chunks",
                json!({"text": "c\n"}),
                EXTRA_DATA
            )]
        );
        assert_eq!(
            diff(want, b"a\n"),
            vec![Mismatch::missing(
                "/chunks/1",
                json!({"text": "b"}),
                BODY_ENDED
            )]
        );
        // No record: the body must be empty.
        assert_eq!(diff(json!([]), b""), vec![]);
        assert_eq!(diff(json!([]), b"x").len(), 1);
        assert_eq!(
            first_difference(&chunks(json!([{"text": "a"}])), b"b\nc").map(|m| m.path),
            Some("/chunks/0/text".to_string())
        );
    }
}
