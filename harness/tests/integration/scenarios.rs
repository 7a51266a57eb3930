//! REST scenarios (format 1.1) against a small axum server of this test's own on loopback: ids
//! and tokens it makes up per request, so a scenario passes only if what one reply gave was
//! substituted into the next request (path, header, JSON body, query). The first path segment
//! of the target URL (`--url http://ADDR/MODE`) picks a fault: a fetch that answers another id,
//! a token that is not the one issued, an order that loses a field, a login without a token.
//! Each fails with the right diff, at the failing step, and stops the scenario there.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Json, Path, Query};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::common::{run_within, serve_on_thread, text, write_fixtures};

static NEXT: AtomicU64 = AtomicU64::new(1);

fn fresh(prefix: &str) -> String {
    format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed) * 7919)
}

async fn create(Path(mode): Path<String>) -> Response {
    let id = fresh("thing");
    let location = if mode == "off_target" {
        // After the base URL, this would name another host (userinfo `127.0.0.1:PORT`).
        format!("@example.invalid/{mode}/things/{id}")
    } else {
        format!("/{mode}/things/{id}")
    };
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(json!({"id": id})),
    )
        .into_response()
}

async fn fetch(Path((mode, id)): Path<(String, String)>) -> Json<Value> {
    let id = if mode == "fetch_other" {
        "thing-other".to_string()
    } else {
        id
    };
    Json(json!({"id": id}))
}

async fn login(Path(mode): Path<String>) -> Json<Value> {
    if mode == "no_token" {
        return Json(json!({"expires_in": 60}));
    }
    // The token encodes itself: `me` accepts exactly the tokens `login` issues.
    Json(json!({"token": fresh("tok")}))
}

async fn me(Path(mode): Path<String>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match token {
        Some(token) if token.starts_with("tok-") && mode != "rotate_token" => {
            Json(json!({"token": token})).into_response()
        }
        _ => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn order(Path(mode): Path<String>, Json(mut body): Json<Value>) -> Json<Value> {
    if mode == "drop_qty"
        && let Some(fields) = body.as_object_mut()
    {
        fields.remove("qty");
    }
    Json(body)
}

async fn search(Query(query): Query<std::collections::BTreeMap<String, String>>) -> Json<Value> {
    Json(json!({"query": query}))
}

async fn connection(ConnectInfo(peer): ConnectInfo<SocketAddr>) -> Json<Value> {
    Json(json!({"port": peer.port()}))
}

fn server() -> String {
    let app = Router::new()
        .route("/{mode}/things", post(create))
        .route("/{mode}/things/{id}", get(fetch))
        .route("/{mode}/login", post(login))
        .route("/{mode}/me", get(me))
        .route("/{mode}/orders", post(order))
        .route("/{mode}/search", get(search))
        .route("/{mode}/connection", get(connection));
    let address = serve_on_thread(|listener: tokio::net::TcpListener| async move {
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        let _ = axum::serve(listener, service).await;
    });
    format!("http://{address}")
}

/// The scenario: create then fetch by id (path), log in then use the token (header), order
/// with the id in the body and search by it (query).
fn scenario() -> Value {
    json!({
        "name": "scenario", "protocol": "rest",
        "steps": [
            {"request": {"method": "POST", "path": "/things"},
             "expected": {"status": 201, "headers": {"location": "<<capture:where>>"},
                          "body": {"id": "<<capture:id>>"}}},
            {"name": "fetch", "request": {"path": "/things/{{id}}"},
             "expected": {"status": 200, "body": {"id": "<<same_as:id>>"}}},
            {"request": {"method": "POST", "path": "/login"},
             "expected": {"status": 200, "body": {"token": "<<capture:token>>"}}},
            {"request": {"path": "/me", "headers": {"authorization": "Bearer {{token}}"}},
             "expected": {"status": 200, "body": {"token": "<<same_as:token>>"}}},
            {"request": {"method": "POST", "path": "/orders", "json": {"thing": "{{id}}", "qty": 2, "note": "for {{id}}"}},
             "expected": {"status": 200, "body": {"thing": "<<same_as:id>>", "qty": 2, "note": "<<regex:for thing-\\d+>>"}}},
            {"request": {"path": "/search", "query": {"thing": "{{id}}"}},
             "expected": {"status": 200, "body": {"query": {"thing": "<<same_as:id>>"}}}}
        ]
    })
}

fn run(url: &str, fixture: &Value) -> Value {
    let (_dir, files) = write_fixtures(std::slice::from_ref(fixture));
    let file = files[0].display().to_string();
    let args = [
        "run",
        "--url",
        url,
        "--fixture",
        &file,
        "--snapshots",
        "off",
        "--format",
        "json",
        "--timeout",
        "2s",
    ];
    let (output, _) = run_within(&args, Duration::from_secs(30));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON ({e}): {}\n{}",
            text(&output.stdout),
            text(&output.stderr)
        )
    });
    report["fixtures"][0].clone()
}

