//! The WebSocket steps of format 1.1 (`expect_unordered`, `expect_any_of`, `expect_count`,
//! `expect_none`, `ignore`) and SSE `ignore`, against small servers of this test's own on
//! loopback: an RPC server that answers requests `{"id":N,...}` in reverse order, sends
//! heartbeats, streams subscription items and stays silent on notifications; each flag of its
//! query breaks one behaviour (a wrong id, a missing reply, an extra message, a reply to a
//! notification, too few items, a reply that fits no alternative). Every construct passes on the
//! right server and fails with the right diff on each wrong one.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

use crate::common::{run_within, serve_on_thread, text, write_fixtures};

// ---------------------------------------------------------------------------------------------
// The RPC server.

/// What a connection's query asks the server to get wrong (`?wrong_id=1&missing=1...`).
#[derive(Default, Clone, Copy)]
struct Faults {
    /// Heartbeats `{"type":"heartbeat"}` every 20 ms.
    heartbeat: bool,
    /// The reply to the first request of a batch carries id + 100.
    wrong_id: bool,
    /// The reply to the first request of a batch never comes.
    missing: bool,
    /// A reply nobody asked for (`{"id":999}`) in the middle of a batch.
    extra: bool,
    /// A notification is answered.
    notify_reply: bool,
    /// One subscription item fewer than asked.
    few_items: bool,
    /// The `either` request is answered with neither of its two shapes.
    bad_either: bool,
    /// A notification is answered with 150 messages.
    flood: bool,
}

impl Faults {
    fn from_query(query: &str) -> Faults {
        let on = |flag: &str| query.split('&').any(|pair| pair == format!("{flag}=1"));
        Faults {
            heartbeat: on("heartbeat"),
            wrong_id: on("wrong_id"),
            missing: on("missing"),
            extra: on("extra"),
            notify_reply: on("notify_reply"),
            few_items: on("few_items"),
            bad_either: on("bad_either"),
            flood: on("flood"),
        }
    }
}

/// The replies to one request (`{"id":N,"method":...}`) or notification (no id), given the
/// requests of the batch so far; `batch` collects `call`s until one says `"last": true`.
fn replies(message: &Value, batch: &mut Vec<u64>, faults: Faults) -> Vec<Value> {
    let id = message["id"].as_u64();
    match (message["method"].as_str(), id) {
        (Some("call"), Some(id)) => {
            batch.push(id);
            if message["last"] != true {
                return Vec::new();
            }
            // Answered in reverse order of arrival.
            let mut out = Vec::new();
            let first = batch[0];
            for (place, &id) in batch.iter().rev().enumerate() {
                if faults.extra && place == 1 {
                    out.push(json!({"id": 999, "result": 0}));
                }
                if id == first && faults.missing {
                    continue;
                }
                let shown = if id == first && faults.wrong_id {
                    id + 100
                } else {
                    id
                };
                out.push(json!({"id": shown, "result": id * 10}));
            }
            batch.clear();
            out
        }
        (Some("subscribe"), Some(id)) => {
            let count = message["count"].as_u64().unwrap_or(0);
            let count = if faults.few_items { count - 1 } else { count };
            let mut out = vec![json!({"id": id, "result": "subscribed"})];
            out.extend((1..=count).map(|n| json!({"item": n})));
            out
        }
        (Some("either"), Some(id)) if faults.bad_either => {
            vec![json!({"id": id, "result": "nope"})]
        }
        (Some("either"), Some(id)) => vec![json!({"id": id, "error": "busy"})],
        (Some("notify"), None) if faults.flood => (1..=150).map(|n| json!({"n": n})).collect(),
        (Some("notify"), None) if faults.notify_reply => vec![json!({"id": null, "ack": true})],
        _ => Vec::new(),
    }
}

/// One connection: replies (and heartbeats) go through one writer task.
async fn rpc_connection(stream: tokio::net::TcpStream) {
    let query = Arc::new(Mutex::new(String::new()));
    let seen = Arc::clone(&query);
    #[allow(clippy::result_large_err)] // the library's callback type
    let callback = move |request: &Request, response: Response| {
        *seen.lock().unwrap() = request.uri().query().unwrap_or("").to_string();
        Ok(response)
    };
    let Ok(socket) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let faults = Faults::from_query(&query.lock().unwrap());
    let (mut sink, mut source) = socket.split();
    let (sender, mut outbox) = mpsc::unbounded_channel::<Message>();
    let writer = tokio::spawn(async move {
        while let Some(message) = outbox.recv().await {
            if sink.send(message).await.is_err() {
                break;
            }
        }
    });
    if faults.heartbeat {
        let beats = sender.clone();
        tokio::spawn(async move {
            let mut n = 0;
            loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                n += 1;
                let beat = json!({"type": "heartbeat", "n": n}).to_string();
                if beats.send(Message::text(beat)).is_err() {
                    break;
                }
            }
        });
    }
    let mut batch = Vec::new();
    while let Some(Ok(message)) = source.next().await {
        match message {
            Message::Text(text) => {
                let Ok(request) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                for reply in replies(&request, &mut batch, faults) {
                    let _ = sender.send(Message::text(reply.to_string()));
                }
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    drop(sender);
    writer.abort();
}

/// The RPC server's base URL.
fn rpc_server() -> String {
    let address = serve_on_thread(|listener: tokio::net::TcpListener| async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(rpc_connection(stream));
        }
    });
    format!("http://{address}")
}

