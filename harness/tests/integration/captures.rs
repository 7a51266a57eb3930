//! Captures (format 1.1) over WebSocket, against a small subscription server of this test's own
//! on loopback: `<<capture:sub>>` binds the subscription id the server makes up (new on every
//! connection), `<<same_as:sub>>` expects it on every item, `{{sub}}` sends it back. Each flag of
//! the connection's query breaks one behaviour (items with another id, a reply without the id, an
//! echo that does not give back what was sent), and each fails with the right diff; a fixture that
//! uses a name before capturing it is refused at load (exit 2, with the pointer).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

use crate::common::{run_within, serve_on_thread, text, write_fixtures};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The replies to one request, given the connection's query flags.
fn replies(request: &Value, sub: &str, query: &str) -> Vec<Value> {
    let on = |flag: &str| query.split('&').any(|pair| pair == flag);
    let id = request["id"].clone();
    match request["method"].as_str() {
        Some("subscribe") if on("no_result") => vec![json!({"id": id})],
        Some("subscribe") => {
            let item_sub = if on("wrong_sub") { "s-other" } else { sub };
            let mut out = vec![json!({"id": id, "result": sub})];
            out.extend(
                (1..=2).map(|n| json!({"method": "item", "params": {"sub": item_sub, "n": n}})),
            );
            out
        }
        Some("echo") if on("mangle") => {
            vec![json!({"id": id, "result": ["mangled", request["params"][1]]})]
        }
        Some("echo") => vec![json!({"id": id, "result": request["params"]})],
        _ => Vec::new(),
    }
}

async fn connection(stream: tokio::net::TcpStream) {
    let query = Arc::new(Mutex::new(String::new()));
    let seen = Arc::clone(&query);
    #[allow(clippy::result_large_err)] // the library's callback type
    let callback = move |request: &Request, response: Response| {
        *seen.lock().unwrap() = request.uri().query().unwrap_or("").to_string();
        Ok(response)
    };
    let Ok(mut socket) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let query = query.lock().unwrap().clone();
    // A new id on every connection, as a real server's would be.
    let sub = format!("s-{}", NEXT_ID.fetch_add(1, Ordering::Relaxed) * 7919);
    while let Some(Ok(message)) = socket.next().await {
        match message {
            Message::Text(text) => {
                let Ok(request) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                for reply in replies(&request, &sub, &query) {
                    if socket.send(Message::text(reply.to_string())).await.is_err() {
                        return;
                    }
                }
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
}

fn server() -> String {
    let address = serve_on_thread(|listener: tokio::net::TcpListener| async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(connection(stream));
        }
    });
    format!("http://{address}")
}

const SUBSCRIBED: usize = 1;
const ITEMS: usize = 2;
const ECHOED: usize = 4;

fn conversation(query: &str) -> Value {
    json!({
        "name": "captures", "protocol": "websocket",
        "connect": {"path": format!("/rpc?{query}")},
        "transcript": [
            {"send": {"json": {"id": 1, "method": "subscribe"}}},
            {"expect": {"json": {"id": 1, "result": "<<capture:sub>>"}}},
            {"expect_count": {"count": 2, "message": {"json_partial": {"method": "item", "params": {"sub": "<<same_as:sub>>"}}}}},
            {"send": {"text": "{\"id\": 2, \"method\": \"echo\", \"params\": [\"{{sub}}\", \"at {{sub}}\"]}"}},
            {"expect": {"json": {"id": 2, "result": ["<<same_as:sub>>", "<<regex:at s-\\d+>>"]}}},
            {"close": {}}
        ]
    })
}

fn run(url: &str, fixture: &Value, extra: &[&str]) -> (Value, String) {
    let (dir, files) = write_fixtures(std::slice::from_ref(fixture));
    let mut args: Vec<String> = ["run", "--url", url, "--format", "json", "--timeout", "1s"]
        .map(String::from)
        .to_vec();
    args.extend(["--fixture".into(), files[0].display().to_string()]);
    args.extend(
        extra
            .iter()
            .map(|s| s.replace("{DIR}", &dir.path().display().to_string())),
    );
    if !extra.iter().any(|a| a.starts_with("--snapshots")) {
        args.extend(["--snapshots".into(), "off".into()]);
    }
    let (output, _) = run_within(&args, Duration::from_secs(30));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON ({e}): {}\n{}",
            text(&output.stdout),
            text(&output.stderr)
        )
    });
    (report["fixtures"][0].clone(), text(&output.stderr))
}

