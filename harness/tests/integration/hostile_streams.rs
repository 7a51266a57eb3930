//! Hostile stream servers on loopback against the real binary: an SSE line that never ends, an
//! SSE comment flood, a WebSocket ping flood, a 200 MB WebSocket message, a close frame without a
//! code or with the reserved code 1005, and a reset in the middle of a frame.
//!
//! Each server is a small tokio task in this test process writing raw HTTP, SSE and WebSocket
//! bytes. Every run is bounded: the binary is killed (and the test fails) when it outlives its
//! bound, which is the `--timeout` it was given plus a generous margin.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::common::text;

/// Time a run may take beyond the timeout it was given, on a loaded machine: the flooding servers
/// of these tests share two cores with the harness. Before the fixes the runs never ended; how
/// close to the timeout they end now is measured by `scripts/hostile-figures`, not here.
const MARGIN: Duration = Duration::from_secs(8);

// ---------------------------------------------------------------------------------------------
// The harness, bounded.

/// What a bounded run of the binary gave.
struct Run {
    output: Output,
    took: Duration,
}

impl Run {
    /// Stdout as JSON.
    fn json(&self) -> Value {
        serde_json::from_slice(&self.output.stdout).unwrap_or_else(|e| {
            panic!(
                "no JSON on stdout ({e}): {}\nstderr: {}",
                text(&self.output.stdout),
                text(&self.output.stderr)
            )
        })
    }
}

/// Runs the binary with `args`, killing it (and failing) if it is still running after `bound`.
fn run_within(args: &[&str], bound: Duration) -> Run {
    let (output, took) = crate::common::run_within(args, bound);
    Run { output, took }
}

/// Writes fixtures (name, JSON) into a temp dir; returns it and the files.
fn fixtures(list: &[Value]) -> (tempfile::TempDir, Vec<PathBuf>) {
    crate::common::write_fixtures(list)
}

/// `run --format json` of `files` against `url`, with `extra` flags, bounded.
fn run_fixtures(url: &str, files: &[PathBuf], extra: &[&str], bound: Duration) -> Run {
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
    for file in files {
        args.push("--fixture".into());
        args.push(file.display().to_string());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_within(&args, bound)
}

/// `stream` of one fixture against `url` with two connections and no warm-up, bounded.
fn stream(url: &str, file: &Path, extra: &[&str], bound: Duration) -> Run {
    let file = file.display().to_string();
    let mut args = vec![
        "stream",
        "--url",
        url,
        "--fixture",
        &file,
        "--connections",
        "2",
        "--warmup",
        "0s",
    ];
    args.extend_from_slice(extra);
    run_within(&args, bound)
}

/// A fixture's result in a `run` document.
fn result<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["fixtures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no result for {name} in {report:#}"))
}

/// An errored fixture's reason.
fn errored_reason(report: &Value, name: &str) -> String {
    let fixture = result(report, name);
    assert_eq!(fixture["outcome"], "errored", "{fixture:#}");
    fixture["error"]["reason"].as_str().unwrap().to_string()
}

// ---------------------------------------------------------------------------------------------
// Hostile servers.

/// Serves `handler` on every connection of a loopback listener, in a thread of its own (the
/// server lives as long as the test process). Returns its base URL.
fn serve<F, Fut>(handler: F) -> String
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(handler(stream));
            }
        });
    });
    url
}

/// Reads a request head (up to its blank line); `None` when the client leaves first.
async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 64 * 1024 || stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

const SSE_HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\r\n";

/// Writes `unit` again and again until the client goes away (or `limit` bytes are written).
async fn flood(stream: &mut TcpStream, unit: &[u8], limit: usize) {
    let mut written = 0;
    while written < limit && stream.write_all(unit).await.is_ok() {
        written += unit.len();
    }
}

/// An event stream whose first line never ends: `data: aaaa...`.
async fn endless_sse_line(mut stream: TcpStream) {
    if read_head(&mut stream).await.is_none() || stream.write_all(SSE_HEAD).await.is_err() {
        return;
    }
    let _ = stream.write_all(b"data: ").await;
    flood(&mut stream, &[b'a'; 64 * 1024], usize::MAX).await;
}

