//! `bench --http2 --streams N`, end to end: the reference server in h2c (embedded) and over TLS
//! (ALPN h2), hyper's HTTP/2-only server (a pass proves HTTP/2), closed and open loop; replies
//! checked as over HTTP/1.1 (a wrong one is an error by its first difference); and servers of
//! the h2 crate that reset every stream, send GOAWAY, or never answer (their streams are reset
//! at the timeout): each an error by kind. A target without HTTP/2 is exit 3 in words.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::common::{
    Served, corpus_file, corpus_json, run_within, serve_on_thread, text, write_fixtures,
};
use crate::http2::serve_http2_only;
use crate::tls_client::{Pki, Validity, serve_tls};

const HELLO: &str = "rest/bench/hello.json";

/// `bench --http2` on `fixture` for 1 s (no warmup) with `extra` flags: exit code, result
/// document (`Null` without one), stderr.
fn bench(fixture: &str, extra: &[&str]) -> (Option<i32>, Value, String) {
    let mut args = vec![
        "bench",
        "--http2",
        "--fixture",
        fixture,
        "--duration",
        "1s",
        "--warmup",
        "0s",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let (out, _) = run_within(&args, Duration::from_secs(60));
    let document = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), document, text(&out.stderr))
}

fn hello() -> String {
    corpus_file(HELLO).display().to_string()
}

/// Asserts a run without errors over HTTP/2 with `streams` streams per connection.
fn assert_loaded((code, document, stderr): &(Option<i32>, Value, String), streams: u64) {
    assert_eq!(*code, Some(0), "{stderr}");
    assert_eq!(document["http_version"], "2", "{document}");
    assert_eq!(document["streams"], streams, "{document}");
    assert!(
        document["summary"]["operations"].as_u64().unwrap() > 0,
        "{document}"
    );
    assert_eq!(document["summary"]["errors"], 0, "{document}");
}

#[test]
fn bench_http2_loads_the_reference_in_h2c_and_over_tls_closed_and_open_loop() {
    let hello = hello();
    assert_loaded(&bench(&hello, &["--connections", "2", "--streams", "8"]), 8);
    let open = bench(
        &hello,
        &["--connections", "2", "--streams", "4", "--rate", "400"],
    );
    assert_loaded(&open, 4);
    assert!(open.1["schedule_lag_us"].is_object(), "{}", open.1);
    let tls = Served::start(true);
    let ca = tls.ca();
    let over_tls = ["--url", tls.url.as_str(), "--cacert", ca.as_str()];
    assert_loaded(
        &bench(&hello, &[&over_tls[..], &["--streams", "4"]].concat()),
        4,
    );
    let open = [&over_tls[..], &["--streams", "2", "--rate", "300"]].concat();
    assert_loaded(&bench(&hello, &open), 2);
}

#[test]
fn bench_http2_speaks_http2_to_a_server_that_speaks_nothing_else() {
    let port = serve_http2_only(&[HELLO], None);
    let url = format!("http://127.0.0.1:{port}");
    assert_loaded(&bench(&hello(), &["--url", &url, "--streams", "3"]), 3);
    // The same target over HTTP/1.1 fails every request.
    let (out, _) = run_within(
        &[
            "bench",
            "--url",
            &url,
            "--fixture",
            &hello(),
            "--duration",
            "1s",
            "--warmup",
            "0s",
        ],
        Duration::from_secs(60),
    );
    assert_ne!(out.status.code(), Some(0));
    // The HTTP/1.1 document says so.
    let document: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(document["http_version"], "1.1", "{document}");
}

#[test]
fn a_wrong_reply_over_http2_is_an_error_by_its_first_difference() {
    let mut fixture = corpus_json(HELLO);
    fixture["name"] = "hello-moon".into();
    fixture["expected"]["body"]["message"] = "Hello, Moon!".into();
    // Its handler still says Hello, World!: every reply differs.
    let (_dir, files) = write_fixtures(&[fixture]);
    let file = files[0].display().to_string();
    let (code, document, stderr) = bench(&file, &["--connections", "1", "--streams", "2"]);
    assert_eq!(code, Some(1), "{stderr}");
    let kinds = document["errors_by_kind"].as_object().unwrap();
    assert_eq!(kinds.len(), 1, "{document}");
    assert!(
        kinds.contains_key("/body/message: different string"),
        "{document}"
    );
}

