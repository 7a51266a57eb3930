//! The fixture format's newer fields against real servers on loopback, through the real binary:
//! per-fixture deadlines (`within_ms`) on REST replies and SSE events and streams, SSE requests
//! with a method and a body, matchers on binary bodies (`body_base64` prefixes, `<<any>>`,
//! `body_length`), and redirects followed (`request.follow_redirects`) or not.
//!
//! Each server is a small tokio task in this test process writing raw HTTP. Every run of the
//! binary is bounded: it is killed (and the test fails) past its bound.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{run_within, text};

/// Time a run may take beyond what it should, on a loaded machine.
const MARGIN: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------------
// The harness, bounded.

/// Fixtures written into a temp dir, and the folder for their snapshots.
struct Fixtures {
    dir: tempfile::TempDir,
    files: Vec<PathBuf>,
}

/// Writes fixtures (each named by its `name`) into a temp dir.
fn fixtures(list: &[Value]) -> Fixtures {
    let (dir, files) = crate::common::write_fixtures(list);
    Fixtures { dir, files }
}

impl Fixtures {
    /// `run --format json` of the fixtures against `url`, snapshots written (`update`) under
    /// the temp dir for target `t`, with `extra` flags, bounded; the report on stdout.
    fn run(&self, url: &str, extra: &[&str], bound: Duration) -> (Value, Output, Duration) {
        let snapshots = self.dir.path().join("snaps");
        let mut args: Vec<String> = [
            "run",
            "--url",
            url,
            "--target-name",
            "t",
            "--snapshots",
            "update",
            "--snapshots-dir",
            snapshots.to_str().unwrap(),
            "--format",
            "json",
        ]
        .map(String::from)
        .to_vec();
        for file in &self.files {
            args.push("--fixture".into());
            args.push(file.display().to_string());
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let (output, took) = run_within(&args, bound);
        let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "no JSON on stdout ({e}): {}\nstderr: {}",
                text(&output.stdout),
                text(&output.stderr)
            )
        });
        (report, output, took)
    }

    /// The stored snapshot of fixture `name` (`protocol` folder), its JSON content.
    fn snapshot(&self, protocol: &str, name: &str) -> Value {
        let path = self
            .dir
            .path()
            .join("snaps/t")
            .join(protocol)
            .join(format!("{name}.snap"));
        let file =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let content = file.splitn(3, "---\n").nth(2).unwrap();
        serde_json::from_str(content).unwrap()
    }
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

/// The paths of a failed fixture's diff.
fn diff_paths(report: &Value, name: &str) -> Vec<String> {
    let fixture = result(report, name);
    assert_eq!(fixture["outcome"], "failed", "{fixture:#}");
    fixture["diff"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap().to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Servers.

/// Serves `handler` on every connection of a loopback listener, in a thread of its own (the
/// server lives as long as the test process). Returns its base URL.
fn serve<F, Fut>(handler: F) -> String
where
    F: Fn(TcpStream, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handler = std::sync::Arc::new(handler);
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((mut stream, _)) = listener.accept().await {
                let handler = handler.clone();
                tokio::spawn(async move {
                    // One request per connection: the reply says `connection: close`.
                    if let Some(request) = read_request(&mut stream).await {
                        handler(stream, request).await;
                    }
                });
            }
        });
    });
    url
}

/// A request as the test servers read it.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads a request head and its `content-length` body; `None` when the client leaves first.
async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 64 * 1024 || stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.lines();
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((name.trim().to_ascii_lowercase(), value.trim().to_string()))
        })
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length.min(1 << 20)];
    stream.read_exact(&mut body).await.ok()?;
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

/// Writes a whole reply (`connection: close`, a content length) and closes.
async fn reply(stream: &mut TcpStream, status: &str, headers: &[(&str, &str)], body: &[u8]) {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body).await;
    let _ = stream.shutdown().await;
}

const SSE_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n";

// ---------------------------------------------------------------------------------------------
// Per-fixture deadlines.

/// `/slow/MS` replies `{"ok":true}` after MS milliseconds.
async fn slow_rest(mut stream: TcpStream, request: Request) {
    let ms: u64 = request
        .target
        .strip_prefix("/slow/")
        .and_then(|ms| ms.parse().ok())
        .unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    reply(
        &mut stream,
        "200 OK",
        &[("content-type", "application/json")],
        br#"{"ok":true}"#,
    )
    .await;
}