fn failed_diff(result: &Value) -> Vec<Value> {
    assert_eq!(result["outcome"], "failed", "{result:#}");
    result["diff"].as_array().unwrap().clone()
}

#[test]
fn a_captured_id_is_expected_again_and_sent_back() {
    // The server makes up a new id on every connection; the items carry it, and the echo gives
    // back what was sent: both pass only if the value was bound and substituted (whole, and
    // inside a longer string).
    let url = server();
    for _ in 0..2 {
        let (result, _) = run(&url, &conversation(""), &[]);
        assert_eq!(result["outcome"], "passed", "{result:#}");
    }
}

#[test]
fn items_with_another_id_differ_from_the_capture() {
    let url = server();
    let diff = failed_diff(&run(&url, &conversation("wrong_sub"), &[]).0);
    assert!(!diff.is_empty(), "{diff:#?}");
    for mismatch in &diff {
        assert!(
            mismatch["path"]
                .as_str()
                .unwrap()
                .starts_with(&format!("/transcript/{ITEMS}/expect_count")),
            "{diff:#?}"
        );
    }
    let text = serde_json::to_string(&diff).unwrap();
    assert!(text.contains("s-other"), "{diff:#?}");
}

#[test]
fn an_echo_that_does_not_give_back_the_substituted_value_fails() {
    let url = server();
    let diff = failed_diff(&run(&url, &conversation("mangle"), &[]).0);
    let at_zero: Vec<&Value> = diff
        .iter()
        .filter(|m| m["path"] == format!("/transcript/{ECHOED}/expect/json/result/0"))
        .collect();
    assert_eq!(at_zero.len(), 1, "{diff:#?}");
    assert_eq!(at_zero[0]["actual"], "mangled");
    let message = at_zero[0]["message"].as_str().unwrap();
    assert!(
        message.contains("differs from the value captured as sub"),
        "{message}"
    );
}

#[test]
fn a_capture_never_bound_fails_where_it_stands_and_where_it_is_used() {
    let url = server();
    let diff = failed_diff(&run(&url, &conversation("no_result"), &[]).0);
    let missing: Vec<&Value> = diff
        .iter()
        .filter(|m| m["path"] == format!("/transcript/{SUBSCRIBED}/expect/json/result"))
        .collect();
    assert_eq!(missing.len(), 1, "{diff:#?}");
    assert!(
        missing[0]["message"]
            .as_str()
            .unwrap()
            .contains("capture sub binds nothing"),
        "{diff:#?}"
    );
}

#[test]
fn snapshots_show_captures_by_class_and_sends_as_written() {
    let url = server();
    let dir = tempfile::tempdir().unwrap();
    let snapshots = dir.path().display().to_string();
    let flags = [
        "--snapshots",
        "update",
        "--snapshots-dir",
        snapshots.as_str(),
    ];
    let (first, _) = run(&url, &conversation(""), &flags);
    assert_eq!(first["outcome"], "passed", "{first:#}");
    let read = || {
        let mut files = Vec::new();
        files_under(dir.path(), &mut files);
        files.sort();
        files
    };
    let once = read();
    assert_eq!(once.len(), 1, "{once:#?}");
    assert!(
        once[0].contains("<<capture:sub>>") && once[0].contains("{{sub}}"),
        "{}",
        once[0]
    );
    assert!(once[0].contains("\"sub\": \"<<string>>\""), "{}", once[0]);
    let value = regex::Regex::new(r"s-[0-9]").unwrap();
    assert!(
        !value.is_match(&once[0]),
        "no captured value in the snapshot: {}",
        once[0]
    );
    // Another connection, another id: the snapshot checks clean.
    let check = [
        "--snapshots",
        "check",
        "--snapshots-dir",
        snapshots.as_str(),
    ];
    let (second, _) = run(&url, &conversation(""), &check);
    assert_eq!(second["outcome"], "passed", "{second:#}");
    assert_eq!(read(), once);
}

