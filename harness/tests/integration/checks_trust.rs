//! Checks that used to pass what they should not (issue 10, "False passes"), each replayed by the
//! binary against a real server on loopback that answers with exactly the bytes a test gives:
//! repeated headers, a regex that only a search would find, named SSE events, gzip bodies with
//! different mtimes, JSON served as `text/html`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{bin, text};

/// A loopback HTTP/1.1 server that answers every request with the canned reply of its path (the
/// request line's target, query included), then closes the connection; 404 for other paths.
/// Replies can be swapped between runs. The accept thread lives as long as the test process.
struct Canned {
    url: String,
    replies: Arc<Replies>,
}

/// `(path, reply bytes)` pairs.
type Replies = Mutex<Vec<(String, Vec<u8>)>>;

impl Canned {
    fn start(replies: Vec<(&str, Vec<u8>)>) -> Canned {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let replies = Arc::new(Mutex::new(
            replies
                .into_iter()
                .map(|(path, bytes)| (path.to_string(), bytes))
                .collect(),
        ));
        let shared = Arc::clone(&replies);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let replies = Arc::clone(&shared);
                std::thread::spawn(move || answer(stream, &replies));
            }
        });
        Canned { url, replies }
    }

    /// Replaces the reply of `path`.
    fn set(&self, path: &str, bytes: Vec<u8>) {
        let mut replies = self.replies.lock().unwrap();
        replies.retain(|(p, _)| p != path);
        replies.push((path.to_string(), bytes));
    }
}

/// Reads one request head (a body is not expected), writes the canned reply, closes.
fn answer(mut stream: TcpStream, replies: &Replies) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let target = head.split(' ').nth(1).unwrap_or_default().to_string();
    let reply = replies
        .lock()
        .unwrap()
        .iter()
        .find(|(path, _)| *path == target)
        .map(|(_, bytes)| bytes.clone())
        .unwrap_or_else(|| {
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_vec()
        });
    let _ = stream.write_all(&reply);
    let _ = stream.flush();
}

/// A complete HTTP/1.1 reply: status line, `headers` as given (repeats kept), content-length,
/// `connection: close`, the body.
fn reply(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Writes fixtures (JSON values) into `dir`, one file each, and returns their paths.
fn write_fixtures(dir: &Path, fixtures: &[serde_json::Value]) -> Vec<PathBuf> {
    fixtures
        .iter()
        .map(|fixture| {
            let name = fixture["name"].as_str().unwrap();
            let path = dir.join(format!("{name}.json"));
            std::fs::write(&path, serde_json::to_string_pretty(fixture).unwrap()).unwrap();
            path
        })
        .collect()
}

/// `run --url URL --snapshots off --format json` of the fixtures: the exit code and the report.
fn run_json(url: &str, fixtures: &[serde_json::Value]) -> (Option<i32>, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_fixtures(dir.path(), fixtures);
    let mut command = bin();
    command.args([
        "run",
        "--url",
        url,
        "--timeout",
        "5s",
        "--snapshots",
        "off",
        "--format",
        "json",
    ]);
    for path in &paths {
        command.arg("--fixture").arg(path);
    }
    let out: Output = command.output().expect("the binary runs");
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}): stdout {} stderr {}",
            text(&out.stdout),
            text(&out.stderr)
        )
    });
    (out.status.code(), report)
}

/// The fixture named `name` in a report.
fn fixture<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["fixtures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {report}"))
}

/// A REST fixture `GET path` expecting status 200 and `expected` merged in.
fn rest_fixture(name: &str, path: &str, expected: serde_json::Value) -> serde_json::Value {
    let mut want = serde_json::json!({"status": 200});
    want.as_object_mut()
        .unwrap()
        .extend(expected.as_object().unwrap().clone());
    serde_json::json!({
        "name": name,
        "protocol": "rest",
        "request": {"method": "GET", "path": path},
        "expected": want,
    })
}

#[test]
fn a_regex_matcher_matches_the_whole_value_not_a_part() {
    let server = Canned::start(vec![(
        "/server",
        reply(
            "200 OK",
            &[("server", "gunicorn/23.0"), ("content-type", "text/plain")],
            b"gunicorn",
        ),
    )]);
    let (code, report) = run_json(
        &server.url,
        &[
            rest_fixture(
                "regex-part",
                "/server",
                serde_json::json!({"headers": {"server": "<<regex:unicorn>>"},
                                   "body_text": "<<regex:unicorn>>"}),
            ),
            rest_fixture(
                "regex-whole",
                "/server",
                serde_json::json!({"headers": {"server": "<<regex:g?unicorn/[0-9.]+>>"},
                                   "body_text": "<<regex:.*unicorn>>"}),
            ),
        ],
    );
    assert_eq!(code, Some(1), "{report}");
    let part = fixture(&report, "regex-part");
    assert_eq!(part["outcome"], "failed", "{part}");
    assert_eq!(part["diff"][0]["path"], "/headers/server");
    assert_eq!(part["diff"][0]["expected"], "<<regex:unicorn>>");
    assert_eq!(part["diff"][0]["actual"], "gunicorn/23.0");
    assert_eq!(part["diff"][1]["path"], "/body_text");
    assert_eq!(part["diff"][1]["actual"], "gunicorn");
    let whole = fixture(&report, "regex-whole");
    assert_eq!(whole["outcome"], "passed", "{whole}");
}