#[test]
fn coded_uploads_and_replies_and_streamed_bodies_go_as_over_http1() {
    // The embedded reference: a gzip upload, a gzip reply decoded before its check, and a
    // streamed NDJSON body checked by its chunks and timed.
    for fixture in [
        "rest/compression/upload-gzip.json",
        "rest/compression/gzip.json",
    ] {
        let path = corpus_file(fixture).display().to_string();
        let run = bench(&path, &["--connections", "1", "--streams", "2"]);
        assert_loaded(&run, 2);
        assert!(run.1.get("body_timing").is_none(), "{}", run.1);
    }
    let streamed = corpus_file("rest/streaming/ndjson.json")
        .display()
        .to_string();
    let run = bench(&streamed, &["--connections", "1", "--streams", "2"]);
    assert_loaded(&run, 2);
    let timing = &run.1["body_timing"];
    assert!(timing["count"].as_u64().unwrap() >= 1, "{}", run.1);
    assert!(
        timing["first_byte_us"]["p50"].as_u64().unwrap()
            <= timing["last_byte_us"]["p50"].as_u64().unwrap(),
        "{}",
        run.1
    );
}

/// What the h2 test server does with each request.
#[derive(Clone)]
enum Behaviour {
    /// RST_STREAM REFUSED_STREAM.
    Refuse,
    /// GOAWAY ENHANCE_YOUR_CALM, and the end of the connection.
    GoAway,
    /// Nothing: no answer; counts the streams the client resets with CANCEL.
    Silent(Arc<AtomicU64>),
    /// Hello, World! as the fixture expects, so many streams at a time at most
    /// (SETTINGS_MAX_CONCURRENT_STREAMS): a stream past them is refused.
    AtATime(u32),
    /// Hello, World! to so many requests per connection, then a graceful GOAWAY (NO_ERROR):
    /// the streams it took are answered, the connection then ends.
    GoAwayAfter(usize),
    /// Hello, World! to a request whose body (of so many bytes) came whole, through windows
    /// of 16 bytes (SETTINGS_INITIAL_WINDOW_SIZE, and the connection's): the client's DATA wait
    /// for the server's WINDOW_UPDATEs.
    TinyWindow(usize),
}

/// Answers Hello, World! as the fixture expects.
fn say_hello(respond: &mut h2::server::SendResponse<bytes::Bytes>) {
    let reply = hyper::Response::builder()
        .header("content-type", "application/json")
        .body(())
        .unwrap();
    if let Ok(mut body) = respond.send_response(reply, false) {
        let hello = br#"{"message":"Hello, World!"}"#;
        let _ = body.send_data(bytes::Bytes::from_static(hello), true);
    }
}

/// Reads a request body whole (giving its window back as it comes): its length.
async fn body_length(mut body: h2::RecvStream) -> Option<usize> {
    let mut length = 0;
    while let Some(chunk) = body.data().await {
        let chunk = chunk.ok()?;
        length += chunk.len();
        body.flow_control().release_capacity(chunk.len()).ok()?;
    }
    Some(length)
}

