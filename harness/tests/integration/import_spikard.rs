//! `fixtures import spikard` and Spikard files given to `run` and `stream` directly, on a small
//! suite in both of Spikard's layouts written here (Spikard's own files are not copied).

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};

use crate::common::{bin, text};

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

fn write(root: &Path, relative: &str, value: &Value) -> PathBuf {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, serde_json::to_string_pretty(value).unwrap()).unwrap();
    path
}

/// A Spikard checkout in miniature: `testing_data/` (a case a file, message files, a schema,
/// a gRPC case, a malformed file) and `fixtures/` (arrays of cases).
fn spikard_suite() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let int_handler = json!({"route": "/query/int", "method": "GET",
        "parameters": {"query": {"q": {"type": "integer", "annotation": "int"}}}});
    write(
        root,
        "testing_data/query_params/01_int_ok.json",
        &json!({"name": "int ok", "description": "An integer query parameter",
                "handler": int_handler,
                "request": {"method": "GET", "path": "/query/int", "query_params": {"q": 5}},
                "expected_response": {"status_code": 200, "body": {"q": 5}}}),
    );
    write(
        root,
        "testing_data/query_params/02_int_missing.json",
        &json!({"name": "int missing", "description": "A missing integer: 422",
                "handler": int_handler,
                "request": {"method": "GET", "path": "/query/int"},
                "expected_response": {"status_code": 422,
                    "body": {"type": "https://spikard.dev/errors/validation-error",
                             "errors": [{"type": "missing", "loc": ["query", "q"]}]}}}),
    );
    write(
        root,
        "testing_data/query_params/schema.json",
        &json!({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}),
    );
    write(
        root,
        "testing_data/auth/01_jwt.json",
        &json!({"name": "jwt", "description": "A JWT-protected route",
                "handler": {"route": "/protected", "method": "GET",
                            "middleware": {"jwt_auth": {"secret": "s"}}},
                "request": {"method": "GET", "path": "/protected",
                            "headers": {"Authorization": "Bearer x"}},
                "expected_response": {"status_code": 200, "body": {"ok": true}}}),
    );
    write(
        root,
        "testing_data/protobuf/01_unary.json",
        &json!({"name": "unary", "description": "A gRPC call",
                "handler": {"service": "example.v1.Users", "method": "GetUser"},
                "request": {"metadata": {}, "message": {"id": 1}},
                "expected_response": {"status_code": "OK", "message": {"id": 1}}}),
    );
    write(
        root,
        "testing_data/websockets/joined.json",
        &json!({"name": "joined", "protocol": "websocket", "channel": "/chat",
                "description": "A user joined", "operations": [],
                "schema": {"type": "object", "required": ["user"],
                           "properties": {"user": {"type": "string"}}},
                "examples": [{"user": "ada"}]}),
    );
    std::fs::create_dir_all(root.join("testing_data/broken")).unwrap();
    std::fs::write(
        root.join("testing_data/broken/bad.json"),
        "{\n  \"name\": ,\n}",
    )
    .unwrap();
    write(
        root,
        "fixtures/headers.json",
        &json!([
            {"id": "header_ok", "category": "headers", "description": "A header echoed",
             "http": {"handler": {"route": "/h", "method": "GET",
                                  "parameters": {"headers": {"x_token": {"type": "string"}}}},
                      "request": {"method": "GET", "path": "/h", "headers": {"X-Token": "t"}},
                      "expected_response": {"status_code": 200, "body": {"token": "t"}}}},
            {"id": "not_in_python", "category": "headers", "description": "Skipped in Python",
             "skip": {"languages": ["python"], "reason": "the client cannot send it"},
             "http": {"handler": {"route": "/h2", "method": "GET"},
                      "request": {"method": "GET", "path": "/h2"},
                      "expected_response": {"status_code": 200, "body": {}}}},
            {"id": "same_twice", "category": "headers", "description": "Two equal ids",
             "http": {"handler": {"route": "/h3", "method": "GET"},
                      "request": {"method": "GET", "path": "/h3"},
                      "expected_response": {"status_code": 200,
                          "body": {"a": "<<uuid>>", "b": "<<same_as:a>>"}}}},
            {"id": "parser", "category": "headers", "description": "An AsyncAPI parser case",
             "asyncapi": {"spec": {}, "expected": {}}}
        ]),
    );
    dir
}

