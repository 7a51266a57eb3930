//! Multipart bodies: fields coerced like a form, files hashed and checked, the canonical errors.

mod common;

use axum::http::StatusCode;
use axum_test::TestServer;
use bytes::Bytes;
use common::{
    BOUNDARY, Part, field, file, gzip, multipart_body, multipart_type, rest, validation_error,
    without_messages,
};
use reference_server::app;
use serde_json::{Value, json};

const PROBLEM: &str = "application/problem+json";
/// sha256("abc"), the FIPS 180-2 test vector.
const SHA_ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
/// sha256(""), likewise.
const SHA_EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn profile() -> TestServer {
    TestServer::new(
        app(&[rest(
            "profile",
            json!({"method": "POST", "route": "/upload/profile",
                   "body": {"media": "multipart", "max_bytes": 1024,
                            "schema": {"type": "object", "required": ["title"], "properties": {
                                "title": {"type": "string", "minLength": 1},
                                "rating": {"type": "integer", "minimum": 1, "maximum": 5},
                                "tags": {"type": "array", "items": {"type": "string"}}}},
                            "files": {
                                "avatar": {"required": true, "max_bytes": 8,
                                           "content_types": ["image/png", "image/jpeg"]},
                                "attachments": {"required": false, "multiple": true,
                                                "content_types": ["text/plain"]},
                                "cover": {"required": false}},
                            "content_encodings": ["gzip"]},
                   "response": {"status": 201, "echo": true}}),
        )])
        .expect("app builds"),
    )
}