/// An HTTP/2 server (h2c) of the h2 crate behaving as `behaviour` says.
fn serve_h2(behaviour: Behaviour) -> String {
    let served = serve_on_thread(move |tcp| async move {
        loop {
            let Ok((socket, _)) = tcp.accept().await else {
                continue;
            };
            let behaviour = behaviour.clone();
            tokio::spawn(async move {
                let mut builder = h2::server::Builder::new();
                match behaviour {
                    Behaviour::AtATime(streams) => {
                        builder.max_concurrent_streams(streams);
                    }
                    Behaviour::TinyWindow(_) => {
                        builder
                            .initial_window_size(16)
                            .initial_connection_window_size(16);
                    }
                    _ => {}
                }
                let Ok(mut connection) = builder.handshake(socket).await else {
                    return;
                };
                let mut answered = 0;
                while let Some(Ok((request, mut respond))) = connection.accept().await {
                    answered += 1;
                    match &behaviour {
                        Behaviour::Refuse => respond.send_reset(h2::Reason::REFUSED_STREAM),
                        Behaviour::GoAway => {
                            connection.abrupt_shutdown(h2::Reason::ENHANCE_YOUR_CALM)
                        }
                        Behaviour::AtATime(_) => say_hello(&mut respond),
                        Behaviour::GoAwayAfter(limit) => {
                            say_hello(&mut respond);
                            if answered == *limit {
                                connection.graceful_shutdown();
                            }
                        }
                        Behaviour::TinyWindow(want) => {
                            let want = *want;
                            tokio::spawn(async move {
                                if body_length(request.into_body()).await == Some(want) {
                                    say_hello(&mut respond);
                                } else {
                                    respond.send_reset(h2::Reason::INTERNAL_ERROR);
                                }
                            });
                        }
                        Behaviour::Silent(cancelled) => {
                            let cancelled = cancelled.clone();
                            tokio::spawn(async move {
                                let reset = std::future::poll_fn(|cx| respond.poll_reset(cx)).await;
                                if matches!(reset, Ok(h2::Reason::CANCEL)) {
                                    cancelled.fetch_add(1, Ordering::Relaxed);
                                }
                            });
                        }
                    }
                }
                // The socket stays open a moment: closed at once with requests unread, it
                // would be reset and the GOAWAY lost with it.
                tokio::time::sleep(Duration::from_millis(300)).await;
                drop(connection);
            });
        }
    });
    format!("http://{served}")
}

/// The error kinds of a failed run against `url`.
fn kinds_against(url: &str, extra: &[&str]) -> serde_json::Map<String, Value> {
    let args = [
        &["--url", url, "--connections", "1", "--streams", "2"][..],
        extra,
    ]
    .concat();
    let (code, document, stderr) = bench(&hello(), &args);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(document["summary"]["throughput_per_s"], 0.0, "{document}");
    document["errors_by_kind"].as_object().unwrap().clone()
}

#[test]
fn reset_streams_goaways_and_silence_are_errors_by_kind() {
    let refused = kinds_against(&serve_h2(Behaviour::Refuse), &[]);
    assert_eq!(
        refused.keys().collect::<Vec<_>>(),
        ["RST_STREAM REFUSED_STREAM"],
        "{refused:?}"
    );

    let goaway = kinds_against(&serve_h2(Behaviour::GoAway), &[]);
    assert!(
        goaway.keys().any(|k| k == "GOAWAY ENHANCE_YOUR_CALM"),
        "{goaway:?}"
    );

    let cancelled = Arc::new(AtomicU64::new(0));
    let silent = serve_h2(Behaviour::Silent(cancelled.clone()));
    let timeouts = kinds_against(&silent, &["--timeout", "200ms"]);
    assert_eq!(
        timeouts.keys().collect::<Vec<_>>(),
        ["timeout"],
        "{timeouts:?}"
    );
    // Each request past its deadline had its stream reset (CANCEL), and its stream took the
    // next request: more than the 2 streams' first requests timed out, all of them reset.
    let cancelled = cancelled.load(Ordering::Relaxed);
    let timed_out = timeouts["timeout"].as_u64().unwrap();
    assert!(timed_out >= 4, "{timeouts:?}");
    assert!(
        cancelled >= timed_out,
        "{cancelled} resets for {timed_out} timeouts"
    );
}

