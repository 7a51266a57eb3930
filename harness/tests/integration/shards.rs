//! `bench --shard I/N --start-at TIME`: shards of one run, each a process, against one `serve`.

//! `merge`: their documents added into one run, equal to one histogram of every operation.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use serde_json::{Value, json};

use crate::common::{Served, bin, corpus_file, decode, text};

fn bench(url: &str, extra: &[&str]) -> Command {
    let hello = corpus_file("rest/bench/hello.json");
    let mut command = bin();
    command.args([
        "--url",
        url,
        "bench",
        "--fixture",
        hello.to_str().unwrap(),
        "--format",
        "json",
    ]);
    command.args(extra);
    command
}

fn document(out: &Output) -> Value {
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("a result document")
}

#[test]
fn shards_start_together_and_split_the_connections_and_the_schedule() {
    let served = Served::start(false);
    let start =
        humantime::format_rfc3339_millis(SystemTime::now() + Duration::from_secs(2)).to_string();
    let children: Vec<_> = (0..2)
        .map(|index| {
            let shard = format!("{index}/2");
            bench(
                &served.url,
                &[
                    "--connections",
                    "5",
                    "--rate",
                    "200",
                    "--duration",
                    "1s",
                    "--warmup",
                    "200ms",
                    "--shard",
                    &shard,
                    "--start-at",
                    &start,
                    "--run-id",
                    "r1",
                ],
            )
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    let docs: Vec<Value> = children
        .into_iter()
        .map(|c| document(&c.wait_with_output().unwrap()))
        .collect();
    for (index, doc) in docs.iter().enumerate() {
        assert_eq!(doc["shard"]["index"], index);
        assert_eq!(doc["shard"]["count"], 2);
        assert_eq!(doc["shard"]["run_id"], "r1");
        assert_eq!(doc["connections"], 5, "the whole run's");
        assert_eq!(doc["rate"], 200.0, "the whole run's");
        assert!(doc["summary"]["operations"].as_u64().unwrap() > 0, "{doc}");
    }
    // Connections 0, 2, 4 are shard 0's; 1, 3 shard 1's.
    assert_eq!(docs[0]["shard"]["connections"], 3);
    assert_eq!(docs[1]["shard"]["connections"], 2);
    // One start on the wall clock: the same measured window.
    assert_eq!(docs[0]["measured_from"], docs[1]["measured_from"]);
    // Together at most the operations one generator's schedule has in a second at 200/s.
    let total: u64 = docs
        .iter()
        .map(|d| d["summary"]["operations"].as_u64().unwrap())
        .sum();
    assert!(total <= 201, "{total}");
}

#[test]
fn a_shard_that_cannot_be_is_refused() {
    let served = Served::start(false);
    let refused = |extra: &[&str], said: &str| {
        let out = bench(&served.url, extra).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{extra:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(said),
            "{extra:?}: {}",
            text(&out.stderr)
        );
    };
    refused(
        &["--shard", "2/2", "--run-id", "x"],
        "numbered from 0 to N-1",
    );
    refused(&["--shard", "0/2"], "--shard needs --start-at");
    refused(&["--start-at", "tomorrow"], "a UTC time such as");
    refused(
        &[
            "--shard",
            "3/4",
            "--connections",
            "2",
            "--run-id",
            "x",
            "--duration",
            "1s",
        ],
        "has no connection of --connections 2",
    );
}

/// Runs `count` shards of one run (`--run-id run_id`) as processes started together, each
/// writing `dir/shard-I.json`; returns the files.
fn run_shards(url: &str, dir: &Path, count: usize, run_id: &str, load: &[&str]) -> Vec<PathBuf> {
    let start =
        humantime::format_rfc3339_millis(SystemTime::now() + Duration::from_secs(2)).to_string();
    let files: Vec<PathBuf> = (0..count)
        .map(|i| dir.join(format!("{run_id}-shard-{i}.json")))
        .collect();
    let children: Vec<_> = files
        .iter()
        .enumerate()
        .map(|(index, file)| {
            let shard = format!("{index}/{count}");
            let mut args = vec![
                "--shard",
                &shard,
                "--start-at",
                &start,
                "--run-id",
                run_id,
                "--output",
                file.to_str().unwrap(),
            ];
            args.extend_from_slice(load);
            bench(url, &args)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    files
}

fn merge(files: &[PathBuf]) -> Output {
    bin().arg("merge").args(files).output().unwrap()
}

fn read(file: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap()
}

fn histogram(doc: &Value, pointer: &str) -> Histogram<u64> {
    decode(doc.pointer(pointer).unwrap().as_str().unwrap())
}

/// A histogram of every value the shards recorded, value by value (not by adding histograms).
fn one_histogram_of(shards: &[Value], pointer: &str) -> Histogram<u64> {
    let mut one = Histogram::<u64>::new(3).unwrap();
    for shard in shards {
        for v in histogram(shard, pointer).iter_recorded() {
            one.record_n(v.value_iterated_to(), v.count_at_value())
                .unwrap();
        }
    }
    one
}

#[test]
fn merged_shards_are_one_generator_of_the_same_operations() {
    let served = Served::start(false);
    let dir = tempfile::tempdir().unwrap();
    let load = [
        "--connections",
        "6",
        "--rate",
        "600",
        "--duration",
        "1s",
        "--warmup",
        "200ms",
    ];
    let files = run_shards(&served.url, dir.path(), 3, "r1", &load);
    let out = merge(&files);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("merged 3 shards of run r1"),
        "{}",
        text(&out.stderr)
    );
    let merged: Value = serde_json::from_slice(&out.stdout).unwrap();
    let shards: Vec<Value> = files.iter().map(|f| read(f)).collect();

    let one = one_histogram_of(&shards, "/histogram");
    let got = histogram(&merged, "/histogram");
    assert!(!one.is_empty());
    assert_eq!(got.len(), one.len());
    assert_eq!((got.min(), got.max()), (one.min(), one.max()));
    for per_mille in 0..=1000 {
        let q = f64::from(per_mille) / 1000.0;
        assert_eq!(got.value_at_quantile(q), one.value_at_quantile(q), "q {q}");
    }
    let latency = &merged["summary"]["latency_us"];
    assert_eq!(latency["min"], one.min());
    assert_eq!(latency["p99"], one.value_at_quantile(0.99));
    assert_eq!(latency["p999"], one.value_at_quantile(0.999));
    assert_eq!(latency["max"], one.max());
    let sum = |pointer: &str| -> u64 {
        shards
            .iter()
            .map(|s| s.pointer(pointer).unwrap().as_u64().unwrap())
            .sum()
    };
    assert_eq!(merged["summary"]["operations"], sum("/summary/operations"));
    assert_eq!(merged["summary"]["errors"], sum("/summary/errors"));
    assert_eq!(merged["merged"]["run_id"], "r1");
    assert_eq!(merged["merged"]["shards"].as_array().unwrap().len(), 3);
    assert_eq!(merged["measured_from"], shards[0]["measured_from"]);
    assert!(merged.get("shard").is_none());
    // One schedule: together at most what one generator sends at 600/s in a second.
    assert!(sum("/summary/operations") <= 601);

    // `--output`, and `report` given the shards shows the merged run and each shard.
    let out_file = dir.path().join("run.json");
    let out = bin()
        .arg("merge")
        .args(&files)
        .arg("--output")
        .arg(&out_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    assert_eq!(read(&out_file)["histogram"], merged["histogram"]);
    let report = dir.path().join("report");
    let out = bin()
        .arg("report")
        .args(&files)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let summary = std::fs::read_to_string(report.join("summary.md")).unwrap();
    assert!(
        summary.contains("is 3 merged shards of run `r1`"),
        "{summary}"
    );
    assert!(summary.contains("| 2/3 |"), "{summary}");
    let page = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert!(page.contains("3 shards of run"));
}

#[test]
fn merge_refuses_what_is_not_one_run_naming_the_files() {
    let served = Served::start(false);
    let dir = tempfile::tempdir().unwrap();
    let load = [
        "--connections",
        "2",
        "--duration",
        "300ms",
        "--warmup",
        "0s",
    ];
    let files = run_shards(&served.url, dir.path(), 2, "r1", &load);
    let other = run_shards(&served.url, dir.path(), 2, "r2", &load);
    let edited = |name: &str, edit: &dyn Fn(&mut Value)| -> PathBuf {
        let mut doc = read(&files[1]);
        edit(&mut doc);
        let file = dir.path().join(name);
        std::fs::write(&file, doc.to_string()).unwrap();
        file
    };
    let whole = dir.path().join("whole.json");
    let out = bench(&served.url, &["--connections", "1", "--duration", "200ms"])
        .args(["--output", whole.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (f0, f1) = (files[0].display(), files[1].display());
    let cases: Vec<(Vec<PathBuf>, String)> = vec![
        (
            vec![files[0].clone()],
            format!("run r1 has 2 shards and shard 1/2 is missing (given: {f0} (0/2))"),
        ),
        (
            vec![files[0].clone(), files[1].clone(), files[1].clone()],
            format!("shard 1/2 of run r1 given twice: {f1} and {f1}"),
        ),
        (
            vec![files[0].clone(), other[1].clone()],
            format!(
                "{f0} and {} are not shards of one run: different run id (r1 and r2)",
                other[1].display()
            ),
        ),
        (
            vec![files[0].clone(), whole.clone()],
            format!("{}: not a shard", whole.display()),
        ),
        (
            vec![
                files[0].clone(),
                edited("rate.json", &|d| d["rate"] = json!(50.0)),
            ],
            "different rate (None and Some(50.0))".to_string(),
        ),
        (
            vec![
                files[0].clone(),
                edited("fixture.json", &|d| d["fixture"] = json!("other")),
            ],
            "different fixture (bench-hello and other)".to_string(),
        ),
        (
            vec![
                files[0].clone(),
                edited("late.json", &|d| {
                    d["measured_from"] = json!("2030-01-01T00:00:00.000Z")
                }),
            ],
            "in common of 0.300 s (at least 95% needed to be one run)".to_string(),
        ),
        (
            vec![
                files[0].clone(),
                edited("garbage.json", &|d| d["histogram"] = json!("HISTcAAAA")),
            ],
            "garbage.json: #/histogram: histogram refused".to_string(),
        ),
    ];
    for (given, said) in cases {
        let out = merge(&given);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{given:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(&said),
            "{given:?}: expected {said:?} in {}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty());
    }
    // `report` and `compare` refuse an incomplete run just the same.
    let out = bin()
        .args(["report", files[0].to_str().unwrap(), "--report"])
        .arg(dir.path().join("r"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("shard 1/2 is missing"));
}