fn diff_of(result: &Value) -> Vec<Value> {
    assert_eq!(result["outcome"], "failed", "{result:#}");
    result["diff"].as_array().unwrap().clone()
}

/// Every difference is at `step`, and the paths are these.
fn assert_paths(diff: &[Value], paths: &[&str]) {
    let got: Vec<&str> = diff.iter().map(|m| m["path"].as_str().unwrap()).collect();
    assert_eq!(got, paths, "{diff:#?}");
}

#[test]
fn a_scenario_passes_when_every_value_is_carried_into_the_next_request() {
    let base = server();
    for _ in 0..2 {
        let result = run(&format!("{base}/ok"), &scenario());
        assert_eq!(result["outcome"], "passed", "{result:#}");
    }
}

#[test]
fn a_fetch_that_answers_another_id_fails_at_its_step_and_stops_the_scenario() {
    let base = server();
    let diff = diff_of(&run(&format!("{base}/fetch_other"), &scenario()));
    assert_paths(&diff, &["/steps/1/body/id"]);
    assert_eq!(diff[0]["actual"], "thing-other");
    let message = diff[0]["message"].as_str().unwrap();
    assert!(
        message.contains("differs from the value captured as id"),
        "{message}"
    );
    assert!(
        diff[0]["expected"]
            .as_str()
            .unwrap()
            .starts_with("<<same_as:id=\"thing-"),
        "{diff:#?}"
    );
}

#[test]
fn a_token_the_server_does_not_take_fails_the_header_step() {
    let base = server();
    let diff = diff_of(&run(&format!("{base}/rotate_token"), &scenario()));
    assert_eq!(diff[0]["path"], "/steps/3/status", "{diff:#?}");
    assert_eq!(
        (&diff[0]["expected"], &diff[0]["actual"]),
        (&json!(200), &json!(401))
    );
    assert!(
        diff.iter()
            .all(|m| m["path"].as_str().unwrap().starts_with("/steps/3/")),
        "{diff:#?}"
    );
}

#[test]
fn a_body_that_loses_a_field_fails_the_body_step() {
    let base = server();
    let diff = diff_of(&run(&format!("{base}/drop_qty"), &scenario()));
    assert_paths(&diff, &["/steps/4/body/qty"]);
}

#[test]
fn a_capture_never_bound_fails_where_it_stands_and_stops_there() {
    let base = server();
    let diff = diff_of(&run(&format!("{base}/no_token"), &scenario()));
    assert_paths(&diff, &["/steps/2/body/token", "/steps/2/body/expires_in"]);
    let message = diff[0]["message"].as_str().unwrap();
    assert!(message.contains("capture token binds nothing"), "{message}");
}

#[test]
fn keep_reuses_the_connection_and_new_opens_one_per_step() {
    let base = server();
    let conversation = |connection: &str| {
        json!({
            "name": "connections", "protocol": "rest", "connection": connection,
            "steps": [
                {"request": {"path": "/connection"}, "expected": {"status": 200, "body": {"port": "<<capture:port>>"}}},
                {"request": {"path": "/connection"}, "expected": {"status": 200, "body": {"port": "<<same_as:port>>"}}}
            ]
        })
    };
    let kept = run(&format!("{base}/ok"), &conversation("keep"));
    assert_eq!(kept["outcome"], "passed", "{kept:#}");
    let diff = diff_of(&run(&format!("{base}/ok"), &conversation("new")));
    assert_paths(&diff, &["/steps/1/body/port"]);
}

/// Create, then follow the `Location` the reply gave.
fn follow() -> Value {
    json!({
        "name": "follow", "protocol": "rest",
        "steps": [
            {"request": {"method": "POST", "path": "/things"},
             "expected": {"status": 201, "headers": {"location": "<<capture:where>>"}}},
            {"request": {"path": "{{where}}"}, "expected": {"status": 200}}
        ]
    })
}