// ---------------------------------------------------------------------------------------------
// The fixture and its runs.

/// Index of each step of [`conversation`], for the pointers of the diffs.
const UNORDERED: usize = 3;
const NONE: usize = 5;
const COUNT: usize = 8;
const ANY_OF: usize = 10;

/// The conversation of an RPC client: a batch of three calls answered in any order, a
/// notification answered by silence, a subscription of three items, and a request answered by
/// one of two shapes; heartbeats ignored for the whole transcript.
fn conversation(query: &str) -> Value {
    json!({
        "name": "rpc", "protocol": "websocket",
        "connect": {"path": "/rpc", "query": query_map(query)},
        "ignore": [{"json_partial": {"type": "heartbeat"}}],
        "transcript": [
            {"send": {"json": {"id": 1, "method": "call"}}},
            {"send": {"json": {"id": 2, "method": "call"}}},
            {"send": {"json": {"id": 3, "method": "call", "last": true}}},
            {"expect_unordered": [
                {"json": {"id": 1, "result": 10}},
                {"json": {"id": 2, "result": 20}},
                {"json": {"id": 3, "result": 30}}
            ]},
            {"send": {"json": {"method": "notify"}}},
            {"expect_none": {"within_ms": 300}},
            {"send": {"json": {"id": 4, "method": "subscribe", "count": 3}}},
            {"expect": {"json": {"id": 4, "result": "subscribed"}}},
            {"expect_count": {"count": 3, "message": {"json": {"item": "<<number>>"}}}},
            {"send": {"json": {"id": 5, "method": "either"}}},
            {"expect_any_of": [
                {"json": {"id": 5, "result": "<<number>>"}},
                {"json": {"id": 5, "error": "busy"}}
            ], "within_ms": 2000},
            {"close": {}}
        ]
    })
}

fn query_map(query: &str) -> Value {
    let mut map = serde_json::Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap();
        map.insert(key.into(), value.into());
    }
    Value::Object(map)
}

/// `run --format json` of `fixture` against `url` (step timeout 1 s), bounded; the fixture's
/// result.
fn run_one(url: &str, fixture: &Value) -> Value {
    let (_dir, files) = write_fixtures(std::slice::from_ref(fixture));
    run_files(url, &files, &[])
}

fn run_files(url: &str, files: &[PathBuf], extra: &[&str]) -> Value {
    let mut args: Vec<String> = [
        "run",
        "--url",
        url,
        "--snapshots",
        "off",
        "--format",
        "json",
    ]
    .map(String::from)
    .to_vec();
    args.extend(["--timeout".to_string(), "1s".to_string()]);
    for file in files {
        args.push("--fixture".into());
        args.push(file.display().to_string());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let (output, _) = run_within(&args, Duration::from_secs(30));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON ({e}): {}\n{}",
            text(&output.stdout),
            text(&output.stderr)
        )
    });
    report["fixtures"][0].clone()
}

/// The fixture's diff, asserting it failed.
fn failed_diff(result: &Value) -> Vec<Value> {
    assert_eq!(result["outcome"], "failed", "{result:#}");
    result["diff"].as_array().unwrap().clone()
}

fn at<'a>(diff: &'a [Value], path: &str) -> Vec<&'a Value> {
    diff.iter().filter(|m| m["path"] == path).collect()
}

