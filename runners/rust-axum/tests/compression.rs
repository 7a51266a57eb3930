//! Compressed uploads (decoded, bounded, 415 for a coding not listed) and compressed replies
//! (negotiated by `Accept-Encoding`, `Vary` on every reply, 4xx never encoded).

mod common;

use std::io::{Read, Write};

use axum::http::StatusCode;
use axum_test::{TestResponse, TestServer};
use bytes::Bytes;
use common::{gunzip, gzip, rest, validation_error, without_messages};
use reference_server::app;
use serde_json::{Value, json};

const PROBLEM: &str = "application/problem+json";
const UNSUPPORTED: &str = r#"{"type":"urn:benchmark-harness:unsupported-media-type","title":"Unsupported media type","status":415}"#;

fn server(fixtures: &[harness_fixture::Fixture]) -> TestServer {
    TestServer::new(app(fixtures).expect("app builds"))
}

fn uploads() -> TestServer {
    server(&[
        rest(
            "gz",
            json!({"method": "POST", "route": "/upload/gzip",
                   "body": {"media": "json", "max_bytes": 1024, "content_encodings": ["gzip"]},
                   "response": {"echo": true}}),
        ),
        rest(
            "all",
            json!({"method": "POST", "route": "/upload/all",
                   "body": {"media": "text", "content_encodings": ["br", "deflate", "gzip"]},
                   "response": {"echo": true}}),
        ),
        rest(
            "plain",
            json!({"method": "POST", "route": "/upload/plain", "body": {"media": "json"},
                   "response": {"echo": true}}),
        ),
    ])
}

fn zlib(data: &[u8]) -> Bytes {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    Bytes::from(encoder.finish().unwrap())
}

fn brotli(data: &[u8]) -> Bytes {
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &data[..], &mut out, &Default::default()).unwrap();
    Bytes::from(out)
}

async fn upload(s: &TestServer, path: &str, coding: &str, body: Bytes) -> TestResponse {
    s.post(path)
        .bytes(body)
        .content_type("application/json")
        .add_header("content-encoding", coding)
        .await
}