/// `bench` on the scenario against the server at `url`: exit code and result document.
fn bench(url: &str, fixture: &Value) -> (Option<i32>, Value, String) {
    let (_dir, files) = write_fixtures(std::slice::from_ref(fixture));
    let file = files[0].display().to_string();
    let args = [
        "bench",
        "--url",
        url,
        "--fixture",
        &file,
        "--connections",
        "2",
        "--warmup",
        "0s",
        "--duration",
        "1s",
        "--timeout",
        "2s",
    ];
    let (output, _) = run_within(&args, Duration::from_secs(30));
    let result = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.code(), result, text(&output.stderr))
}

#[test]
fn bench_times_each_step_and_the_whole_scenario() {
    let (code, result, stderr) = bench(&format!("{}/ok", server()), &scenario());
    assert_eq!(code, Some(0), "{stderr}");
    let summary = &result["summary"];
    assert_eq!(summary["errors"], 0, "{result:#}");
    let runs = summary["operations"].as_u64().unwrap();
    assert!(runs >= 10, "{result:#}");
    let steps = result["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 6, "{result:#}");
    assert_eq!(steps[1]["name"], "fetch");
    assert_eq!(steps[1]["request"], "GET /things/{{id}}");
    assert_eq!(steps[0]["request"], "POST /things");
    let mut step_p50s = 0;
    for (index, step) in steps.iter().enumerate() {
        assert_eq!(step["step"], index);
        // Every passing run timed every step, in its own histogram.
        assert_eq!(step["count"].as_u64(), Some(runs), "{step:#}");
        assert!(!step["histogram"].as_str().unwrap().is_empty());
        step_p50s += step["latency_us"]["p50"].as_u64().unwrap();
    }
    // A run is its six steps: its median is not below half the sum of theirs.
    let whole = summary["latency_us"]["p50"].as_u64().unwrap();
    assert!(whole * 2 >= step_p50s, "{whole} vs {step_p50s}: {result:#}");
}

#[test]
fn bench_counts_a_failing_run_by_its_step_and_times_no_step_of_it() {
    let (code, result, stderr) = bench(&format!("{}/fetch_other", server()), &scenario());
    assert_eq!(code, Some(1), "{stderr}");
    let summary = &result["summary"];
    let runs = summary["operations"].as_u64().unwrap();
    assert!(
        runs >= 1 && summary["errors"].as_u64() == Some(runs),
        "{result:#}"
    );
    let kinds: Vec<&String> = result["errors_by_kind"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        kinds,
        ["/steps/1/body/id: differs from the value captured as id"],
        "{result:#}"
    );
    for step in result["steps"].as_array().unwrap() {
        assert_eq!(step["count"], 0, "{step:#}");
        assert_eq!(step["latency_us"], Value::Null);
    }
    // A step whose request cannot stay on the target fails the run where it stands.
    let (_, result, _) = bench(&format!("{}/off_target", server()), &follow());
    let kinds: Vec<&String> = result["errors_by_kind"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        kinds,
        ["/steps/1/request: the path after substitution does not start with /"],
        "{result:#}"
    );
}

#[test]
fn a_scenario_step_using_a_later_capture_is_refused_at_load() {
    let mut fixture = scenario();
    fixture["steps"][0]["request"]["headers"] = json!({"x-token": "{{token}}"});
    let (_dir, files) = write_fixtures(&[fixture]);
    let args = ["fixtures", "validate", &files[0].display().to_string()].map(String::from);
    let (output, _) = run_within(&args, Duration::from_secs(30));
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("/steps/0/request/headers/x-token"),
        "{stderr}"
    );
    assert!(
        stderr.contains("which no earlier step captures (step 2 does, later)"),
        "{stderr}"
    );
}

#[test]
fn a_captured_value_cannot_take_a_request_off_the_target() {
    let base = server();
    let follow = follow();
    assert_eq!(
        run(&format!("{base}/ok"), &follow)["outcome"],
        "failed",
        "the location is not under /ok"
    );
    let result = run(&format!("{base}/off_target"), &follow);
    assert_eq!(result["outcome"], "errored", "{result:#}");
    assert_eq!(result["error"]["at"], "/steps/1/request", "{result:#}");
    let reason = result["error"]["reason"].as_str().unwrap();
    assert!(reason.contains("does not start with /"), "{reason}");
}
