//! REST bodies of issue 12 end to end, with the binary against an axum server on loopback
//! written here: replies in every content coding (and one that lies about its coding, one in an
//! unknown coding, a gzip bomb), NDJSON streamed with pauses and the same lines buffered, and an
//! echo that records what the harness sent (a gzip upload, a multipart upload, the
//! `Accept-Encoding` it sends or not). `run` checks the decoded bodies, chunks and first-byte
//! deadlines, its snapshots hide fresh boundaries, and `bench` times bodies and decodes replies.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::{any, get};
use serde_json::{Value, json};

use crate::common::{run_within, serve_on_thread, text, write_fixtures};

/// The JSON body every coded reply carries, padded so that compressing it pays.
fn payload(coding: &str) -> Value {
    json!({"coded": coding, "pad": "abcdefgh".repeat(64)})
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// `bytes` in `coding` (`deflate` is zlib, `raw-deflate` raw deflate as some servers send),
/// encoded here rather than by the harness's own code.
fn encode(coding: &str, bytes: &[u8]) -> Vec<u8> {
    match coding {
        "gzip" => gzip(bytes),
        "deflate" => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(bytes).unwrap();
            e.finish().unwrap()
        }
        "raw-deflate" => {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(bytes).unwrap();
            e.finish().unwrap()
        }
        "br" => {
            let mut out = Vec::new();
            brotli::BrotliCompress(&mut &bytes[..], &mut out, &Default::default()).unwrap();
            out
        }
        "zstd" => zstd::stream::encode_all(bytes, 1).unwrap(),
        other => panic!("no coding {other}"),
    }
}

/// 100 MiB of zeros, gzipped (about 100 KiB), made once.
fn bomb() -> &'static [u8] {
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    BOMB.get_or_init(|| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..100 {
            encoder.write_all(&zeros).unwrap();
        }
        encoder.finish().unwrap()
    })
}

