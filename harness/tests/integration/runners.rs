//! Runner supervision end to end: a fake runner (the outside Python server) that fails to start,
//! is never ready, crashes mid-run, ignores SIGTERM; and the harness leaves no process behind
//! when it is interrupted or killed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{bin, outside, text};

/// A runners folder holding one runner `fake` that runs the outside server with `env`.
fn fake_runner(env: &[(&str, &str)], extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let runner = dir.path().join("fake");
    std::fs::create_dir(&runner).unwrap();
    let env: Vec<String> = env.iter().map(|(k, v)| format!("{k} = {v:?}")).collect();
    let manifest = format!(
        "name = \"fake\"\nlanguage = \"python\"\nframework = \"http.server\"\nprotocols = [\"rest\", \"websocket\", \"sse\"]\n\
         setup = []\nstart = [\"python3\", {:?}]\nready = {{ http = \"/__ready\" }}\nstop_signal = \"SIGTERM\"\n{extra}\n\
         [env]\n{}\n",
        outside("server.py"),
        env.join("\n")
    );
    std::fs::write(runner.join("runner.toml"), manifest).unwrap();
    dir
}

/// Adds runner `name` to a folder made by [`fake_runner`]: the fake's manifest under that name,
/// with each `(from, to)` replaced in it.
fn add_variant(runners: &Path, name: &str, replacements: &[(&str, &str)]) {
    let dir = runners.join(name);
    std::fs::create_dir(&dir).unwrap();
    let mut manifest = std::fs::read_to_string(runners.join("fake/runner.toml"))
        .unwrap()
        .replace("name = \"fake\"", &format!("name = {name:?}"));
    for (from, to) in replacements {
        manifest = manifest.replace(from, to);
    }
    std::fs::write(dir.join("runner.toml"), manifest).unwrap();
}

fn run_with(runners: &Path, args: &[&str]) -> Output {
    bin()
        .arg("--runners-dir")
        .arg(runners)
        .args(args)
        .output()
        .unwrap()
}

fn alive(pid: i32) -> bool {
    // A zombie still has /proc/PID; its state is Z.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| !stat.split(") ").nth(1).unwrap_or("").starts_with('Z'))
        .unwrap_or(false)
}

fn wait_for_pid(file: &Path) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(pid) = std::fs::read_to_string(file)
            .ok()
            .and_then(|t| t.trim().parse().ok())
        {
            return pid;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the fake app never wrote {}", file.display());
}

fn wait_gone(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn a_fake_runner_passes_like_a_url_target() {
    let runners = fake_runner(&[], "");
    let out = run_with(
        runners.path(),
        &[
            "run",
            "--runner",
            "fake",
            "--fixtures",
            &outside("fixtures"),
            "--snapshots",
            "off",
        ],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("ok: 4 passed") && stdout.contains("against fake"),
        "{stdout}"
    );
}

#[test]
fn a_runner_that_fails_to_start_exits_3_with_its_output() {
    let runners = fake_runner(&[("MODE", "fail-start")], "");
    let out = run_with(
        runners.path(),
        &[
            "run",
            "--runner",
            "fake",
            "--fixtures",
            &outside("fixtures"),
        ],
    );
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("exited with exit status: 1 before it was ready"),
        "{stderr}"
    );
    assert!(
        stderr.contains("boom: this app refuses to start"),
        "{stderr}"
    );
}