#[tokio::test]
async fn listed_codings_are_decoded() {
    let s = uploads();
    let doc = br#"{"note":"packed","n":3}"#;
    let r = upload(&s, "/upload/gzip", "gzip", gzip(doc)).await;
    r.assert_status_ok();
    assert_eq!(r.text(), r#"{"body":{"note":"packed","n":3}}"#);
    // Codings are case-insensitive; x-gzip is gzip; identity is always accepted.
    let r = upload(&s, "/upload/gzip", "GZip", gzip(doc)).await;
    r.assert_status_ok();
    let r = upload(&s, "/upload/gzip", "x-gzip", gzip(doc)).await;
    r.assert_status_ok();
    let r = upload(&s, "/upload/gzip", "identity", Bytes::from_static(doc)).await;
    r.assert_status_ok();
    let r = upload(&s, "/upload/plain", "identity", Bytes::from_static(doc)).await;
    r.assert_status_ok();

    for (coding, body) in [
        ("gzip", gzip(b"hello")),
        ("deflate", zlib(b"hello")),
        ("br", brotli(b"hello")),
    ] {
        let r = s
            .post("/upload/all")
            .bytes(body)
            .content_type("text/plain")
            .add_header("content-encoding", coding)
            .await;
        assert_eq!(r.text(), r#"{"body":"hello"}"#, "{coding}");
    }
}

#[tokio::test]
async fn an_unlisted_coding_is_415_naming_what_the_handler_decodes() {
    let s = uploads();
    let r = upload(&s, "/upload/gzip", "br", brotli(b"{}")).await;
    assert_eq!(r.status_code(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.content_type(), PROBLEM);
    assert_eq!(r.text(), UNSUPPORTED);
    assert_eq!(r.header("accept-encoding"), "gzip");

    let r = upload(&s, "/upload/plain", "gzip", gzip(b"{}")).await;
    assert_eq!(r.status_code(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.text(), UNSUPPORTED);
    assert_eq!(r.header("accept-encoding"), "identity");

    let r = s
        .post("/upload/all")
        .bytes(gzip(b"x"))
        .content_type("text/plain")
        .add_header("content-encoding", "zstd")
        .await;
    assert_eq!(r.header("accept-encoding"), "br, deflate, gzip");

    // Two codings stacked are not decoded: 415.
    let r = upload(&s, "/upload/gzip", "gzip, gzip", gzip(&gzip(b"{}"))).await;
    assert_eq!(r.status_code(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn a_body_that_does_not_decode_is_400() {
    let s = uploads();
    let r = upload(
        &s,
        "/upload/gzip",
        "gzip",
        Bytes::from_static(br#"{"n":1}"#),
    )
    .await;
    assert_eq!(r.status_code(), StatusCode::BAD_REQUEST);
    assert_eq!(r.content_type(), PROBLEM);
    assert_eq!(
        r.text(),
        r#"{"type":"urn:benchmark-harness:malformed-body","title":"Malformed request body","status":400}"#
    );
    // Truncated: the stream ends early.
    let whole = gzip(br#"{"n":1}"#);
    let r = upload(&s, "/upload/gzip", "gzip", whole.slice(..whole.len() - 6)).await;
    assert_eq!(r.status_code(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn max_bytes_bounds_the_decoded_size() {
    let s = uploads();
    // 10 MB of spaces inside a JSON string: about 10 kB gzipped, far under max_bytes raw.
    let mut bomb = b"{\"pad\":\"".to_vec();
    bomb.extend(std::iter::repeat_n(b' ', 10_000_000));
    bomb.extend_from_slice(b"\"}");
    let packed = gzip(&bomb);
    assert!(packed.len() < 1024 * 16, "{}", packed.len());
    let r = upload(&s, "/upload/gzip", "gzip", packed).await;
    assert_eq!(r.status_code(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.content_type(), PROBLEM);
    // Just under the bound decoded, though larger than it encoded would not matter either.
    let mut fits = b"{\"pad\":\"".to_vec();
    fits.extend(std::iter::repeat_n(b' ', 1000));
    fits.extend_from_slice(b"\"}");
    let r = upload(&s, "/upload/gzip", "gzip", gzip(&fits)).await;
    r.assert_status_ok();
}

fn catalog() -> Value {
    let items: Vec<Value> = (1..=12)
        .map(|id| json!({"id": id, "name": format!("item number {id}"), "tags": ["alpha", "beta"]}))
        .collect();
    json!({"items": items})
}

fn replies() -> TestServer {
    server(&[
        rest(
            "gz",
            json!({"method": "GET", "route": "/catalog",
                   "response": {"json": catalog(), "compress": {"min_bytes": 256}}}),
        ),
        rest(
            "all",
            json!({"method": "GET", "route": "/all",
                   "response": {"json": catalog(),
                                "compress": {"encodings": ["gzip", "br", "deflate"]}}}),
        ),
        rest(
            "tiny",
            json!({"method": "GET", "route": "/tiny",
                   "response": {"json": {"ok": true}, "headers": {"vary": "Cookie"},
                                "compress": {"min_bytes": 256}}}),
        ),
        rest(
            "echo",
            json!({"method": "GET", "route": "/items/{id:int}",
                   "params": {"query": {"type": "object", "properties": {"pad": {"type": "string"}}}},
                   "response": {"echo": true, "compress": {"min_bytes": 64}}}),
        ),
        rest(
            "gone",
            json!({"method": "GET", "route": "/gone",
                   "response": {"status": 404, "json": catalog(), "compress": {}}}),
        ),
        rest(
            "empty",
            json!({"method": "DELETE", "route": "/catalog",
                   "response": {"status": 204, "compress": {}}}),
        ),
    ])
}

async fn get(s: &TestServer, path: &str, accept: Option<&str>) -> TestResponse {
    let request = s.get(path);
    match accept {
        Some(accept) => request.add_header("accept-encoding", accept).await,
        None => request.await,
    }
}

/// The reply's body decoded per its `Content-Encoding`, with that coding.
fn decoded(r: &TestResponse) -> (Option<String>, Vec<u8>) {
    let coding = r
        .maybe_header("content-encoding")
        .map(|v| v.to_str().unwrap().to_owned());
    let raw = r.as_bytes();
    let mut out = Vec::new();
    match coding.as_deref() {
        None => out = raw.to_vec(),
        Some("gzip") => out = gunzip(raw),
        Some("deflate") => {
            flate2::read::ZlibDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .unwrap();
        }
        Some("br") => {
            brotli::Decompressor::new(&raw[..], 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        Some(other) => panic!("unexpected coding {other}"),
    }
    (coding, out)
}

#[tokio::test]
async fn replies_are_encoded_by_accept_encoding() {
    let s = replies();
    let expected = serde_json::to_vec(&catalog()).unwrap();
    let cases: &[(&str, Option<&str>, Option<&str>)] = &[
        ("/catalog", Some("gzip"), Some("gzip")),
        ("/catalog", Some("gzip, deflate, br"), Some("gzip")),
        ("/catalog", Some("br;q=1.0, gzip;q=0.5"), Some("gzip")),
        ("/catalog", Some("*"), Some("gzip")),
        ("/catalog", Some("gzip;q=0, identity"), None),
        ("/catalog", Some("*;q=0"), None),
        ("/catalog", Some("identity"), None),
        ("/catalog", Some("br"), None),
        ("/catalog", None, None),
        // Ties go to the handler's order; the highest q wins.
        ("/all", Some("deflate, br, gzip"), Some("gzip")),
        ("/all", Some("br;q=1.0, gzip;q=0.5"), Some("br")),
        ("/all", Some("deflate"), Some("deflate")),
        ("/all", Some("gzip;q=0, *;q=0.5"), Some("br")),
    ];
    for (path, accept, coding) in cases {
        let r = get(&s, path, *accept).await;
        r.assert_status_ok();
        assert_eq!(r.header("vary"), "Accept-Encoding", "{accept:?}");
        let (sent, body) = decoded(&r);
        assert_eq!(sent.as_deref(), *coding, "{path} {accept:?}");
        assert_eq!(body, expected, "{path} {accept:?}");
        if coding.is_some() {
            assert!(r.as_bytes().len() < expected.len(), "{accept:?}");
            assert_eq!(r.content_type(), "application/json");
        }
    }
}

#[tokio::test]
async fn small_empty_and_error_replies_are_not_encoded_but_vary() {
    let s = replies();
    // Below min_bytes; the handler's own Vary is kept on the same line.
    let r = get(&s, "/tiny", Some("gzip")).await;
    assert!(r.maybe_header("content-encoding").is_none());
    assert_eq!(r.text(), r#"{"ok":true}"#);
    let vary: Vec<_> = r.iter_headers_by_name("vary").collect();
    assert_eq!(vary, ["Cookie, Accept-Encoding"]);

    // An empty body (min_bytes 0).
    let r = s
        .delete("/catalog")
        .add_header("accept-encoding", "gzip")
        .await;
    assert_eq!(r.status_code(), StatusCode::NO_CONTENT);
    assert!(r.maybe_header("content-encoding").is_none());
    assert!(r.as_bytes().is_empty());
    assert_eq!(r.header("vary"), "Accept-Encoding");

    // A 4xx reply of the handler's own.
    let r = get(&s, "/gone", Some("gzip")).await;
    assert_eq!(r.status_code(), StatusCode::NOT_FOUND);
    assert!(r.maybe_header("content-encoding").is_none());
    assert_eq!(r.json::<Value>(), catalog());

    // A canonical 422.
    let r = get(&s, "/items/seven", Some("gzip")).await;
    assert_eq!(r.status_code(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.maybe_header("content-encoding").is_none());
    assert_eq!(r.header("vary"), "Accept-Encoding");
    assert_eq!(
        without_messages(r.json()),
        validation_error(&[("path", "/id")])
    );
}

#[tokio::test]
async fn echo_replies_are_encoded_per_request() {
    let s = replies();
    let pad = "p".repeat(100);
    let r = get(&s, &format!("/items/7?pad={pad}"), Some("gzip")).await;
    r.assert_status_ok();
    let (coding, body) = decoded(&r);
    assert_eq!(coding.as_deref(), Some("gzip"));
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"path": {"id": 7}, "query": {"pad": pad}})
    );
    // Under min_bytes (64) as echoed: sent as it is.
    let r = get(&s, "/items/7", Some("gzip")).await;
    assert!(r.maybe_header("content-encoding").is_none());
    assert_eq!(r.text(), r#"{"path":{"id":7},"query":{}}"#);
}
