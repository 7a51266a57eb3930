//! `bench` and `stream` over TLS, end to end: the reference server serves https with a CA of its
//! own (`serve --tls-self-signed`), the binary loads REST, WebSocket (wss), SSE and broadcast
//! fixtures on it trusting that CA (`--cacert`) or any certificate (`--insecure`), and every
//! reply is checked as over plain HTTP; a certificate not trusted is unreachable (exit 3) in
//! words before any load.

use std::time::Duration;

use serde_json::Value;

use crate::common::{Served, corpus_file, run_within, text};

/// `COMMAND --url URL --fixture F` for 1 s on 4 connections with `extra` flags: exit code,
/// the result document (`Null` when there is none) and stderr.
fn load(command: &str, url: &str, fixture: &str, extra: &[&str]) -> (Option<i32>, Value, String) {
    let path = corpus_file(fixture).display().to_string();
    let mut args = vec![
        command,
        "--url",
        url,
        "--fixture",
        &path,
        "--duration",
        "1s",
        "--warmup",
        "0s",
        "--connections",
        "4",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let (out, _) = run_within(&args, Duration::from_secs(60));
    let document = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), document, text(&out.stderr))
}

/// Asserts a run that passed: exit 0, operations and no error.
fn assert_loaded((code, document, stderr): &(Option<i32>, Value, String)) {
    assert_eq!(*code, Some(0), "{stderr}");
    let summary = &document["summary"];
    assert!(summary["operations"].as_u64().unwrap() > 0, "{document}");
    assert_eq!(summary["errors"], 0, "{document}");
    assert!(
        document["target"]["url"]
            .as_str()
            .unwrap()
            .starts_with("https://"),
        "{document}"
    );
}

#[test]
fn bench_and_stream_load_https_and_wss_with_the_ca_trusted() {
    let served = Served::start(true);
    let ca = served.ca();
    let cacert = ["--cacert", ca.as_str()];
    let url = served.url.as_str();
    assert_loaded(&load("bench", url, "rest/bench/hello.json", &cacert));
    assert_loaded(&load(
        "bench",
        url,
        "rest/bench/hello.json",
        &[&cacert[..], &["--rate", "200"]].concat(),
    ));
    assert_loaded(&load("stream", url, "websocket/bench/echo.json", &cacert));
    assert_loaded(&load("stream", url, "sse/bench/stream.json", &cacert));
    let broadcast = load("stream", url, "broadcast/bench/fanout.json", &cacert);
    assert_loaded(&broadcast);
    assert!(broadcast.1["broadcast"]["deliveries"].as_u64().unwrap() > 0);
    // By name: the certificate is for localhost too.
    let by_name = url.replace("127.0.0.1", "localhost");
    assert_loaded(&load("bench", &by_name, "rest/bench/hello.json", &cacert));
}

#[test]
fn insecure_loads_an_untrusted_certificate_and_without_it_load_is_unreachable() {
    let served = Served::start(true);
    let url = served.url.as_str();
    let insecure = load("bench", url, "rest/bench/hello.json", &["--insecure"]);
    assert_loaded(&insecure);
    assert_eq!(
        insecure.2.matches("--insecure").count(),
        1,
        "{}",
        insecure.2
    );
    let (code, document, stderr) = load("stream", url, "websocket/bench/echo.json", &[]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("issuer is unknown"), "{stderr}");
    assert_eq!(document, Value::Null);
}
