//! `bench`, `stream`, `report` and `compare` against hostile peers and hostile inputs (issue 9):
//! a broadcast server that delivers seqs it was never sent (over WebSocket and SSE), result
//! documents carrying a histogram that claims 4 GiB or is a deflate bomb, an open-file limit
//! below what `--connections` needs, output paths that cannot be written (before the run, and
//! mid-run), and rates the schedule cannot represent. The servers are small tokio servers on
//! loopback, in this file; the harness is the real binary.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

use crate::common::{bin, corpus_file, repo, text};

// ---------------------------------------------------------------------------------------------
// A small HTTP/1.1 server on loopback

/// One request's head, read off a connection.
struct Head {
    method: String,
    path: String,
    content_length: usize,
    websocket_key: Option<String>,
}

/// Reads a request head from `stream` (bytes beyond it stay in `buffer`); `None` at the end.
async fn read_head(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<Head> {
    loop {
        let mut slots = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut slots);
        if let Ok(httparse::Status::Complete(length)) = request.parse(buffer) {
            let header = |name: &str| {
                request
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case(name))
                    .map(|h| String::from_utf8_lossy(h.value).into_owned())
            };
            let head = Head {
                method: request.method.unwrap_or_default().to_string(),
                path: request.path.unwrap_or_default().to_string(),
                content_length: header("content-length")
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0),
                websocket_key: header("sec-websocket-key"),
            };
            buffer.drain(..length);
            return Some(head);
        }
        if buffer.len() > 64 * 1024 {
            return None;
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
        }
    }
}

/// Reads a body of `length` bytes (what `buffer` holds first).
async fn read_body(stream: &mut TcpStream, buffer: &mut Vec<u8>, length: usize) -> Option<Vec<u8>> {
    while buffer.len() < length {
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
        }
    }
    Some(buffer.drain(..length).collect())
}

/// Serves every connection with `handle` on a loopback port, on a thread of its own, for the
/// rest of the test process.
fn serve<F, Fut>(handle: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            sender.send(listener.local_addr().unwrap()).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                stream.set_nodelay(true).ok();
                tokio::spawn(handle(stream));
            }
        });
    });
    receiver.recv().unwrap()
}

/// Writes a fixture into `dir`.
fn write_fixture(dir: &Path, name: &str, fixture: &Value) -> PathBuf {
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(fixture).unwrap()).unwrap();
    path
}

/// The binary's output, within `limit` of wall time (asserted).
fn run_within(command: &mut Command, limit: Duration) -> Output {
    let started = Instant::now();
    let out = command.output().expect("the binary runs");
    let took = started.elapsed();
    assert!(
        took < limit,
        "took {took:?} (limit {limit:?}); stderr:\n{}",
        text(&out.stderr)
    );
    out
}

// ---------------------------------------------------------------------------------------------
// 1. Broadcast: seqs the publisher never sent

/// Seqs a hostile broadcast server delivers besides the real ones: never published.
const MADE_UP_SEQS: [u64; 3] = [u64::MAX, 8_589_934_592, 1_000_000];

/// A broadcast server (`/b/ws` WebSocket and `/b/events` SSE subscriptions, `POST /b` publish)
/// that, when message 0 is published, first delivers [`MADE_UP_SEQS`] to every subscriber.
fn hostile_broadcast_server() -> SocketAddr {
    let (hub, _) = broadcast::channel::<String>(4096);
    serve(move |mut stream| {
        let hub = hub.clone();
        async move {
            let mut buffer = Vec::new();
            let Some(head) = read_head(&mut stream, &mut buffer).await else {
                return;
            };
            match (head.method.as_str(), head.path.as_str()) {
                ("GET", "/b/ws") => {
                    let Some(key) = head.websocket_key else {
                        return;
                    };
                    let mut deliveries = hub.subscribe();
                    let reply = format!(
                        "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\
                         sec-websocket-accept: {}\r\n\r\n",
                        derive_accept_key(key.as_bytes())
                    );
                    if stream.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                    let mut socket =
                        WebSocketStream::from_raw_socket(stream, Role::Server, None).await;
                    loop {
                        match deliveries.recv().await {
                            Ok(text) => {
                                if socket.send(Message::Text(text.into())).await.is_err() {
                                    return;
                                }
                            }
                            Err(broadcast::error::RecvError::Lagged(_)) => continue,
                            Err(_) => return,
                        }
                    }
                }
                ("GET", "/b/events") => {
                    let mut deliveries = hub.subscribe();
                    let reply = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\r\n";
                    if stream.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                    loop {
                        match deliveries.recv().await {
                            Ok(text) => {
                                let event = format!("data: {text}\n\n");
                                if stream.write_all(event.as_bytes()).await.is_err() {
                                    return;
                                }
                            }
                            Err(broadcast::error::RecvError::Lagged(_)) => continue,
                            Err(_) => return,
                        }
                    }
                }
                ("POST", "/b") => {
                    let mut head = Some(head);
                    while let Some(request) = head.take() {
                        let Some(body) =
                            read_body(&mut stream, &mut buffer, request.content_length).await
                        else {
                            return;
                        };
                        let message: Value = serde_json::from_slice(&body).unwrap_or_default();
                        if message["seq"] == 0 {
                            for seq in MADE_UP_SEQS {
                                let _ =
                                    hub.send(json!({"payload": "tick", "seq": seq}).to_string());
                            }
                        }
                        let _ = hub.send(message.to_string());
                        let reply = "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n";
                        if stream.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                        head = read_head(&mut stream, &mut buffer).await;
                    }
                }
                _ => {
                    let _ = stream
                        .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                        .await;
                }
            }
        }
    })
}

