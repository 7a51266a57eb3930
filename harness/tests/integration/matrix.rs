//! `matrix --http2` and `matrix --url`, end to end. The reference runner is the harness's own
//! `serve` started as a runner (`rust-axum` in a runners folder of the test, declaring `tls`,
//! `http2` and `h2c` like the real one, without its release build); the outside Python server
//! plays runners that declare less, or declare `h2c` and serve only HTTP/1.1. Outside servers
//! for `--url` are `serve` (plain and TLS) and hyper's HTTP/2-only server, so that a pass proves
//! the replay went over HTTP/2.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::common::{Served, corpus_file, outside, run_within, text};
use crate::http2::serve_http2_only;
use crate::tls_client::FIXTURES;

/// A runners folder with the reference (`serve` of this build) as `rust-axum`.
fn runners_with_reference() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let runner = dir.path().join("rust-axum");
    std::fs::create_dir(&runner).unwrap();
    let start = "exec \"$BIN\" serve --port \"$PORT\" --fixtures \"$FIXTURES_DIR\" \
                 ${TLS_CERT_FILE:+--tls-cert \"$TLS_CERT_FILE\" --tls-key \"$TLS_KEY_FILE\"}";
    let manifest = format!(
        "name = \"rust-axum\"\nlanguage = \"rust\"\nframework = \"axum\"\n\
         protocols = [\"rest\", \"websocket\", \"sse\", \"broadcast\"]\n\
         start = [\"sh\", \"-c\", {start:?}]\nready = {{ http = \"/__ready\" }}\n\
         capabilities = [\"tls\", \"http2\", \"h2c\"]\n[env]\nBIN = {:?}\n",
        env!("CARGO_BIN_EXE_benchmark-harness")
    );
    std::fs::write(runner.join("runner.toml"), manifest).unwrap();
    dir
}

/// Adds runner `name` to `runners`: the outside Python server (HTTP/1.1 only, HTTPS when
/// started with a certificate), declaring `capabilities`.
fn add_python_runner(runners: &Path, name: &str, capabilities: &str) {
    let dir = runners.join(name);
    std::fs::create_dir(&dir).unwrap();
    let manifest = format!(
        "name = {name:?}\nlanguage = \"python\"\nframework = \"http.server\"\n\
         protocols = [\"rest\", \"websocket\", \"sse\"]\nstart = [\"python3\", {:?}]\n\
         ready = {{ http = \"/__ready\" }}\ncapabilities = {capabilities}\n",
        outside("server.py")
    );
    std::fs::write(dir.join("runner.toml"), manifest).unwrap();
}

/// `matrix` with the runners of `runners` on `fixtures` (corpus files), snapshots off, and
/// `extra` flags: exit code, stdout, stderr.
fn matrix(runners: &Path, fixtures: &[&str], extra: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec![
        "--runners-dir".to_string(),
        runners.display().to_string(),
        "matrix".into(),
        "--snapshots".into(),
        "off".into(),
    ];
    for fixture in fixtures {
        args.push("--fixture".into());
        args.push(corpus_file(fixture).display().to_string());
    }
    args.extend(extra.iter().map(|a| a.to_string()));
    let (out, _) = run_within(&args, Duration::from_secs(120));
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// The block of column `name` in a matrix document.
fn column<'a>(document: &'a Value, name: &str) -> &'a Value {
    document["runners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["runner"] == name)
        .unwrap_or_else(|| panic!("no column {name} in {document}"))
}

