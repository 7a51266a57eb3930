//! `matrix --protocol-suites`, end to end, with real child processes: the reference (`serve` of
//! this build) as runner `rust-axum`, naming its echo and stream in `[protocol_paths]`; the
//! outside Python server with `MISBEHAVE=1` (it echoes text reversed) as a runner whose echo
//! endpoint breaks the WebSocket suite, naming no stream; `serve` again as the `--url` column.
//! The suites are narrowed with `--protocol-cases` to keep the runs to seconds.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::common::{Served, assert_suite_fields, assert_valid, outside, repo, run_within, text};

/// The reference as runner `name`, its endpoints at `websocket_path` and the corpus stream.
fn add_reference(runners: &Path, name: &str, websocket_path: &str) {
    let dir = runners.join(name);
    std::fs::create_dir(&dir).unwrap();
    let start = "exec \"$BIN\" serve --port \"$PORT\" --fixtures \"$FIXTURES_DIR\" \
                 ${TLS_CERT_FILE:+--tls-cert \"$TLS_CERT_FILE\" --tls-key \"$TLS_KEY_FILE\"}";
    let manifest = format!(
        "name = {name:?}\nlanguage = \"rust\"\nframework = \"axum\"\n\
         protocols = [\"rest\", \"websocket\", \"sse\", \"broadcast\"]\n\
         start = [\"sh\", \"-c\", {start:?}]\nready = {{ http = \"/__ready\" }}\n\
         capabilities = [\"tls\", \"http2\", \"h2c\"]\n[env]\nBIN = {:?}\n\
         [protocol_paths]\nwebsocket = {websocket_path:?}\nsse = \"/sse/resume/endless\"\n",
        env!("CARGO_BIN_EXE_benchmark-harness")
    );
    std::fs::write(dir.join("runner.toml"), manifest).unwrap();
}

/// The misbehaving Python server as runner `name`: WebSocket and SSE declared, only the echo
/// named; `extra` appended to its manifest.
fn add_reversing_echo(runners: &Path, name: &str, extra: &str) {
    let dir = runners.join(name);
    std::fs::create_dir(&dir).unwrap();
    let manifest = format!(
        "name = {name:?}\nlanguage = \"python\"\nframework = \"http.server\"\n\
         protocols = [\"websocket\", \"sse\"]\nstart = [\"python3\", {:?}]\n\
         ready = {{ http = \"/__ready\" }}\n[env]\nMISBEHAVE = \"1\"\n\
         [protocol_paths]\nwebsocket = \"/ws/echo\"\n{extra}",
        outside("server.py")
    );
    std::fs::write(dir.join("runner.toml"), manifest).unwrap();
}

/// `matrix --protocol-suites` over the corpus's REST bench fixtures (the runners serve the whole
/// corpus, the suites' endpoints included), snapshots off, WebSocket case 5.9 (a fragmented
/// "Hello, world!") and the SSE head cases, plus `extra`: exit code, stdout, stderr.
fn matrix(runners: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let fixtures = repo().join("fixtures").display().to_string();
    let mut args = vec![
        "--runners-dir",
        runners.to_str().unwrap(),
        "matrix",
        "--snapshots",
        "off",
        "--fixtures",
        &fixtures,
        "--filter",
        "rest/bench/**",
        "--protocol-suites",
        "--protocol-cases",
        "websocket:5.9,sse:1.",
        "--protocol-case-timeout",
        "3s",
    ];
    args.extend_from_slice(extra);
    let (out, _) = run_within(&args, Duration::from_secs(120));
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

fn document(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// The suite document of `suite` on `runner`.
fn suite<'a>(document: &'a Value, suite: &str, runner: &str) -> &'a Value {
    document["protocol"]
        .as_array()
        .unwrap_or_else(|| panic!("no protocol array in {document}"))
        .iter()
        .find(|s| s["suite"] == suite && s["target"]["name"] == runner)
        .unwrap_or_else(|| panic!("no {suite} suite on {runner} in {document}"))
}

