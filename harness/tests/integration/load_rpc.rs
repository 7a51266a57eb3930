//! `stream` on a JSON-RPC conversation (format 1.1): requests sent back to back, replies
//! matched by id in whatever order they come. Against a JSON-RPC server of this test's own on
//! loopback that answers `slow` after 200 ms and `fast` at once, each request on a task of its
//! own: the fast request's latency stays fast (a reply out of order does not distort it), a
//! reply with an id no request has is an error, and a transcript whose replies cannot be paired
//! by id is refused (exit 2). Subscription items (`expect_count`) against the reference server,
//! which sends each item with its send time: their delivery latency is measured from it, and
//! items that differ or do not come are errors at the step's pointer.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{corpus_json, run_within, serve_on_thread, text, write_fixtures};

async fn connection(stream: tokio::net::TcpStream, wrong_id: bool) {
    let Ok(socket) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let (mut sink, mut source) = socket.split();
    let (sender, mut outbox) = mpsc::unbounded_channel::<String>();
    let writer = tokio::spawn(async move {
        while let Some(text) = outbox.recv().await {
            if sink.send(Message::text(text)).await.is_err() {
                break;
            }
        }
    });
    while let Some(Ok(Message::Text(text))) = source.next().await {
        let Ok(request) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let sender = sender.clone();
        tokio::spawn(async move {
            let slow = request["method"] == "slow";
            if slow {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let id = if wrong_id && !slow {
                json!(999)
            } else {
                request["id"].clone()
            };
            // A notification between replies, which the load skips.
            let _ = sender.send(json!({"jsonrpc": "2.0", "method": "tick"}).to_string());
            let reply = json!({"jsonrpc": "2.0", "id": id, "result": request["params"]});
            let _ = sender.send(reply.to_string());
        });
    }
    writer.abort();
}

fn server(wrong_id: bool) -> String {
    let address = serve_on_thread(move |listener: tokio::net::TcpListener| async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(connection(stream, wrong_id));
        }
    });
    format!("http://{address}")
}

fn fixture() -> Value {
    let request = |id: u64, method: &str| json!({"send": {"json": {"jsonrpc": "2.0", "id": id, "method": method, "params": [id]}}});
    let reply = |id: u64| json!({"jsonrpc": "2.0", "id": id, "result": [id]});
    json!({
        "name": "rpc-load", "protocol": "websocket", "connect": {"path": "/rpc"},
        "transcript": [
            request(1, "slow"),
            request(2, "fast"),
            {"expect_unordered": [{"json": reply(1)}, {"json": reply(2)}], "within_ms": 2000}
        ]
    })
}

fn stream(url: &str, fixture: &Value) -> (Option<i32>, Value, String) {
    let (_dir, files) = write_fixtures(std::slice::from_ref(fixture));
    let file = files[0].display().to_string();
    let args = [
        "stream",
        "--url",
        url,
        "--fixture",
        &file,
        "--connections",
        "2",
        "--warmup",
        "0s",
        "--duration",
        "2s",
        "--timeout",
        "2s",
    ];
    let (output, _) = run_within(&args, Duration::from_secs(60));
    let result = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.code(), result, text(&output.stderr))
}

#[test]
fn replies_out_of_order_are_matched_by_id_and_keep_their_own_latency() {
    let (code, result, stderr) = stream(&server(false), &fixture());
    assert_eq!(code, Some(0), "{stderr}");
    let summary = &result["summary"];
    assert_eq!(summary["errors"], 0, "{result:#}");
    let operations = summary["operations"].as_u64().unwrap();
    assert!(operations >= 8, "{result:#}");
    // Half the requests are fast: with the slow reply first in the transcript, a round trip
    // per burst would put every latency past 200 ms.
    let latency = &summary["latency_us"];
    assert!(latency["p50"].as_u64().unwrap() < 150_000, "{result:#}");
    assert!(latency["p90"].as_u64().unwrap() >= 200_000, "{result:#}");
}

