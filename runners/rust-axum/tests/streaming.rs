//! Streamed replies: content types, exact bytes, no `Content-Length`, each item sent as it is
//! written, `interval_ms` apart.

mod common;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum_test::TestServer;
use common::rest;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use reference_server::{BuildError, Server, app};
use serde_json::json;
use tokio::net::TcpStream;

fn streams() -> Vec<harness_fixture::Fixture> {
    vec![
        rest(
            "ndjson",
            json!({"method": "GET", "route": "/ndjson", "response": {"stream": {
                "format": "ndjson", "items": [{"n": 1, "word": "one"}, [1, "é"], "s", null]}}}),
        ),
        rest(
            "csv",
            json!({"method": "GET", "route": "/export.csv", "response": {
                "headers": {"x-kind": "export"},
                "stream": {"format": "csv", "interval_ms": 5, "items": [
                    ["id", "name", "note"],
                    [1, "ada", "plain"],
                    [2, "smith, john", "comma"],
                    [3, "say \"hi\"", "quote"],
                    [4.5, "two\nlines", true],
                    [false, "cr\rhere", ""]]}}}),
        ),
        rest(
            "text",
            json!({"method": "GET", "route": "/log", "response": {"status": 202, "stream": {
                "format": "text", "items": ["boot\n", "", "rea", "dy\n"]}}}),
        ),
        rest(
            "empty",
            json!({"method": "GET", "route": "/empty", "response": {"stream": {
                "format": "ndjson", "items": []}}}),
        ),
        rest(
            "slow",
            json!({"method": "GET", "route": "/slow", "response": {"stream": {
                "format": "ndjson", "items": [{"step": 1}, {"step": 2}, {"step": 3}],
                "interval_ms": 400}}}),
        ),
    ]
}

#[tokio::test]
async fn formats_content_types_and_bytes() {
    let s = TestServer::new(app(&streams()).expect("app builds"));

    let r = s.get("/ndjson").await;
    r.assert_status_ok();
    assert_eq!(r.header("content-type"), "application/x-ndjson");
    assert!(r.maybe_header("content-length").is_none());
    assert_eq!(
        r.text(),
        "{\"n\":1,\"word\":\"one\"}\n[1,\"é\"]\n\"s\"\nnull\n"
    );

    let r = s.get("/export.csv").await;
    assert_eq!(r.header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(r.header("x-kind"), "export");
    assert_eq!(
        r.text(),
        "id,name,note\r\n\
         1,ada,plain\r\n\
         2,\"smith, john\",comma\r\n\
         3,\"say \"\"hi\"\"\",quote\r\n\
         4.5,\"two\nlines\",true\r\n\
         false,\"cr\rhere\",\r\n"
    );

    let r = s.get("/log").await;
    assert_eq!(r.status_code(), StatusCode::ACCEPTED);
    assert_eq!(r.header("content-type"), "text/plain; charset=utf-8");
    assert_eq!(r.text(), "boot\nready\n");

    let r = s.get("/empty").await;
    r.assert_status_ok();
    assert_eq!(r.header("content-type"), "application/x-ndjson");
    assert!(r.as_bytes().is_empty());
}

/// GETs `path` over HTTP/1.1: the head, and each body frame with when it arrived.
async fn frames(
    server: &Server,
    path: &str,
) -> (hyper::http::response::Parts, Vec<(Duration, bytes::Bytes)>) {
    let tcp = TcpStream::connect(server.addr()).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::get(path)
        .header("host", "localhost")
        .body(Empty::<bytes::Bytes>::new())
        .unwrap();
    let start = Instant::now();
    let response = tokio::time::timeout(Duration::from_secs(10), sender.send_request(request))
        .await
        .unwrap()
        .unwrap();
    let (head, mut body) = response.into_parts();
    let mut got = Vec::new();
    while let Some(frame) = tokio::time::timeout(Duration::from_secs(10), body.frame())
        .await
        .unwrap()
    {
        if let Ok(data) = frame.unwrap().into_data() {
            got.push((start.elapsed(), data));
        }
    }
    (head, got)
}

#[tokio::test]
async fn items_arrive_one_by_one_interval_apart() {
    let server = Server::start(&streams(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (head, got) = frames(&server, "/slow").await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.headers["transfer-encoding"], "chunked");
    assert!(!head.headers.contains_key("content-length"));
    // One frame per item, each whole.
    let pieces: Vec<&[u8]> = got.iter().map(|(_, data)| &data[..]).collect();
    assert_eq!(
        pieces,
        [
            &b"{\"step\":1}\n"[..],
            &b"{\"step\":2}\n"[..],
            &b"{\"step\":3}\n"[..]
        ]
    );
    // The first before the first pause ends, the others after one and two pauses: a server
    // that buffered the stream would send them all at once, after 800 ms.
    let at: Vec<Duration> = got.iter().map(|(at, _)| *at).collect();
    assert!(at[0] < Duration::from_millis(400), "{at:?}");
    assert!(at[1] >= Duration::from_millis(400), "{at:?}");
    assert!(at[2] >= Duration::from_millis(800), "{at:?}");
    assert!(at[2] - at[0] >= Duration::from_millis(400), "{at:?}");

    // An empty item does not end the chunked body early (a zero-length chunk would).
    let (_, got) = frames(&server, "/log").await;
    let text: Vec<u8> = got.iter().flat_map(|(_, data)| data.to_vec()).collect();
    assert_eq!(text, b"boot\nready\n");

    // Without an interval the items may share a packet, but never a Content-Length.
    let (head, got) = frames(&server, "/empty").await;
    assert!(!head.headers.contains_key("content-length"));
    assert!(got.iter().all(|(_, data)| data.is_empty()), "{got:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_shutdown_ends_a_stream_in_progress() {
    let server = Server::start(&streams(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = server.addr();
    let reader = tokio::spawn(async move {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .unwrap();
        tokio::spawn(connection);
        let request = hyper::Request::get("/slow")
            .header("host", "localhost")
            .body(Empty::<bytes::Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        response.into_body().collect().await.map(|c| c.to_bytes())
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    server.shutdown().await;
    // Ended at once, not after the remaining 800 ms of pauses (nor the 5 s shutdown bound).
    assert!(
        started.elapsed() < Duration::from_millis(700),
        "{:?}",
        started.elapsed()
    );
    let body = tokio::time::timeout(Duration::from_secs(5), reader)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(&body[..], b"{\"step\":1}\n");
}

#[test]
fn items_of_the_wrong_shape_are_a_build_error() {
    // The loader refuses these by the schema; a fixture built in code is refused by the app.
    let mut fixture = rest(
        "bad",
        json!({"method": "GET", "route": "/bad", "response": {"stream": {
            "format": "csv", "items": [["ok"]]}}}),
    );
    if let harness_fixture::Spec::Rest(rest) = &mut fixture.spec {
        let handler = rest.handler.as_mut().unwrap();
        let stream = handler.response.stream.as_mut().unwrap();
        stream.items.push(json!([{"nested": true}]));
    }
    let error = app(&[fixture]).unwrap_err();
    assert!(matches!(error, BuildError::Handler { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("#/handler/response/stream/items/1"),
        "{error}"
    );
}