/// The verdict of case `id` of a suite document.
fn verdict<'a>(suite: &'a Value, id: &str) -> &'a Value {
    let case = suite["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no case {id} in {suite}"));
    &case["verdict"]
}

/// Validates a matrix document against report.v1.schema.json, whose conformance part is the
/// matrix document's shape (given the two parts only a report has).
fn assert_valid_matrix(document: &Value) {
    let mut as_report = document.clone();
    as_report["report"] =
        serde_json::json!({"version": 1, "generated_at": "2026-12-03T00:00:00Z", "inputs": []});
    as_report["load"] = serde_json::json!([]);
    assert_valid("report.v1.schema.json", &as_report);
}

#[test]
fn suites_run_on_every_column_that_names_its_endpoint_and_a_failed_case_exits_1() {
    let runners = tempfile::tempdir().unwrap();
    add_reference(runners.path(), "rust-axum", "/ws/bench/echo");
    add_reversing_echo(runners.path(), "reverser", "");
    let served = Served::start(false);
    let report = tempfile::tempdir().unwrap();
    let folder = report.path().join("out");
    let (code, stdout, stderr) = matrix(
        runners.path(),
        &[
            "--runners",
            "rust-axum,reverser",
            "--url",
            &served.url,
            "--target-name",
            "mine",
            "--protocol-ws-path",
            "/ws/bench/echo",
            "--format",
            "json",
            "--report",
            folder.to_str().unwrap(),
        ],
    );
    // The reversed echo fails case 5.9, which the reverser does not list: exit 1.
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let doc = document(&stdout);
    assert_valid_matrix(&doc);
    let suites = doc["protocol"].as_array().unwrap();
    // rust-axum: both suites; reverser: WebSocket; the --url column: WebSocket (its path given).
    assert_eq!(suites.len(), 4, "{doc}");
    for s in suites {
        assert_suite_fields(s);
    }
    let reverser = suite(&doc, "websocket", "reverser");
    assert_eq!(verdict(reverser, "5.9"), "failed", "{reverser}");
    assert_eq!(reverser["target"]["kind"], "runner");
    assert_eq!(reverser["path"], "/ws/echo");
    assert_eq!(reverser["summary"]["failed"], 1);
    assert!(reverser["cases"][0].get("expected_failure").is_none());
    assert!(
        reverser["cases"][0]["observed"]
            .as_str()
            .unwrap()
            .contains("!dlrow ,olleH"),
        "{reverser}"
    );
    let reference = suite(&doc, "websocket", "rust-axum");
    assert_eq!(verdict(reference, "5.9"), "ok", "{reference}");
    let mine = suite(&doc, "websocket", "mine");
    assert_eq!(verdict(mine, "5.9"), "ok", "{mine}");
    assert_eq!(mine["target"]["kind"], "url");
    let stream = suite(&doc, "sse", "rust-axum");
    let cases = stream["cases"].as_array().unwrap();
    assert!(!cases.is_empty(), "{stream}");
    assert!(
        cases
            .iter()
            .all(|c| c["id"].as_str().unwrap().starts_with("1."))
    );
    assert_eq!(stream["summary"]["failed"], 0, "{stream}");

    // Declared without an endpoint: listed as skipped with the reason, not dropped.
    let not_run = doc["protocol_not_run"].as_array().unwrap();
    let reasons: Vec<(String, String, String)> = not_run
        .iter()
        .map(|s| {
            (
                s["runner"].as_str().unwrap().to_string(),
                s["suite"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            ("mine".into(), "sse".into(), "skipped".into()),
            ("reverser".into(), "sse".into(), "skipped".into())
        ],
        "{doc}"
    );
    assert!(
        not_run[0]["reason"]
            .as_str()
            .unwrap()
            .contains("--protocol-sse-path")
    );
    assert!(
        not_run[1]["reason"]
            .as_str()
            .unwrap()
            .contains("[protocol_paths] sse")
    );

    // The report folder: the same document, the grid, the counts, a testcase per case.
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("matrix.json")).unwrap())
            .unwrap();
    assert_eq!(written["protocol"], doc["protocol"]);
    assert_eq!(written["protocol_not_run"], doc["protocol_not_run"]);
    let summary = std::fs::read_to_string(folder.join("summary.md")).unwrap();
    assert!(
        summary.contains("## Protocol suite: websocket"),
        "{summary}"
    );
    assert!(
        summary.contains("| reverser | 0 | 0 | **1** | 0 | 0 | `5.9` |"),
        "{summary}"
    );
    assert!(
        summary.contains("| rust-axum | 1 | 0 | 0 | 0 | 0 |  |"),
        "{summary}"
    );
    assert!(summary.contains("- reverser / sse: skipped: "), "{summary}");
    let junit = std::fs::read_to_string(folder.join("junit.xml")).unwrap();
    let xml = roxmltree::Document::parse(&junit).unwrap();
    let testsuite = |name: &str| {
        xml.descendants()
            .find(|n| n.has_tag_name("testsuite") && n.attribute("name") == Some(name))
            .unwrap_or_else(|| panic!("no testsuite {name}: {junit}"))
    };
    let failing = testsuite("websocket \u{b7} reverser");
    let case = failing
        .children()
        .find(|n| n.has_tag_name("testcase"))
        .unwrap();
    assert_eq!(case.attribute("name"), Some("5.9"));
    assert!(
        case.children().any(|n| n.has_tag_name("failure")),
        "{junit}"
    );
    let sse = testsuite("sse \u{b7} rust-axum");
    let testcases = sse.children().filter(|n| n.has_tag_name("testcase"));
    assert_eq!(testcases.count(), cases.len());
    assert_eq!(sse.attribute("failures"), Some("0"));
    let skipped = testsuite("sse \u{b7} reverser");
    assert!(skipped.descendants().any(|n| n.has_tag_name("skipped")));
    let page = std::fs::read_to_string(folder.join("index.html")).unwrap();
    assert!(page.contains("Suite: websocket"), "{page}");
    assert!(page.contains("Suite: sse"), "{page}");
    assert!(page.contains("Suites not run"), "{page}");
    assert!(page.contains("!dlrow ,olleH"), "the failed case's details");
}