/// An event stream of comments only, as fast as the socket takes them.
async fn sse_comment_flood(mut stream: TcpStream) {
    if read_head(&mut stream).await.is_none() || stream.write_all(SSE_HEAD).await.is_err() {
        return;
    }
    flood(&mut stream, &b": keepalive\n".repeat(1000), usize::MAX).await;
}

/// Accepts a WebSocket upgrade by hand; false when the client left.
async fn accept_ws(stream: &mut TcpStream) -> bool {
    let Some(head) = read_head(stream).await else {
        return false;
    };
    let key = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim().to_string())
        })
        .unwrap_or_default();
    let reply = format!(
        "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\
         sec-websocket-accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    );
    stream.write_all(reply.as_bytes()).await.is_ok()
}

/// Waits for the client's first bytes after the upgrade (its first message).
async fn first_bytes(stream: &mut TcpStream) -> bool {
    let mut buffer = [0u8; 1024];
    matches!(stream.read(&mut buffer).await, Ok(n) if n > 0)
}

/// Reads and drops whatever the client sends, until it leaves.
async fn drain(stream: &mut TcpStream) {
    let mut buffer = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while matches!(stream.read(&mut buffer).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// Pings (4-byte payload), back to back, forever; never a data message.
async fn ws_ping_flood(mut stream: TcpStream) {
    if !accept_ws(&mut stream).await {
        return;
    }
    flood(&mut stream, &b"\x89\x04ping".repeat(1000), usize::MAX).await;
}

/// One close frame with `payload`, then whatever the client does.
async fn ws_close_with(mut stream: TcpStream, payload: &'static [u8]) {
    if !accept_ws(&mut stream).await {
        return;
    }
    let mut frame = vec![0x88, payload.len() as u8];
    frame.extend_from_slice(payload);
    if stream.write_all(&frame).await.is_ok() {
        drain(&mut stream).await;
    }
}

/// After the client's first message: the start of a 1000-byte text frame, then a reset.
async fn ws_reset_mid_frame(mut stream: TcpStream) {
    if !accept_ws(&mut stream).await || !first_bytes(&mut stream).await {
        return;
    }
    let mut frame = vec![0x81, 126, 0x03, 0xE8];
    frame.extend_from_slice(b"only ten b");
    let _ = stream.write_all(&frame).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// After the client's first message: one binary frame announcing 200 MB, and its bytes.
async fn ws_huge_message(mut stream: TcpStream) {
    const SIZE: u64 = 200 * 1024 * 1024;
    if !accept_ws(&mut stream).await || !first_bytes(&mut stream).await {
        return;
    }
    let mut header = vec![0x82, 127];
    header.extend_from_slice(&SIZE.to_be_bytes());
    if stream.write_all(&header).await.is_ok() {
        flood(&mut stream, &[0u8; 64 * 1024], SIZE as usize).await;
    }
}

/// After the client's first message: one text message in 256 KiB fragments that never ends.
async fn ws_endless_fragments(mut stream: TcpStream) {
    if !accept_ws(&mut stream).await || !first_bytes(&mut stream).await {
        return;
    }
    let fragment = |opcode: u8| {
        let mut frame = vec![opcode, 127];
        frame.extend_from_slice(&(256u64 * 1024).to_be_bytes());
        frame.extend_from_slice(&[b'a'; 256 * 1024]);
        frame
    };
    if stream.write_all(&fragment(0x01)).await.is_ok() {
        flood(&mut stream, &fragment(0x00), usize::MAX).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures.

fn sse_fixture(name: &str) -> Value {
    json!({
        "name": name,
        "protocol": "sse",
        "request": {"path": "/events"},
        "expected": {"status": 200, "events": [{"data": "one"}], "end": "closed"}
    })
}

fn ws_echo_fixture(name: &str) -> Value {
    json!({
        "name": name,
        "protocol": "websocket",
        "connect": {"path": "/ws"},
        "transcript": [
            {"send": {"text": "hi"}},
            {"expect": {"text": "hi"}}
        ]
    })
}

fn ws_close_fixture(name: &str, expect_close: Value) -> Value {
    json!({
        "name": name,
        "protocol": "websocket",
        "connect": {"path": "/ws"},
        "transcript": [{"expect_close": expect_close}]
    })
}

// ---------------------------------------------------------------------------------------------
// SSE.

#[test]
fn an_endless_sse_line_is_errored_as_too_large_under_run() {
    let url = serve(endless_sse_line);
    let (_dir, files) = fixtures(&[sse_fixture("hostile-sse-endless")]);
    let run = run_fixtures(
        &url,
        &files,
        &["--timeout", "8s", "--max-event-size", "1MiB"],
        Duration::from_secs(8) + MARGIN,
    );
    let reason = errored_reason(&run.json(), "hostile-sse-endless");
    assert!(reason.contains("event too large"), "{reason}");
    assert!(reason.contains("1048576"), "{reason}");
    assert_eq!(run.output.status.code(), Some(1));
    // The cap is reached long before the timeout.
    assert!(run.took < Duration::from_secs(8), "took {:?}", run.took);
}

#[test]
fn an_endless_sse_line_under_the_default_cap_ends_within_the_timeout() {
    let url = serve(endless_sse_line);
    let (_dir, files) = fixtures(&[sse_fixture("hostile-sse-endless-default")]);
    let run = run_fixtures(
        &url,
        &files,
        &["--timeout", "2s"],
        Duration::from_secs(2) + MARGIN,
    );
    // 16 MiB arrive on loopback well within 2 s; on a slow machine the timeout may come first.
    let reason = errored_reason(&run.json(), "hostile-sse-endless-default");
    assert!(
        reason.contains("event too large") || reason.contains("within 2s"),
        "{reason}"
    );
}

#[test]
fn an_sse_comment_flood_times_out_under_run() {
    let url = serve(sse_comment_flood);
    let (_dir, files) = fixtures(&[sse_fixture("hostile-sse-comments")]);
    let run = run_fixtures(
        &url,
        &files,
        &["--timeout", "2s"],
        Duration::from_secs(2) + MARGIN,
    );
    let reason = errored_reason(&run.json(), "hostile-sse-comments");
    assert!(reason.contains("no event within 2s"), "{reason}");
}

#[test]
fn an_sse_comment_flood_counts_timeouts_under_stream() {
    let url = serve(sse_comment_flood);
    let (_dir, files) = fixtures(&[sse_fixture("hostile-sse-comments-load")]);
    // Each subscription gets no event within 2 s: a timeout each, before the run ends at 3 s.
    // (Before the fix the comments kept the reads ready and the timer was never looked at.)
    let run = stream(
        &url,
        &files[0],
        &["--duration", "3s", "--timeout", "2s"],
        Duration::from_secs(3) + MARGIN,
    );
    let result = run.json();
    let timeouts = result["errors_by_kind"]["timeout"].as_u64().unwrap_or(0);
    assert!(timeouts >= 2, "{:#}", result["errors_by_kind"]);
    assert_eq!(result["summary"]["operations"], result["summary"]["errors"]);
    assert_eq!(run.output.status.code(), Some(1));
}

#[test]
fn an_endless_sse_line_is_an_error_kind_under_stream() {
    let url = serve(endless_sse_line);
    let (_dir, files) = fixtures(&[sse_fixture("hostile-sse-endless-load")]);
    let run = stream(
        &url,
        &files[0],
        &[
            "--duration",
            "2s",
            "--timeout",
            "5s",
            "--max-event-size",
            "1MiB",
        ],
        Duration::from_secs(2) + MARGIN,
    );
    let result = run.json();
    let too_large = result["errors_by_kind"]["event too large"]
        .as_u64()
        .unwrap_or(0);
    assert!(too_large >= 2, "{:#}", result["errors_by_kind"]);
}

// ---------------------------------------------------------------------------------------------
// WebSocket.

#[test]
fn a_ping_flood_cannot_hold_run_past_its_timeout() {
    let url = serve(ws_ping_flood);
    // Four tries at once: before the fix about half of them never ended.
    let names: Vec<String> = (1..=4).map(|n| format!("hostile-ws-pings-{n}")).collect();
    let list: Vec<Value> = names.iter().map(|n| ws_echo_fixture(n)).collect();
    let (_dir, files) = fixtures(&list);
    let run = run_fixtures(
        &url,
        &files,
        &["--timeout", "2s", "--jobs", "4"],
        Duration::from_secs(2) + MARGIN,
    );
    let report = run.json();
    for name in &names {
        let reason = errored_reason(&report, name);
        assert!(reason.contains("within 2s"), "{name}: {reason}");
    }
}

#[test]
fn a_ping_flood_under_stream_counts_timeouts() {
    let url = serve(ws_ping_flood);
    let (_dir, files) = fixtures(&[ws_echo_fixture("hostile-ws-pings-load")]);
    let run = stream(
        &url,
        &files[0],
        &["--duration", "2s", "--timeout", "500ms"],
        Duration::from_secs(2) + MARGIN,
    );
    let result = run.json();
    let timeouts = result["errors_by_kind"]["timeout"].as_u64().unwrap_or(0);
    assert!(timeouts >= 2, "{:#}", result["errors_by_kind"]);
}

#[test]
fn a_200_mb_message_is_refused_as_too_large_under_run() {
    let url = serve(ws_huge_message);
    let fragments = serve(ws_endless_fragments);
    let (_dir, files) = fixtures(&[ws_echo_fixture("hostile-ws-huge")]);
    // One frame announcing 200 MB is refused from its header (default cap, 16 MiB).
    let run = run_fixtures(
        &url,
        &files,
        &["--timeout", "5s"],
        Duration::from_secs(5) + MARGIN,
    );
    let reason = errored_reason(&run.json(), "hostile-ws-huge");
    assert!(reason.contains("message too large"), "{reason}");
    assert!(reason.contains("16777216"), "{reason}");
    // A message that never ends, in small frames, is refused once past the cap.
    let run = run_fixtures(
        &fragments,
        &files,
        &["--timeout", "5s", "--max-event-size", "1MiB"],
        Duration::from_secs(5) + MARGIN,
    );
    let reason = errored_reason(&run.json(), "hostile-ws-huge");
    assert!(reason.contains("message too large"), "{reason}");
    assert!(reason.contains("1048576"), "{reason}");
}

#[test]
fn a_200_mb_message_is_an_error_kind_under_stream() {
    let url = serve(ws_huge_message);
    let (_dir, files) = fixtures(&[ws_echo_fixture("hostile-ws-huge-load")]);
    let run = stream(
        &url,
        &files[0],
        &[
            "--duration",
            "2s",
            "--timeout",
            "5s",
            "--max-event-size",
            "1MiB",
        ],
        Duration::from_secs(2) + MARGIN,
    );
    let result = run.json();
    let too_large = result["errors_by_kind"]["message too large"]
        .as_u64()
        .unwrap_or(0);
    assert!(too_large >= 1, "{:#}", result["errors_by_kind"]);
}

#[test]
fn a_reset_in_the_middle_of_a_frame_is_errored() {
    let url = serve(ws_reset_mid_frame);
    let (_dir, files) = fixtures(&[ws_echo_fixture("hostile-ws-reset")]);
    let run = run_fixtures(
        &url,
        &files,
        &["--timeout", "5s"],
        Duration::from_secs(5) + MARGIN,
    );
    let reason = errored_reason(&run.json(), "hostile-ws-reset");
    assert!(reason.contains("reset"), "{reason}");
}

#[test]
fn a_close_without_a_code_or_with_1005_is_recorded_as_sent() {
    let empty = serve(|stream| ws_close_with(stream, b""));
    let status = serve(|stream| ws_close_with(stream, b"\x03\xED"));
    let (_dir, files) = fixtures(&[
        ws_close_fixture("close-any", json!({})),
        ws_close_fixture("close-1005", json!({"code": 1005})),
        ws_close_fixture("close-1000", json!({"code": 1000})),
    ]);
    for (url, actual) in [(&empty, Value::Null), (&status, json!(1005))] {
        let run = run_fixtures(
            url,
            &files,
            &["--timeout", "5s"],
            Duration::from_secs(5) + MARGIN,
        );
        let report = run.json();
        // No code means "no status code" (1005): both expectations hold.
        assert_eq!(
            result(&report, "close-any")["outcome"],
            "passed",
            "{report:#}"
        );
        assert_eq!(
            result(&report, "close-1005")["outcome"],
            "passed",
            "{report:#}"
        );
        // What the server sent is what is shown, not the library's own 1002 reply.
        let other = result(&report, "close-1000");
        assert_eq!(other["outcome"], "failed", "{other:#}");
        assert_eq!(other["diff"][0]["path"], "/transcript/0/expect_close/code");
        assert_eq!(other["diff"][0]["actual"], actual, "{other:#}");
    }
}
