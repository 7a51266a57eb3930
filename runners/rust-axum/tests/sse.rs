//! SSE handlers: the exact wire format, resume, counter, interval, hold.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum_test::TestServer;
use common::sse;
use reference_server::{Server, app};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn server(fixtures: &[harness_fixture::Fixture]) -> TestServer {
    TestServer::new(app(fixtures).expect("app builds"))
}

fn ticks() -> harness_fixture::Fixture {
    sse(
        "ticks",
        json!({"route": "/sse/ticks",
               "events": [
                   {"comment": "heartbeat"},
                   {"id": "1", "event": "tick", "retry": 1500, "json": {"n": 1, "s": "a\nb"}},
                   {"id": "2", "data": "line one\nline two"},
                   {"data": ""}
               ],
               "resume": true}),
    )
}

#[tokio::test]
async fn wire_format_is_exact() {
    let s = server(&[ticks()]);
    let r = s.get("/sse/ticks").await;
    r.assert_status_ok();
    assert_eq!(r.header("content-type"), "text/event-stream");
    assert_eq!(r.header("cache-control"), "no-cache");
    assert_eq!(
        r.text(),
        ": heartbeat\n\n\
         id: 1\nevent: tick\nretry: 1500\ndata: {\"n\":1,\"s\":\"a\\nb\"}\n\n\
         id: 2\ndata: line one\ndata: line two\n\n\
         data: \n\n"
    );
}

#[tokio::test]
async fn resume_after_last_event_id() {
    let s = server(&[ticks()]);
    let r = s.get("/sse/ticks").add_header("last-event-id", "1").await;
    assert_eq!(
        r.text(),
        "id: 2\ndata: line one\ndata: line two\n\ndata: \n\n"
    );
    // An unknown id starts from the beginning.
    let r = s.get("/sse/ticks").add_header("last-event-id", "9").await;
    assert!(r.text().starts_with(": heartbeat\n\n"));
}

#[tokio::test]
async fn without_resume_last_event_id_is_ignored() {
    let s = server(&[sse(
        "plain",
        json!({"route": "/s", "events": [{"id": "a", "data": "x"}, {"id": "b", "data": "y"}]}),
    )]);
    let r = s.get("/s").add_header("last-event-id", "a").await;
    assert_eq!(r.text(), "id: a\ndata: x\n\nid: b\ndata: y\n\n");
}

fn parse_events(text: &str) -> Vec<Vec<(String, String)>> {
    text.split("\n\n")
        .filter(|block| !block.is_empty())
        .map(|block| {
            block
                .lines()
                .map(|line| {
                    let (field, value) = line.split_once(": ").unwrap();
                    (field.to_owned(), value.to_owned())
                })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn counter_with_count_event_and_timestamp() {
    let s = server(&[sse(
        "counter",
        json!({"route": "/sse/count", "events": [{"id": "start", "data": "go"}],
               "counter": {"count": 3, "event": "tick", "timestamp_field": "ts_us"},
               "resume": true}),
    )]);
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64;
    let r = s.get("/sse/count").await;
    let events = parse_events(&r.text());
    assert_eq!(events.len(), 4, "{}", r.text());
    assert_eq!(
        events[0],
        vec![("id".into(), "start".into()), ("data".into(), "go".into())]
    );
    for (n, event) in (1..=3u64).zip(&events[1..]) {
        assert_eq!(event[0], ("id".into(), n.to_string()));
        assert_eq!(event[1], ("event".into(), "tick".into()));
        assert_eq!(event[2].0, "data");
        let data: Value = serde_json::from_str(&event[2].1).unwrap();
        assert_eq!(data["n"], json!(n));
        let ts = data["ts_us"].as_u64().unwrap();
        assert!(ts >= before && ts < before + 60_000_000, "{ts}");
        assert!(event[2].1.starts_with(&format!("{{\"n\":{n},\"ts_us\":")));
    }
    // Resume inside the counter.
    let r = s.get("/sse/count").add_header("last-event-id", "2").await;
    let events = parse_events(&r.text());
    assert_eq!(events.len(), 1);
    assert_eq!(events[0][0], ("id".into(), "3".into()));
    // Resume after the last item: nothing left.
    let r = s.get("/sse/count").add_header("last-event-id", "3").await;
    assert_eq!(r.text(), "");
}

#[tokio::test]
async fn counter_without_event_or_timestamp() {
    let s = server(&[sse("c", json!({"route": "/c", "counter": {"count": 2}}))]);
    let r = s.get("/c").await;
    assert_eq!(
        r.text(),
        "id: 1\ndata: {\"n\":1}\n\nid: 2\ndata: {\"n\":2}\n\n"
    );
    assert_eq!(
        s.post("/c").await.status_code(),
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[tokio::test]
async fn interval_between_items() {
    let s = server(&[sse(
        "slow",
        json!({"route": "/slow", "counter": {"count": 3}, "interval_ms": 60}),
    )]);
    let started = Instant::now();
    let r = s.get("/slow").await;
    assert_eq!(parse_events(&r.text()).len(), 3);
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(120), "{elapsed:?}");
}

// Open-ended streams against a real server.

async fn open_stream(addr: SocketAddr, path: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nhost: test\r\naccept: text/event-stream\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    tcp
}

/// Reads until `needle` has been seen (bounded by 2 s); returns everything read.
async fn read_until(tcp: &mut TcpStream, needle: &str) -> String {
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(2);
    while !String::from_utf8_lossy(&seen).contains(needle) {
        let left = deadline.saturating_duration_since(Instant::now());
        let n = tokio::time::timeout(left, tcp.read(&mut buffer))
            .await
            .expect("data in time")
            .unwrap();
        assert!(
            n > 0,
            "stream ended early: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buffer[..n]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

#[tokio::test]
async fn hold_keeps_the_stream_open_and_shutdown_ends_it() {
    let server = Server::start(
        &[
            sse(
                "hold",
                json!({"route": "/hold", "events": [{"id": "1", "data": "only"}], "end": "hold"}),
            ),
            sse(
                "endless",
                json!({"route": "/endless", "counter": {"count": null}, "interval_ms": 5}),
            ),
        ],
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .unwrap();
    let addr = server.addr();

    let mut hold = open_stream(addr, "/hold").await;
    let head = read_until(&mut hold, "data: only\n\n").await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains("content-type: text/event-stream\r\n"),
        "{head}"
    );
    // Still open: nothing more arrives, and the connection does not end.
    let mut buffer = [0u8; 64];
    assert!(
        tokio::time::timeout(Duration::from_millis(200), hold.read(&mut buffer))
            .await
            .is_err()
    );

    let mut endless = open_stream(addr, "/endless").await;
    read_until(&mut endless, "id: 5\n").await;
    // A client that leaves: its stream stops (nothing to observe but no hang below).
    drop(endless);

    let started = Instant::now();
    server.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // The held stream has been ended by the shutdown.
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(1), hold.read_to_end(&mut rest)).await;
}