fn document(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// Asserts that column `name` ran every one of `count` fixtures and passed them over `transport`.
fn assert_ran(document: &Value, name: &str, count: usize, transport: &str) {
    let block = column(document, name);
    assert_eq!(block["status"], "ran", "{block}");
    assert_eq!(block["summary"]["passed"], count, "{block}");
    assert_eq!(
        block["fixtures"].as_array().unwrap().len(),
        count,
        "{block}"
    );
    assert_eq!(block["transport"], transport, "{block}");
}

#[test]
fn matrix_over_h2c_runs_the_runners_that_declare_it() {
    let runners = runners_with_reference();
    add_python_runner(runners.path(), "plain", "[]");
    add_python_runner(runners.path(), "h1-only", "[\"h2c\"]");
    let report = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = matrix(
        runners.path(),
        &FIXTURES,
        &[
            "--http2",
            "--format",
            "json",
            "--report",
            report.path().to_str().unwrap(),
        ],
    );
    // The runner that declares h2c but does not speak it is unavailable: exit 3, the rest ran.
    assert_eq!(code, Some(3), "{stdout}{stderr}");
    let doc = document(&stdout);
    assert_eq!(doc["transport"], "h2c");
    assert_ran(&doc, "rust-axum", FIXTURES.len(), "h2c");
    assert!(
        column(&doc, "rust-axum")["target"]["url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    let plain = column(&doc, "plain");
    assert_eq!(plain["status"], "not_declared", "{plain}");
    assert!(
        plain["error"]
            .as_str()
            .unwrap()
            .contains("does not declare the `h2c` capability"),
        "{plain}"
    );
    let h1 = column(&doc, "h1-only");
    assert_eq!(h1["status"], "unavailable", "{h1}");
    let why = h1["error"].as_str().unwrap();
    assert!(
        why.contains("it declares `h2c` but did not agree to HTTP/2")
            && why.contains("the server does not speak HTTP/2 with prior knowledge (h2c)"),
        "{why}"
    );
    assert!(h1.get("transport").is_none(), "{h1}");
    assert!(
        stderr.contains("[plain] not run: its runner.toml does not declare the `h2c` capability"),
        "{stderr}"
    );
    let summary = std::fs::read_to_string(report.path().join("summary.md")).unwrap();
    assert!(
        summary.contains("Transport: `h2c` (HTTP/2 with prior knowledge (h2c) over plain TCP;"),
        "{summary}"
    );
}

#[test]
fn matrix_over_tls_and_http2_runs_the_runners_that_declare_http2() {
    let runners = runners_with_reference();
    add_python_runner(runners.path(), "tls-only", "[\"tls\"]");
    let (code, stdout, stderr) = matrix(runners.path(), &FIXTURES, &["--tls", "--http2"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "transport: h2 (HTTP/2 over TLS (ALPN h2); WebSocket fixtures over HTTP/1.1 (wss))"
        ),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("rust-axum ") && l.contains("1/1")),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l.starts_with("tls-only ")
            && l.contains("not run: its runner.toml does not declare the `http2` capability")),
        "{stdout}"
    );
    assert!(stdout.contains("ok: 4 passed, 0 failed"), "{stdout}");

    let (code, stdout, stderr) = matrix(
        runners.path(),
        &FIXTURES,
        &[
            "--tls",
            "--http2",
            "--runners",
            "rust-axum",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let doc = document(&stdout);
    assert_eq!(doc["transport"], "h2");
    assert_ran(&doc, "rust-axum", FIXTURES.len(), "h2");
    assert!(
        column(&doc, "rust-axum")["target"]["url"]
            .as_str()
            .unwrap()
            .starts_with("https://127.0.0.1:")
    );
}

#[test]
fn matrix_with_url_puts_the_server_beside_the_reference_runner() {
    let runners = runners_with_reference();
    add_python_runner(runners.path(), "plain", "[]");
    let served = Served::start(false);
    let (code, stdout, stderr) = matrix(
        runners.path(),
        &FIXTURES,
        &["--url", &served.url, "--format", "json"],
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let doc = document(&stdout);
    assert_eq!(doc["transport"], "http/1.1");
    let port = served.url.rsplit(':').next().unwrap();
    let name = format!("url-127.0.0.1-{port}");
    // Without --runners: the server and the reference runner, not every runner.
    let names: Vec<&str> = doc["runners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["runner"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["rust-axum", name.as_str()], "{doc}");
    assert_ran(&doc, &name, FIXTURES.len(), "http/1.1");
    assert_ran(&doc, "rust-axum", FIXTURES.len(), "http/1.1");
    let url_column = column(&doc, &name);
    assert_eq!(url_column["target"]["kind"], "url");
    assert_eq!(url_column["target"]["url"], format!("{}/", served.url));

    // --target-name names the column; --runners chooses the others.
    let (code, stdout, stderr) = matrix(
        runners.path(),
        &FIXTURES[..1],
        &[
            "--url",
            &served.url,
            "--target-name",
            "mine",
            "--runners",
            "plain",
        ],
    );
    assert_eq!(
        code,
        Some(1),
        "the python runner fails hello: {stdout}{stderr}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("mine ") && l.contains("1/1")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("plain ") && l.contains("0/1")),
        "{stdout}"
    );
}

#[test]
fn matrix_with_url_honours_ws_url_sse_url_and_http2() {
    let runners = runners_with_reference();
    // HTTP/2-only servers: one serving only the REST fixture, one only the SSE fixture; the
    // WebSocket fixture needs the HTTP/1.1 upgrade, from `serve`. Every fixture passes only if
    // each went where its flag says, over HTTP/2 (the servers speak nothing else).
    let rest = serve_http2_only(&FIXTURES[..1], None);
    let sse = serve_http2_only(&FIXTURES[1..2], None);
    let ws = Served::start(false);
    let url = format!("http://127.0.0.1:{rest}");
    let sse_url = format!("http://127.0.0.1:{sse}");
    let (code, stdout, stderr) = matrix(
        runners.path(),
        &FIXTURES,
        &[
            "--http2",
            "--url",
            &url,
            "--sse-url",
            &sse_url,
            "--ws-url",
            &ws.url,
            "--format",
            "json",
        ],
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let doc = document(&stdout);
    assert_eq!(doc["transport"], "h2c");
    assert_ran(
        &doc,
        &format!("url-127.0.0.1-{rest}"),
        FIXTURES.len(),
        "h2c",
    );
    assert_ran(&doc, "rust-axum", FIXTURES.len(), "h2c");

    // Without --sse-url the SSE fixture goes to the REST-only server, and fails there.
    let (code, stdout, _) = matrix(
        runners.path(),
        &FIXTURES,
        &["--http2", "--url", &url, "--ws-url", &ws.url],
    );
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.contains(": FAIL ") && l.contains("sse-data-events")),
        "{stdout}"
    );
}

#[test]
fn matrix_with_url_to_a_closed_port_has_an_unavailable_column_and_runs_the_others() {
    let runners = runners_with_reference();
    let (code, stdout, stderr) =
        matrix(runners.path(), &FIXTURES, &["--url", "http://127.0.0.1:1"]);
    // Per the contract: a column that cannot be reached is exit 3, even with the others passing.
    assert_eq!(code, Some(3), "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "url-127.0.0.1-1: unavailable: target http://127.0.0.1:1 cannot be reached: \
             127.0.0.1:1: Connection refused"
        ),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("url-127.0.0.1-1 ") && l.ends_with("unavailable")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("rust-axum ") && l.contains("1/1")),
        "{stdout}"
    );
    assert!(stdout.contains("FAILED: 4 passed, 0 failed"), "{stdout}");
}

#[test]
fn matrix_with_an_https_url_checks_it_with_the_tls_flags_not_the_runs_certificate() {
    let runners = runners_with_reference();
    let served = Served::start(true);
    let ca = served.ca();
    let name = format!("url-127.0.0.1-{}", served.url.rsplit(':').next().unwrap());
    // --tls: the runners get the run's certificate; the --url column is trusted by --cacert.
    let (code, stdout, stderr) = matrix(
        runners.path(),
        &FIXTURES,
        &[
            "--tls",
            "--url",
            &served.url,
            "--cacert",
            &ca,
            "--format",
            "json",
        ],
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let doc = document(&stdout);
    assert_ran(&doc, &name, FIXTURES.len(), "https");
    assert_ran(&doc, "rust-axum", FIXTURES.len(), "https");

    // Without --cacert the server's issuer is unknown: its column is unavailable, in words.
    let (code, stdout, stderr) = matrix(
        runners.path(),
        &FIXTURES,
        &["--url", &served.url, "--format", "json"],
    );
    assert_eq!(code, Some(3), "{stdout}{stderr}");
    let doc = document(&stdout);
    let block = column(&doc, &name);
    assert_eq!(block["status"], "unavailable", "{block}");
    assert!(
        block["error"]
            .as_str()
            .unwrap()
            .contains("issuer is unknown"),
        "{block}"
    );
    assert_ran(&doc, "rust-axum", FIXTURES.len(), "http/1.1");
    assert_eq!(doc["transport"], "http/1.1");
}

#[test]
fn matrix_refuses_url_flags_that_cannot_apply() {
    let runners = runners_with_reference();
    for (args, message) in [
        (
            &["--url", "http://127.0.0.1:1", "--target-name", "rust-axum"][..],
            "the --url column is named \"rust-axum\", like a runner of the matrix",
        ),
        (
            &["--target-name", "mine"],
            "`matrix --target-name` names the --url column: give --url too",
        ),
        (&["--runner", "rust-axum"], "`matrix` does not use --runner"),
    ] {
        let (code, stdout, stderr) = matrix(runners.path(), &FIXTURES[..1], args);
        assert_eq!(code, Some(2), "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    let (code, _, stderr) = matrix(runners.path(), &[], &["--merge", "x.json", "--http2"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("`matrix --merge` joins results and runs nothing: it does not use --http2"),
        "{stderr}"
    );
    // A runners folder without the reference: --url alone says to choose runners.
    let empty = tempfile::tempdir().unwrap();
    add_python_runner(empty.path(), "plain", "[]");
    let (code, _, stderr) = matrix(
        empty.path(),
        &FIXTURES[..1],
        &["--url", "http://127.0.0.1:1"],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("choose runners with --runners"), "{stderr}");
}
