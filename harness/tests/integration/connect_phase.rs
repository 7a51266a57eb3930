//! The connection phase of `bench` and `stream` (every connection opened before warm-up and
//! measurement, `connect_phase` in the document), connections that cannot be opened (`connect`
//! failures), and `--source-addr` (connections bound to local addresses in turn).

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{bin, corpus_file, serve_on_thread, text};

/// Echoes every data message of one WebSocket connection.
async fn echo(socket: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>) {
    let (mut sink, mut stream) = socket.split();
    while let Some(Ok(message)) = stream.next().await {
        if (message.is_text() || message.is_binary()) && sink.send(message).await.is_err() {
            return;
        }
    }
}

/// A WebSocket echo server that accepts `limit` connections (then closes its listener: later
/// connections are refused), doing each handshake in turn after `delay`, as a server whose
/// handshakes queue does.
fn ws_server(delay: Duration, limit: usize) -> std::net::SocketAddr {
    serve_on_thread(move |listener| async move {
        for _ in 0..limit {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::time::sleep(delay).await;
            if let Ok(socket) = tokio_tungstenite::accept_async(stream).await {
                tokio::spawn(echo(socket));
            }
        }
        drop(listener);
        std::future::pending::<()>().await;
    })
}

/// Runs `stream` on the echo fixture against `addr`; the exit code, the document, stderr.
fn stream(addr: std::net::SocketAddr, extra: &[&str]) -> (Option<i32>, Value, String) {
    let echo = corpus_file("websocket/bench/echo.json");
    let url = format!("http://{addr}");
    let out = bin()
        .args(["--url", &url, "stream", "--fixture"])
        .arg(echo)
        .args(["--format", "json", "--warmup", "0s"])
        .args(extra)
        .output()
        .unwrap();
    let document = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), document, text(&out.stderr))
}

fn wall_clock(rfc3339: &Value) -> SystemTime {
    humantime::parse_rfc3339_weak(rfc3339.as_str().unwrap().trim_end_matches('Z')).unwrap()
}

/// Asserts that a load document, as a report's `load` entry (with its `label` and `source`),
/// is valid against the published report schema.
fn assert_valid_load(document: &Value) {
    let file = crate::common::repo().join("reports/schema/report.v1.schema.json");
    let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let defs = schema["$defs"].take();
    let schema = serde_json::json!({"$ref": "#/$defs/load", "$defs": defs});
    let mut entry = document.clone();
    entry["label"] = "l".into();
    entry["source"] = "s".into();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&entry)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn measurement_starts_once_every_connection_is_open() {
    // 16 handshakes one after another, 120 ms each: about 1.9 s to open them all. Opened all at
    // once, the last would wait past the 1 s timeout, as 10,000 do against `serve`; two at a
    // time, none waits for long, and measurement starts after the last.
    let addr = ws_server(Duration::from_millis(120), usize::MAX);
    let began = SystemTime::now();
    let (code, doc, stderr) = stream(
        addr,
        &[
            "--connections",
            "16",
            "--connect-concurrency",
            "2",
            "--timeout",
            "1s",
            "--duration",
            "1s",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}\n{doc}");
    let phase = &doc["connect_phase"];
    assert_eq!(phase["connections"], 16, "{phase}");
    assert_eq!(phase["established"], 16, "{phase}");
    assert_eq!(phase["failed"], 0, "{phase}");
    assert_eq!(phase["concurrency"], 2, "{phase}");
    let took = phase["duration_ms"].as_f64().unwrap();
    assert!(took >= 16.0 * 120.0 * 0.95, "{phase}");
    assert!(
        phase["handshake_us"]["p50"].as_u64().unwrap() >= 100_000,
        "{phase}"
    );
    // Measurement began after the phase, and nothing in it timed out.
    let measured_from = wall_clock(&doc["measured_from"]);
    let waited = measured_from.duration_since(began).unwrap();
    assert!(waited.as_secs_f64() * 1e3 >= took, "{waited:?} {phase}");
    assert_eq!(doc["summary"]["errors"], 0, "{doc}");
    assert!(doc["summary"]["operations"].as_u64().unwrap() > 0, "{doc}");
    // Every handshake is in the handshake block too.
    assert_eq!(doc["connect"]["count"], 16, "{doc}");
    assert_valid_load(&doc);
}

#[test]
fn connections_the_server_refuses_are_connect_failures_and_said_never_opened() {
    // The server takes 6 connections (the reachability check before the run, then 5 of the
    // run's), then closes its listener: the 3 others are refused, in the phase and again in the
    // run.
    let addr = ws_server(Duration::ZERO, 6);
    let (code, doc, stderr) = stream(
        addr,
        &[
            "--connections",
            "8",
            "--connect-concurrency",
            "1",
            "--duration",
            "1s",
        ],
    );
    assert_eq!(code, Some(1), "errors: {stderr}\n{doc}");
    let phase = &doc["connect_phase"];
    assert_eq!(phase["established"], 5, "{phase}");
    assert_eq!(phase["failed"], 3, "{phase}");
    assert_eq!(phase["failed_by_kind"]["connection refused"], 3, "{phase}");
    // The run's errors are the refused reconnections, kept apart from failed operations.
    let kinds = doc["errors_by_kind"].as_object().unwrap();
    assert_eq!(
        kinds.keys().collect::<Vec<_>>(),
        ["connect: connection refused"],
        "{kinds:?}"
    );
    let successes =
        doc["summary"]["operations"].as_u64().unwrap() - doc["summary"]["errors"].as_u64().unwrap();
    assert!(successes > 0, "the 5 open connections were loaded: {doc}");
    assert_valid_load(&doc);
}

/// An HTTP/1.1 server answering every request with `{"message": "Hello, World!"}`, recording
/// each connection's peer address.
fn hello_server(peers: Arc<Mutex<Vec<IpAddr>>>) -> std::net::SocketAddr {
    serve_on_thread(move |listener| async move {
        loop {
            let Ok((mut stream, peer)) = listener.accept().await else {
                return;
            };
            peers.lock().unwrap().push(peer.ip());
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    while let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                        buffer.drain(..end + 4);
                        let body = br#"{"message":"Hello, World!"}"#;
                        let head = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                             content-length: {}\r\n\r\n",
                            body.len()
                        );
                        let reply = [head.as_bytes(), body].concat();
                        if stream.write_all(&reply).await.is_err() {
                            return;
                        }
                    }
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    })
}