/// `stream` on a broadcast fixture subscribing over `subscriber` to the hostile server: it ends
/// normally (no abort), every made-up seq counted as `seq out of range`, every real one delivered.
fn made_up_seqs_are_counted(subscriber: Value) {
    let addr = hostile_broadcast_server();
    let dir = tempfile::tempdir().unwrap();
    let fixture = write_fixture(
        dir.path(),
        "hostile-broadcast",
        &json!({
            "name": "hostile-broadcast",
            "protocol": "broadcast",
            "subscribers": [subscriber],
            "publish": {"rest": {"path": "/b", "json": {"payload": "tick"}}},
            "expected": {"publish": {"status": 202}, "delivery": {"json_partial": {"payload": "tick"}}}
        }),
    );
    let connections = 2u64;
    let out = run_within(
        bin()
            .arg("--url")
            .arg(format!("http://{addr}"))
            .args([
                "stream",
                "--duration",
                "1s",
                "--warmup",
                "0s",
                "--rate",
                "20",
            ])
            .args(["--timeout", "2s", "--connections", &connections.to_string()])
            .arg("--fixture")
            .arg(&fixture),
        Duration::from_secs(30),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let result: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("a document on stdout ({e}); stderr:\n{stderr}"));
    let made_up = MADE_UP_SEQS.len() as u64 * connections;
    assert_eq!(
        result["errors_by_kind"],
        json!({"seq out of range": made_up}),
        "{result}"
    );
    let b = &result["broadcast"];
    assert!(b["published"].as_u64().unwrap() > 0, "{result}");
    assert_eq!(b["deliveries"], b["deliveries_expected"], "{result}");
    assert_eq!(b["not_delivered"], 0, "{result}");
    assert!(stderr.contains("error: seq out of range x"), "{stderr}");
}

#[test]
fn made_up_seqs_over_websocket_are_counted_not_fatal() {
    made_up_seqs_are_counted(json!({"websocket": "/b/ws"}));
}

#[test]
fn made_up_seqs_over_sse_are_counted_not_fatal() {
    made_up_seqs_are_counted(json!({"sse": "/b/events"}));
}

// ---------------------------------------------------------------------------------------------
// 2. Histograms that claim more than they may hold

/// The V2 cookie and the compressed one.
const V2_COOKIE: u32 = 0x1c84_9313;
const V2_COMPRESSED_COOKIE: u32 = 0x1c84_9314;

/// The V2 compressed form of a histogram of the harness's parameters (1 us to 60 s, 3 digits)
/// whose header claims `payload_len` bytes of counts, followed by `zeros` zero bytes.
fn crafted_histogram(payload_len: u32, zeros: usize) -> String {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    let mut header = Vec::new();
    header.extend_from_slice(&V2_COOKIE.to_be_bytes());
    header.extend_from_slice(&payload_len.to_be_bytes());
    header.extend_from_slice(&0u32.to_be_bytes());
    header.extend_from_slice(&3u32.to_be_bytes());
    header.extend_from_slice(&1u64.to_be_bytes());
    header.extend_from_slice(&60_000_000u64.to_be_bytes());
    header.extend_from_slice(&1.0f64.to_bits().to_be_bytes());
    encoder.write_all(&header).unwrap();
    let block = vec![0u8; 1 << 20];
    let mut left = zeros;
    while left > 0 {
        let n = left.min(block.len());
        encoder.write_all(&block[..n]).unwrap();
        left -= n;
    }
    let deflated = encoder.finish().unwrap();
    let mut bytes = V2_COMPRESSED_COOKIE.to_be_bytes().to_vec();
    bytes.extend_from_slice(&(deflated.len() as u32).to_be_bytes());
    bytes.extend_from_slice(&deflated);
    BASE64.encode(bytes)
}