fn reply_text(id: u64, result: u64) -> Value {
    json!({"text": json!({"id": id, "result": result}).to_string()})
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn every_new_step_passes_on_the_right_server_with_heartbeats_ignored() {
    let url = rpc_server();
    let result = run_one(&url, &conversation("heartbeat=1"));
    assert_eq!(result["outcome"], "passed", "{result:#}");
    // Without heartbeats too.
    let result = run_one(&url, &conversation(""));
    assert_eq!(result["outcome"], "passed", "{result:#}");
}

#[test]
fn a_reply_with_the_wrong_id_is_unexpected_and_its_expectation_never_matched() {
    let url = rpc_server();
    let diff = failed_diff(&run_one(&url, &conversation("heartbeat=1&wrong_id=1")));
    let set = format!("/transcript/{UNORDERED}/expect_unordered");
    let never = at(&diff, &format!("{set}/0"));
    assert_eq!(never.len(), 1, "{diff:#?}");
    assert_eq!(
        never[0]["expected"],
        json!({"json": {"id": 1, "result": 10}})
    );
    assert_eq!(never[0]["actual"], json!([reply_text(101, 10)]));
    assert!(
        never[0]["message"]
            .as_str()
            .unwrap()
            .contains("never matched")
    );
    let unexpected = at(&diff, &set);
    assert_eq!(unexpected.len(), 1, "{diff:#?}");
    assert_eq!(unexpected[0]["actual"], reply_text(101, 10));
    assert_eq!(
        unexpected[0]["expected"],
        json!([{"json": {"id": 1, "result": 10}}])
    );
    assert!(
        unexpected[0]["message"]
            .as_str()
            .unwrap()
            .contains("arrived unexpected")
    );
    assert_eq!(diff.len(), 2, "only the set differs: {diff:#?}");
}

#[test]
fn a_missing_reply_is_named_never_matched_with_nothing_unexpected() {
    let url = rpc_server();
    let diff = failed_diff(&run_one(&url, &conversation("heartbeat=1&missing=1")));
    let set = format!("/transcript/{UNORDERED}/expect_unordered");
    assert_eq!(diff.len(), 1, "{diff:#?}");
    assert_eq!(diff[0]["path"], format!("{set}/0"));
    assert_eq!(
        diff[0]["expected"],
        json!({"json": {"id": 1, "result": 10}})
    );
    assert_eq!(diff[0]["actual"], json!([]));
}

#[test]
fn an_extra_message_in_the_set_arrives_unexpected() {
    let url = rpc_server();
    let diff = failed_diff(&run_one(&url, &conversation("extra=1")));
    assert_eq!(diff.len(), 1, "{diff:#?}");
    assert_eq!(
        diff[0]["path"],
        format!("/transcript/{UNORDERED}/expect_unordered")
    );
    assert_eq!(diff[0]["actual"], reply_text(999, 0));
    assert_eq!(
        diff[0]["expected"],
        json!([]),
        "every expectation was matched"
    );
}

#[test]
fn a_reply_to_a_notification_breaks_the_silence() {
    let url = rpc_server();
    let diff = failed_diff(&run_one(&url, &conversation("heartbeat=1&notify_reply=1")));
    assert_eq!(diff.len(), 1, "{diff:#?}");
    assert_eq!(diff[0]["path"], format!("/transcript/{NONE}/expect_none"));
    assert_eq!(diff[0]["expected"], Value::Null);
    assert_eq!(
        diff[0]["actual"],
        json!({"text": json!({"id": null, "ack": true}).to_string()})
    );
    assert_eq!(diff[0]["message"], "arrived during the silence");
}

#[test]
fn a_flood_during_a_step_stops_the_replay_past_100_unexpected_messages() {
    let url = rpc_server();
    let result = run_one(&url, &conversation("flood=1"));
    assert_eq!(result["outcome"], "errored", "{result:#}");
    assert_eq!(result["error"]["at"], format!("/transcript/{NONE}"));
    assert_eq!(
        result["error"]["reason"],
        "more than 100 messages past the expected ones in one step"
    );
}

#[test]
fn too_few_subscription_items_are_counted() {
    let url = rpc_server();
    let diff = failed_diff(&run_one(&url, &conversation("heartbeat=1&few_items=1")));
    let count = at(&diff, &format!("/transcript/{COUNT}/expect_count/count"));
    assert_eq!(count.len(), 1, "{diff:#?}");
    assert_eq!(
        (&count[0]["expected"], &count[0]["actual"]),
        (&json!(3), &json!(2))
    );
    assert_eq!(diff.len(), 1, "{diff:#?}");
}

#[test]
fn a_reply_that_fits_no_alternative_fails_expect_any_of() {
    let url = rpc_server();
    let diff = failed_diff(&run_one(&url, &conversation("bad_either=1")));
    assert_eq!(diff.len(), 1, "{diff:#?}");
    assert_eq!(
        diff[0]["path"],
        format!("/transcript/{ANY_OF}/expect_any_of")
    );
    let nope = json!({"text": json!({"id": 5, "result": "nope"}).to_string()});
    assert_eq!(diff[0]["actual"], json!([nope]));
    assert_eq!(
        diff[0]["message"],
        "no message matched any of the alternatives"
    );
    assert_eq!(diff[0]["expected"].as_array().unwrap().len(), 2);
}

#[test]
fn heartbeats_fail_the_steps_without_ignore_and_a_step_ignore_covers_its_step_only() {
    let url = rpc_server();
    let mut fixture = conversation("heartbeat=1");
    fixture.as_object_mut().unwrap().remove("ignore");
    // A step's own ignore on every receiving step but the silence.
    let beat = json!([{"json_partial": {"type": "heartbeat"}}]);
    for index in [UNORDERED, 7, COUNT, ANY_OF] {
        fixture["transcript"][index]["ignore"] = beat.clone();
    }
    let diff = failed_diff(&run_one(&url, &fixture));
    assert!(!diff.is_empty());
    for mismatch in &diff {
        assert_eq!(mismatch["path"], format!("/transcript/{NONE}/expect_none"));
        let actual = mismatch["actual"]["text"].as_str().unwrap();
        assert!(actual.contains("heartbeat"), "{mismatch:#}");
    }
    fixture["transcript"][NONE]["ignore"] = beat;
    let result = run_one(&url, &fixture);
    assert_eq!(result["outcome"], "passed", "{result:#}");
}

#[test]
fn stream_refuses_the_new_steps_by_pointer() {
    let url = rpc_server();
    let (_dir, files) = write_fixtures(&[conversation("")]);
    let file = files[0].display().to_string();
    let args = [
        "stream",
        "--url",
        &url,
        "--fixture",
        &file,
        "--connections",
        "1",
        "--warmup",
        "0s",
        "--duration",
        "1s",
    ];
    let (output, _) = run_within(&args, Duration::from_secs(30));
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("/ignore: `ignore` (fixture format 1.1) is not replayed under load"),
        "{stderr}"
    );
    let mut without_ignore = conversation("");
    without_ignore.as_object_mut().unwrap().remove("ignore");
    let (_dir, files) = write_fixtures(&[without_ignore]);
    let file = files[0].display().to_string();
    let args = [
        "stream",
        "--url",
        &url,
        "--fixture",
        &file,
        "--connections",
        "1",
        "--warmup",
        "0s",
        "--duration",
        "1s",
    ];
    let (output, _) = run_within(&args, Duration::from_secs(30));
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!("/transcript/{UNORDERED}: `expect_unordered`")),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// SSE `ignore`.

