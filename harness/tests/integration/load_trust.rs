//! Load figures and the regression gate a user can trust, end to end with the binary: a server
//! that answers 500 to everything makes no throughput and no latency figures, and says so in the
//! result document, the terminal summary, summary.md, junit.xml and index.html; `compare` counts
//! a fixture the candidate lost as a regression (unless `--allow-removed`) and refuses documents
//! that cannot be compared, with the reason (exit 2); and a failure under load is worded as `run`
//! words it (the same pointer, the same message) in `errors_by_kind`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{
    assert_valid, bin, corpus_json, repo, run_within, serve_on_thread, text, write_fixtures,
};

/// A loopback HTTP/1.1 server, on a thread of its own for the rest of the test process, that
/// answers every request (keep-alive) with `500 Internal Server Error` and an empty body.
fn failing_server() -> SocketAddr {
    serve_on_thread(|listener| async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(answer_500(stream));
        }
    })
}

/// Answers each request head (GET, no body) read on `stream` with a 500.
async fn answer_500(mut stream: TcpStream) {
    const REPLY: &[u8] = b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n";
    let mut pending: Vec<u8> = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let Ok(read) = stream.read(&mut buffer).await else {
            return;
        };
        if read == 0 {
            return;
        }
        pending.extend_from_slice(&buffer[..read]);
        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            pending.drain(..end + 4);
            if stream.write_all(REPLY).await.is_err() {
                return;
            }
        }
        if pending.len() > 64 * 1024 {
            return;
        }
    }
}