fn rest_fixture(name: &str, path: &str, within_ms: Option<u64>) -> Value {
    let mut expected = json!({"status": 200, "body": {"ok": true}});
    if let Some(ms) = within_ms {
        expected["within_ms"] = ms.into();
    }
    json!({"name": name, "protocol": "rest", "request": {"path": path}, "expected": expected})
}

#[test]
fn rest_within_ms_waits_past_the_timeout_and_fails_a_late_reply() {
    let url = serve(slow_rest);
    let set = fixtures(&[
        // Slower than --timeout, within its own deadline: passes (it errored before).
        rest_fixture("patient", "/slow/2500", Some(6000)),
        // Within --timeout, later than its own deadline: fails, saying how late.
        rest_fixture("hurried", "/slow/600", Some(200)),
        // Without a deadline of its own, --timeout still bounds it.
        rest_fixture("plain", "/slow/2500", None),
    ]);
    let (report, _, took) = set.run(
        &url,
        &["--timeout", "1500ms"],
        Duration::from_secs(3) + MARGIN,
    );
    assert_eq!(
        result(&report, "patient")["outcome"],
        "passed",
        "{report:#}"
    );
    assert_eq!(diff_paths(&report, "hurried"), ["/within_ms"]);
    let hurried = &result(&report, "hurried")["diff"][0];
    assert_eq!(hurried["expected"], 200);
    assert!(hurried["actual"].as_u64().unwrap() >= 600, "{hurried:#}");
    let plain = result(&report, "plain");
    assert_eq!(plain["outcome"], "errored", "{plain:#}");
    assert!(took < Duration::from_secs(3) + MARGIN);
}

/// `/ticks/MS`: three events MS milliseconds apart, then the end of the stream.
async fn slow_ticks(mut stream: TcpStream, request: Request) {
    let ms: u64 = request
        .target
        .strip_prefix("/ticks/")
        .and_then(|ms| ms.parse().ok())
        .unwrap_or(0);
    if stream.write_all(SSE_HEAD).await.is_err() {
        return;
    }
    for n in 1..=3 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        let event = format!("event: tick\ndata: {n}\n\n");
        if stream.write_all(event.as_bytes()).await.is_err() {
            return;
        }
    }
    let _ = stream.shutdown().await;
}

fn ticks(name: &str, ms: u64, within: [Option<u64>; 3], stream_within: Option<u64>) -> Value {
    let events: Vec<Value> = within
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let mut event = json!({"event": "tick", "data": (i + 1).to_string()});
            if let Some(ms) = w {
                event["within_ms"] = (*ms).into();
            }
            event
        })
        .collect();
    let mut expected = json!({"status": 200, "events": events});
    if let Some(ms) = stream_within {
        expected["within_ms"] = ms.into();
    }
    json!({"name": name, "protocol": "sse", "request": {"path": format!("/ticks/{ms}")}, "expected": expected})
}

#[test]
fn sse_within_ms_per_event_and_per_stream() {
    let url = serve(slow_ticks);
    let set = fixtures(&[
        // Each event 1500 ms after the last, past --timeout (1s): their deadlines allow it.
        ticks("events-patient", 1500, [Some(3500); 3], None),
        // The whole stream's deadline keeps every wait open long enough.
        ticks("stream-patient", 1500, [None; 3], Some(9000)),
        // An event later than its own deadline (within --timeout) fails the fixture.
        ticks(
            "event-hurried",
            400,
            [Some(3000), Some(100), Some(3000)],
            None,
        ),
        // A stream that closes later than its deadline fails the fixture.
        ticks("stream-hurried", 300, [None; 3], Some(500)),
        // Without deadlines, --timeout ends the first wait.
        ticks("plain", 1500, [None; 3], None),
    ]);
    let (report, _, _) = set.run(&url, &["--timeout", "1s"], Duration::from_secs(5) + MARGIN);
    for name in ["events-patient", "stream-patient"] {
        assert_eq!(result(&report, name)["outcome"], "passed", "{report:#}");
    }
    assert_eq!(
        diff_paths(&report, "event-hurried"),
        ["/events/1/within_ms"]
    );
    assert_eq!(diff_paths(&report, "stream-hurried"), ["/within_ms"]);
    let plain = result(&report, "plain");
    assert_eq!(plain["outcome"], "errored", "{plain:#}");
    assert_eq!(plain["error"]["at"], "/events/0", "{plain:#}");
}