#[test]
fn connections_come_from_the_source_addresses_in_turn() {
    let peers = Arc::new(Mutex::new(Vec::new()));
    let addr = hello_server(peers.clone());
    let hello = corpus_file("rest/bench/hello.json");
    let out = bin()
        .args(["--url", &format!("http://{addr}"), "bench", "--fixture"])
        .arg(hello)
        .args([
            "--format",
            "json",
            "--connections",
            "6",
            "--duration",
            "500ms",
            "--warmup",
            "0s",
            "--source-addr",
            "127.0.0.2-127.0.0.3",
        ])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(out.status.code(), Some(0), "{}\n{doc}", text(&out.stderr));
    assert_eq!(doc["connect_phase"]["established"], 6, "{doc}");
    let mut peers = peers.lock().unwrap().clone();
    // The reachability check before the run connects from the system's choice of address.
    let system: IpAddr = "127.0.0.1".parse().unwrap();
    assert_eq!(
        peers.iter().filter(|&&ip| ip == system).count(),
        1,
        "{peers:?}"
    );
    peers.retain(|&ip| ip != system);
    peers.sort();
    let expected: Vec<IpAddr> = ["127.0.0.2", "127.0.0.2", "127.0.0.2"]
        .into_iter()
        .chain(["127.0.0.3"; 3])
        .map(|ip| ip.parse().unwrap())
        .collect();
    assert_eq!(peers, expected, "the server saw these peers");
}

#[test]
fn source_addresses_and_concurrency_that_cannot_be_used_are_refused() {
    let hello = corpus_file("rest/bench/hello.json");
    let hello = hello.to_str().unwrap();
    let url = format!("http://{}", hello_server(Arc::default()));
    for (flags, words) in [
        (
            &["--source-addr", "127.0.0.9-127.0.0.2"][..],
            "the range ends before it starts",
        ),
        (&["--source-addr", "nowhere"], "is not an IP address"),
        (&["--source-addr", "127.0.0.2,::1"], "mixed"),
        (&["--connect-concurrency", "0"], "--connect-concurrency"),
        // A source of the other family than the target's address.
        (&["--source-addr", "::1"], "give addresses of its family"),
    ] {
        let out = bin()
            .args(["--url", &url, "bench", "--fixture", hello])
            .args(["--duration", "1s"])
            .args(flags)
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {stderr}");
        assert!(stderr.contains(words), "{flags:?}: {stderr}");
    }
}