#[test]
fn a_listed_known_failure_keeps_the_matrix_green_and_merge_keeps_the_suites() {
    let runners = tempfile::tempdir().unwrap();
    add_reference(runners.path(), "rust-axum", "/ws/bench/echo");
    add_reversing_echo(
        runners.path(),
        "reverser",
        "[expected_protocol_failures]\nwebsocket = [\"5.\"]\n",
    );
    let work = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for runner in ["reverser", "rust-axum"] {
        let (code, stdout, stderr) =
            matrix(runners.path(), &["--runners", runner, "--format", "json"]);
        assert_eq!(code, Some(0), "{runner}: {stdout}{stderr}");
        let file = work.path().join(format!("{runner}.json"));
        std::fs::write(&file, &stdout).unwrap();
        files.push(file.display().to_string());
    }
    let known: Value = serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    let reverser = suite(&known, "websocket", "reverser");
    assert_eq!(
        verdict(reverser, "5.9"),
        "failed",
        "the finding stays visible"
    );
    assert_eq!(reverser["cases"][0]["expected_failure"], true);
    assert_eq!(reverser["summary"]["expected_failures"], 1);

    // --merge keeps every suite document and the skipped one; the human output names the known
    // failure.
    let folder = work.path().join("merged");
    let mut args = vec!["matrix", "--merge"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["--report", folder.to_str().unwrap()]);
    let (out, _) = run_within(&args, Duration::from_secs(30));
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("websocket suite on reverser: 0 ok, 0 non_strict, 1 failed")
            && stdout.contains("known failures: 5.9"),
        "{stdout}"
    );
    assert!(
        stdout.contains("sse suite on reverser: skipped"),
        "{stdout}"
    );
    let merged: Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("matrix.json")).unwrap())
            .unwrap();
    assert_valid_matrix(&merged);
    let names: Vec<(&str, &str)> = merged["protocol"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["target"]["name"].as_str().unwrap(),
                s["suite"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("reverser", "websocket"),
            ("rust-axum", "sse"),
            ("rust-axum", "websocket")
        ]
    );
    assert_eq!(merged["protocol_not_run"].as_array().unwrap().len(), 1);
    let summary = std::fs::read_to_string(folder.join("summary.md")).unwrap();
    assert!(
        summary.contains("| reverser | 0 | 0 | 1 (1 known) | 0 | 0 | `5.9` (known) |"),
        "{summary}"
    );
}