#[test]
fn a_name_used_before_it_is_captured_is_refused_at_load() {
    let mut fixture = conversation("");
    fixture["transcript"][0]["send"]["json"]["params"] = json!(["{{sub}}"]);
    let (_dir, files) = write_fixtures(&[fixture]);
    let args = ["fixtures", "validate", &files[0].display().to_string()].map(String::from);
    let (output, _) = run_within(&args, Duration::from_secs(30));
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("/transcript/0/send/json/params/0"),
        "{stderr}"
    );
    assert!(
        stderr.contains("which no earlier step captures"),
        "{stderr}"
    );
}

/// The contents of every file under `dir`.
fn files_under(dir: &std::path::Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(std::fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn stream_refuses_a_fixture_that_captures() {
    let url = server();
    let fixture = json!({
        "name": "captures-load", "protocol": "websocket", "connect": {"path": "/rpc"},
        "transcript": [
            {"send": {"json": {"id": 1, "method": "subscribe"}}},
            {"expect": {"json_partial": {"id": 1, "result": "<<capture:sub>>"}}}
        ]
    });
    let (_dir, files) = write_fixtures(&[fixture]);
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
        stderr.contains(
            "/transcript/1/expect: `<<capture:…>>` (fixture format 1.1) is not replayed under load"
        ),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// SSE: a stream whose events all carry the id of the stream, made up per request.

fn sse_server() -> String {
    use axum::routing::get;
    async fn stream(
        axum::extract::Path(mode): axum::extract::Path<String>,
    ) -> axum::response::Response {
        use axum::response::IntoResponse;
        let stream = format!("st-{}", NEXT_ID.fetch_add(1, Ordering::Relaxed) * 7919);
        let second = if mode == "wrong" {
            "st-other".to_string()
        } else {
            stream.clone()
        };
        let body = format!(
            "id: {stream}\ndata: {{\"stream\":\"{stream}\",\"n\":1}}\n\ndata: {{\"stream\":\"{second}\",\"n\":2}}\n\n"
        );
        (
            [(axum::http::header::CONTENT_TYPE, "text/event-stream")],
            body,
        )
            .into_response()
    }
    let app = axum::Router::new().route("/events/{mode}", get(stream));
    let address = serve_on_thread(|listener: tokio::net::TcpListener| async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{address}")
}

fn sse_fixture(mode: &str) -> Value {
    json!({
        "name": "sse-captures", "protocol": "sse",
        "request": {"path": format!("/events/{mode}")},
        "expected": {"status": 200, "events": [
            {"id": "<<capture:stream>>", "json": {"stream": "<<string>>", "n": 1}},
            {"json": {"stream": "<<same_as:stream>>", "n": 2}}
        ]}
    })
}

#[test]
fn sse_events_are_expected_to_carry_a_value_an_earlier_event_had() {
    let url = sse_server();
    let (result, _) = run(&url, &sse_fixture("ok"), &[]);
    assert_eq!(result["outcome"], "passed", "{result:#}");
    let diff = failed_diff(&run(&url, &sse_fixture("wrong"), &[]).0);
    assert_eq!(diff.len(), 1, "{diff:#?}");
    assert_eq!(diff[0]["path"], "/events/1/json/stream");
    assert_eq!(diff[0]["actual"], "st-other");
    let message = diff[0]["message"].as_str().unwrap();
    assert!(
        message.contains("differs from the value captured as stream"),
        "{message}"
    );
}