#[test]
fn a_runner_never_ready_times_out() {
    let runners = fake_runner(&[("MODE", "never-ready")], "start_timeout = \"1s\"");
    let started = Instant::now();
    let out = run_with(
        runners.path(),
        &[
            "run",
            "--runner",
            "fake",
            "--fixtures",
            &outside("fixtures"),
        ],
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("not ready within 1s"),
        "{}",
        text(&out.stderr)
    );
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[test]
fn in_a_matrix_a_broken_runner_is_unavailable_and_the_others_run() {
    let runners = fake_runner(&[], "");
    add_variant(
        runners.path(),
        "broken",
        &[("[env]", "[env]\nMODE = \"fail-start\"")],
    );
    let report = tempfile::tempdir().unwrap();
    let out = run_with(
        runners.path(),
        &[
            "matrix",
            "--fixtures",
            &outside("fixtures"),
            "--snapshots",
            "off",
            "--report",
            report.path().to_str().unwrap(),
        ],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("broken: unavailable: runner broken could not be started: exited with"),
        "{stdout}"
    );
    assert!(
        stdout.contains("boom: this app refuses to start"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("fake") && l.contains("2/2") && l.contains("1/1")),
        "{stdout}"
    );
    // An independent XML parser reads the JUnit file: two suites, the broken runner's start as an error.
    let parsed = Command::new("python3")
        .arg("-c")
        .arg(
            "import sys, xml.etree.ElementTree as ET\n\
             root = ET.parse(sys.argv[1]).getroot()\n\
             for suite in root.findall('testsuite'):\n\
             \x20   cases = suite.findall('testcase')\n\
             \x20   print(suite.get('name'), len(cases), sum(1 for c in cases if c.find('error') is not None))",
        )
        .arg(report.path().join("junit.xml"))
        .output()
        .unwrap();
    assert_eq!(
        text(&parsed.stdout),
        "broken 1 1\nfake 4 0\n",
        "{}",
        text(&parsed.stderr)
    );
    let junit = std::fs::read_to_string(report.path().join("junit.xml")).unwrap();
    assert!(
        junit.contains("<testsuite name=\"broken\"") && junit.contains("<testsuite name=\"fake\""),
        "{junit}"
    );
    assert!(
        std::fs::read_to_string(report.path().join("summary.md"))
            .unwrap()
            .contains("| fake | python | http.server | 2/2 | 1/1 | 1/1 |")
    );
    // The page shows the runner that could not start, with its output.
    let page = std::fs::read_to_string(report.path().join("index.html")).unwrap();
    assert!(
        page.contains("<td class=\"bad\">unavailable</td>"),
        "{page}"
    );
    assert!(page.contains("boom: this app refuses to start"));
}

#[test]
fn a_crash_mid_run_errors_that_fixture_and_the_app_is_restarted() {
    let runners = fake_runner(&[], "");
    let out = run_with(
        runners.path(),
        &[
            "run",
            "--runner",
            "fake",
            "--jobs",
            "1",
            "--snapshots",
            "off",
            "--format",
            "json",
            "--fixture",
            &outside("broken/crash.json"),
            "--fixture",
            &outside("fixtures/greet.json"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["fixtures"][0]["name"], "outside-crash");
    assert_eq!(report["fixtures"][0]["outcome"], "errored");
    assert_eq!(report["fixtures"][1]["name"], "outside-greet");
    assert_eq!(
        report["fixtures"][1]["outcome"],
        "passed",
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("the app exited with exit status: 3"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_app_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let pidfile = tempfile::NamedTempFile::new().unwrap();
    let path = pidfile.path().display().to_string();
    let runners = fake_runner(&[("MODE", "ignore-term"), ("PIDFILE", &path)], "");
    let out = run_with(
        runners.path(),
        &[
            "run",
            "--runner",
            "fake",
            "--fixtures",
            &outside("fixtures"),
            "--snapshots",
            "off",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let pid = wait_for_pid(pidfile.path());
    assert!(!alive(pid), "the app outlived the harness");
    assert!(
        text(&out.stderr).contains("did not stop within"),
        "{}",
        text(&out.stderr)
    );
}

fn interrupted_harness_leaves_nothing(signal: i32, expected_code: Option<i32>) {
    let pidfile = tempfile::NamedTempFile::new().unwrap();
    let path: PathBuf = pidfile.path().to_path_buf();
    std::fs::write(&path, "").unwrap();
    let runners = fake_runner(&[("PIDFILE", &path.display().to_string())], "");
    let mut harness = bin()
        .arg("--runners-dir")
        .arg(runners.path())
        .args([
            "run",
            "--runner",
            "fake",
            "--timeout",
            "30s",
            "--snapshots",
            "off",
            "--fixture",
            &outside("broken/hang.json"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = wait_for_pid(&path);
    assert!(alive(pid));
    std::thread::sleep(Duration::from_millis(300)); // the replay of /hang is under way
    // SAFETY: signalling our own child.
    unsafe { libc::kill(harness.id() as i32, signal) };
    let status = harness.wait().unwrap();
    assert_eq!(status.code(), expected_code);
    assert!(wait_gone(pid), "the app (pid {pid}) outlived the harness");
}

#[test]
fn sigint_to_the_harness_leaves_no_process_behind() {
    interrupted_harness_leaves_nothing(libc::SIGINT, Some(130));
}

#[test]
fn sigterm_to_the_harness_leaves_no_process_behind() {
    interrupted_harness_leaves_nothing(libc::SIGTERM, Some(143));
}

#[test]
fn sigkill_to_the_harness_leaves_no_process_behind() {
    // No handler runs: the parent-death signal does the work.
    interrupted_harness_leaves_nothing(libc::SIGKILL, None);
}

#[test]
fn matrix_results_from_two_machines_merge_into_one_table() {
    let first = fake_runner(&[], "");
    let second = fake_runner(&[], "");
    let manifest = std::fs::read_to_string(second.path().join("fake/runner.toml")).unwrap();
    std::fs::write(
        second.path().join("fake/runner.toml"),
        manifest.replace("name = \"fake\"", "name = \"other\""),
    )
    .unwrap();
    let results = tempfile::tempdir().unwrap();
    for (runners, file) in [(first.path(), "a.json"), (second.path(), "b.json")] {
        let out = run_with(
            runners,
            &[
                "matrix",
                "--fixtures",
                &outside("fixtures"),
                "--snapshots",
                "off",
                "--format",
                "json",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        std::fs::write(results.path().join(file), &out.stdout).unwrap();
    }
    let a = results.path().join("a.json").display().to_string();
    let b = results.path().join("b.json").display().to_string();
    let out = bin().args(["matrix", "--merge", &a, &b]).output().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.lines().any(|l| l.starts_with("fake ")), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("other ")), "{stdout}");
    assert!(stdout.contains("ok: 8 passed"), "{stdout}");

    let out = bin().args(["matrix", "--merge", &a, &a]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("runner fake appears in more than one result"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn matrix_over_tls_starts_runners_that_declare_it_with_a_certificate_made_for_the_run() {
    let runners = fake_runner(&[], "capabilities = [\"tls\"]");
    add_variant(runners.path(), "plain", &[("capabilities = [\"tls\"]", "")]);
    let out = run_with(
        runners.path(),
        &[
            "matrix",
            "--tls",
            "--fixtures",
            &outside("fixtures"),
            "--snapshots",
            "off",
            "--format",
            "json",
        ],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let runner = |name: &str| {
        doc["runners"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["runner"] == name)
            .unwrap()
            .clone()
    };
    let fake = runner("fake");
    assert_eq!(fake["status"], "ran");
    assert!(
        fake["target"]["url"]
            .as_str()
            .unwrap()
            .starts_with("https://127.0.0.1:"),
        "{fake}"
    );
    assert_eq!(fake["summary"]["passed"], 4, "{fake}");
    let plain = runner("plain");
    assert_eq!(plain["status"], "not_declared");
    assert!(
        plain["error"]
            .as_str()
            .unwrap()
            .contains("`tls` capability"),
        "{plain}"
    );
    assert!(
        text(&out.stderr)
            .contains("[plain] not run: its runner.toml does not declare the `tls` capability"),
        "{}",
        text(&out.stderr)
    );
}