#[test]
fn a_reply_to_an_id_no_request_has_is_an_error() {
    let (_, result, stderr) = stream(&server(true), &fixture());
    let errors = &result["errors_by_kind"];
    let text = serde_json::to_string(errors).unwrap();
    assert!(
        text.contains("a reply to id 999, which no request in flight has"),
        "{result:#}\n{stderr}"
    );
}

#[test]
fn replies_that_do_not_pair_by_id_are_refused() {
    let mut unpaired = fixture();
    unpaired["transcript"][2] = json!({"expect": {"json_partial": {"result": [1]}}});
    let (code, _, stderr) = stream(&server(false), &unpaired);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("a reply matched by anything but a literal `id`"),
        "{stderr}"
    );
    let mut unanswered = fixture();
    unanswered["transcript"][2] =
        json!({"expect": {"json": {"jsonrpc": "2.0", "id": 1, "result": [1]}}});
    let (code, _, stderr) = stream(&server(false), &unanswered);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("JSON-RPC id 2: no reply to it is expected"),
        "{stderr}"
    );
}

/// `stream` on `fixture` against the embedded reference server (which serves its handler).
fn stream_reference(fixture: &Value) -> (Option<i32>, Value, String) {
    let (_dir, files) = write_fixtures(std::slice::from_ref(fixture));
    let file = files[0].display().to_string();
    let args = [
        "stream",
        "--fixture",
        &file,
        "--connections",
        "2",
        "--warmup",
        "0s",
        "--duration",
        "2s",
        "--timeout",
        "2s",
    ];
    let (output, _) = run_within(&args, Duration::from_secs(60));
    let result = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.code(), result, text(&output.stderr))
}

#[test]
fn subscription_items_are_timed_from_the_server_timestamp() {
    let fixture = corpus_json("websocket/rpc/subscribe-items.json");
    let (code, result, stderr) = stream_reference(&fixture);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(result["summary"]["errors"], 0, "{result:#}");
    let subscriptions = result["summary"]["operations"].as_u64().unwrap();
    let items = &result["subscription_items"];
    assert_eq!(items["timestamp_field"], "ts_us", "{result:#}");
    let received = items["received"].as_u64().unwrap();
    // Three items a subscription (those of a subscription cut by the window's edges aside).
    assert!(
        received + 6 >= 3 * subscriptions && received <= 3 * subscriptions + 6,
        "{received} items for {subscriptions} subscriptions: {result:#}"
    );
    // Every item carried the timestamp; delivery on loopback takes well under the 20 ms
    // interval between items (a latency from the subscribe request would not).
    assert_eq!(items["count"].as_u64(), Some(received));
    assert!(
        items["latency_us"]["p50"].as_u64().unwrap() < 20_000,
        "{result:#}"
    );
}

#[test]
fn items_that_differ_or_do_not_come_are_errors_at_their_step() {
    let mut other = corpus_json("websocket/rpc/subscribe-items.json");
    // The reference sends items 1, 2, 3: none is the item expected.
    other["transcript"][2]["expect_count"]["message"]["json_schema"]["properties"]["params"]["properties"]
        ["n"] = json!({"enum": [7]});
    let (code, result, stderr) = stream_reference(&other);
    assert_eq!(code, Some(1), "{stderr}");
    let kinds = serde_json::to_string(&result["errors_by_kind"]).unwrap();
    assert!(
        kinds.contains("/transcript/2/expect_count/message"),
        "{result:#}\n{stderr}"
    );
    assert_eq!(result["subscription_items"]["received"], 0, "{result:#}");
    let mut more = corpus_json("websocket/rpc/subscribe-items.json");
    more["transcript"][2]["expect_count"]["count"] = json!(4);
    more["transcript"][2]["expect_count"]["within_ms"] = json!(300);
    let (_, result, stderr) = stream_reference(&more);
    let kinds = serde_json::to_string(&result["errors_by_kind"]).unwrap();
    assert!(
        kinds.contains("/transcript/2/expect_count: 3 of 4 items within 300 ms"),
        "{result:#}\n{stderr}"
    );
}