#[test]
fn more_streams_than_the_server_takes_wait_for_their_turn() {
    for streams in [1, 2] {
        let url = serve_h2(Behaviour::AtATime(streams));
        let (code, document, stderr) = bench(
            &hello(),
            &["--url", &url, "--connections", "1", "--streams", "8"],
        );
        assert_eq!(code, Some(0), "{stderr}");
        assert_eq!(document["summary"]["errors"], 0, "{document}");
        assert!(document["summary"]["operations"].as_u64().unwrap() > 0);
    }
}

#[test]
fn a_graceful_goaway_mid_run_ends_the_connection_and_the_next_one_goes_on() {
    // 50 requests a connection, 8 streams: the streams the GOAWAY leaves out fail as it says,
    // the run goes on over new connections.
    let url = serve_h2(Behaviour::GoAwayAfter(50));
    let (_, document, stderr) = bench(
        &hello(),
        &["--url", &url, "--connections", "1", "--streams", "8"],
    );
    let summary = &document["summary"];
    let operations = summary["operations"].as_u64().unwrap_or(0);
    let errors = summary["errors"].as_u64().unwrap_or(0);
    assert!(operations - errors > 150, "{document} {stderr}");
    let kinds = document["errors_by_kind"].as_object().unwrap();
    assert!(kinds.keys().all(|k| k == "GOAWAY NO_ERROR"), "{document}");
}

#[test]
fn a_request_body_goes_within_the_server_s_tiny_windows() {
    let mut fixture = corpus_json(HELLO);
    let text = "0123456789".repeat(100);
    fixture["request"]["method"] = "POST".into();
    fixture["request"]["body_text"] = text.clone().into();
    let (_dir, files) = write_fixtures(&[fixture]);
    let file = files[0].display().to_string();
    let url = serve_h2(Behaviour::TinyWindow(text.len()));
    let run = bench(
        &file,
        &["--url", &url, "--connections", "2", "--streams", "4"],
    );
    assert_loaded(&run, 4);
    // A server that wants another length resets every stream: the body is checked.
    let url = serve_h2(Behaviour::TinyWindow(text.len() + 1));
    let (code, document, stderr) = bench(&file, &["--url", &url, "--connections", "1"]);
    assert_eq!(code, Some(1), "{stderr}");
    let kinds = document["errors_by_kind"].as_object().unwrap();
    assert_eq!(
        kinds.keys().collect::<Vec<_>>(),
        ["RST_STREAM INTERNAL_ERROR"],
        "{document}"
    );
}