/// A request the echo route saw.
#[derive(Debug, Clone)]
struct Seen {
    headers: HeaderMap,
    body: Bytes,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// `/coded/{coding}`: the payload in that coding (`gzip+br`: gzip, then br).
async fn coded(UrlPath(coding): UrlPath<String>) -> Response {
    let plain = payload(&coding).to_string().into_bytes();
    let (bytes, header) = match coding.as_str() {
        "gzip+br" => (
            encode("br", &encode("gzip", &plain)),
            "gzip, br".to_string(),
        ),
        "raw-deflate" => (encode("raw-deflate", &plain), "deflate".to_string()),
        "x-gzip" => (encode("gzip", &plain), "x-gzip".to_string()),
        other => (encode(other, &plain), other.to_string()),
    };
    reply(&[("content-encoding", &header)], bytes)
}

fn reply(headers: &[(&str, &str)], body: Vec<u8>) -> Response {
    let mut builder = Response::builder().header(header::CONTENT_TYPE, "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::from(body)).unwrap()
}

/// NDJSON lines `{"n":1}` to `{"n":3}`: with `paced`, each flushed 200 ms after the one before;
/// else all three in one piece after 600 ms (a server buffering its stream).
fn ndjson(paced: bool) -> Response {
    use futures_util::StreamExt;
    let line = |n: u8| Bytes::from(format!("{{\"n\":{n}}}\n"));
    let body = if paced {
        Body::from_stream(futures_util::stream::iter(1..=3).then(move |n| async move {
            if n > 1 {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok::<_, std::io::Error>(line(n))
        }))
    } else {
        Body::from_stream(futures_util::stream::once(async move {
            tokio::time::sleep(Duration::from_millis(600)).await;
            let all: Vec<u8> = (1..=3).flat_map(|n| line(n).to_vec()).collect();
            Ok::<_, std::io::Error>(Bytes::from(all))
        }))
    };
    Response::builder()
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .body(body)
        .unwrap()
}

/// `/echo`: records the request and says what it got: its `content-type`, `content-encoding`
/// and `accept-encoding` (null when absent), its size, and a gzip body decoded (as JSON).
async fn echo(State(log): State<Log>, headers: HeaderMap, body: Bytes) -> axum::Json<Value> {
    let named = |name: &str| {
        headers
            .get(name)
            .map(|v| Value::from(v.to_str().unwrap_or("(not text)")))
            .unwrap_or(Value::Null)
    };
    let decoded = if named("content-encoding") == "gzip" {
        let mut text = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut text)
            .map_or(Value::Null, |_| {
                serde_json::from_str(&text).unwrap_or(Value::Null)
            })
    } else {
        Value::Null
    };
    let answer = json!({
        "content_type": named("content-type"),
        "content_encoding": named("content-encoding"),
        "accept_encoding": named("accept-encoding"),
        "size": body.len(),
        "decoded": decoded,
    });
    log.lock().unwrap().push(Seen { headers, body });
    axum::Json(answer)
}

/// The server, on a thread of its own for the rest of the test process, and the log of what
/// its echo route saw.
fn server() -> (String, Log) {
    let log: Log = Arc::default();
    let shared = Arc::clone(&log);
    let address: SocketAddr = serve_on_thread(move |listener| async move {
        let app = axum::Router::new()
            .route("/coded/{coding}", get(coded))
            .route(
                "/lie",
                get(|| async { reply(&[("content-encoding", "gzip")], b"{\"a\":1}".to_vec()) }),
            )
            .route(
                "/unknown",
                get(|| async { reply(&[("content-encoding", "compress")], b"{}".to_vec()) }),
            )
            .route(
                "/bomb",
                get(|| async { reply(&[("content-encoding", "gzip")], bomb().to_vec()) }),
            )
            .route("/ndjson/paced", get(|| async { ndjson(true) }))
            .route("/ndjson/buffered", get(|| async { ndjson(false) }))
            .route("/echo", any(echo))
            .with_state(shared);
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{address}"), log)
}

fn fixture(name: &str, request: Value, expected: Value) -> Value {
    json!({"name": name, "protocol": "rest", "request": request, "expected": expected})
}

/// `run --url URL --fixtures DIR --format json` (snapshots written to `snapshots` when given);
/// the exit code and the result of each fixture by name.
fn run(url: &str, fixtures: &[Value], snapshots: Option<&Path>) -> (Option<i32>, Value) {
    run_waiting(url, fixtures, snapshots, "5s")
}

/// [`run`] with `--timeout TIMEOUT`.
fn run_waiting(
    url: &str,
    fixtures: &[Value],
    snapshots: Option<&Path>,
    timeout: &str,
) -> (Option<i32>, Value) {
    let (dir, _) = write_fixtures(fixtures);
    let mut args = vec![
        "run".to_string(),
        "--url".into(),
        url.into(),
        "--fixtures".into(),
        dir.path().display().to_string(),
        "--timeout".into(),
        timeout.into(),
        "--format".into(),
        "json".into(),
        "--target-name".into(),
        "bodies".into(),
    ];
    match snapshots {
        Some(folder) => args.extend([
            "--snapshots-dir".to_string(),
            folder.display().to_string(),
            "--snapshots".into(),
            "update".into(),
        ]),
        None => args.extend(["--snapshots".to_string(), "off".into()]),
    }
    let (out, _) = run_within(&args, Duration::from_secs(60));
    let report: Value = serde_json::from_str(&text(&out.stdout))
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
    let by_name = report["fixtures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap().to_string(), f.clone()))
        .collect::<serde_json::Map<_, _>>();
    (out.status.code(), Value::Object(by_name))
}

#[test]
fn replies_in_every_coding_are_checked_decoded() {
    let (url, _) = server();
    let codings = [
        "gzip",
        "x-gzip",
        "deflate",
        "raw-deflate",
        "br",
        "zstd",
        "gzip+br",
    ];
    let fixtures: Vec<Value> = codings
        .iter()
        .map(|coding| {
            let sent = match *coding {
                "gzip+br" => "gzip, br",
                "raw-deflate" => "deflate",
                other => other,
            };
            fixture(
                &format!("coded-{}", coding.replace('+', "-")),
                json!({"path": format!("/coded/{coding}"),
                       "headers": {"accept-encoding": "gzip, deflate, br, zstd"}}),
                json!({"status": 200, "headers": {"content-encoding": sent},
                       "body": payload(coding), "body_length": payload(coding).to_string().len()}),
            )
        })
        .collect();
    let (code, results) = run(&url, &fixtures, None);
    assert_eq!(code, Some(0), "{results:#}");
    for fixture in &fixtures {
        let name = fixture["name"].as_str().unwrap();
        assert_eq!(results[name]["outcome"], "passed", "{:#}", results[name]);
    }
}

#[test]
fn a_body_that_is_not_in_its_claimed_coding_fails_and_a_bomb_interrupts() {
    let (url, _) = server();
    let fixtures = [
        fixture(
            "lie",
            json!({"path": "/lie", "headers": {"accept-encoding": "gzip"}}),
            json!({"status": 200, "body": {"a": 1}}),
        ),
        fixture(
            "unknown",
            json!({"path": "/unknown"}),
            json!({"status": 200, "body": {}}),
        ),
        fixture(
            "bomb",
            json!({"path": "/bomb", "headers": {"accept-encoding": "gzip"}}),
            json!({"status": 200, "body_length": 0}),
        ),
    ];
    let (code, results) = run(&url, &fixtures, None);
    assert_eq!(code, Some(1), "{results:#}");

    let lie = &results["lie"];
    assert_eq!(lie["outcome"], "failed", "{lie:#}");
    assert_eq!(lie["diff"].as_array().unwrap().len(), 1, "{lie:#}");
    assert_eq!(lie["diff"][0]["path"], "/body");
    assert_eq!(lie["diff"][0]["actual"], json!({"json": {"a": 1}}));
    let message = lie["diff"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("content-encoding gzip claimed, but the body does not decode: gzip: "),
        "{message}"
    );

    let unknown = &results["unknown"];
    assert_eq!(unknown["outcome"], "failed", "{unknown:#}");
    assert_eq!(
        unknown["diff"][0]["message"],
        "content-encoding compress claimed, but the body does not decode: unknown content \
         coding \"compress\""
    );

    let bomb = &results["bomb"];
    assert_eq!(bomb["outcome"], "errored", "{bomb:#}");
    let cap = 16 * 1024 * 1024;
    assert_eq!(
        bomb["error"]["reason"],
        format!(
            "reply body with content-encoding gzip: undoing gzip gives more than {cap} bytes, \
             the reply body cap"
        )
    );
}

#[test]
fn streamed_lines_pass_their_chunks_and_a_buffered_stream_misses_its_first_byte() {
    let (url, _) = server();
    let chunks = json!([{"json": {"n": 1}}, {"json": {"n": 2}}, {"json": {"n": "<<number>>"}}]);
    let expected = json!({"status": 200, "chunks": chunks, "first_byte_within_ms": 300});
    let fixtures = [
        fixture("paced", json!({"path": "/ndjson/paced"}), expected.clone()),
        fixture("buffered", json!({"path": "/ndjson/buffered"}), expected),
        fixture(
            "wrong-line",
            json!({"path": "/ndjson/paced"}),
            json!({"status": 200, "chunks": [{"json": {"n": 1}}, {"json": {"n": 2}},
                                             {"json": {"n": 4}}]}),
        ),
    ];
    let (code, results) = run(&url, &fixtures, None);
    assert_eq!(code, Some(1), "{results:#}");

    let paced = &results["paced"];
    assert_eq!(paced["outcome"], "passed", "{paced:#}");
    let arrivals = paced["body_arrivals"]["arrivals"].as_array().unwrap();
    assert!(arrivals.len() >= 3, "{paced:#}");
    let at = |a: &Value| a["at_ms"].as_u64().unwrap();
    let spread = at(&arrivals[arrivals.len() - 1]) - at(&arrivals[0]);
    assert!(spread >= 350, "the lines came {spread} ms apart: {paced:#}");
    let bytes: u64 = arrivals.iter().map(|a| a["bytes"].as_u64().unwrap()).sum();
    assert_eq!(bytes, 24, "{paced:#}");
    assert!(paced["body_arrivals"]["first_byte_ms"].as_u64().unwrap() < 300);

    let buffered = &results["buffered"];
    assert_eq!(buffered["outcome"], "failed", "{buffered:#}");
    assert_eq!(
        buffered["diff"].as_array().unwrap().len(),
        1,
        "{buffered:#}"
    );
    let diff = &buffered["diff"][0];
    assert_eq!(diff["path"], "/first_byte_within_ms");
    assert_eq!(diff["expected"], 300);
    let took = diff["actual"].as_u64().unwrap();
    assert!(took >= 550, "{buffered:#}");
    assert_eq!(
        diff["message"],
        format!(
            "the first byte of the body arrived after {took} ms, later than \
             first_byte_within_ms 300"
        )
    );
    let arrivals = buffered["body_arrivals"]["arrivals"].as_array().unwrap();
    assert!(
        at(&arrivals[arrivals.len() - 1]) - at(&arrivals[0]) < 100,
        "{buffered:#}"
    );

    let wrong = &results["wrong-line"];
    assert_eq!(wrong["outcome"], "failed", "{wrong:#}");
    assert_eq!(wrong["diff"][0]["path"], "/chunks/2/json/n");
    assert_eq!(wrong["diff"][0]["actual"], 3);
}

#[test]
fn first_byte_within_ms_lengthens_the_wait_as_within_ms_does() {
    let (url, _) = server();
    let chunks = json!([{"json": {"n": 1}}, {"json": {"n": 2}}, {"json": {"n": 3}}]);
    let fixtures = [
        fixture(
            "waits",
            json!({"path": "/ndjson/buffered"}),
            json!({"status": 200, "chunks": chunks, "first_byte_within_ms": 3000}),
        ),
        fixture(
            "gives-up",
            json!({"path": "/ndjson/buffered"}),
            json!({"status": 200, "chunks": chunks}),
        ),
    ];
    // The buffered reply takes 600 ms: past --timeout 300ms, within first_byte_within_ms.
    let (code, results) = run_waiting(&url, &fixtures, None, "300ms");
    assert_eq!(code, Some(1), "{results:#}");
    assert_eq!(results["waits"]["outcome"], "passed", "{results:#}");
    assert_eq!(results["gives-up"]["outcome"], "errored", "{results:#}");
    assert_eq!(
        results["gives-up"]["error"]["reason"],
        "no complete reply within 300ms"
    );
}

#[test]
fn uploads_go_encoded_with_a_fresh_boundary_and_accept_encoding_only_when_named() {
    let (url, log) = server();
    let fixtures = [
        fixture(
            "upload-gzip",
            json!({"method": "POST", "path": "/echo", "json": {"n": 1},
                   "content_encoding": "gzip"}),
            json!({"status": 200, "body": {"content_type": "application/json",
                   "content_encoding": "gzip", "accept_encoding": null,
                   "size": "<<number>>", "decoded": {"n": 1}}}),
        ),
        fixture(
            "upload-multipart",
            json!({"method": "POST", "path": "/echo",
                   "headers": {"accept-encoding": "br"},
                   "multipart": [{"name": "title", "text": "holiday"},
                                 {"name": "photo", "filename": "a.png",
                                  "content_type": "image/png", "base64": "iVBORw0KGgo="}]}),
            json!({"status": 200, "body_match": "partial", "body": {
                   "content_type": "<<regex:multipart/form-data; boundary=bh-[0-9a-f]{24}>>",
                   "content_encoding": null, "accept_encoding": "br"}}),
        ),
    ];
    let snapshots = tempfile::tempdir().unwrap();
    let (code, results) = run(&url, &fixtures, Some(snapshots.path()));
    assert_eq!(code, Some(0), "{results:#}");

    // What went on the wire.
    let seen = log.lock().unwrap().clone();
    let upload = seen
        .iter()
        .find(|s| s.headers.get("content-encoding").is_some())
        .unwrap();
    assert_eq!(&upload.body[..2], &[0x1f, 0x8b], "gzip magic");
    let mut decoded = String::new();
    flate2::read::GzDecoder::new(&upload.body[..])
        .read_to_string(&mut decoded)
        .unwrap();
    assert_eq!(decoded, r#"{"n":1}"#);
    assert!(upload.headers.get("accept-encoding").is_none());
    let multipart = seen
        .iter()
        .find(|s| s.headers.get("accept-encoding").is_some())
        .unwrap();
    let content_type = multipart.headers["content-type"].to_str().unwrap();
    let boundary = content_type.rsplit('=').next().unwrap();
    let body = String::from_utf8_lossy(&multipart.body);
    assert!(
        body.starts_with(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nholiday\r\n"
        )),
        "{body}"
    );
    assert!(body.ends_with(&format!("--{boundary}--\r\n")), "{body}");

    // The snapshots: the upload before its coding with the coding beside it, the boundary hidden.
    let snap = |name: &str| {
        let path = snapshots.path().join(format!("bodies/rest/{name}.snap"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let gzip_snap = snap("upload-gzip");
    assert!(
        gzip_snap.contains(r#""content_encoding": "gzip""#),
        "{gzip_snap}"
    );
    assert!(gzip_snap.contains(r#""n": 1"#), "{gzip_snap}");
    let multipart_snap = snap("upload-multipart");
    assert!(
        multipart_snap.contains("multipart/form-data; boundary=<boundary>"),
        "{multipart_snap}"
    );
    // The body (binary: a PNG part) shows as base64 of the bytes with the boundary hidden.
    let snapshot: Value = serde_json::from_str(multipart_snap.split("---\n").nth(2).unwrap())
        .unwrap_or_else(|e| panic!("{e}: {multipart_snap}"));
    use base64::Engine;
    let shown = base64::engine::general_purpose::STANDARD
        .decode(snapshot["request"]["body"]["base64"].as_str().unwrap())
        .unwrap();
    let shown = String::from_utf8_lossy(&shown);
    assert!(shown.starts_with("--<boundary>\r\n"), "{shown}");
    assert!(shown.ends_with("--<boundary>--\r\n"), "{shown}");
    assert!(!multipart_snap.contains(boundary), "{multipart_snap}");
    assert!(!multipart_snap.contains("arrivals"), "{multipart_snap}");
}

/// `bench --fixture F --url URL` for 1 s, no warmup, one connection; the result document.
fn bench(url: &str, fixture: &Value) -> (Option<i32>, Value) {
    let (dir, files) = write_fixtures(std::slice::from_ref(fixture));
    let document = dir.path().join("result.json");
    let args = [
        "bench",
        "--url",
        url,
        "--fixture",
        files[0].to_str().unwrap(),
        "--duration",
        "1s",
        "--warmup",
        "0s",
        "--connections",
        "1",
        "--output",
        document.to_str().unwrap(),
    ];
    let (out, _) = run_within(&args, Duration::from_secs(60));
    let result =
        std::fs::read_to_string(&document).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
    (out.status.code(), serde_json::from_str(&result).unwrap())
}

#[test]
fn bench_times_streamed_bodies_and_decodes_replies_as_run_does() {
    let (url, _) = server();
    let chunks = json!([{"json": {"n": 1}}, {"json": {"n": 2}}, {"json": {"n": 3}}]);
    let (code, paced) = bench(
        &url,
        &fixture(
            "paced",
            json!({"path": "/ndjson/paced"}),
            json!({"status": 200, "chunks": chunks}),
        ),
    );
    assert_eq!(code, Some(0), "{paced:#}");
    assert_eq!(paced["summary"]["errors"], 0, "{paced:#}");
    let timing = &paced["body_timing"];
    assert!(timing["count"].as_u64().unwrap() >= 1, "{paced:#}");
    assert!(
        timing["first_byte_us"]["p50"].as_u64().unwrap() < 200_000,
        "{paced:#}"
    );
    assert!(
        timing["last_byte_us"]["p50"].as_u64().unwrap() >= 390_000,
        "{paced:#}"
    );

    let (code, coded) = bench(
        &url,
        &fixture(
            "coded",
            json!({"path": "/coded/br", "headers": {"accept-encoding": "br"}}),
            json!({"status": 200, "body": payload("br")}),
        ),
    );
    assert_eq!(code, Some(0), "{coded:#}");
    assert_eq!(coded["summary"]["errors"], 0, "{coded:#}");
    assert!(coded.get("body_timing").is_none(), "{coded:#}");

    let (code, lie) = bench(
        &url,
        &fixture(
            "lie",
            json!({"path": "/lie"}),
            json!({"status": 200, "body": {"a": 1}}),
        ),
    );
    assert_eq!(code, Some(1), "{lie:#}");
    let kinds = lie["errors_by_kind"].as_object().unwrap();
    assert_eq!(kinds.len(), 1, "{lie:#}");
    let kind = kinds.keys().next().unwrap();
    assert!(
        kind.starts_with("/body: content-encoding gzip claimed, but the body does not decode: "),
        "{kind}"
    );
}
