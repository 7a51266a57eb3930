//! `bench --shard I/N --start-at TIME`: shards of one run, each a process, against one `serve`.

use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::common::{Served, bin, corpus_file, text};

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