/// An SSE server: events `1`, `2`, `3` with a `ping` event (empty data) before each, then the
/// end of the stream; with `?tick=1`, a `tick` event after `2` that no fixture ignores.
fn sse_server() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = serve_on_thread(|listener: tokio::net::TcpListener| async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buffer = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                let tick = String::from_utf8_lossy(&head).contains("tick=1");
                let mut body = String::new();
                for n in 1..=3 {
                    body.push_str("event: ping\ndata: \n\n");
                    body.push_str(&format!("data: {n}\n\n"));
                    if tick && n == 2 {
                        body.push_str("event: tick\ndata: t\n\n");
                    }
                }
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                     connection: close\r\n\r\n{body}"
                );
                let _ = stream.write_all(reply.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    format!("http://{address}")
}

fn sse_fixture(query: Value, ignore: Option<Value>) -> Value {
    let mut fixture = json!({
        "name": "feed", "protocol": "sse",
        "request": {"path": "/feed", "query": query},
        "expected": {"status": 200, "events": [{"data": "1"}, {"data": "2"}, {"data": "3"}]}
    });
    if let Some(ignore) = ignore {
        fixture["expected"]["ignore"] = ignore;
    }
    fixture
}

#[test]
fn sse_ignore_skips_heartbeat_events_and_only_those() {
    let url = sse_server();
    let pings = json!([{"event": "ping"}]);
    let result = run_one(&url, &sse_fixture(json!({}), Some(pings.clone())));
    assert_eq!(result["outcome"], "passed", "{result:#}");
    // Without ignore, the first ping stands where event 1 was expected.
    let diff = failed_diff(&run_one(&url, &sse_fixture(json!({}), None)));
    let first = at(&diff, "/events/0/event");
    assert_eq!(first.len(), 1, "{diff:#?}");
    assert_eq!(
        (&first[0]["expected"], &first[0]["actual"]),
        (&json!("message"), &json!("ping"))
    );
    // An event that no ignore matches still counts: here, one too many.
    let diff = failed_diff(&run_one(
        &url,
        &sse_fixture(json!({"tick": "1"}), Some(pings)),
    ));
    let tick = at(&diff, "/events/2/event");
    assert_eq!(tick.len(), 1, "{diff:#?}");
    assert_eq!(tick[0]["actual"], "tick");
    let extra = at(&diff, "/events/3");
    assert_eq!(extra.len(), 1, "{diff:#?}");
    assert_eq!(extra[0]["message"], "unexpected event");
}
