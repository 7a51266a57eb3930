//! End-to-end tests of `bench` and `stream`: the binary loads the canonical benchmark fixtures
//! on the embedded reference (loopback only, 1 s each, no warmup), closed and open loop, and the
//! result document must hold operations, no errors and a histogram that decodes to its summary.
//! No assertion is about speed: the machine is shared.

use std::process::Output;

use serde_json::Value;

use crate::common::{bin, decode, repo, text};

fn fixture(relative: &str) -> String {
    repo()
        .join("fixtures")
        .join(relative)
        .to_string_lossy()
        .into_owned()
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

/// Runs a load command for 1 s and returns its result document after the common checks.
fn load(command: &str, relative: &str, extra: &[&str]) -> Value {
    let path = fixture(relative);
    let mut args = vec![
        command,
        "--fixture",
        &path,
        "--duration",
        "1s",
        "--warmup",
        "0s",
        "--connections",
        "4",
    ];
    args.extend_from_slice(extra);
    let out = run(&args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");
    let result: Value = serde_json::from_slice(&out.stdout).expect("a JSON document on stdout");
    let summary = &result["summary"];
    assert!(summary["operations"].as_u64().unwrap() > 0, "{result}");
    assert_eq!(summary["errors"], 0, "{result}");
    assert_eq!(result["connections"], 4);
    assert_eq!(result["duration_s"], 1.0);
    let histogram = decode(result["histogram"].as_str().unwrap());
    assert!(!histogram.is_empty());
    assert_eq!(
        histogram.value_at_quantile(0.99),
        summary["latency_us"]["p99"].as_u64().unwrap()
    );
    assert_eq!(
        histogram.max(),
        summary["latency_us"]["max"].as_u64().unwrap()
    );
    assert!(stderr.contains("0 errors"), "{stderr}");
    // The harness's own peak memory is reported (Linux).
    assert!(
        result["harness_peak_rss_bytes"].as_u64().unwrap() > 1 << 20,
        "{result}"
    );
    assert!(stderr.contains("harness     peak rss"), "{stderr}");
    result
}

#[test]
fn bench_closed_loop_on_hello() {
    let result = load("bench", "rest/bench/hello.json", &[]);
    assert_eq!(result["protocol"], "rest");
    assert_eq!(result["mode"], "closed");
    assert_eq!(result["rate"], Value::Null);
    assert_eq!(result["target"]["kind"], "embedded");
    assert!(result.get("schedule_lag_us").is_none());
}

#[test]
fn bench_open_loop_on_hello_reports_schedule_lag() {
    let result = load("bench", "rest/bench/hello.json", &["--rate", "400"]);
    assert_eq!(result["mode"], "open");
    assert_eq!(result["rate"], 400.0);
    let lag = &result["schedule_lag_us"];
    assert!(lag["max"].is_u64() && lag["final"].is_u64(), "{result}");
    assert!(lag["unsent_operations"].is_u64(), "{result}");
    assert_eq!(result["timer_slack_us"], 100, "{result}");
    // The pacer's measured wake-up lateness: every measured operation slept for is in it.
    let lateness = &result["timer_lateness"];
    assert!(
        lateness["count"].as_u64().is_some_and(|n| n > 0),
        "{result}"
    );
    assert!(lateness["latency_us"]["p99"].is_u64(), "{result}");
}

#[test]
fn stream_websocket_echo_closed_and_open_loop() {
    let closed = load("stream", "websocket/bench/echo.json", &["--ramp", "200ms"]);
    assert_eq!(closed["protocol"], "websocket");
    assert_eq!(closed["connect"]["count"], 4);
    assert_eq!(
        decode(closed["connect"]["histogram"].as_str().unwrap()).len(),
        4
    );

    let open = load("stream", "websocket/bench/echo.json", &["--rate", "400"]);
    assert_eq!(open["mode"], "open");
    assert!(open["schedule_lag_us"]["max"].is_u64());
}

#[test]
fn stream_sse_counts_events_with_first_event_and_gaps() {
    let result = load("stream", "sse/bench/stream.json", &[]);
    assert_eq!(result["protocol"], "sse");
    assert!(
        result["first_event"]["count"].as_u64().unwrap() >= 4,
        "{result}"
    );
    assert!(
        result["event_gap"]["count"].as_u64().unwrap() > 0,
        "{result}"
    );
    assert!(result.get("connect").is_none());
    assert!(result.get("runner_resources").is_none());
}

#[test]
fn a_wrong_expectation_counts_errors_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let mut value: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("rest/bench/hello.json")).unwrap())
            .unwrap();
    value["expected"]["status"] = 201.into();
    let path = dir.path().join("hello-201.json");
    std::fs::write(&path, value.to_string()).unwrap();
    let output = dir.path().join("result.json");
    let hlog = dir.path().join("result.hlog");
    let out = run(&[
        "bench",
        "--fixture",
        path.to_str().unwrap(),
        "--duration",
        "1s",
        "--warmup",
        "0s",
        "--connections",
        "2",
        "--output",
        output.to_str().unwrap(),
        "--hlog",
        hlog.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty(), "the document goes to --output");
    assert!(
        stderr.contains("error: /status: different status, got 200 x"),
        "{stderr}"
    );
    let result: Value = serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
    let errors = result["summary"]["errors"].as_u64().unwrap();
    assert!(errors > 0);
    assert_eq!(
        result["errors_by_kind"]["/status: different status, got 200"].as_u64(),
        Some(errors)
    );
    // Nothing succeeded: no throughput, no latency figures, no interval in the log (failures
    // are not latency), the failures' own latency apart.
    assert_eq!(result["summary"]["throughput_per_s"], 0.0, "{result}");
    assert!(result["summary"]["failed_per_s"].as_f64().unwrap() > 0.0);
    assert_eq!(result["summary"]["latency_us"], Value::Null, "{result}");
    assert_eq!(result["failed_latency"]["count"].as_u64(), Some(errors));
    assert!(stderr.contains("no successful operation"), "{stderr}");
    let log = std::fs::read_to_string(&hlog).unwrap();
    assert!(log.contains("#[BaseTime: "), "{log}");
    assert!(!log.lines().any(|l| l.starts_with("0.000,1.000,")), "{log}");
}