fn fixture(relative: &str) -> PathBuf {
    repo().join("fixtures").join(relative)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `bench` on the canonical hello fixture against `url` for 1 s, no warmup, 2 connections.
fn bench(url: &str, extra: &[&str]) -> Output {
    bin()
        .args(["bench", "--url", url, "--fixture"])
        .arg(fixture("rest/bench/hello.json"))
        .args(["--duration", "1s", "--warmup", "0s", "--connections", "2"])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn a_run_where_every_request_failed_has_no_throughput_and_no_latency_in_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{}", failing_server());
    let document = dir.path().join("failed.json");
    let out = bench(
        &url,
        &["--format", "human", "--output", document.to_str().unwrap()],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");

    // The terminal summary (stdout with --format human): errors marked, no fake percentiles.
    assert!(stdout.contains(": 0 succeeded, 0.0/s; "), "{stdout}");
    assert!(stdout.contains(" ERRORS (100.0%, "), "{stdout}");
    assert!(stdout.contains("no successful operation"), "{stdout}");
    assert!(
        stdout.contains("error: /status: different status, got 500 x"),
        "{stdout}"
    );
    assert!(!stdout.contains("p50 0us"), "{stdout}");

    // The result document.
    let result: Value = serde_json::from_str(&read(&document)).unwrap();
    let summary = &result["summary"];
    let errors = summary["errors"].as_u64().unwrap();
    assert!(errors > 0, "{result}");
    assert_eq!(summary["operations"].as_u64(), Some(errors), "{result}");
    assert_eq!(summary["throughput_per_s"], 0.0, "{result}");
    assert!(summary["failed_per_s"].as_f64().unwrap() > 0.0, "{result}");
    assert_eq!(summary["latency_us"], Value::Null, "{result}");
    assert_eq!(
        result["errors_by_kind"]["/status: different status, got 500"].as_u64(),
        Some(errors)
    );
    // The 500s' own latency, apart; the main histogram holds no value.
    assert_eq!(result["failed_latency"]["count"].as_u64(), Some(errors));

    // --max-error-rate cannot turn a run without a success into a pass.
    let lenient = bench(&url, &["--max-error-rate", "100%", "--format", "json"]);
    assert_eq!(lenient.status.code(), Some(1), "{}", text(&lenient.stderr));
    assert!(text(&lenient.stderr).contains("no successful operation"));

    // The report folder of it.
    let folder = dir.path().join("report");
    let report = bin()
        .arg("report")
        .arg(&document)
        .arg("--out")
        .arg(&folder)
        .output()
        .unwrap();
    assert_eq!(report.status.code(), Some(0), "{}", text(&report.stderr));
    let report_json: Value = serde_json::from_str(&read(&folder.join("report.json"))).unwrap();
    assert_valid("report.v1.schema.json", &report_json);
    assert_eq!(report_json["load"][0]["summary"]["latency_us"], Value::Null);

    let summary_md = read(&folder.join("summary.md"));
    assert!(
        summary_md.contains("**no successful operation**"),
        "{summary_md}"
    );
    assert!(
        summary_md.contains(&format!("**{errors} errors**")),
        "{summary_md}"
    );
    assert!(!summary_md.contains("| 0us |"), "{summary_md}");

    let junit = read(&folder.join("junit.xml"));
    assert!(junit.contains("no successful operation"), "{junit}");
    assert!(junit.contains("<failure message="), "{junit}");

    let html = read(&folder.join("index.html"));
    assert!(
        html.contains(&format!("<span class=\"badge bad\">{errors} errors</span>")),
        "the errors badge"
    );
    assert!(
        html.contains("no successful operation"),
        "the table says so"
    );
    assert!(
        html.contains("No successful operation, so no latency curve: "),
        "the charts say which run is not drawn"
    );
    // The throughput bar is labelled with the errors.
    assert!(
        html.contains(&format!("\u{2014} {errors} errors")),
        "bar label"
    );
}

#[test]
fn bench_prints_json_when_piped_and_the_human_summary_on_request() {
    let url = format!("http://{}", failing_server());
    // Piped stdout, no --format: the document, as before.
    let piped = bench(&url, &[]);
    let document: Value = serde_json::from_slice(&piped.stdout)
        .unwrap_or_else(|e| panic!("JSON on stdout: {e}\n{}", text(&piped.stderr)));
    assert_eq!(document["command"], "bench");
    assert!(text(&piped.stderr).contains("ERRORS"), "summary on stderr");
    // --format human: the summary on stdout, no document.
    let human = bench(&url, &["--format", "human"]);
    let stdout = text(&human.stdout);
    assert!(
        stdout.starts_with("bench bench-hello (rest) against "),
        "{stdout}"
    );
    assert!(serde_json::from_str::<Value>(&stdout).is_err(), "{stdout}");
}

/// `run --format json` of the fixtures in `folder` (corpus-relative), snapshots off.
fn run_document(dir: &Path, folder: &str, name: &str, extra: &[&str]) -> String {
    let out = bin()
        .args([
            "run",
            "--snapshots",
            "off",
            "--format",
            "json",
            "--fixtures",
        ])
        .arg(fixture(folder))
        .args(extra)
        .output()
        .unwrap();
    let path = dir.join(name);
    assert!(
        serde_json::from_slice::<Value>(&out.stdout).is_ok(),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(&path, &out.stdout).unwrap();
    path.display().to_string()
}

fn compare(baseline: &str, candidate: &str, extra: &[&str]) -> Output {
    bin()
        .args(["compare", "--baseline", baseline, "--candidate", candidate])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn a_candidate_that_lost_its_fixtures_fails_unless_removals_are_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let rest = run_document(dir.path(), "rest/bench", "rest.json", &[]);
    let sse = run_document(dir.path(), "sse/bench", "sse.json", &[]);
    let lost = serde_json::from_str::<Value>(&read(Path::new(&rest))).unwrap()["fixtures"]
        .as_array()
        .unwrap()
        .len();
    assert!(lost > 0);

    let out = compare(&rest, &sse, &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("REMOVED"), "{stdout}");
    assert!(
        stdout.starts_with(&format!("FAILED: {lost} regressions ({lost} removed"))
            || stdout.contains(&format!("FAILED: {lost} regressions ({lost} removed")),
        "{stdout}"
    );

    let out = compare(&rest, &sse, &["--allow-removed"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains(&format!("({lost} removed, allowed)")),
        "{stdout}"
    );

    // The same comparison in a report: the regressions counted, --allow-removed there too.
    let folder = dir.path().join("report");
    let report = bin()
        .arg("report")
        .arg(&sse)
        .arg("--baseline")
        .arg(&rest)
        .arg("--out")
        .arg(&folder)
        .output()
        .unwrap();
    assert_eq!(report.status.code(), Some(0), "{}", text(&report.stderr));
    let document: Value = serde_json::from_str(&read(&folder.join("report.json"))).unwrap();
    assert_eq!(
        document["comparison"]["regressions"].as_u64(),
        Some(lost as u64)
    );
    assert_eq!(
        document["comparison"]["removed"].as_u64(),
        Some(lost as u64)
    );
}

#[test]
fn documents_that_cannot_be_compared_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_document(dir.path(), "rest/bench", "run.json", &[]);
    let load = dir.path().join("bench.json");
    let out = bin()
        .args(["bench", "--fixture"])
        .arg(fixture("rest/bench/hello.json"))
        .args(["--duration", "1s", "--warmup", "0s", "--connections", "1"])
        .arg("--output")
        .arg(&load)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let load = load.display().to_string();

    // A run against a bench: different kinds.
    for (baseline, candidate) in [(&run, &load), (&load, &run)] {
        let out = compare(baseline, candidate, &["--allow-removed"]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}{stderr}", text(&out.stdout));
        assert!(stderr.contains("cannot compare"), "{stderr}");
        assert!(stderr.contains("conformance results (run)"), "{stderr}");
        assert!(stderr.contains("load results (bench)"), "{stderr}");
    }

    // Two runs of different targets: nothing in common.
    let other = run_document(
        dir.path(),
        "rest/bench",
        "other.json",
        &["--target-name", "other-server"],
    );
    let out = compare(&run, &other, &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}{stderr}", text(&out.stdout));
    assert!(stderr.contains("no target in common"), "{stderr}");
    assert!(stderr.contains("other-server"), "{stderr}");

    // report --baseline refuses the same.
    let report = bin()
        .arg("report")
        .arg(&load)
        .arg("--baseline")
        .arg(&run)
        .arg("--out")
        .arg(dir.path().join("report"))
        .output()
        .unwrap();
    assert_eq!(report.status.code(), Some(2), "{}", text(&report.stderr));
    assert!(!dir.path().join("report").exists());
}

/// Replays `fixture` once with `run` against the embedded reference and loads it for 1 s with
/// `command` (`bench` or `stream`): the first difference `run` reports, as `PATH: MESSAGE`, and
/// the keys of the load run's `errors_by_kind`.
fn run_and_load_wording(command: &str, fixture: Value) -> (String, Vec<String>) {
    let (_dir, files) = write_fixtures(&[fixture]);
    let file = files[0].to_str().unwrap();
    let bound = std::time::Duration::from_secs(60);
    let (out, _) = run_within(
        &[
            "run",
            "--snapshots",
            "off",
            "--format",
            "json",
            "--fixture",
            file,
        ],
        bound,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &report["fixtures"][0]["diff"][0];
    let said_by_run = format!(
        "{}: {}",
        first["path"].as_str().unwrap(),
        first["message"].as_str().unwrap()
    );
    let (out, _) = run_within(
        &[
            command,
            "--fixture",
            file,
            "--duration",
            "1s",
            "--warmup",
            "0s",
            "--connections",
            "1",
            "--format",
            "json",
        ],
        bound,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds = result["errors_by_kind"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    (said_by_run, kinds)
}

#[test]
fn run_and_load_word_the_same_failure_the_same_way() {
    let mut rest = corpus_json("rest/bench/hello.json");
    rest["expected"]["body"]["message"] = "Hello, Moon!".into();
    let (run, load) = run_and_load_wording("bench", rest);
    assert_eq!(run, "/body/message: different string");
    assert_eq!(load, [run]);

    let mut ws = corpus_json("websocket/bench/echo.json");
    ws["transcript"][1]["expect"]["json"]["op"] = "pong".into();
    let (run, load) = run_and_load_wording("stream", ws);
    assert_eq!(run, "/transcript/1/expect/json/op: different string");
    assert_eq!(load, [run]);

    let mut sse = corpus_json("sse/bench/stream.json");
    sse["expected"]["events"][1]["id"] = "two".into();
    let (run, load) = run_and_load_wording("stream", sse);
    assert_eq!(run, "/events/1/id: different text");
    assert_eq!(load, [run]);

    let mut status = corpus_json("rest/bench/hello.json");
    status["expected"]["status"] = 201.into();
    let (run, load) = run_and_load_wording("bench", status);
    assert_eq!(run, "/status: different status");
    assert_eq!(load, ["/status: different status, got 200"]);
}