/// An SSE stream of three counter events, named `name` (unnamed when `None`), then the end.
fn counter_stream(name: Option<&str>) -> Vec<u8> {
    let mut body = String::new();
    for n in 1..=3 {
        body.push_str(&format!("id: {n}\n"));
        if let Some(name) = name {
            body.push_str(&format!("event: {name}\n"));
        }
        body.push_str(&format!("data: {{\"n\":{n}}}\n\n"));
    }
    reply(
        "200 OK",
        &[
            ("content-type", "text/event-stream"),
            ("cache-control", "no-cache"),
        ],
        body.as_bytes(),
    )
}

#[test]
fn an_sse_event_without_a_name_expects_the_default_type_message() {
    let unnamed = crate::common::corpus_json("sse/counter/unnamed.json");
    let server = Canned::start(vec![("/sse/counter/plain", counter_stream(Some("tick")))]);
    let (code, report) = run_json(&server.url, std::slice::from_ref(&unnamed));
    assert_eq!(code, Some(1), "{report}");
    let named = fixture(&report, "sse-counter-unnamed");
    assert_eq!(named["outcome"], "failed", "{named}");
    let diff = named["diff"].as_array().unwrap();
    assert_eq!(diff.len(), 3, "{named}");
    assert_eq!(diff[0]["path"], "/events/0/event");
    assert_eq!(diff[0]["expected"], "message");
    assert_eq!(diff[0]["actual"], "tick");
    assert!(
        diff[0]["message"].as_str().unwrap().contains("<<any>>"),
        "{named}"
    );

    // The same stream unnamed passes; `<<any>>` accepts the named one.
    server.set("/sse/counter/plain", counter_stream(None));
    let (code, report) = run_json(&server.url, std::slice::from_ref(&unnamed));
    assert_eq!(code, Some(0), "{report}");
    let mut any = unnamed.clone();
    for event in any["expected"]["events"].as_array_mut().unwrap() {
        event["event"] = "<<any>>".into();
    }
    server.set("/sse/counter/plain", counter_stream(Some("tick")));
    let (code, report) = run_json(&server.url, &[any]);
    assert_eq!(code, Some(0), "{report}");
}

#[test]
fn a_repeated_header_fails_a_string_and_is_matched_line_by_line_by_an_array() {
    let multi = || {
        reply(
            "200 OK",
            &[
                ("x-multi", "a"),
                ("content-type", "text/plain"),
                ("x-multi", "b"),
            ],
            b"ok",
        )
    };
    let mut stream = counter_stream(None);
    let at = stream.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    stream.splice(at..at, b"\r\nx-multi: a\r\nx-multi: b".iter().copied());
    let server = Canned::start(vec![("/multi", multi()), ("/sse/counter/plain", stream)]);
    let headers = |name: &str, want: serde_json::Value| {
        rest_fixture(
            name,
            "/multi",
            serde_json::json!({"headers": {"X-Multi": want}}),
        )
    };
    let mut sse = crate::common::corpus_json("sse/counter/unnamed.json");
    sse["expected"]["headers"]["x-multi"] = "b".into();
    let mut sse_lines = sse.clone();
    sse_lines["name"] = "sse-lines".into();
    sse_lines["expected"]["headers"]["x-multi"] = serde_json::json!(["a", "b"]);
    let (code, report) = run_json(
        &server.url,
        &[
            headers("string-a", "a".into()),
            headers("string-b", "b".into()),
            headers("string-joined", "a, b".into()),
            headers("lines", serde_json::json!(["a", "b"])),
            headers("lines-reversed", serde_json::json!(["b", "a"])),
            headers("lines-one", serde_json::json!(["a"])),
            headers("one-of-them", serde_json::json!(["<<any>>", "b"])),
            headers("present", "<<present>>".into()),
            sse,
            sse_lines,
        ],
    );
    assert_eq!(code, Some(1), "{report}");
    let outcome = |name: &str| fixture(&report, name)["outcome"].clone();
    for name in ["lines", "one-of-them", "present", "sse-lines"] {
        assert_eq!(
            outcome(name),
            "passed",
            "{name}: {}",
            fixture(&report, name)
        );
    }
    for name in ["string-a", "string-b", "string-joined"] {
        let failed = fixture(&report, name);
        assert_eq!(failed["outcome"], "failed", "{failed}");
        assert_eq!(failed["diff"][0]["path"], "/headers/x-multi", "{failed}");
        assert_eq!(failed["diff"][0]["actual"], serde_json::json!(["a", "b"]));
        assert!(
            failed["diff"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with("header repeated 2 times: [\"a\",\"b\"]"),
            "{failed}"
        );
    }
    let reversed = &fixture(&report, "lines-reversed")["diff"][0];
    assert_eq!(reversed["path"], "/headers/x-multi/0");
    assert_eq!(reversed["expected"], "b");
    assert_eq!(reversed["actual"], "a");
    let one = &fixture(&report, "lines-one")["diff"][0];
    assert_eq!(one["message"], "expected 1 line, got 2");
    let sse = fixture(&report, "sse-counter-unnamed");
    assert_eq!(sse["outcome"], "failed", "{sse}");
    assert_eq!(sse["diff"][0]["path"], "/headers/x-multi");
}

#[test]
fn an_array_header_item_with_a_bad_regex_is_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_fixtures(
        dir.path(),
        &[rest_fixture(
            "bad-item",
            "/x",
            serde_json::json!({"headers": {"x-multi": ["a", "<<regex:(>>"]}}),
        )],
    );
    let out = bin()
        .args(["fixtures", "validate"])
        .arg(&paths[0])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("/expected/headers/x-multi/1"), "{stderr}");
}

