//! End-to-end tests of the `benchmark-harness` binary over real sockets: the corpus against the
//! embedded reference, mutated expectations, malformed fixtures, unreachable targets, and an
//! outside server (Python's standard library) that behaves, misbehaves, sends garbage or hangs.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use crate::common::{bin, corpus_file, corpus_json, outside, text};

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

/// Copies a corpus fixture into a temp dir with `edit` applied to its JSON.
fn mutated(
    relative: &str,
    edit: impl FnOnce(&mut serde_json::Value),
) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let mut value = corpus_json(relative);
    edit(&mut value);
    let path = dir.path().join("fixture.json");
    std::fs::write(&path, serde_json::to_string_pretty(&value).unwrap()).unwrap();
    (dir, path)
}

#[test]
fn whole_corpus_passes_against_the_embedded_reference() {
    let out = run(&["run", "--snapshots", "off", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let failures: Vec<_> = report["fixtures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["outcome"] != "passed")
        .map(|f| serde_json::to_string_pretty(f).unwrap())
        .collect();
    assert!(
        failures.is_empty(),
        "{} fixtures did not pass:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(report["summary"]["passed"].as_u64().unwrap() >= 128);
}

#[test]
fn a_wrong_expected_body_fails_with_the_pointer_and_both_values() {
    let (_dir, path) = mutated("rest/bench/hello.json", |f| {
        f["expected"]["body"]["message"] = "Hello, Moon!".into()
    });
    let out = run(&[
        "run",
        "--snapshots",
        "off",
        "--fixture",
        path.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL  rest      bench-hello"), "{stdout}");
    assert!(
        stdout.contains("/body/message: different string"),
        "{stdout}"
    );
    assert!(stdout.contains("expected: \"Hello, Moon!\""), "{stdout}");
    assert!(stdout.contains("actual:   \"Hello, World!\""), "{stdout}");
}

#[test]
fn a_wrong_status_and_header_fail_in_json_output() {
    let (_dir, path) = mutated("rest/bench/hello.json", |f| {
        f["expected"]["status"] = 201.into();
        f["expected"]["headers"]["content-type"] = "<<starts_with:text/html>>".into();
    });
    let out = run(&[
        "run",
        "--snapshots",
        "off",
        "--format",
        "json",
        "--fixture",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fixture = &report["fixtures"][0];
    assert_eq!(fixture["outcome"], "failed");
    assert_eq!(fixture["diff"][0]["path"], "/status");
    assert_eq!(fixture["diff"][0]["expected"], 201);
    assert_eq!(fixture["diff"][0]["actual"], 200);
    assert_eq!(fixture["diff"][1]["path"], "/headers/content-type");
    assert_eq!(report["summary"]["failed"], 1);
}

#[test]
fn a_wrong_websocket_expectation_fails_at_its_step() {
    let (_dir, path) = mutated("websocket/bench/echo.json", |f| {
        let steps = f["transcript"].as_array_mut().unwrap();
        let expect = steps
            .iter_mut()
            .find(|s| s.get("expect").is_some())
            .unwrap();
        expect["expect"] = serde_json::json!({"json": {"different": true}});
    });
    let out = run(&[
        "run",
        "--snapshots",
        "off",
        "--format",
        "json",
        "--fixture",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let diff = &report["fixtures"][0]["diff"];
    assert!(
        diff[0]["path"]
            .as_str()
            .unwrap()
            .starts_with("/transcript/1/expect/json"),
        "{diff}"
    );
}

#[test]
fn a_wrong_sse_event_fails_at_its_index() {
    let (_dir, path) = mutated("sse/bench/stream.json", |f| {
        f["expected"]["events"][1]["id"] = "99".into()
    });
    let out = run(&[
        "run",
        "--snapshots",
        "off",
        "--format",
        "json",
        "--fixture",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let diff = &report["fixtures"][0]["diff"][0];
    assert_eq!(diff["path"], "/events/1/id");
    assert_eq!(diff["expected"], "99");
    assert_eq!(diff["actual"], "2");
}

#[test]
fn malformed_fixture_exits_2_naming_file_and_pointer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(
        &path,
        r#"{"name":"bad","protocol":"rest","request":{"path":"/"},"expected":{"status":"ok"}}"#,
    )
    .unwrap();
    let out = run(&["run", "--fixture", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("bad.json#/expected/status: schema violation"),
        "{stderr}"
    );

    std::fs::write(&path, "{\"name\": \"bad\",\n \"protocol\": }").unwrap();
    let out = run(&["fixtures", "validate", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("bad.json:2:14: malformed JSON"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn validate_and_list_the_corpus() {
    let out = run(&["fixtures", "validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim(),
        "355 fixtures valid (broadcast: 5, rest: 226, sse: 31, websocket: 93)"
    );
    let out = run(&["fixtures", "list", "--filter", "bench-*"]);
    let stdout = text(&out.stdout);
    for name in ["bench-hello", "bench-ws-echo", "bench-sse-stream"] {
        assert!(stdout.contains(name), "{stdout}");
    }
    assert!(stdout.lines().all(|l| l.contains(" bench-")), "{stdout}");
}

#[test]
fn unreachable_url_exits_3_with_the_address() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let out = run(&[
        "run",
        "--url",
        &url,
        "--fixture",
        corpus_file("rest/bench/hello.json").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains(&url), "{}", text(&out.stderr));
}

/// The outside server, killed on drop.
struct Outside {
    child: Child,
    url: String,
}

impl Outside {
    fn start(misbehave: bool) -> Outside {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("python3")
            .arg(outside("server.py"))
            .arg(port.to_string())
            .env("MISBEHAVE", if misbehave { "1" } else { "0" })
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
        Outside {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn an_outside_server_that_behaves_passes() {
    let server = Outside::start(false);
    let out = run(&[
        "run",
        "--url",
        &server.url,
        "--fixtures",
        &outside("fixtures"),
        "--snapshots",
        "off",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("ok: 4 passed, 0 failed, 0 skipped, 0 errored"),
        "{stdout}"
    );
}

#[test]
fn an_outside_server_that_misbehaves_fails_with_diffs() {
    let server = Outside::start(true);
    let out = run(&[
        "run",
        "--url",
        &server.url,
        "--fixtures",
        &outside("fixtures"),
        "--snapshots",
        "off",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let by_name = |name: &str| {
        report["fixtures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap()
            .clone()
    };

    let greet = by_name("outside-greet");
    assert_eq!(greet["outcome"], "failed");
    assert_eq!(greet["diff"][0]["path"], "/body/hello");
    assert_eq!(greet["diff"][0]["expected"], "ada");
    assert_eq!(greet["diff"][0]["actual"], "ADA");

    let item = by_name("outside-create-item");
    assert_eq!(item["diff"][0]["path"], "/status");

    let events = by_name("outside-events");
    assert_eq!(events["diff"][0]["path"], "/events/1/json/n");
    assert_eq!(events["diff"][0]["actual"], 20);

    let ws = by_name("outside-ws-echo");
    assert_eq!(ws["diff"][0]["path"], "/transcript/1/expect/text");
    assert_eq!(ws["diff"][0]["actual"], "olleh");
    assert_eq!(report["summary"]["failed"], 4);
}

#[test]
fn garbage_and_hangs_are_errored_and_the_run_goes_on() {
    let server = Outside::start(false);
    let out = run(&[
        "run",
        "--url",
        &server.url,
        "--timeout",
        "500ms",
        "--snapshots",
        "off",
        "--format",
        "json",
        "--fixture",
        &outside("broken/garbage.json"),
        "--fixture",
        &outside("broken/hang.json"),
        "--fixture",
        &outside("fixtures/greet.json"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let outcomes: Vec<_> = report["fixtures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].clone(), f["outcome"].clone()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("outside-garbage".into(), "errored".into()),
            ("outside-hang".into(), "errored".into()),
            ("outside-greet".into(), "passed".into()),
        ]
    );
    let garbage = &report["fixtures"][0]["error"]["reason"];
    assert!(
        garbage.as_str().unwrap().contains("invalid HTTP"),
        "{garbage}"
    );
    let hang = &report["fixtures"][1]["error"]["reason"];
    assert!(hang.as_str().unwrap().contains("within 500ms"), "{hang}");
}

#[test]
fn a_changed_snapshot_fails_leaves_a_pending_file_and_update_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    let snapshots = dir.path().join("snapshots");
    let hello = corpus_file("rest/bench/hello.json");
    let args = |mode: &str| {
        vec![
            "run".to_string(),
            "--fixture".into(),
            hello.display().to_string(),
            "--snapshots-dir".into(),
            snapshots.display().to_string(),
            "--snapshots".into(),
            mode.into(),
        ]
    };
    let run_mode = |mode: &str| bin().args(args(mode)).output().unwrap();

    let first = run_mode("check");
    assert_eq!(
        first.status.code(),
        Some(0),
        "a new snapshot is not a failure"
    );
    assert!(text(&first.stdout).contains("[snapshot new]"));
    let stored = snapshots.join("rust-axum/rest/bench-hello.snap");
    let pending = snapshots.join("rust-axum/rest/bench-hello.snap.new");
    assert!(pending.is_file() && !stored.exists());

    assert_eq!(run_mode("update").status.code(), Some(0));
    assert!(stored.is_file() && !pending.exists());
    assert_eq!(run_mode("check").status.code(), Some(0));

    // Pretend the server used to answer differently: the next check must fail with the diff.
    let old = std::fs::read_to_string(&stored)
        .unwrap()
        .replace("Hello, World!", "Hello, World?");
    std::fs::write(&stored, old).unwrap();
    let changed = run_mode("check");
    let stdout = text(&changed.stdout);
    assert_eq!(changed.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("[snapshot changed]"), "{stdout}");
    assert!(
        stdout.contains("-        \"message\": \"Hello, World?\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("+        \"message\": \"Hello, World!\""),
        "{stdout}"
    );
    assert!(pending.is_file());
    let pending_text = std::fs::read_to_string(&pending).unwrap();
    assert!(pending_text.starts_with("---\nsource: ") && pending_text.contains("Hello, World!"));

    assert_eq!(run_mode("update").status.code(), Some(0));
    assert!(!pending.exists());
    assert!(
        std::fs::read_to_string(&stored)
            .unwrap()
            .contains("Hello, World!")
    );
}

#[test]
fn a_wrong_broadcast_delivery_fails_at_each_subscriber() {
    let (_dir, path) = mutated("broadcast/rest-fanout.json", |f| {
        f["expected"]["delivery"]["json"]["headline"] = "goodbye".into();
        f["expected"]["publish"]["body"]["subscribers"] = 4.into();
    });
    let out = run(&[
        "run",
        "--snapshots",
        "off",
        "--format",
        "json",
        "--fixture",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let paths: Vec<&str> = report["fixtures"][0]["diff"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "/publish/body/subscribers",
            "/subscribers/0/delivery/json/headline",
            "/subscribers/1/delivery/json/headline",
            "/subscribers/2/delivery/json/headline"
        ]
    );
}
