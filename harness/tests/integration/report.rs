//! `report` end to end: real result documents of `run`, `bench` and `stream` against the
//! embedded reference, one of them with a failing fixture, turned into a report folder whose
//! files are checked: report.json against its schema, the failure and its diff in every format,
//! the charts in the page, nothing in it that loads from elsewhere.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{assert_valid, bin, corpus_json, repo, text};

fn ok(output: Output) -> Output {
    assert!(
        output.status.code().is_some_and(|c| c <= 1),
        "{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    output
}

/// A `run` document: hello passes, a copy of it expecting 201 fails.
fn run_document(dir: &Path) -> PathBuf {
    let mut fixture = corpus_json("rest/bench/hello.json");
    let fixtures = dir.join("fixtures");
    std::fs::create_dir_all(&fixtures).unwrap();
    std::fs::write(fixtures.join("hello.json"), fixture.to_string()).unwrap();
    fixture["name"] = "hello-expects-201".into();
    fixture["expected"]["status"] = 201.into();
    std::fs::write(fixtures.join("wrong.json"), fixture.to_string()).unwrap();
    let out = ok(bin()
        .args([
            "run",
            "--snapshots",
            "off",
            "--format",
            "json",
            "--fixtures",
        ])
        .arg(&fixtures)
        .output()
        .unwrap());
    let path = dir.join("run.json");
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

/// A short load run's result document.
fn load_document(dir: &Path, command: &str, fixture: &str, name: &str) -> PathBuf {
    let path = dir.join(name);
    ok(bin()
        .args([
            command,
            "--connections",
            "4",
            "--duration",
            "1s",
            "--warmup",
            "0s",
            "--fixture",
        ])
        .arg(repo().join(fixture))
        .arg("--output")
        .arg(&path)
        .output()
        .unwrap());
    path
}

fn report(inputs: &[&Path], out: &Path, extra: &[&str]) -> Output {
    bin()
        .arg("report")
        .args(inputs)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

/// The `tests`, `failures` and `errors` attributes of a JUnit element, `-` where one is missing.
fn counts(element: roxmltree::Node) -> [String; 3] {
    ["tests", "failures", "errors"].map(|a| element.attribute(a).unwrap_or("-").to_string())
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_report_folder_shows_conformance_and_load_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_document(dir.path());
    let rest = load_document(
        dir.path(),
        "bench",
        "fixtures/rest/bench/hello.json",
        "rest.json",
    );
    let ws = load_document(
        dir.path(),
        "stream",
        "fixtures/websocket/bench/echo.json",
        "ws.json",
    );
    let sse = load_document(
        dir.path(),
        "stream",
        "fixtures/sse/bench/stream.json",
        "sse.json",
    );
    let out = dir.path().join("report");

    let output = report(&[&run, &rest, &ws, &sse], &out, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout).trim(),
        out.join("index.html").display().to_string()
    );

    // report.json: valid against the published schema, every input in it.
    let document: serde_json::Value = serde_json::from_str(&read(out.join("report.json"))).unwrap();
    assert_valid("report.v1.schema.json", &document);
    assert_eq!(document["load"].as_array().unwrap().len(), 3);
    assert_eq!(document["runners"][0]["runner"], "rust-axum");
    assert_eq!(document["summary"]["failed"], 1);
    assert!(document["load"][1]["connect"]["histogram"].is_string());
    assert!(document["load"][2]["first_event"]["histogram"].is_string());

    // summary.md: the verdict, the failure with its diff, the load table.
    let summary = read(out.join("summary.md"));
    assert!(summary.contains("**not passed**"), "{summary}");
    assert!(
        summary.contains("<code>hello-expects-201</code> Failed"),
        "{summary}"
    );
    assert!(summary.contains("/status"), "{summary}");
    assert!(
        summary.contains("| rust-axum · bench-hello | rest | closed | 4 |"),
        "{summary}"
    );

    // junit.xml: the failing fixture fails, the load runs pass.
    let junit = read(out.join("junit.xml"));
    let xml = roxmltree::Document::parse(&junit).unwrap();
    assert_eq!(counts(xml.root_element()), ["5", "1", "0"], "{junit}");
    assert!(junit.contains("name=\"hello-expects-201\""), "{junit}");
    assert!(junit.contains("<failure message=\"/status:"), "{junit}");
    let load = xml
        .root_element()
        .children()
        .find(|n| n.has_tag_name("testsuite") && n.attribute("name") == Some("load"))
        .expect("a load suite");
    assert_eq!(counts(load), ["3", "0", "0"], "{junit}");

    // index.html: self-contained, with the charts, the grid and the diff the grid links to.
    let html = read(out.join("index.html"));
    assert!(html.contains("Content-Security-Policy"), "no CSP");
    for external in ["src=\"http", "href=\"http", "url(http", "@import", "<link"] {
        assert!(
            !html.contains(external),
            "the page loads from elsewhere: {external}"
        );
    }
    // rest: throughput, latency; websocket: + handshake; sse: + first event, gap.
    assert_eq!(
        html.matches("<figure class=\"chart\"><svg").count(),
        9,
        "charts"
    );
    assert!(!html.contains("could not be drawn"));
    assert!(html.contains("WebSocket round trip"));
    assert!(html.contains("SSE time to first event"));
    let anchor = "d-rust-axum--hello-expects-201";
    assert!(
        html.contains(&format!("href=\"#{anchor}\"")),
        "the grid cell links to its diff"
    );
    assert!(html.contains(&format!("id=\"{anchor}\"")));
}

#[test]
fn a_baseline_puts_the_comparison_in_the_markdown_and_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_document(dir.path());
    // The baseline: the same run with every fixture passing.
    let mut baseline: serde_json::Value = serde_json::from_str(&read(run.clone())).unwrap();
    for f in baseline["fixtures"].as_array_mut().unwrap() {
        f["outcome"] = "passed".into();
        f["diff"] = serde_json::json!([]);
    }
    let base = dir.path().join("base.json");
    std::fs::write(&base, baseline.to_string()).unwrap();
    let out = dir.path().join("report");

    let output = report(&[&run], &out, &["--baseline", base.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let summary = read(out.join("summary.md"));
    assert!(summary.contains("## Against the baseline"), "{summary}");
    assert!(
        summary.contains("- `hello-expects-201` on rust-axum: passed -> failed, REGRESSED"),
        "{summary}"
    );
    let html = read(out.join("index.html"));
    assert!(html.contains("id=\"comparison\""));
    assert!(html.contains("1 regression against the baseline"));

    // compare writes the same folder with --report, and keeps stdout for its verdict.
    let gated = dir.path().join("gated");
    let verdict = bin()
        .args(["compare", "--format", "json", "--baseline"])
        .arg(&base)
        .arg("--candidate")
        .arg(&run)
        .arg("--report")
        .arg(&gated)
        .output()
        .unwrap();
    assert_eq!(verdict.status.code(), Some(1), "{}", text(&verdict.stderr));
    let json: serde_json::Value = serde_json::from_slice(&verdict.stdout).unwrap();
    assert_eq!(json["regressions"], 1);
    assert!(read(gated.join("summary.md")).contains("## Against the baseline"));

    // The report folder is itself an input of compare, and of report.
    let verdict = bin()
        .args(["compare", "--baseline"])
        .arg(&base)
        .arg("--candidate")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(verdict.status.code(), Some(1), "{}", text(&verdict.stdout));
    let again = report(&[&out.join("report.json")], &dir.path().join("again"), &[]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
}

#[test]
fn a_document_that_does_not_fit_is_named_by_file_and_pointer() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_document(dir.path());
    let mut document: serde_json::Value = serde_json::from_str(&read(run)).unwrap();
    document["fixtures"][1]["outcome"] = "sideways".into();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, document.to_string()).unwrap();
    let out = dir.path().join("report");

    let output = report(&[&bad], &out, &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("bad.json: #/fixtures/1/outcome: unknown variant `sideways`"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing is written from bad input");

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let output = report(&[&empty], &out, &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("empty: no result documents"));

    std::fs::write(&bad, "{\"hello\": 1}").unwrap();
    let output = report(&[&bad], &out, &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("not a result document"));
}

#[test]
fn a_changed_snapshot_shows_with_its_diff_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let snapshots = dir.path().join("snapshots");
    let hello = repo().join("fixtures/rest/bench/hello.json");
    let replay = |mode: &str| {
        bin()
            .args([
                "run",
                "--format",
                "json",
                "--snapshots",
                mode,
                "--snapshots-dir",
            ])
            .arg(&snapshots)
            .arg("--fixture")
            .arg(&hello)
            .output()
            .unwrap()
    };
    assert_eq!(replay("update").status.code(), Some(0));
    // The stored snapshot says something else than the server now does.
    let snap = snapshots.join("rust-axum/rest/bench-hello.snap");
    let stored = read(snap.clone());
    assert!(stored.contains("Hello, World!"), "{stored}");
    std::fs::write(&snap, stored.replace("Hello, World!", "Hello, Earth!")).unwrap();
    let checked = replay("check");
    assert_eq!(
        checked.status.code(),
        Some(1),
        "a changed snapshot fails the run"
    );
    let run = dir.path().join("run.json");
    std::fs::write(&run, &checked.stdout).unwrap();
    let out = dir.path().join("report");

    let output = report(&[&run], &out, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let summary = read(out.join("summary.md"));
    assert!(summary.contains("snapshot changed:"), "{summary}");
    assert!(
        summary.contains("-        \"message\": \"Hello, Earth!\""),
        "{summary}"
    );
    assert!(
        summary.contains("+        \"message\": \"Hello, World!\""),
        "{summary}"
    );
    let junit = read(out.join("junit.xml"));
    let xml = roxmltree::Document::parse(&junit).unwrap();
    assert_eq!(counts(xml.root_element()), ["1", "1", "0"], "{junit}");
    assert!(
        junit.contains("<failure message=\"snapshot changed\">"),
        "{junit}"
    );
    assert!(junit.contains("Hello, Earth!"), "{junit}");
    let html = read(out.join("index.html"));
    assert!(
        html.contains("class=\"cell changed\""),
        "a changed cell in the grid"
    );
    assert!(html.contains("href=\"#d-rust-axum--bench-hello\""));
    // (the page escapes quotes)
    assert!(
        html.contains(
            r#"<span class="del">-        &quot;message&quot;: &quot;Hello, Earth!&quot;"#
        ),
        "{html}"
    );
    assert!(
        html.contains(
            r#"<span class="add">+        &quot;message&quot;: &quot;Hello, World!&quot;"#
        )
    );
}

#[test]
fn a_run_report_folder_carries_the_page_too() {
    let dir = tempfile::tempdir().unwrap();
    run_document(dir.path());
    let out = dir.path().join("run-report");
    let output = bin()
        .args(["run", "--snapshots", "off", "--quiet", "--fixtures"])
        .arg(dir.path().join("fixtures"))
        .arg("--report")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let html = read(out.join("index.html"));
    assert!(html.contains("href=\"#d-rust-axum--hello-expects-201\""));
    assert!(
        html.contains("<code>/status</code>"),
        "the diff is in the page"
    );
}
