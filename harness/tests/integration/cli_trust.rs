//! The rough edges a new user hits on the command line (issue 10), each checked on the real
//! binary: completions and man page, target flags refused where they mean nothing, the output
//! flag family, messages that name the path, quiet output, the snapshot summary, the
//! `User-Agent` seen by a real loopback server, and per-protocol target URLs.

use std::path::Path;
use std::process::Output;

use crate::common::{bin, corpus_file, repo, text};

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

/// Runs the binary, killed after `secs` seconds (a command that ignored a refused flag and
/// went on serving fails the test instead of hanging it).
fn run_within(args: &[&str], secs: u64) -> Output {
    crate::common::run_within(args, std::time::Duration::from_secs(secs)).0
}

fn corpus(relative: &str) -> String {
    corpus_file(relative).display().to_string()
}

fn stderr(out: &Output) -> String {
    text(&out.stderr)
}

fn stdout(out: &Output) -> String {
    text(&out.stdout)
}

#[test]
fn completions_for_bash_name_the_subcommands() {
    let out = run(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let script = stdout(&out);
    for word in [
        "benchmark-harness",
        "run",
        "matrix",
        "bench",
        "stream",
        "--fixtures",
    ] {
        assert!(
            script.contains(word),
            "no {word:?} in the bash completion script"
        );
    }
    for shell in ["zsh", "fish"] {
        let out = run(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        assert!(!out.stdout.is_empty(), "{shell}: empty script");
    }
    assert_eq!(run(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn the_man_page_is_roff_on_stdout_or_one_page_per_command_in_a_folder() {
    let out = run(&["man"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let page = stdout(&out);
    assert!(page.contains(".TH benchmark-harness 1"), "{page}");
    assert!(page.contains(".SH NAME"), "{page}");
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    let out = run(&["man", "--out", pages.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for name in [
        "benchmark-harness.1",
        "benchmark-harness-run.1",
        "benchmark-harness-fixtures-validate.1",
    ] {
        assert!(pages.join(name).is_file(), "no {name}");
    }
    assert!(stderr(&out).contains(&pages.display().to_string()));
}

#[test]
fn target_flags_are_refused_by_commands_that_do_not_use_them() {
    for args in [
        &["serve", "--runner", "go-nethttp", "--port", "0"][..],
        &["--runner", "go-nethttp", "serve", "--port", "0"],
        &["serve", "--target-name", "x", "--port", "0"],
        &["fixtures", "validate", "--url", "http://127.0.0.1:1"],
        &["--url", "http://127.0.0.1:1", "fixtures", "list"],
        &["runners", "list", "--url", "http://127.0.0.1:1"],
        &["matrix", "--runner", "go-nethttp"],
        &["completions", "bash", "--target-name", "x"],
        &[
            "bench",
            "--url",
            "http://127.0.0.1:1",
            "--ws-url",
            "http://127.0.0.1:2",
            "--fixture",
            "x.json",
        ],
    ] {
        let out = run_within(args, 20);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let message = stderr(&out);
        assert!(message.contains("does not use --"), "{args:?}: {message}");
        assert!(out.stdout.is_empty(), "{args:?} printed {}", stdout(&out));
    }
    // `serve --runner` names what serve does and what it takes.
    let out = run_within(&["serve", "--runner", "go-nethttp", "--port", "0"], 20);
    assert!(
        stderr(&out).contains("`serve` does not use --runner (it serves the reference server)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn target_flags_still_go_before_or_after_run() {
    let missing = "http://127.0.0.1:9/";
    for args in [
        vec!["--url", missing, "run", "--fixture"],
        vec!["run", "--url", missing, "--fixture"],
    ] {
        let mut args = args;
        let hello = corpus("rest/bench/hello.json");
        args.push(&hello);
        let out = run(&args);
        // Refused flags exit 2; these reach the (absent) target: exit 3.
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn folders_are_written_with_report_and_out_is_its_alias_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let hello = corpus("rest/bench/hello.json");
    // run: `--report DIR` and its alias `--out DIR`; the folder is named on stderr.
    for flag in ["--report", "--out"] {
        let folder = dir.path().join(format!("run{flag}"));
        let out = run(&[
            "run",
            "--fixture",
            &hello,
            "--snapshots",
            "off",
            flag,
            folder.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(folder.join("run.json").is_file(), "{flag}");
        assert!(
            stderr(&out).contains(&format!("report: {}", folder.display())),
            "{flag}: {}",
            stderr(&out)
        );
    }
    // report: `--report DIR` is the new name, `--out DIR` still works.
    let input = dir.path().join("run--report").join("run.json");
    for flag in ["--report", "--out"] {
        let folder = dir.path().join(format!("report{flag}"));
        let out = run(&[
            "report",
            input.to_str().unwrap(),
            flag,
            folder.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{flag}: {}", stderr(&out));
        assert!(folder.join("report.json").is_file(), "{flag}");
    }
}

/// Writes `files` (relative path, JSON) under a new temporary folder.
fn folder_with(files: &[(&str, &serde_json::Value)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (relative, value) in files {
        let path = dir.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(value).unwrap()).unwrap();
    }
    dir
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn a_fixture_file_given_as_fixtures_dir_is_not_called_missing() {
    let hello = corpus("rest/bench/hello.json");
    let out = run(&["run", "--fixtures", &hello]);
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    assert!(!message.contains("does not exist"), "{message}");
    assert!(
        message.contains(&format!(
            "--fixtures {hello}: not a directory (for one fixture file use --fixture {hello})"
        )),
        "{message}"
    );
}

#[test]
fn an_empty_fixtures_folder_is_named_by_run_list_and_validate() {
    let empty = tempfile::tempdir().unwrap();
    let dir = path_str(empty.path());
    for args in [
        vec!["run", "--fixtures", dir],
        vec!["fixtures", "list", "--fixtures", dir],
        vec!["fixtures", "validate", dir],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stdout(&out));
        let message = stderr(&out);
        assert!(
            message.contains(&format!("no fixtures in {dir} (fixtures are *.json files)")),
            "{args:?}: {message}"
        );
    }
}

#[test]
fn a_missing_fixture_file_is_named_without_an_empty_pointer() {
    let dir = tempfile::tempdir().unwrap();
    let nope = dir.path().join("nope.json");
    for args in [
        vec!["run", "--fixture", path_str(&nope)],
        vec!["fixtures", "validate", path_str(&nope)],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2));
        let message = stderr(&out);
        assert!(
            message.contains(&format!("{}: no such file or directory", nope.display())),
            "{args:?}: {message}"
        );
        assert!(!message.contains("nope.json#"), "{args:?}: {message}");
    }
}

/// The corpus's hello fixture as JSON, renamed.
fn hello_named(name: &str) -> serde_json::Value {
    let mut value = crate::common::corpus_json("rest/bench/hello.json");
    value["name"] = name.into();
    value
}

#[test]
fn quiet_hides_passing_fixtures_with_new_snapshots_and_the_summary_names_the_folder() {
    let (a, b) = (hello_named("quiet-a"), hello_named("quiet-b"));
    let root = folder_with(&[("fx/rest/a.json", &a), ("fx/rest/b.json", &b)]);
    let fixtures = root.path().join("fx");
    let snapshots = root.path().join("snapshots");
    // First run: both snapshots are new; -q lists neither, the summary counts them and says where.
    let out = run(&["run", "-q", "--fixtures", path_str(&fixtures)]);
    let printed = stdout(&out);
    assert!(!printed.contains("[snapshot new]"), "{printed}");
    assert!(!printed.contains("quiet-a"), "{printed}");
    assert!(
        printed.contains(&format!(
            "snapshots: 2 checked, 0 changed, 2 new in {}",
            snapshots.display()
        )),
        "{printed}"
    );
    // Accept them; then a run where every snapshot matches says so.
    let out = run(&[
        "run",
        "--fixtures",
        path_str(&fixtures),
        "--snapshots",
        "update",
    ]);
    assert!(
        stdout(&out).contains(&format!("2 updated in {}", snapshots.display())),
        "{}",
        stdout(&out)
    );
    let out = run(&["run", "-q", "--fixtures", path_str(&fixtures)]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let printed = stdout(&out);
    assert!(printed.starts_with("ok: 2 passed"), "{printed}");
    assert!(printed.contains("; snapshots: 2 checked in "), "{printed}");
}

#[test]
fn fixtures_given_one_by_one_keep_snapshots_beside_the_fixtures_directory() {
    // One rule: snapshots/ beside the fixtures directory (--fixtures, else the default one),
    // whether the fixtures come from it or one by one with --fixture.
    let root = folder_with(&[("elsewhere/rest/a.json", &hello_named("one-by-one"))]);
    let work = folder_with(&[("fixtures/rest/b.json", &hello_named("in-default"))]);
    let file = root.path().join("elsewhere/rest/a.json");
    let out = bin()
        .current_dir(work.path())
        .args(["run", "--fixture", path_str(&file)])
        .output()
        .unwrap();
    let printed = stdout(&out);
    assert!(printed.contains("1 new in snapshots "), "{printed}");
    assert!(
        work.path()
            .join("snapshots/rust-axum/rest/one-by-one.snap.new")
            .is_file(),
        "{printed}"
    );
    assert!(!root.path().join("snapshots").exists());
    // With --fixtures as well, beside that one.
    let out = bin()
        .current_dir(work.path())
        .args([
            "run",
            "--fixtures",
            path_str(&root.path().join("elsewhere")),
            "--fixture",
            path_str(&file),
        ])
        .output()
        .unwrap();
    let snapshots = root.path().join("snapshots");
    assert!(
        stdout(&out).contains(&format!("1 new in {} ", snapshots.display())),
        "{}",
        stdout(&out)
    );
    assert!(
        snapshots
            .join("rust-axum/rest/one-by-one.snap.new")
            .is_file()
    );
}

#[test]
fn runners_list_shows_the_reference_as_built_in() {
    let out = run(&[
        "runners",
        "list",
        "--runners-dir",
        path_str(&repo().join("runners")),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let line = stdout(&out)
        .lines()
        .find(|l| l.starts_with("rust-axum"))
        .map(str::to_string)
        .expect("rust-axum listed");
    assert!(line.contains("built in"), "{line}");
    assert!(!line.ends_with(" no"), "{line}");
    let out = run(&["runners", "list", "--format", "json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let axum = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "rust-axum")
        .unwrap();
    assert_eq!(axum["built_in"], true);
}

#[test]
fn a_fixture_without_a_handler_failing_on_the_reference_hints_at_url() {
    let mut value = hello_named("no-handler");
    value.as_object_mut().unwrap().remove("handler");
    let root = folder_with(&[("fx/rest/a.json", &value)]);
    let out = run(&[
        "run",
        "--snapshots",
        "off",
        "--fixtures",
        path_str(&root.path().join("fx")),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let printed = stdout(&out);
    assert!(printed.contains("FAIL  rest      no-handler"), "{printed}");
    assert!(
        printed.contains("hint: this fixture has no handler"),
        "{printed}"
    );
    assert!(printed.contains("--url URL"), "{printed}");
}

/// A loopback server that answers every connection with `reply` and keeps each request head.
struct Recorder {
    url: String,
    heads: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Recorder {
    fn start(reply: &'static str) -> Recorder {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let heads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = heads.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let kept = kept.clone();
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
                        match stream.read(&mut byte) {
                            Ok(1) => head.push(byte[0]),
                            _ => return,
                        }
                    }
                    kept.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&head).into_owned());
                    let _ = stream.write_all(reply.as_bytes());
                });
            }
        });
        Recorder { url, heads }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

const HELLO_REPLY: &str = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 27\r\nconnection: close\r\n\r\n{\"message\":\"Hello, World!\"}";
const REFUSED_401: &str =
    "HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
const NOT_FOUND: &str = "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

fn user_agent(head: &str) -> Option<&str> {
    head.lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(n, _)| n.eq_ignore_ascii_case("user-agent"))
        })
        .map(|(_, v)| v.trim())
}

#[test]
fn one_run_covers_rest_websocket_and_sse_servers_on_three_ports_with_a_user_agent() {
    let (rest, ws, sse) = (
        Recorder::start(HELLO_REPLY),
        Recorder::start(REFUSED_401),
        Recorder::start(NOT_FOUND),
    );
    let out = run(&[
        "run",
        "--snapshots",
        "off",
        "--format",
        "json",
        "--url",
        &rest.url,
        "--ws-url",
        &ws.url,
        "--sse-url",
        &sse.url,
        "--fixture",
        &corpus("rest/bench/hello.json"),
        "--fixture",
        &corpus("websocket/handshake/auth-header-missing.json"),
        "--fixture",
        &corpus("sse/basic/unknown-path.json"),
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["summary"]["passed"], 3, "{report:#}");
    // One target in the report: the REST base names it.
    let port = rest.url.rsplit(':').next().unwrap();
    assert_eq!(report["target"]["name"], format!("url-127.0.0.1-{port}"));
    // Each server saw only its protocol's request, and every request named the harness.
    let agent = format!("benchmark-harness/{}", env!("CARGO_PKG_VERSION"));
    for (server, start) in [
        (&rest, "GET /hello "),
        (&ws, "GET /ws/auth/header "),
        (&sse, "GET /sse/basic/nope "),
    ] {
        let heads = server.heads();
        assert!(!heads.is_empty(), "{start}: no request");
        for head in &heads {
            assert!(head.starts_with(start), "{start}: {head}");
            assert_eq!(user_agent(head), Some(agent.as_str()), "{head}");
        }
    }
}

#[test]
fn a_fixture_user_agent_wins_over_the_harness_one() {
    let rest = Recorder::start(HELLO_REPLY);
    let mut value = hello_named("own-agent");
    value["request"]["headers"] = serde_json::json!({"User-Agent": "mine/1"});
    let root = folder_with(&[("fx/rest/a.json", &value)]);
    let out = run(&[
        "run",
        "--snapshots",
        "off",
        "--url",
        &rest.url,
        "--fixtures",
        path_str(&root.path().join("fx")),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let heads = rest.heads();
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert_eq!(user_agent(&heads[0]), Some("mine/1"), "{}", heads[0]);
    assert_eq!(
        heads[0].to_ascii_lowercase().matches("user-agent").count(),
        1
    );
}

#[test]
fn protocol_urls_need_url_and_are_checked() {
    let out = run(&[
        "run",
        "--ws-url",
        "http://127.0.0.1:9",
        "--fixture",
        &corpus("rest/bench/hello.json"),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--url"), "{}", stderr(&out));
    let rest = Recorder::start(HELLO_REPLY);
    let out = run(&[
        "run",
        "--url",
        &rest.url,
        "--sse-url",
        "ftp://127.0.0.1:9",
        "--fixture",
        &corpus("rest/bench/hello.json"),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--sse-url \"ftp://127.0.0.1:9\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn load_requests_carry_the_user_agent_too() {
    let rest = Recorder::start(HELLO_REPLY);
    let out = run(&[
        "bench",
        "--url",
        &rest.url,
        "--fixture",
        &corpus("rest/bench/hello.json"),
        "--duration",
        "1s",
        "--warmup",
        "0s",
        "--connections",
        "1",
        "--rate",
        "20",
        "--max-error-rate",
        "100%",
    ]);
    assert!(out.status.code().is_some(), "{}", stderr(&out));
    let heads = rest.heads();
    assert!(!heads.is_empty(), "no request: {}", stderr(&out));
    let agent = format!("benchmark-harness/{}", env!("CARGO_PKG_VERSION"));
    for head in &heads {
        assert_eq!(user_agent(head), Some(agent.as_str()), "{head}");
    }
}

#[test]
fn an_overlong_stream_is_summarised_and_absent_sides_read_absent() {
    let mut reply = String::from(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n\
         data: first\n\ndata: second\n\ndata: third\n\n",
    );
    for n in 0..97 {
        reply += &format!("data: extra {n}\n\n");
    }
    let sse = Recorder::start(Box::leak(reply.into_boxed_str()));
    let out = run(&[
        "run",
        "--snapshots",
        "off",
        "--url",
        &sse.url,
        "--fixture",
        &corpus("sse/basic/data-events.json"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let printed = stdout(&out);
    assert_eq!(printed.matches("unexpected event").count(), 4, "{printed}");
    assert!(
        printed.contains("… and 94 more: unexpected event (/events/6 … /events/99)"),
        "{printed}"
    );
    assert!(printed.contains("expected: (absent)"), "{printed}");
    assert!(!printed.contains("expected: null"), "{printed}");
    // JSON keeps every mismatch, the absent side named.
    let out = run(&[
        "run",
        "--snapshots",
        "off",
        "--format",
        "json",
        "--url",
        &sse.url,
        "--fixture",
        &corpus("sse/basic/data-events.json"),
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let diff = report["fixtures"][0]["diff"].as_array().unwrap();
    assert_eq!(diff.len(), 97, "{report:#}");
    assert_eq!(diff[0]["absent"], "expected");

    // A key the reply lacks reads `(absent)`, not `null`.
    let rest = Recorder::start(HELLO_REPLY);
    let mut value = hello_named("missing-key");
    value["expected"]["body"]["id"] = 7.into();
    let root = folder_with(&[("fx/rest/a.json", &value)]);
    let out = run(&[
        "run",
        "--snapshots",
        "off",
        "--url",
        &rest.url,
        "--fixtures",
        path_str(&root.path().join("fx")),
    ]);
    let printed = stdout(&out);
    assert!(
        printed.contains("/body/id: missing\n          expected: 7\n          actual:   (absent)"),
        "{printed}"
    );
}
