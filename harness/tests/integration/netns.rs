//! Shards as separate hosts on the wire: the server in one network namespace, each generator
//! in its own, each joined to the server's bridge by its own veth pair (the project's own test
//! hosts, made with iproute2; needs root). The shards start together, `merge` adds them, and
//! each generator's traffic is seen on its own link.
//!
//! Set BENCHMARK_HARNESS_SKIP_NETNS=1 to skip it where network namespaces cannot be made (not
//! root, no iproute2); otherwise such a machine fails it, saying why.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::common::{bin, corpus_file, text};

const SUBNET: &str = "10.201.0";

/// Runs `ip ARGS`, which must succeed.
fn ip(args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("ip (iproute2)");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// The test hosts: a server namespace with a bridge, and one namespace per generator, each with
/// a veth pair to the bridge. Dropped: the namespaces are deleted (their links with them).
struct Hosts {
    server: String,
    generators: Vec<String>,
    /// The server side of each generator's link.
    links: Vec<String>,
}

impl Hosts {
    fn new(generators: usize) -> Hosts {
        let tag = std::process::id() % 100_000;
        let server = format!("bh{tag}s");
        let mut hosts = Hosts {
            server: server.clone(),
            generators: Vec::new(),
            links: Vec::new(),
        };
        ip(&["netns", "add", &server]);
        let inside = |ns: &str, args: &[&str]| {
            let mut all = vec!["-n", ns];
            all.extend_from_slice(args);
            ip(&all);
        };
        inside(&server, &["link", "set", "lo", "up"]);
        inside(&server, &["link", "add", "br0", "type", "bridge"]);
        inside(
            &server,
            &["addr", "add", &format!("{SUBNET}.1/24"), "dev", "br0"],
        );
        inside(&server, &["link", "set", "br0", "up"]);
        for i in 0..generators {
            let name = format!("bh{tag}g{i}");
            ip(&["netns", "add", &name]);
            hosts.generators.push(name.clone());
            let (host_end, bridge_end) = (format!("bh{tag}h{i}"), format!("bh{tag}b{i}"));
            ip(&[
                "link",
                "add",
                &host_end,
                "type",
                "veth",
                "peer",
                "name",
                &bridge_end,
            ]);
            ip(&["link", "set", &host_end, "netns", &name]);
            ip(&["link", "set", &bridge_end, "netns", &server]);
            inside(&server, &["link", "set", &bridge_end, "master", "br0"]);
            inside(&server, &["link", "set", &bridge_end, "up"]);
            let address = format!("{SUBNET}.{}/24", i + 2);
            inside(&name, &["link", "set", "lo", "up"]);
            inside(&name, &["addr", "add", &address, "dev", &host_end]);
            inside(&name, &["link", "set", &host_end, "up"]);
            hosts.links.push(bridge_end);
        }
        hosts
    }

    /// The harness binary, run inside namespace `ns`.
    fn harness_in(&self, ns: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", ns]).arg(bin().get_program());
        command
    }

    /// Bytes received by the server on link `i` (generator `i`'s traffic).
    fn received_on(&self, i: usize) -> u64 {
        let json = ip(&[
            "-n",
            &self.server,
            "-s",
            "-j",
            "link",
            "show",
            &self.links[i],
        ]);
        let links: Value = serde_json::from_str(&json).expect("ip -j");
        links[0]["stats64"]["rx"]["bytes"]
            .as_u64()
            .expect("rx bytes")
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for ns in self.generators.iter().chain([&self.server]) {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// A child killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn shards_on_separate_hosts_merge_into_one_run() {
    if std::env::var_os("BENCHMARK_HARNESS_SKIP_NETNS").is_some() {
        eprintln!("skipped: BENCHMARK_HARNESS_SKIP_NETNS is set");
        return;
    }
    // SAFETY: geteuid only reads the process's credentials.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(
        root,
        "network namespaces need root (or set BENCHMARK_HARNESS_SKIP_NETNS=1)"
    );
    let hosts = Hosts::new(2);
    let mut server = Killed(
        hosts
            .harness_in(&hosts.server)
            .args(["serve", "--port", "0", "--bind", &format!("{SUBNET}.1")])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut url = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let url = url.trim().to_string();
    assert!(url.starts_with(&format!("http://{SUBNET}.1:")), "{url:?}");

    // Not loopback: from a generator's host, the server is only on the wire.
    let port = url.rsplit(':').next().unwrap();
    let hello = corpus_file("rest/bench/hello.json");
    let local = hosts
        .harness_in(&hosts.generators[0])
        .args(["--url", &format!("http://127.0.0.1:{port}"), "run"])
        .arg("--fixture")
        .arg(&hello)
        .output()
        .unwrap();
    assert_ne!(
        local.status.code(),
        Some(0),
        "the server answered on loopback"
    );

    let dir = tempfile::tempdir().unwrap();
    let start =
        humantime::format_rfc3339_millis(SystemTime::now() + Duration::from_secs(2)).to_string();
    let before: Vec<u64> = (0..2).map(|i| hosts.received_on(i)).collect();
    let files: Vec<_> = (0..2)
        .map(|i| dir.path().join(format!("shard-{i}.json")))
        .collect();
    let shards: Vec<Child> = (0..2)
        .map(|i| {
            hosts
                .harness_in(&hosts.generators[i])
                .args(["--url", &url, "bench", "--fixture"])
                .arg(&hello)
                .args(["--connections", "4", "--rate", "400", "--duration", "1s"])
                .args(["--warmup", "200ms", "--shard", &format!("{i}/2")])
                .args(["--start-at", &start, "--run-id", "netns", "--output"])
                .arg(&files[i])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for shard in shards {
        let out = shard.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let out = bin().arg("merge").args(&files).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let merged: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(merged["summary"]["errors"], 0, "{merged}");
    let operations = merged["summary"]["operations"].as_u64().unwrap();
    assert!((300..=401).contains(&operations), "{operations}");
    for i in 0..2 {
        let shard = &merged["merged"]["shards"][i];
        assert!(
            shard["summary"]["operations"].as_u64().unwrap() > 100,
            "{shard}"
        );
        // Each generator's requests crossed its own link: 200 requests of ~100 bytes at least.
        let received = hosts.received_on(i) - before[i];
        assert!(received > 20_000, "link {i}: {received} bytes");
    }
}