#[test]
fn a_json_body_served_as_text_html_fails_unless_the_fixture_names_the_type() {
    let body = br#"{"hello":"world"}"#;
    let server = Canned::start(vec![
        (
            "/html",
            reply(
                "200 OK",
                &[("content-type", "text/html; charset=utf-8")],
                body,
            ),
        ),
        (
            "/json",
            reply("200 OK", &[("content-type", "application/json")], body),
        ),
    ]);
    let want = serde_json::json!({"body": {"hello": "world"}});
    let mut named = rest_fixture("html-named", "/html", want.clone());
    named["expected"]["headers"] = serde_json::json!({"content-type": "<<starts_with:text/html>>"});
    let (code, report) = run_json(
        &server.url,
        &[
            rest_fixture("html", "/html", want.clone()),
            rest_fixture("json", "/json", want),
            named,
        ],
    );
    assert_eq!(code, Some(1), "{report}");
    let html = fixture(&report, "html");
    assert_eq!(html["outcome"], "failed", "{html}");
    assert_eq!(html["diff"].as_array().unwrap().len(), 1, "{html}");
    assert_eq!(html["diff"][0]["path"], "/headers/content-type");
    assert_eq!(html["diff"][0]["expected"], "application/json or */*+json");
    assert_eq!(html["diff"][0]["actual"], "text/html; charset=utf-8");
    assert_eq!(fixture(&report, "json")["outcome"], "passed");
    assert_eq!(fixture(&report, "html-named")["outcome"], "passed");
}

/// A gzip member of `text` whose header says it was compressed at `mtime`.
fn gzipped(text: &str, mtime: u32) -> Vec<u8> {
    let mut encoder = flate2::GzBuilder::new()
        .mtime(mtime)
        .write(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

fn gzip_reply(text: &str, mtime: u32) -> Vec<u8> {
    reply(
        "200 OK",
        &[
            ("content-type", "application/json"),
            ("content-encoding", "gzip"),
        ],
        &gzipped(text, mtime),
    )
}

#[test]
fn a_gzip_reply_snapshot_is_stable_across_mtimes_and_shows_the_decoded_body() {
    let server = Canned::start(vec![("/gz", gzip_reply(r#"{"n":1}"#, 1_000_000))]);
    let dir = tempfile::tempdir().unwrap();
    let paths = write_fixtures(
        dir.path(),
        &[rest_fixture("gzip-reply", "/gz", serde_json::json!({}))],
    );
    let snapshots = dir.path().join("snapshots");
    let run_mode = |mode: &str| {
        bin()
            .args(["run", "--url", &server.url, "--target-name", "gz"])
            .arg("--fixture")
            .arg(&paths[0])
            .arg("--snapshots-dir")
            .arg(&snapshots)
            .args(["--snapshots", mode])
            .output()
            .unwrap()
    };
    let stored = snapshots.join("gz/rest/gzip-reply.snap");
    let first = run_mode("update");
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stdout));
    let recorded = std::fs::read_to_string(&stored).unwrap();
    assert!(
        recorded.contains("\"content_encoding\": \"gzip\""),
        "{recorded}"
    );
    assert!(recorded.contains("\"n\": 1"), "{recorded}");

    // The same content compressed a second later: the bytes differ, the snapshot does not.
    server.set("/gz", gzip_reply(r#"{"n":1}"#, 1_000_001));
    assert_ne!(
        gzipped(r#"{"n":1}"#, 1_000_000),
        gzipped(r#"{"n":1}"#, 1_000_001)
    );
    let again = run_mode("check");
    let stdout = text(&again.stdout);
    assert_eq!(again.status.code(), Some(0), "{stdout}");
    assert!(!stdout.contains("[snapshot changed]"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&stored).unwrap(), recorded);

    // Other content changes it.
    server.set("/gz", gzip_reply(r#"{"n":2}"#, 1_000_001));
    let changed = run_mode("check");
    let stdout = text(&changed.stdout);
    assert_eq!(changed.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("[snapshot changed]"), "{stdout}");
    assert!(stdout.contains("\"n\": 2"), "{stdout}");
}