/// A `bench` result document as the harness writes it (a short run against the embedded
/// reference), with `histogram` in place of the measured one when given.
fn load_document(dir: &Path, name: &str, histogram: Option<&str>) -> PathBuf {
    let measured = dir.join("measured.json");
    if !measured.exists() {
        let out = bin()
            .args([
                "bench",
                "--connections",
                "2",
                "--duration",
                "1s",
                "--warmup",
                "0s",
            ])
            .arg("--fixture")
            .arg(corpus_file("rest/bench/hello.json"))
            .arg("--output")
            .arg(&measured)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let mut value: Value =
        serde_json::from_str(&std::fs::read_to_string(&measured).unwrap()).unwrap();
    if let Some(histogram) = histogram {
        value["histogram"] = histogram.into();
    }
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(&value).unwrap()).unwrap();
    path
}

/// `report` and `compare --report` on `bad` exit 2 quickly, naming the file and the pointer,
/// and write no report.
fn refused_by_report_and_compare(dir: &Path, bad: &Path, good: &Path) {
    let limit = Duration::from_secs(15);
    let out_dir = dir.join("report");
    let out = run_within(
        bin().arg("report").arg(bad).arg("--out").arg(&out_dir),
        limit,
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&bad.display().to_string()), "{stderr}");
    assert!(
        stderr.contains("#/histogram: histogram refused"),
        "{stderr}"
    );
    assert!(!out_dir.exists());

    for extra in [&["--report", out_dir.to_str().unwrap()][..], &[][..]] {
        let out = run_within(
            bin()
                .arg("compare")
                .arg("--baseline")
                .arg(good)
                .arg("--candidate")
                .arg(bad)
                .args(extra),
            limit,
        );
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(
            stderr.contains("#/histogram: histogram refused"),
            "{stderr}"
        );
        assert!(!out_dir.exists());
    }
}

#[test]
fn a_histogram_claiming_4_gib_is_refused_by_report_and_compare() {
    let dir = tempfile::tempdir().unwrap();
    let claim = crafted_histogram(u32::MAX, 0);
    assert!(claim.len() <= 60, "{claim}");
    let bad = load_document(dir.path(), "claim", Some(&claim));
    let good = load_document(dir.path(), "good", None);
    // The good one reads.
    let out = bin()
        .arg("report")
        .arg(&good)
        .arg("--out")
        .arg(dir.path().join("ok"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    refused_by_report_and_compare(dir.path(), &bad, &good);
}

#[test]
fn a_deflate_bomb_histogram_is_refused_by_report_and_compare() {
    let dir = tempfile::tempdir().unwrap();
    // 32 MiB of zero counts in a few dozen KB, the header saying so.
    let zeros = 32 << 20;
    let bomb = crafted_histogram(zeros as u32, zeros);
    assert!(bomb.len() < 200 * 1024, "{}", bomb.len());
    let bad = load_document(dir.path(), "bomb", Some(&bomb));
    let good = load_document(dir.path(), "good", Some(""));
    refused_by_report_and_compare(dir.path(), &bad, &good);
}

// ---------------------------------------------------------------------------------------------
// 6. The open-file limit

/// `command` with the open-file limit of its process set to `soft` and `hard`.
fn with_open_files(command: &mut Command, soft: u64, hard: u64) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe; the closure touches nothing else.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: soft as libc::rlim_t,
                rlim_max: hard as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

fn hello() -> PathBuf {
    repo().join("fixtures/rest/bench/hello.json")
}

#[test]
fn connections_beyond_the_hard_open_file_limit_are_refused_up_front() {
    let out = run_within(
        with_open_files(&mut bin(), 256, 256)
            .args(["bench", "--connections", "1000", "--duration", "30s"])
            .arg("--fixture")
            .arg(hello()),
        Duration::from_secs(15),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    // The embedded target's server side is in the process too: two descriptors a connection.
    // The harness tries to raise the hard limit itself, which only a process with
    // CAP_SYS_RESOURCE may do: the refusal says why it could not.
    assert!(
        stderr.contains("--connections 1000 needs about 2064 open files")
            && stderr.contains("may open 256 (hard limit 256; raising it: "),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_soft_open_file_limit_below_the_hard_one_is_raised_and_the_run_goes_on() {
    let out = run_within(
        with_open_files(&mut bin(), 64, 1024)
            .args([
                "bench",
                "--connections",
                "100",
                "--duration",
                "1s",
                "--warmup",
                "0s",
            ])
            .arg("--fixture")
            .arg(hello()),
        Duration::from_secs(30),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        result["summary"]["operations"].as_u64().unwrap() > 0,
        "{result}"
    );
    assert_eq!(result["summary"]["errors"], 0, "{result}");
}

// ---------------------------------------------------------------------------------------------
// 8. Output paths

#[test]
fn an_output_that_cannot_be_written_is_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "not a folder").unwrap();
    // Without the check this runs 2 s of warmup and 30 s of load, then fails to write.
    let output = blocker.join("x.json");
    let out = run_within(
        bin()
            .args(["bench", "--duration", "30s", "--output"])
            .arg(&output)
            .arg("--fixture")
            .arg(hello()),
        Duration::from_secs(15),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("--output {}", output.display()))
            && stderr.contains("is not a folder"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());

    // A bad --hlog is refused as early, and the good --output is left as it was.
    let good = dir.path().join("good.json");
    std::fs::write(&good, "old").unwrap();
    let hlog = blocker.join("sub").join("x.hlog");
    let out = run_within(
        bin()
            .args(["bench", "--duration", "30s", "--output"])
            .arg(&good)
            .arg("--hlog")
            .arg(&hlog)
            .arg("--fixture")
            .arg(hello()),
        Duration::from_secs(15),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("--hlog {}", hlog.display())),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&good).unwrap(), "old");
    // Nothing left behind by the checks.
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["a-file", "good.json"]);
}

