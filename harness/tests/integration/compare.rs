//! `compare` end to end: real result documents of `run` and `bench`, and crafted load documents
//! whose verdict is known.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{bin, corpus_json, repo, text};

fn hello() -> PathBuf {
    repo().join("fixtures/rest/bench/hello.json")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

fn compare(baseline: &[&str], candidate: &[&str], extra: &[&str]) -> Output {
    let mut command = bin();
    command
        .arg("compare")
        .arg("--baseline")
        .args(baseline)
        .arg("--candidate")
        .args(candidate)
        .args(extra);
    command.output().unwrap()
}

#[test]
fn a_fixture_that_stops_passing_is_a_regression() {
    let dir = tempfile::tempdir().unwrap();
    let good = bin()
        .args(["run", "--snapshots", "off", "--format", "json", "--fixture"])
        .arg(hello())
        .output()
        .unwrap();
    let mut fixture = corpus_json("rest/bench/hello.json");
    fixture["expected"]["status"] = 201.into();
    let mutated = write(dir.path(), "hello.json", fixture.to_string().as_bytes());
    let bad = bin()
        .args([
            "run",
            "--snapshots",
            "off",
            "--format",
            "json",
            "--fixture",
            &mutated,
        ])
        .output()
        .unwrap();
    let (a, b) = (
        write(dir.path(), "a.json", &good.stdout),
        write(dir.path(), "b.json", &bad.stdout),
    );

    let out = compare(&[&a], &[&b], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("rust-axum / bench-hello: passed -> failed  REGRESSED"),
        "{stdout}"
    );

    let out = compare(&[&b], &[&a], &["--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["behaviour"][0]["kind"], "fixed");
    assert_eq!(json["regressions"], 0);
}

#[test]
fn a_real_bench_result_against_itself_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let result = dir.path().join("r.json");
    let out = bin()
        .args([
            "bench",
            "--duration",
            "1s",
            "--warmup",
            "0s",
            "--connections",
            "4",
            "--fixture",
        ])
        .arg(hello())
        .arg("--output")
        .arg(&result)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r = result.display().to_string();
    let out = compare(&[&r], &[&r], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("bench-hello @ rust-axum: throughput") && stdout.contains("unchanged"),
        "{stdout}"
    );
}

fn load_doc(throughput: f64, p99: f64) -> Vec<u8> {
    serde_json::json!({
        "fixture": "bench-hello", "protocol": "rest", "target": {"name": "go-nethttp", "kind": "runner", "url": ""},
        "summary": {"operations": 1000, "errors": 0, "throughput_per_s": throughput,
                    "latency_us": {"min": 10, "p50": p99 / 2.0, "p90": p99, "p99": p99, "p999": p99, "max": p99, "mean": p99 / 2.0}}
    })
    .to_string()
    .into_bytes()
}

#[test]
fn slower_load_fails_and_noisy_runs_are_called_noise() {
    let dir = tempfile::tempdir().unwrap();
    let base = write(dir.path(), "base.json", &load_doc(10_000.0, 900.0));
    let slower = write(dir.path(), "slower.json", &load_doc(9_000.0, 900.0));
    let out = compare(&[&base], &[&slower], &["--threshold", "5%"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("(-10.0%)") && stdout.contains("REGRESSION"),
        "{stdout}"
    );
    // Within a 15% threshold the same change passes.
    assert_eq!(
        compare(&[&base], &[&slower], &["--threshold", "15%"])
            .status
            .code(),
        Some(0)
    );

    // A folder of noisy baseline runs: the same 10% drop is within their spread.
    let runs = dir.path().join("runs");
    std::fs::create_dir(&runs).unwrap();
    for (i, t) in [9_000.0, 12_000.0, 10_000.0].iter().enumerate() {
        write(&runs, &format!("{i}.json"), &load_doc(*t, 900.0));
    }
    let out = compare(&[runs.to_str().unwrap()], &[&slower], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("within noise") && stdout.contains("runs 3/1"),
        "{stdout}"
    );
}

#[test]
fn a_file_that_is_no_result_document_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let junk = write(dir.path(), "junk.json", b"{\"hello\": 1}");
    let out = compare(&[&junk], &[&junk], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("junk.json: not a result document"),
        "{}",
        text(&out.stderr)
    );
}