// ---------------------------------------------------------------------------------------------
// SSE requests with a method and a body.

/// Answers any request with a stream of one event `echo` whose data is the request's method,
/// content type and body, then ends the stream.
async fn sse_echo(mut stream: TcpStream, request: Request) {
    let data = format!(
        "{} {} {}",
        request.method,
        request.header("content-type").unwrap_or("-"),
        String::from_utf8_lossy(&request.body)
    );
    let event = format!("event: echo\ndata: {data}\n\n");
    let _ = stream.write_all(SSE_HEAD).await;
    let _ = stream.write_all(event.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn echo_fixture(name: &str, request: Value, data: &str) -> Value {
    json!({"name": name, "protocol": "sse", "request": request,
           "expected": {"status": 200, "events": [{"event": "echo", "data": data}]}})
}

#[test]
fn sse_requests_send_their_method_and_body() {
    let url = serve(sse_echo);
    let set = fixtures(&[
        echo_fixture(
            "post-json",
            json!({"method": "POST", "path": "/stream", "json": {"prompt": "hi"}}),
            r#"POST application/json {"prompt":"hi"}"#,
        ),
        echo_fixture(
            "put-form",
            json!({"method": "PUT", "path": "/stream", "form": {"a": "1", "b": ["x", "y"]}}),
            "PUT application/x-www-form-urlencoded a=1&b=x&b=y",
        ),
        echo_fixture(
            "post-text",
            json!({"method": "POST", "path": "/stream", "body_text": "plain",
                   "headers": {"content-type": "text/x-prompt"}}),
            "POST text/x-prompt plain",
        ),
        echo_fixture("get", json!({"path": "/stream"}), "GET - "),
        // The same expectation fails when the server saw another body.
        echo_fixture(
            "post-wrong",
            json!({"method": "POST", "path": "/stream", "json": {"prompt": "bye"}}),
            r#"POST application/json {"prompt":"hi"}"#,
        ),
    ]);
    let (report, _, _) = set.run(&url, &[], Duration::from_secs(1) + MARGIN);
    for name in ["post-json", "put-form", "post-text", "get"] {
        assert_eq!(result(&report, name)["outcome"], "passed", "{report:#}");
    }
    assert_eq!(diff_paths(&report, "post-wrong"), ["/events/0/data"]);
    // The snapshot shows the method and body sent; a GET stream's has neither, as before.
    let post = set.snapshot("sse", "post-json");
    assert_eq!(post["request"]["method"], "POST", "{post:#}");
    assert_eq!(post["request"]["body"], json!({"json": {"prompt": "hi"}}));
    assert_eq!(
        post["request"]["headers"]["content-type"],
        "application/json"
    );
    let get = set.snapshot("sse", "get");
    assert!(get["request"].get("method").is_none(), "{get:#}");
    assert!(get["request"].get("body").is_none(), "{get:#}");
}

/// `stream` on an SSE fixture: its summary (`--format json`).
fn stream_summary(url: &str, fixture: &Path) -> Value {
    let args: Vec<String> = [
        "stream",
        "--url",
        url,
        "--fixture",
        fixture.to_str().unwrap(),
        "--connections",
        "1",
        "--duration",
        "1s",
        "--warmup",
        "0s",
        "--timeout",
        "2s",
        "--format",
        "json",
    ]
    .map(String::from)
    .to_vec();
    let (output, _) = run_within(&args, Duration::from_secs(2) + MARGIN);
    let document: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", text(&output.stderr)));
    document["summary"].clone()
}

#[test]
fn stream_sends_the_sse_method_and_body_as_replay_does() {
    let url = serve(sse_echo);
    let set = fixtures(&[
        echo_fixture(
            "post-json",
            json!({"method": "POST", "path": "/stream", "json": {"prompt": "hi"}}),
            r#"POST application/json {"prompt":"hi"}"#,
        ),
        echo_fixture(
            "post-wrong",
            json!({"method": "POST", "path": "/stream", "json": {"prompt": "bye"}}),
            r#"POST application/json {"prompt":"hi"}"#,
        ),
    ]);
    let right = stream_summary(&url, &set.files[0]);
    assert!(right["operations"].as_u64() > Some(0), "{right:#}");
    assert_eq!(right["errors"], 0, "{right:#}");
    // The server saw the body the fixture sends: another body's echo fails every event.
    let wrong = stream_summary(&url, &set.files[1]);
    assert!(wrong["errors"].as_u64() > Some(0), "{wrong:#}");
}

// ---------------------------------------------------------------------------------------------
// Matchers of binary bodies.

/// The first 16 bytes of a PNG file: its signature and the start of the IHDR chunk.
const PNG_START: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

async fn png(mut stream: TcpStream, _request: Request) {
    reply(
        &mut stream,
        "200 OK",
        &[("content-type", "image/png")],
        PNG_START,
    )
    .await;
}

fn binary_fixture(name: &str, body_base64: Option<&str>, body_length: Option<u64>) -> Value {
    let mut expected = json!({"status": 200});
    if let Some(b64) = body_base64 {
        expected["body_base64"] = b64.into();
    }
    if let Some(length) = body_length {
        expected["body_length"] = length.into();
    }
    json!({"name": name, "protocol": "rest", "request": {"path": "/logo.png"}, "expected": expected})
}

#[test]
fn binary_bodies_are_checked_by_prefix_part_length_or_not_at_all() {
    let url = serve(png);
    let set = fixtures(&[
        binary_fixture("png-prefix", Some("<<starts_with:iVBORw0KGgo=>>"), Some(16)),
        binary_fixture("png-part", Some("<<contains:SUhEUg==>>"), None),
        binary_fixture("png-any", Some("<<any>>"), Some(16)),
        // A GIF signature is not the PNG one; 17 bytes are not 16.
        binary_fixture("gif-prefix", Some("<<starts_with:R0lGODlh>>"), None),
        binary_fixture("png-longer", None, Some(17)),
        binary_fixture("png-no-part", Some("<<contains:SURBVA==>>"), None),
    ]);
    let (report, _, _) = set.run(&url, &[], Duration::from_secs(1) + MARGIN);
    for name in ["png-prefix", "png-part", "png-any"] {
        assert_eq!(result(&report, name)["outcome"], "passed", "{report:#}");
    }
    assert_eq!(diff_paths(&report, "gif-prefix"), ["/body_base64"]);
    let gif = &result(&report, "gif-prefix")["diff"][0];
    assert_eq!(gif["message"], "the body does not start with these 6 bytes");
    assert_eq!(gif["actual"], "iVBORw0KGgoAAAANSUhEUg==");
    assert_eq!(diff_paths(&report, "png-longer"), ["/body_length"]);
    assert_eq!(result(&report, "png-longer")["diff"][0]["actual"], 16);
    assert_eq!(diff_paths(&report, "png-no-part"), ["/body_base64"]);
    // `<<any>>` says the bytes vary: the snapshot keeps the token, not the bytes.
    let any = set.snapshot("rest", "png-any");
    assert_eq!(
        any["response"]["body"],
        json!({"base64": "<<any>>"}),
        "{any:#}"
    );
    let prefix = set.snapshot("rest", "png-prefix");
    assert_eq!(
        prefix["response"]["body"],
        json!({"base64": "iVBORw0KGgoAAAANSUhEUg=="})
    );
}

// ---------------------------------------------------------------------------------------------
// Redirects.

/// `/a` 302 to `/b`; `/b` 301 to the absolute URL of `/c`; `/c` answers 200 with the method and
/// body it got; `/post` 303 to `/c`; `/keep` 307 to `/c`; `/loop/N` 302 to `/loop/N+1`.
async fn redirecting(mut stream: TcpStream, request: Request) {
    let host = request.header("host").unwrap_or("127.0.0.1").to_string();
    let to = |status: &'static str, location: String| (status, location);
    let redirect = match request.target.as_str() {
        "/a" => Some(to("302 Found", "/b".into())),
        "/b" => Some(to("301 Moved Permanently", format!("http://{host}/c"))),
        "/post" => Some(to("303 See Other", "/c".into())),
        "/keep" => Some(to("307 Temporary Redirect", "/c".into())),
        loop_ if loop_.starts_with("/loop/") => {
            let n: u32 = loop_["/loop/".len()..].parse().unwrap_or(0);
            Some(to("302 Found", format!("/loop/{}", n + 1)))
        }
        _ => None,
    };
    match redirect {
        Some((status, location)) => {
            reply(&mut stream, status, &[("location", &location)], b"moved").await
        }
        None => {
            let body = json!({"at": request.target, "method": request.method,
                              "body": String::from_utf8_lossy(&request.body),
                              "authorization": request.header("authorization")});
            let body = body.to_string();
            reply(
                &mut stream,
                "200 OK",
                &[("content-type", "application/json")],
                body.as_bytes(),
            )
            .await
        }
    }
}

fn redirect_fixture(name: &str, request: Value, expected: Value) -> Value {
    json!({"name": name, "protocol": "rest", "request": request, "expected": expected})
}

#[test]
fn redirects_are_followed_only_when_asked_and_recorded() {
    let elsewhere = serve(redirecting);
    // `/away` 302 to `/c` on another server (another origin); the rest as `redirecting`.
    let url = serve(move |mut stream, request| {
        let elsewhere = elsewhere.clone();
        async move {
            if request.target == "/away" {
                let location = format!("{elsewhere}/c");
                reply(&mut stream, "302 Found", &[("location", &location)], b"").await;
            } else {
                redirecting(stream, request).await;
            }
        }
    });
    let at_c = |method: &str, body: &str| {
        json!({"status": 200, "body": {"at": "/c", "method": method, "body": body,
                                       "authorization": null}})
    };
    let authorized = |authorization: Value| {
        json!({"status": 200, "body": {"at": "/c", "method": "GET", "body": "",
                                       "authorization": authorization}})
    };
    let set = fixtures(&[
        redirect_fixture(
            "followed",
            json!({"path": "/a", "follow_redirects": true}),
            at_c("GET", ""),
        ),
        // Not followed (the default): the redirect is the reply.
        redirect_fixture(
            "not-followed",
            json!({"path": "/a"}),
            json!({"status": 302, "headers": {"location": "/b"}, "body_text": "moved"}),
        ),
        redirect_fixture("not-followed-wrong", json!({"path": "/a"}), at_c("GET", "")),
        redirect_fixture(
            "see-other",
            json!({"method": "POST", "path": "/post", "json": {"n": 1}, "follow_redirects": true}),
            at_c("GET", ""),
        ),
        redirect_fixture(
            "temporary",
            json!({"method": "POST", "path": "/keep", "json": {"n": 1}, "follow_redirects": true}),
            at_c("POST", r#"{"n":1}"#),
        ),
        // Credentials follow a redirect to the same origin only.
        redirect_fixture(
            "same-origin-auth",
            json!({"path": "/a", "headers": {"authorization": "Bearer x"},
                   "follow_redirects": true}),
            authorized(json!("Bearer x")),
        ),
        redirect_fixture(
            "cross-origin-auth",
            json!({"path": "/away", "headers": {"authorization": "Bearer x"},
                   "follow_redirects": true}),
            authorized(Value::Null),
        ),
        redirect_fixture(
            "endless",
            json!({"path": "/loop/0", "follow_redirects": true}),
            json!({"status": 200}),
        ),
    ]);
    let (report, _, _) = set.run(&url, &[], Duration::from_secs(2) + MARGIN);
    for name in [
        "followed",
        "not-followed",
        "see-other",
        "temporary",
        "same-origin-auth",
        "cross-origin-auth",
    ] {
        assert_eq!(result(&report, name)["outcome"], "passed", "{report:#}");
    }
    assert_eq!(diff_paths(&report, "not-followed-wrong")[0], "/status");
    let endless = result(&report, "endless");
    assert_eq!(endless["outcome"], "errored", "{endless:#}");
    let reason = endless["error"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("more than 10 redirects: the next one (302) goes to \"/loop/11\""),
        "{reason}"
    );

    // The chain is in the snapshot: each hop's status, location and the method that followed.
    let followed = set.snapshot("rest", "followed");
    assert_eq!(
        followed["redirects"],
        json!([{"status": 302, "location": "/b", "method": "GET"},
               {"status": 301, "location": "http://[addr]/c", "method": "GET"}]),
        "{followed:#}"
    );
    assert_eq!(followed["request"]["target"], "/a");
    assert_eq!(followed["response"]["status"], 200);
    let see_other = set.snapshot("rest", "see-other");
    assert_eq!(see_other["redirects"][0]["method"], "GET", "{see_other:#}");
    // Without follow_redirects nothing changes: no chain, the 302 itself.
    let not_followed = set.snapshot("rest", "not-followed");
    assert!(not_followed.get("redirects").is_none(), "{not_followed:#}");
    assert_eq!(not_followed["response"]["status"], 302);
}
