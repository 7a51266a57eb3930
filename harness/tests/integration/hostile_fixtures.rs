//! Hostile fixtures and names, end to end through the binary: every command that loads fixtures
//! refuses a fixture that would fail mid-run (bad matcher, base64, header, reserved or clashing
//! route, duplicate key, byte order mark) with exit 2 naming the file and JSON pointer, before
//! it opens a single connection; and `--target-name` cannot write outside `--snapshots-dir`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::common::{bin, corpus_json, text};

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

fn hello() -> Value {
    corpus_json("rest/bench/hello.json")
}

fn echo() -> Value {
    corpus_json("websocket/bench/echo.json")
}

/// Writes `doc` (or raw bytes) as `name` in `dir`.
fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn json_bytes(doc: &Value) -> Vec<u8> {
    serde_json::to_vec_pretty(doc).unwrap()
}

/// The bad fixtures, each with where its error must point (`#/pointer` or `:line:col`).
fn bad_fixtures(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut regex = hello();
    regex["expected"]["body"]["message"] = "<<regex:(>>".into();
    let mut base64 = hello();
    base64["request"]["body_base64"] = "A".into();
    base64["request"]["method"] = "POST".into();
    let mut header = hello();
    header["request"]["headers"] = json!({"x-a": "a\r\nx-injected: 1"});
    let mut ready = hello();
    ready["handler"]["route"] = "/__ready".into();
    let mut close = echo();
    close["transcript"]
        .as_array_mut()
        .unwrap()
        .push(json!({"close": {"code": 1005}}));
    let mut ws_base64 = echo();
    ws_base64["transcript"][0] = json!({"send": {"binary_base64": "A"}});
    let duplicate = text(&json_bytes(&hello())).replacen(
        "\"name\": \"bench-hello\",",
        "\"name\": \"bench-hello\",\n  \"name\": \"other\",",
        1,
    );
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(json_bytes(&hello()));
    let close_at = format!(
        "#/transcript/{}/close/code",
        close["transcript"].as_array().unwrap().len() - 1
    );
    vec![
        (
            write(dir, "regex.json", json_bytes(&regex)),
            "#/expected/body/message".into(),
        ),
        (
            write(dir, "base64.json", json_bytes(&base64)),
            "#/request/body_base64".into(),
        ),
        (
            write(dir, "header.json", json_bytes(&header)),
            "#/request/headers/x-a".into(),
        ),
        (
            write(dir, "ready.json", json_bytes(&ready)),
            "#/handler/route".into(),
        ),
        (write(dir, "close.json", json_bytes(&close)), close_at),
        (
            write(dir, "ws-base64.json", json_bytes(&ws_base64)),
            "#/transcript/0/send/binary_base64".into(),
        ),
        (write(dir, "duplicate.json", duplicate), "#/name".into()),
        (write(dir, "bom.json", bom), ":1:1".into()),
    ]
}

#[test]
fn fixtures_validate_refuses_each_bad_file_with_exit_2_file_and_pointer() {
    let dir = tempfile::tempdir().unwrap();
    for (file, at) in bad_fixtures(dir.path()) {
        let out = run(&["fixtures", "validate", file.to_str().unwrap()]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", file.display());
        assert!(
            stderr.contains(&format!("{}{at}", file.display())),
            "{}{at} not in: {stderr}",
            file.display()
        );
    }
}

#[test]
fn a_bom_and_a_duplicate_key_say_what_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let files = bad_fixtures(dir.path());
    let stderr_of = |name: &str| {
        let (file, _) = files.iter().find(|(f, _)| f.ends_with(name)).unwrap();
        text(&run(&["fixtures", "validate", file.to_str().unwrap()]).stderr)
    };
    assert!(
        stderr_of("bom.json").contains("byte order mark"),
        "{}",
        stderr_of("bom.json")
    );
    assert!(
        stderr_of("duplicate.json").contains("duplicate key \"name\""),
        "{}",
        stderr_of("duplicate.json")
    );
}