#[test]
fn bad_input_is_a_usage_error_and_a_dead_target_exit_3() {
    let hello = fixture("rest/bench/hello.json");
    let stream = fixture("sse/bench/stream.json");
    for args in [
        vec!["bench", "--fixture", stream.as_str(), "--duration", "1s"],
        vec!["stream", "--fixture", hello.as_str(), "--duration", "1s"],
        vec!["bench", "--fixture", hello.as_str(), "--connections", "0"],
        vec!["bench", "--fixture", hello.as_str(), "--rate", "0"],
        vec!["stream", "--fixture", stream.as_str(), "--rate", "10"],
    ] {
        let out = run(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    // Port 1 on loopback: nobody listens.
    let out = run(&[
        "bench",
        "--url",
        "http://127.0.0.1:1",
        "--fixture",
        &hello,
        "--duration",
        "1s",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
}

/// Runs `stream` on a broadcast fixture for 1 s without warmup; the exit code and the document.
fn broadcast(path: &str, extra: &[&str]) -> (Option<i32>, Value, String) {
    let mut args = vec![
        "stream",
        "--fixture",
        path,
        "--duration",
        "1s",
        "--warmup",
        "0s",
    ];
    args.extend_from_slice(extra);
    let out = run(&args);
    let stderr = text(&out.stderr);
    let result = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("a JSON document on stdout ({e}); stderr:\n{stderr}"));
    (out.status.code(), result, stderr)
}

#[test]
fn stream_broadcast_measures_publish_to_delivery_latency() {
    let path = fixture("broadcast/bench/fanout.json");
    let (code, result, stderr) = broadcast(
        &path,
        &["--connections", "20", "--rate", "200", "--ramp", "100ms"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(result["protocol"], "broadcast");
    assert_eq!(result["mode"], "open");
    assert_eq!(result["rate"], 200.0);
    let b = &result["broadcast"];
    assert_eq!(b["subscribers"]["websocket"], 10, "{result}");
    assert_eq!(b["subscribers"]["sse"], 10, "{result}");
    let published = b["published"].as_u64().unwrap();
    // The schedule's 200 messages in 1 s, give or take the publisher's last slot.
    assert!((190..=201).contains(&published), "{result}");
    assert_eq!(b["deliveries_expected"].as_u64(), Some(published * 20));
    assert_eq!(b["deliveries"], b["deliveries_expected"], "{result}");
    assert_eq!(b["not_delivered"], 0, "{result}");
    assert!(
        b["publish_latency_us"]["p50"].as_u64().unwrap() > 0,
        "{result}"
    );
    let summary = &result["summary"];
    assert_eq!(summary["errors"], 0, "{result}");
    assert_eq!(summary["operations"], b["deliveries"], "{result}");
    assert_eq!(
        summary["throughput_per_s"].as_f64().unwrap(),
        (published * 20) as f64
    );
    let histogram = decode(result["histogram"].as_str().unwrap());
    assert_eq!(histogram.len(), published * 20);
    assert_eq!(
        histogram.value_at_quantile(0.99),
        summary["latency_us"]["p99"].as_u64().unwrap()
    );
    assert_eq!(result["connect"]["count"], 20, "{result}");
    assert!(stderr.contains("deliveries"), "{stderr}");
    assert!(stderr.contains("0 not delivered"), "{stderr}");
}

#[test]
fn a_wrong_broadcast_delivery_counts_errors_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let mut value: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("broadcast/bench/fanout.json")).unwrap(),
    )
    .unwrap();
    value["expected"]["delivery"] = serde_json::json!({"json": {"payload": "tock"}});
    let path = dir.path().join("fanout-tock.json");
    std::fs::write(&path, value.to_string()).unwrap();
    // No --rate: broadcast publishes at 100/s by default.
    let (code, result, stderr) = broadcast(path.to_str().unwrap(), &["--connections", "4"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(result["rate"], 100.0, "{result}");
    let errors = result["summary"]["errors"].as_u64().unwrap();
    assert!(errors > 0, "{result}");
    // Worded as `run` words it, per subscriber of the fixture (0: WebSocket, 1: SSE).
    let kinds = result["errors_by_kind"].as_object().unwrap();
    let by = |subscriber: usize| {
        let key = format!("/subscribers/{subscriber}/delivery/json/payload: different string");
        kinds.get(&key).and_then(Value::as_u64).unwrap_or(0)
    };
    assert!(by(0) > 0 && by(1) > 0, "{result}");
    assert_eq!(by(0) + by(1), errors, "{result}");
    assert_eq!(result["broadcast"]["not_delivered"], 0, "{result}");
}