#[test]
fn an_endpoint_that_cannot_be_reached_exits_3_and_tls_runs_the_suites_over_tls() {
    let runners = tempfile::tempdir().unwrap();
    add_reference(runners.path(), "rust-axum", "/ws/bench/echo");
    // Its echo path names nothing the server serves: the upgrade is refused.
    add_reference(runners.path(), "wrong-path", "/no/such/echo");
    let (code, stdout, stderr) = matrix(runners.path(), &["--tls", "--http2", "--format", "json"]);
    assert_eq!(code, Some(3), "{stdout}{stderr}");
    let doc = document(&stdout);
    assert_valid_matrix(&doc);
    let not_run = &doc["protocol_not_run"][0];
    assert_eq!(not_run["runner"], "wrong-path", "{doc}");
    assert_eq!(not_run["suite"], "websocket");
    assert_eq!(not_run["status"], "unavailable");
    assert!(
        not_run["reason"].as_str().unwrap().contains("404"),
        "{not_run}"
    );
    // Over TLS (and HTTP/2 for the fixtures): the suites speak wss:// and https:// and pass.
    for name in ["websocket", "sse"] {
        let s = suite(&doc, name, "rust-axum");
        assert!(
            s["target"]["url"].as_str().unwrap().starts_with("https://"),
            "{s}"
        );
        assert_eq!(s["summary"]["failed"], 0, "{s}");
        assert!(s["summary"]["ok"].as_u64().unwrap() > 0, "{s}");
    }
    assert_eq!(suite(&doc, "sse", "wrong-path")["summary"]["failed"], 0);
}

#[test]
fn protocol_flags_are_checked() {
    let runners = tempfile::tempdir().unwrap();
    add_reference(runners.path(), "rust-axum", "/ws/bench/echo");
    let dir = runners.path().to_str().unwrap();
    for (args, says) in [
        (
            vec!["--runners-dir", dir, "matrix", "--protocol-cases", "1."],
            "--protocol-suites",
        ),
        (
            vec![
                "--runners-dir",
                dir,
                "matrix",
                "--protocol-suites",
                "--protocol-cases",
                "gopher:1.",
            ],
            "unknown suite",
        ),
        (
            vec![
                "--runners-dir",
                dir,
                "matrix",
                "--protocol-suites",
                "--protocol-ws-path",
                "/ws",
            ],
            "give --url too",
        ),
        (
            vec![
                "--runners-dir",
                dir,
                "matrix",
                "--protocol-suites",
                "--protocol-sse-path",
                "sse",
            ],
            "must start with '/'",
        ),
    ] {
        let (out, _) = run_within(&args, Duration::from_secs(30));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    // A suite that --protocol-cases selects nothing of is skipped, saying so.
    let (code, stdout, stderr) = {
        let fixtures = repo().join("fixtures").display().to_string();
        let args = [
            "--runners-dir",
            dir,
            "matrix",
            "--snapshots",
            "off",
            "--fixtures",
            &fixtures,
            "--filter",
            "rest/bench/**",
            "--protocol-suites",
            "--protocol-cases",
            "sse:1.1",
            "--format",
            "json",
        ];
        let (out, _) = run_within(&args, Duration::from_secs(60));
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let doc = document(&stdout);
    assert_eq!(doc["protocol"].as_array().unwrap().len(), 1, "{doc}");
    let skipped = &doc["protocol_not_run"][0];
    assert_eq!(skipped["suite"], "websocket");
    assert!(
        skipped["reason"]
            .as_str()
            .unwrap()
            .contains("--protocol-cases"),
        "{skipped}"
    );
}