#[test]
fn clashing_routes_are_refused_naming_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = |name: &str, route: &str, path: &str| {
        let mut doc = hello();
        doc["name"] = name.into();
        doc["handler"]["route"] = route.into();
        doc["request"]["path"] = path.into();
        json_bytes(&doc)
    };
    let a = write(dir.path(), "a.json", fixture("c-a", "/c/{a}", "/c/x"));
    let b = write(dir.path(), "b.json", fixture("c-b", "/c/{b:int}", "/c/1"));
    let out = run(&["fixtures", "validate", dir.path().to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{}#/handler/route", b.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{}#/handler/route", a.display())),
        "{stderr}"
    );

    // `run` refuses the set too, before it starts the reference server.
    let out = run(&["run", "--fixtures", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

/// A loopback listener that counts the connections it accepts (and holds them open).
struct Counter {
    url: String,
    accepted: Arc<AtomicUsize>,
}

fn counter() -> Counter {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    Counter { url, accepted }
}

#[test]
fn every_command_refuses_a_bad_fixture_before_any_network() {
    let dir = tempfile::tempdir().unwrap();
    let target = counter();
    let files = bad_fixtures(dir.path());
    let file = |name: &str| {
        files
            .iter()
            .find(|(f, _)| f.ends_with(name))
            .map(|(f, at)| (f.to_str().unwrap().to_string(), at.clone()))
            .unwrap()
    };
    let timeouts = ["--timeout", "2s"];
    let load = ["--duration", "1s", "--warmup", "0s", "--connections", "1"];
    let cases: Vec<(Vec<&str>, (String, String))> = vec![
        (vec!["run", "--fixture"], file("regex.json")),
        (vec!["run", "--fixture"], file("header.json")),
        (vec!["run", "--fixture"], file("base64.json")),
        (vec!["run", "--fixture"], file("close.json")),
        (vec!["bench", "--fixture"], file("regex.json")),
        (vec!["bench", "--fixture"], file("base64.json")),
        (vec!["stream", "--fixture"], file("ws-base64.json")),
    ];
    for (command, (path, at)) in cases {
        let mut args: Vec<&str> = vec!["--url", &target.url];
        args.extend(&command);
        args.push(&path);
        args.extend(timeouts);
        if command[0] != "run" {
            args.extend(load);
        } else {
            args.extend(["--snapshots", "off"]);
        }
        let out = bin()
            .args(&args)
            .current_dir(dir.path())
            .output()
            .expect("the binary runs");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("{path}{at}")),
            "{args:?}: {path}{at} not in {stderr}"
        );
        assert_eq!(
            target.accepted.load(Ordering::SeqCst),
            0,
            "{args:?} connected to the target"
        );
    }
}

/// Every file under `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn a_target_name_cannot_leave_the_snapshots_folder() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = write(dir.path(), "hello.json", json_bytes(&hello()));
    let snapshots = dir.path().join("a").join("b").join("snapshots");
    std::fs::create_dir_all(&snapshots).unwrap();
    for name in ["../../escaped", "..", "x/../../../escaped", "/tmp/escaped"] {
        let out = run(&[
            "run",
            "--fixture",
            fixture.to_str().unwrap(),
            "--snapshots",
            "update",
            "--snapshots-dir",
            snapshots.to_str().unwrap(),
            "--target-name",
            name,
        ]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains("A-Z a-z 0-9 . _ -"), "{name}: {stderr}");
        let written = files_under(dir.path());
        assert_eq!(written, vec![fixture.clone()], "{name} wrote files");
    }

    // A good name writes inside the folder.
    let out = run(&[
        "run",
        "--fixture",
        fixture.to_str().unwrap(),
        "--snapshots",
        "update",
        "--snapshots-dir",
        snapshots.to_str().unwrap(),
        "--target-name",
        "my-target",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written = files_under(dir.path());
    assert!(
        written
            .iter()
            .all(|f| f == &fixture || f.starts_with(snapshots.join("my-target"))),
        "{written:?}"
    );
}

#[test]
fn huge_values_are_clipped_in_error_messages() {
    let dir = tempfile::tempdir().unwrap();
    let huge = "A".repeat(5 * 1024 * 1024);
    let mut name = hello();
    name["name"] = huge.as_str().into();
    let mut header = hello();
    header["request"]["headers"] = json!({"x-a": format!("{huge}\n")});
    for (file, doc, length) in [
        ("name.json", name, "… (5242880 bytes)"),
        ("header.json", header, "… (5242881 bytes)"),
    ] {
        let file = write(dir.path(), file, json_bytes(&doc));
        let out = run(&["fixtures", "validate", file.to_str().unwrap()]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr.len() < 2000, "{} bytes of stderr", stderr.len());
        assert!(stderr.contains(length), "{stderr}");
    }
}

#[test]
fn a_failing_check_clips_a_huge_value_in_the_terminal() {
    // The reply is small; the expectation is 5 MB: the terminal shows its start and length.
    let dir = tempfile::tempdir().unwrap();
    let mut doc = hello();
    doc["expected"]["body"]["message"] = "B".repeat(5 * 1024 * 1024).into();
    let file = write(dir.path(), "big.json", json_bytes(&doc));
    let out = run(&[
        "run",
        "--fixture",
        file.to_str().unwrap(),
        "--snapshots",
        "off",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(stdout.len() < 4000, "{} bytes of stdout", stdout.len());
    assert!(stdout.contains("… (5242880 bytes)"), "{stdout}");
}