async fn post(server: &TestServer, parts: &[Part<'_>]) -> axum_test::TestResponse {
    server
        .post("/upload/profile")
        .bytes(multipart_body(parts))
        .content_type(&multipart_type())
        .await
}

#[tokio::test]
async fn fields_and_files_are_echoed_with_their_digest() {
    let s = profile();
    let r = post(
        &s,
        &[
            field("title", "holiday"),
            field("rating", "4"),
            field("undeclared", "x"),
            file("avatar", "a.png", "image/png", b"abc"),
            file("ignored", "x.bin", "application/octet-stream", b"zz"),
        ],
    )
    .await;
    assert_eq!(r.status_code(), StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.content_type(), "application/json");
    // Declared order; `multiple` absent is `[]`; an optional single file absent is left out.
    assert_eq!(
        r.text(),
        format!(
            r#"{{"body":{{"fields":{{"title":"holiday","rating":4}},"files":{{"avatar":{{"filename":"a.png","content_type":"image/png","size":3,"sha256":"{SHA_ABC}"}},"attachments":[]}}}}}}"#
        )
    );
}

#[tokio::test]
async fn several_files_of_one_name() {
    let s = profile();
    let r = post(
        &s,
        &[
            file("avatar", "first.png", "image/png", b"abc"),
            // Not `multiple`: the first counts, this one is neither echoed nor checked.
            file("avatar", "second.gif", "image/gif", b"far too large"),
            field("title", "many"),
            field("title", "second title"),
            field("tags", "a"),
            field("tags", "b"),
            file("attachments", "a.txt", "text/plain; charset=utf-8", b"abc"),
            file("attachments", "b.txt", "text/plain", b""),
        ],
    )
    .await;
    assert_eq!(r.status_code(), StatusCode::CREATED, "{}", r.text());
    let body: Value = r.json();
    assert_eq!(
        body["body"]["fields"],
        json!({"title": "many", "tags": ["a", "b"]})
    );
    assert_eq!(body["body"]["files"]["avatar"]["filename"], "first.png");
    assert_eq!(
        body["body"]["files"]["attachments"],
        json!([
            {"filename": "a.txt", "content_type": "text/plain; charset=utf-8", "size": 3, "sha256": SHA_ABC},
            {"filename": "b.txt", "content_type": "text/plain", "size": 0, "sha256": SHA_EMPTY}
        ])
    );
}

#[tokio::test]
async fn a_file_without_a_content_type_is_null_and_fails_content_types() {
    let s = profile();
    let untyped = |name, filename| Part {
        name,
        filename: Some(filename),
        content_type: None,
        data: b"abc",
    };
    let r = post(
        &s,
        &[
            field("title", "t"),
            file("avatar", "a.png", "image/png", b"abc"),
            untyped("cover", "c.bin"),
        ],
    )
    .await;
    assert_eq!(r.status_code(), StatusCode::CREATED, "{}", r.text());
    let body: Value = r.json();
    assert_eq!(body["body"]["files"]["cover"]["content_type"], Value::Null);

    let r = post(&s, &[field("title", "t"), untyped("avatar", "a.png")]).await;
    assert_eq!(
        without_messages(r.json()),
        validation_error(&[("body", "/avatar")])
    );
}

#[tokio::test]
async fn file_errors_point_at_the_file_in_the_sorted_list() {
    let s = profile();
    // Missing required file and field.
    let r = post(&s, &[field("rating", "4")]).await;
    assert_eq!(r.status_code(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.content_type(), PROBLEM);
    assert_eq!(
        without_messages(r.json()),
        validation_error(&[("body", "/avatar"), ("body", "/title")])
    );

    // Too large (8 bytes at most).
    let r = post(
        &s,
        &[
            field("title", "t"),
            file("avatar", "a.png", "image/png", b"123456789"),
        ],
    )
    .await;
    assert_eq!(
        without_messages(r.json()),
        validation_error(&[("body", "/avatar")])
    );

    // A type not listed (parameters aside, case-insensitive for the listed ones).
    let r = post(
        &s,
        &[
            field("title", "t"),
            file("avatar", "a.txt", "text/plain", b"abc"),
        ],
    )
    .await;
    assert_eq!(
        without_messages(r.json()),
        validation_error(&[("body", "/avatar")])
    );
    let r = post(
        &s,
        &[
            field("title", "t"),
            file("avatar", "a.png", "Image/PNG; x=y", b"abc"),
        ],
    )
    .await;
    assert_eq!(r.status_code(), StatusCode::CREATED, "{}", r.text());

    // A `multiple` file at fault is pointed at by index; field errors sort among them.
    let r = post(
        &s,
        &[
            field("title", ""),
            field("rating", "five"),
            file("avatar", "a.png", "image/png", b"abc"),
            file("attachments", "ok.txt", "text/plain", b"abc"),
            file("attachments", "bad.bin", "application/octet-stream", b"abc"),
        ],
    )
    .await;
    assert_eq!(
        without_messages(r.json()),
        validation_error(&[
            ("body", "/attachments/1"),
            ("body", "/rating"),
            ("body", "/title")
        ])
    );
}

#[tokio::test]
async fn malformed_bodies_are_400() {
    let s = profile();
    let malformed = r#"{"type":"urn:benchmark-harness:malformed-body","title":"Malformed request body","status":400}"#;
    let send = |body: &'static [u8], content_type: String| {
        s.post("/upload/profile")
            .bytes(Bytes::from_static(body))
            .content_type(&content_type)
    };
    // Not multipart at all, though the type says so.
    let r = send(b"this is not multipart at all", multipart_type()).await;
    assert_eq!(r.status_code(), StatusCode::BAD_REQUEST);
    assert_eq!(r.content_type(), PROBLEM);
    assert_eq!(r.text(), malformed);
    // No boundary.
    let r = send(b"--x\r\n\r\n", "multipart/form-data".into()).await;
    assert_eq!(r.status_code(), StatusCode::BAD_REQUEST);
    // A part that never ends.
    let truncated =
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nno end");
    let r = s
        .post("/upload/profile")
        .bytes(Bytes::from(truncated))
        .content_type(&multipart_type())
        .await;
    assert_eq!(r.status_code(), StatusCode::BAD_REQUEST);
    // A field that is not UTF-8.
    let r = s
        .post("/upload/profile")
        .bytes(multipart_body(&[Part {
            name: "title",
            filename: None,
            content_type: None,
            data: b"\xff\xfe",
        }]))
        .content_type(&multipart_type())
        .await;
    assert_eq!(r.status_code(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn size_type_and_coding_come_before_the_parse() {
    let s = profile();
    // Over the body's max_bytes: 413 before anything else.
    let big = vec![b'x'; 2000];
    let r = post(&s, &[file("avatar", "a.png", "image/png", &big)]).await;
    assert_eq!(r.status_code(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.content_type(), PROBLEM);
    // JSON to a multipart handler: 415.
    let r = s.post("/upload/profile").json(&json!({"title": "x"})).await;
    assert_eq!(r.status_code(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A multipart body gzipped (the handler decodes gzip) is parsed once decoded.
    let parts = [
        field("title", "packed"),
        file("avatar", "a.png", "image/png", b"abc"),
    ];
    let r = s
        .post("/upload/profile")
        .bytes(gzip(&multipart_body(&parts)))
        .content_type(&multipart_type())
        .add_header("content-encoding", "gzip")
        .await;
    assert_eq!(r.status_code(), StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json::<Value>()["body"]["fields"]["title"], "packed");
}

#[tokio::test]
async fn fields_without_declared_properties_are_kept_as_text() {
    let s = TestServer::new(
        app(&[rest(
            "loose",
            json!({"method": "PUT", "route": "/loose", "body": {"media": "multipart"},
                   "response": {"echo": true}}),
        )])
        .expect("app builds"),
    );
    let r = s
        .put("/loose")
        .bytes(multipart_body(&[
            field("a", "1"),
            field("a", "2"),
            field("b", "x"),
            file("f", "f.txt", "text/plain", b"abc"),
        ]))
        .content_type(&multipart_type())
        .await;
    r.assert_status_ok();
    assert_eq!(
        r.text(),
        r#"{"body":{"fields":{"a":"1","b":"x"},"files":{}}}"#
    );
    // An empty body is absent: required by default.
    let r = s.put("/loose").content_type(&multipart_type()).await;
    assert_eq!(
        without_messages(r.json()),
        validation_error(&[("body", "")])
    );
}