fn import(suite: &Path, out: &Path, extra: &[&str]) -> Output {
    let sources = [suite.join("testing_data"), suite.join("fixtures")];
    let mut args = vec!["fixtures", "import", "spikard"];
    args.extend(sources.iter().map(|p| p.to_str().unwrap()));
    args.extend(["--out", out.to_str().unwrap()]);
    args.extend(extra);
    run(&args)
}

fn read(path: PathBuf) -> Value {
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn each_case_becomes_a_valid_fixture_and_the_rest_is_accounted_for() {
    let suite = spikard_suite();
    let out = tempfile::tempdir().unwrap();
    let done = import(suite.path(), out.path(), &[]);
    let (stdout, stderr) = (text(&done.stdout), text(&done.stderr));
    // The malformed file is named with its line and column; the others were imported.
    assert_eq!(done.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stderr.contains("broken/bad.json:2:11: malformed JSON"),
        "{stderr}"
    );
    assert!(
        stdout.contains(
            "9 cases: 6 converted (4 with a handler, 2 for --url targets only), 3 skipped"
        ),
        "{stdout}"
    );

    let ok = read(out.path().join("rest/query_params/01_int_ok.json"));
    assert_eq!(ok["name"], "spikard-query_params-01_int_ok");
    assert_eq!(ok["x-source"]["format"], "spikard");
    assert!(
        ok["x-source"]["file"]
            .as_str()
            .unwrap()
            .ends_with("testing_data/query_params/01_int_ok.json")
    );
    assert_eq!(
        ok["request"],
        json!({"method": "GET", "path": "/query/int", "query": {"q": 5}})
    );
    assert_eq!(ok["expected"], json!({"status": 200, "body": {"q": 5}}));
    assert_eq!(ok["handler"]["route"], "/query/int");
    assert_eq!(ok["handler"]["params"]["query"]["required"], json!(["q"]));
    // Same route, another reply: one app cannot serve both, so the later case has no handler.
    let missing = read(out.path().join("rest/query_params/02_int_missing.json"));
    assert!(missing.get("handler").is_none(), "{missing}");
    let header = read(out.path().join("rest/headers/header_ok.json"));
    assert_eq!(header["x-source"]["case"], "header_ok");
    assert_eq!(
        header["handler"]["params"]["headers"]["properties"],
        json!({"x-token": {"type": "string"}})
    );
    let joined = read(out.path().join("websocket/websockets/joined.json"));
    assert_eq!(joined["connect"]["path"], "/chat");
    assert!(
        joined["x-todo"].as_str().unwrap().contains("echo"),
        "{joined}"
    );

    let account = std::fs::read_to_string(out.path().join("IMPORT.md")).unwrap();
    for needle in [
        "### `grpc` (1)",
        "### `asyncapi-parser` (1)",
        "### `same-as-within-a-body` (1)",
        "### `handler-clash` (1)",
        "### `middleware:jwt_auth` (1)",
        "### `assumed-echo` (1)",
        "testing_data/query_params/schema.json`: a JSON Schema",
        "| testing_data | query_params | 2 | 2 | 1 | 0 |",
        "| fixtures | headers | 4 | 2 | 2 | 2 |",
    ] {
        assert!(account.contains(needle), "{needle:?} not in\n{account}");
    }
    let valid = run(&["fixtures", "validate", out.path().to_str().unwrap()]);
    assert_eq!(valid.status.code(), Some(0), "{}", text(&valid.stderr));
    assert!(
        text(&valid.stdout).contains("6 fixtures valid"),
        "{}",
        text(&valid.stdout)
    );
}

#[test]
fn the_same_sources_make_the_same_files() {
    let suite = spikard_suite();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    import(suite.path(), a.path(), &[]);
    import(suite.path(), b.path(), &[]);
    let files = |dir: &Path| {
        let mut found: Vec<(PathBuf, String)> = walk(dir)
            .into_iter()
            .map(|p| {
                (
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read_to_string(&p).unwrap(),
                )
            })
            .collect();
        found.sort();
        found
    };
    assert_eq!(files(a.path()), files(b.path()));
    assert_eq!(files(a.path()).len(), 7, "six fixtures and IMPORT.md");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn options_select_prefix_and_judge() {
    let suite = spikard_suite();
    let source = suite.path().join("testing_data/query_params");
    let protobuf = suite.path().join("testing_data/protobuf");
    let out = tempfile::tempdir().unwrap();
    let args = |extra: &[&str]| {
        let mut args = vec![
            "fixtures",
            "import",
            "spikard",
            source.to_str().unwrap(),
            protobuf.to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
            "--format",
            "json",
        ];
        args.extend(extra);
        run(&args)
    };
    let loose = args(&["--prefix", "/fixtures/{id}"]);
    assert_eq!(loose.status.code(), Some(0), "{}", text(&loose.stderr));
    let report: Value = serde_json::from_slice(&loose.stdout).unwrap();
    assert_eq!(report["summary"]["converted"], 2);
    assert_eq!(
        report["summary"]["with_handler"], 2,
        "a prefix each: no clash"
    );
    assert_eq!(report["skipped"][0]["reason"], "grpc");
    let missing = read(out.path().join("rest/query_params/02_int_missing.json"));
    assert_eq!(
        missing["request"]["path"],
        "/fixtures/02_int_missing/query/int"
    );
    assert_eq!(
        missing["handler"]["route"],
        "/fixtures/02_int_missing/query/int"
    );
    // A refusal is the framework's: the handler's own reply to valid input is the echo.
    assert_eq!(missing["handler"]["response"], json!({"echo": true}));

    let strict = args(&["--strict"]);
    assert_eq!(strict.status.code(), Some(1), "a case was skipped");
    let only = args(&["--only", "protobuf"]);
    let report: Value = serde_json::from_slice(&only.stdout).unwrap();
    assert_eq!(report["summary"]["unselected"], 2);
    assert_eq!(report["summary"]["converted"], 0);

    let headers = suite.path().join("fixtures/headers.json");
    let python = run(&[
        "fixtures",
        "import",
        "spikard",
        headers.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
        "--skip-language",
        "python",
        "--format",
        "json",
    ]);
    let report: Value = serde_json::from_slice(&python.stdout).unwrap();
    let reasons: Vec<&str> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["reason"].as_str().unwrap())
        .collect();
    assert!(reasons.contains(&"skip-language:python"), "{reasons:?}");

    let bad_prefix = args(&["--prefix", "fixtures/{id}"]);
    assert_eq!(bad_prefix.status.code(), Some(2));
    assert!(
        text(&bad_prefix.stderr).contains("starts with /"),
        "{}",
        text(&bad_prefix.stderr)
    );
}

#[test]
fn a_spikard_file_runs_as_it_is_and_its_checks_can_fail() {
    let suite = spikard_suite();
    let file = suite
        .path()
        .join("testing_data/query_params/01_int_ok.json");
    let right = run(&[
        "run",
        "--snapshots",
        "off",
        "--fixture",
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        right.status.code(),
        Some(0),
        "{}{}",
        text(&right.stdout),
        text(&right.stderr)
    );
    assert!(
        text(&right.stderr).contains("1 spikard cases converted in memory"),
        "{}",
        text(&right.stderr)
    );

    // The same case sending what the handler refuses: the reference answers 422, not 200.
    let mut wrong: Value = read(file.clone());
    wrong["request"]["query_params"]["q"] = json!("five");
    let wrong_file = write(suite.path(), "wrong/01_int_ok.json", &wrong);
    let failed = run(&[
        "run",
        "--snapshots",
        "off",
        "--format",
        "json",
        "--fixture",
        wrong_file.to_str().unwrap(),
    ]);
    assert_eq!(failed.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&failed.stdout).unwrap();
    let diff = &report["fixtures"][0]["diff"][0];
    assert_eq!(diff["path"], "/status");
    assert_eq!(diff["expected"], 200);
    assert_eq!(diff["actual"], 422);
}

#[test]
fn the_old_stream_usage_line_works_on_a_message_file() {
    let suite = spikard_suite();
    let file = suite.path().join("testing_data/websockets/joined.json");
    let out = run(&[
        "stream",
        "--fixture",
        file.to_str().unwrap(),
        "--connections",
        "2",
        "--duration",
        "1s",
        "--warmup",
        "0s",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["fixture"], "spikard-websockets-joined");
    assert!(result["summary"]["operations"].as_u64().unwrap() > 0);
    assert_eq!(result["summary"]["errors"], 0);
}