/// A frame header and payload.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let length = payload.len().to_be_bytes();
    let mut bytes = length[length.len() - 3..].to_vec();
    bytes.extend_from_slice(&[kind, flags]);
    bytes.extend_from_slice(&stream.to_be_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// An HTTP/2 server on raw frames (h2c): its SETTINGS (none set), then what `reply` says to
/// each request (by its stream); it answers PINGs, and reads and drops every other frame.
fn serve_raw(reply: fn(u32) -> Vec<u8>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let served = serve_on_thread(move |tcp| async move {
        loop {
            let Ok((mut socket, _)) = tcp.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let mut preface = [0; 24];
                if socket.read_exact(&mut preface).await.is_err() {
                    return;
                }
                if socket.write_all(&frame(4, 0, 0, &[])).await.is_err() {
                    return;
                }
                let mut head = [0; 9];
                while socket.read_exact(&mut head).await.is_ok() {
                    let length = usize::from(head[0]) << 16
                        | usize::from(head[1]) << 8
                        | usize::from(head[2]);
                    let mut payload = vec![0; length];
                    if socket.read_exact(&mut payload).await.is_err() {
                        return;
                    }
                    let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]);
                    let answer = match (head[3], head[4] & 1) {
                        (1, _) => reply(stream),
                        // PINGs are answered (the harness asks one before it loads).
                        (6, 0) => frame(6, 1, 0, &payload),
                        _ => continue,
                    };
                    if socket.write_all(&answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{served}")
}

/// The head of Hello, World! in HPACK: `:status 200` (indexed), then `content-type:
/// application/json` (literal without indexing, its name indexed).
const HELLO_HEAD: &[u8] = b"\x88\x0f\x10\x10application/json";
const HELLO_BODY: &[u8] = br#"{"message":"Hello, World!"}"#;

#[test]
fn padding_priority_continuation_and_pings_are_taken_as_rfc_9113_says() {
    let url = serve_raw(|stream| {
        // A PING first (answered), then HEADERS padded and with priority, their block ending in
        // a CONTINUATION, then the body in two DATA frames, the last padded.
        let mut bytes = frame(6, 0, 0, &[7; 8]);
        let (first, rest) = HELLO_HEAD.split_at(4);
        let mut headers = vec![3, 0, 0, 0, 0, 16];
        headers.extend_from_slice(first);
        headers.extend_from_slice(&[0; 3]);
        bytes.extend(frame(1, 0x8 | 0x20, stream, &headers));
        bytes.extend(frame(9, 0x4, stream, rest));
        let (a, b) = HELLO_BODY.split_at(10);
        bytes.extend(frame(0, 0, stream, a));
        let mut padded = vec![5];
        padded.extend_from_slice(b);
        padded.extend_from_slice(&[0; 5]);
        bytes.extend(frame(0, 0x8 | 0x1, stream, &padded));
        bytes
    });
    assert_loaded(&bench(&hello(), &["--url", &url, "--streams", "3"]), 3);
}

#[test]
fn malformed_or_oversized_frames_are_connection_errors() {
    // A PING of 7 bytes; a DATA frame larger than the client's SETTINGS_MAX_FRAME_SIZE; a
    // reply on a stream the client never opened.
    let short_ping: fn(u32) -> Vec<u8> = |_| frame(6, 0, 0, &[0; 7]);
    let too_large: fn(u32) -> Vec<u8> = |stream| {
        let mut bytes = frame(1, 0x4, stream, HELLO_HEAD);
        bytes.extend(frame(0, 0x1, stream, &vec![b' '; 20_000]));
        bytes
    };
    let idle: fn(u32) -> Vec<u8> = |stream| frame(1, 0x4 | 0x1, stream + 100, HELLO_HEAD);
    for (reply, kind) in [
        (short_ping, "GOAWAY FRAME_SIZE_ERROR"),
        (too_large, "GOAWAY FRAME_SIZE_ERROR"),
        (idle, "GOAWAY PROTOCOL_ERROR"),
    ] {
        let kinds = kinds_against(&serve_raw(reply), &[]);
        assert_eq!(kinds.keys().collect::<Vec<_>>(), [kind], "{kinds:?}");
    }
    // A reply head without `:status` is a stream error: that stream is reset.
    let kinds = kinds_against(
        &serve_raw(|stream| frame(1, 0x4 | 0x1, stream, b"\x0f\x10\x10application/json")),
        &[],
    );
    assert_eq!(
        kinds.keys().collect::<Vec<_>>(),
        ["RST_STREAM PROTOCOL_ERROR"],
        "{kinds:?}"
    );
}

#[test]
fn bench_http2_against_a_target_without_http2_is_exit_3_in_words() {
    let pki = Pki::new();
    pki.issue("server", &["localhost", "127.0.0.1"], Validity::Now);
    let mut config = pki.server_config("server", false);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let url = format!("https://127.0.0.1:{}", serve_tls(config));
    let ca = pki.arg("ca.pem");
    let (code, document, stderr) = bench(&hello(), &["--url", &url, "--cacert", &ca]);
    assert_eq!(code, Some(3), "{stderr}");
    assert_eq!(document, Value::Null);
    assert!(
        stderr.contains("the server did not agree to HTTP/2 (ALPN offered h2, got http/1.1)"),
        "{stderr}"
    );
    // More than one stream per connection needs HTTP/2.
    let (out, _) = run_within(
        &["bench", "--fixture", &hello(), "--streams", "2"],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--streams needs --http2"),
        "{}",
        text(&out.stderr)
    );
}