/// A REST server answering `GET /hello` as `bench-hello` expects; the first request it serves
/// is announced on `first`.
fn hello_server(first: std::sync::mpsc::Sender<()>) -> SocketAddr {
    let first = std::sync::Mutex::new(Some(first));
    let first = std::sync::Arc::new(first);
    serve(move |mut stream| {
        let first = first.clone();
        async move {
            let mut buffer = Vec::new();
            while let Some(head) = read_head(&mut stream, &mut buffer).await {
                if read_body(&mut stream, &mut buffer, head.content_length)
                    .await
                    .is_none()
                {
                    return;
                }
                if let Some(first) = first.lock().unwrap().take() {
                    let _ = first.send(());
                }
                let body = r#"{"message":"Hello, World!"}"#;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                if stream.write_all(reply.as_bytes()).await.is_err() {
                    return;
                }
            }
        }
    })
}

#[test]
fn a_result_that_cannot_be_written_at_the_end_goes_to_stdout() {
    let (first, served) = std::sync::mpsc::channel();
    let addr = hello_server(first);
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("results");
    std::fs::create_dir(&folder).unwrap();
    let output = folder.join("r.json");
    let child = bin()
        .arg("--url")
        .arg(format!("http://{addr}"))
        .args([
            "bench",
            "--duration",
            "2s",
            "--warmup",
            "0s",
            "--connections",
            "2",
        ])
        .arg("--output")
        .arg(&output)
        .arg("--fixture")
        .arg(hello())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The load has started (the paths were checked): the folder becomes a file.
    served
        .recv_timeout(Duration::from_secs(20))
        .expect("a request");
    std::fs::remove_dir(&folder).unwrap();
    std::fs::write(&folder, "now a file").unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot write {}", output.display()))
            && stderr.contains("the result document is on stdout instead"),
        "{stderr}"
    );
    let result: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("the document on stdout ({e}); stderr:\n{stderr}"));
    assert!(
        result["summary"]["operations"].as_u64().unwrap() > 0,
        "{result}"
    );
}

// ---------------------------------------------------------------------------------------------
// 13. Rates the schedule cannot represent

#[test]
fn rates_the_schedule_cannot_represent_are_refused() {
    for rate in ["1e300", "nan", "-1", "0", "inf", "1e-300"] {
        let out = run_within(
            bin()
                .args(["bench", "--rate", rate, "--fixture"])
                .arg(hello()),
            Duration::from_secs(10),
        );
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{rate}: {stderr}");
        assert!(
            stderr.contains("from 0.000000001 to 1e9 (at most one operation a nanosecond)"),
            "{rate}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{rate}");
    }
    // A rate within range over a run longer than 2^64 operations.
    let out = run_within(
        bin()
            .args([
                "bench",
                "--rate",
                "1e9",
                "--duration",
                "1000years",
                "--fixture",
            ])
            .arg(hello()),
        Duration::from_secs(10),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("more than a 64-bit count holds"),
        "{stderr}"
    );
}
