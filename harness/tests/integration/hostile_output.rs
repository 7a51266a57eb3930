//! What the harness writes and prints when the server is hostile or the harness is interrupted:
//! credentials a fixture sends (and a server echoes) appear only as fingerprints in every byte
//! written or printed; text from the server cannot drive the terminal or break out of summary.md's
//! code blocks; junit.xml stays well-formed; a signal in the middle of writing snapshots or a
//! report folder leaves no temporary file and no half-replaced folder.
//!
//! The hostile server is a small TCP server inside the test (std sockets, one thread a
//! connection); the harness is the real binary.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::common::{bin, repo, text};

/// Secrets of the first run.
const TOKEN_A: &str = "tok-AAAA-7f3e9c1d-bearer";
const KEY_A: &str = "key-AAAA-5b2a8e44";
const COOKIE_A: &str = "cookie-AAAA-99d1c0de";
const QUERY_A: &str = "qtok-AAAA-31337abc";
/// Secrets of the second run: the server echoes whatever it is sent.
const TOKEN_B: &str = "tok-BBBB-0a1b2c3d-bearer";
const KEY_B: &str = "key-BBBB-6c3b9f55";
const COOKIE_B: &str = "cookie-BBBB-44e2d1fa";
const QUERY_B: &str = "qtok-BBBB-27182818";
/// What the fixture expects back: a token that is never the one sent.
const TOKEN_OLD: &str = "tok-OLD0-deadbeef-bearer";

const ALL_SECRETS: &[&str] = &[
    TOKEN_A, KEY_A, COOKIE_A, QUERY_A, TOKEN_B, KEY_B, COOKIE_B, QUERY_B, TOKEN_OLD,
];

/// The key that tries to close summary.md's code block and start a heading.
const INJECTED_KEY: &str = "a\n```\n# injected";
/// A key that would clear the screen and set the terminal's title.
const ESCAPE_KEY: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[H";

/// `<<redacted:sha256:1a2b>>`, computed here independently of the harness.
fn fingerprint(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    format!("<<redacted:sha256:{:02x}{:02x}>>", digest[0], digest[1])
}

/// A server that echoes the credentials it is sent (in a header, a Set-Cookie and the JSON
/// body) and answers with hostile JSON keys and values. Runs until the test process ends.
fn hostile_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = serve(stream);
            });
        }
    });
    format!("http://{address}")
}

fn serve(stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut headers = Vec::new();
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.trim_end().split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map_or(String::new(), |(_, v)| v.clone())
    };
    let authorization = header("authorization");
    let body = serde_json::json!({
        "token": authorization.strip_prefix("Bearer ").unwrap_or(&authorization),
        "api_key": header("x-api-key"),
        INJECTED_KEY: 1,
        ESCAPE_KEY: "\u{1b}[31mred\u{1b}[0m",
        "note": "<script>alert(1)</script> ]]> \u{1}\u{8}",
    })
    .to_string();
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Auth-Token: {authorization}\r\n\
         Set-Cookie: {}; Path=/; HttpOnly\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        header("cookie"),
        body.len()
    )?;
    out.flush()
}

/// A fixture sending `token`, `key`, `cookie` and `query` and expecting [`TOKEN_OLD`] back.
fn write_fixture(dir: &Path, token: &str, key: &str, cookie: &str, query: &str) {
    let fixture = serde_json::json!({
        "name": "hostile-secrets",
        "protocol": "rest",
        "description": "Credentials sent, echoed back, compared with an old token",
        "request": {
            "method": "GET",
            "path": "/secret",
            "query": {"access_token": query},
            "headers": {"Authorization": format!("Bearer {token}"), "X-Api-Key": key},
            "cookies": {"session": cookie}
        },
        "expected": {
            "status": 200,
            "headers": {"x-auth-token": format!("Bearer {TOKEN_OLD}")},
            "body": {"token": TOKEN_OLD, "api_key": key}
        }
    });
    std::fs::write(
        dir.join("secrets.json"),
        serde_json::to_string_pretty(&fixture).unwrap(),
    )
    .unwrap();
}

fn harness(url: &str, fixtures: &Path, snapshots: &Path, extra: &[&str]) -> Output {
    bin()
        .args(["run", "--url", url, "--fixtures"])
        .arg(fixtures)
        .arg("--snapshots-dir")
        .arg(snapshots)
        .args(extra)
        .output()
        .unwrap()
}

/// Every file under `dir`, with its bytes.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            out.push((path, bytes));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Whether summary.md's code blocks are balanced and no line of server text escapes them: a
/// fence closes only with at least as many backticks as opened it.
fn markdown_is_intact(markdown: &str) -> Result<(), String> {
    let mut open: Option<usize> = None;
    for (number, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        let ticks = trimmed.chars().take_while(|c| *c == '`').count();
        match open {
            None if ticks >= 3 => open = Some(ticks),
            Some(n) if ticks >= n && trimmed[ticks..].trim().is_empty() => open = None,
            Some(_) => {}
            None => {
                if line.starts_with("# injected") {
                    return Err(format!(
                        "line {}: injected heading outside a fence",
                        number + 1
                    ));
                }
                if line.contains('\u{1b}') {
                    return Err(format!("line {}: raw ESC", number + 1));
                }
            }
        }
    }
    match open {
        Some(_) => Err("a code block is never closed".into()),
        None => Ok(()),
    }
}

#[test]
fn credentials_show_only_as_fingerprints_and_server_text_cannot_inject() {
    let url = hostile_server();
    let work = tempfile::tempdir().unwrap();
    let fixtures = work.path().join("fixtures");
    let snapshots = work.path().join("snapshots");
    let (report_a, report_b, report_c) = (
        work.path().join("report-a"),
        work.path().join("report-b"),
        work.path().join("report-c"),
    );
    std::fs::create_dir(&fixtures).unwrap();

    // First token: JSON on stdout, snapshot recorded, report folder written.
    write_fixture(&fixtures, TOKEN_A, KEY_A, COOKIE_A, QUERY_A);
    let a = harness(
        &url,
        &fixtures,
        &snapshots,
        &[
            "--snapshots",
            "update",
            "--format",
            "json",
            "--report",
            report_a.to_str().unwrap(),
        ],
    );
    assert_eq!(a.status.code(), Some(1), "{}", text(&a.stderr));
    let document: serde_json::Value = serde_json::from_slice(&a.stdout).expect("JSON on stdout");
    assert_eq!(document["fixtures"][0]["outcome"], "failed");

    // Second token: human output, the snapshot changed, another report folder.
    write_fixture(&fixtures, TOKEN_B, KEY_B, COOKIE_B, QUERY_B);
    let b = harness(
        &url,
        &fixtures,
        &snapshots,
        &[
            "--snapshots",
            "check",
            "--report",
            report_b.to_str().unwrap(),
        ],
    );
    assert_eq!(b.status.code(), Some(1), "{}", text(&b.stderr));
    let stdout_b = text(&b.stdout);
    assert!(stdout_b.contains("[snapshot changed]"), "{stdout_b}");

    // A report made from both run documents.
    let r = bin()
        .arg("report")
        .arg(report_a.join("run.json"))
        .arg(report_b.join("run.json"))
        .arg("--out")
        .arg(&report_c)
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));

    // No plaintext credential in any byte written or printed.
    let mut written: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for dir in [&snapshots, &report_a, &report_b, &report_c] {
        written.extend(files(dir));
    }
    for (name, output) in [("run a", &a), ("run b", &b), ("report", &r)] {
        written.push((
            PathBuf::from(format!("{name} stdout")),
            output.stdout.clone(),
        ));
        written.push((
            PathBuf::from(format!("{name} stderr")),
            output.stderr.clone(),
        ));
    }
    assert!(
        written.len() >= 12,
        "{:?}",
        written.iter().map(|w| &w.0).collect::<Vec<_>>()
    );
    for (path, bytes) in &written {
        for secret in ALL_SECRETS {
            assert!(
                !contains(bytes, secret),
                "{secret} in plain text in {}:\n{}",
                path.display(),
                String::from_utf8_lossy(bytes)
            );
        }
    }

    // Fingerprints stand for them, and a changed token shows as changed.
    let (fa, fb, fold) = (
        fingerprint(TOKEN_A),
        fingerprint(TOKEN_B),
        fingerprint(TOKEN_OLD),
    );
    assert_ne!(fa, fb);
    let run_a = std::fs::read_to_string(report_a.join("run.json")).unwrap();
    let run_b = std::fs::read_to_string(report_b.join("run.json")).unwrap();
    assert!(run_a.contains(&fa) && run_a.contains(&fold), "{run_a}");
    assert!(run_b.contains(&fb) && run_b.contains(&fold), "{run_b}");
    assert!(
        run_b.contains(&format!("Bearer {fb}")),
        "the scheme stays visible: {run_b}"
    );
    let diff_line = |sign: char, fingerprint: &str| {
        let wanted = format!("\"token\": \"{fingerprint}\"");
        stdout_b
            .lines()
            .any(|l| l.trim_start().starts_with(sign) && l.contains(&wanted))
    };
    assert!(diff_line('-', &fa) && diff_line('+', &fb), "{stdout_b}");
    let snapshot = files(&snapshots)
        .into_iter()
        .find(|(p, _)| p.extension().is_some_and(|e| e == "snap"))
        .expect("a stored snapshot");
    let snapshot = String::from_utf8(snapshot.1).unwrap();
    for expected in [
        format!("\"authorization\": \"Bearer {fa}\""),
        format!("\"cookie\": \"session={}\"", fingerprint(COOKIE_A)),
        format!(
            "\"set-cookie\": \"session={}; Path=/; HttpOnly\"",
            fingerprint(COOKIE_A)
        ),
        format!("\"x-api-key\": \"{}\"", fingerprint(KEY_A)),
        format!("access_token={}", fingerprint(QUERY_A)),
    ] {
        assert!(snapshot.contains(&expected), "{expected} in {snapshot}");
    }

    // The terminal gets no control character from the server.
    for (name, bytes) in [("run b stdout", &b.stdout), ("run b stderr", &b.stderr)] {
        let raw = bytes
            .iter()
            .find(|&&c| (c < 0x20 && c != b'\n' && c != b'\t') || c == 0x7f);
        assert!(raw.is_none(), "{name}: raw control byte {raw:?}");
    }
    assert!(stdout_b.contains("\\u{1b}]0;pwned\\u{7}"), "{stdout_b}");

    // summary.md: fences balanced, the injected heading stays inside a code block.
    for dir in [&report_a, &report_b] {
        let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
        assert!(summary.contains("# injected"), "{summary}");
        markdown_is_intact(&summary).unwrap_or_else(|e| panic!("{e}:\n{summary}"));
    }
    let summary = std::fs::read_to_string(report_c.join("summary.md")).unwrap();
    markdown_is_intact(&summary).unwrap_or_else(|e| panic!("{e}:\n{summary}"));

    // junit.xml parses; the page and the XML show the server's markup as text.
    for dir in [&report_a, &report_b, &report_c] {
        let xml = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
        let parsed = roxmltree::Document::parse(&xml)
            .unwrap_or_else(|e| panic!("{}: {e}\n{xml}", dir.display()));
        let failure = parsed
            .descendants()
            .find(|n| n.has_tag_name("failure"))
            .expect("a failure");
        assert!(
            failure
                .text()
                .unwrap_or("")
                .contains("<script>alert(1)</script> ]]>")
        );
        let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
        assert!(
            !html.contains("<script>alert(1)"),
            "raw server markup in the page"
        );
        assert!(!html.contains('\u{1b}'), "raw ESC in the page");
    }

    // --no-redact shows them.
    let c = harness(
        &url,
        &fixtures,
        &snapshots,
        &["--snapshots", "off", "--no-redact"],
    );
    let stdout_c = text(&c.stdout);
    assert!(
        stdout_c.contains(TOKEN_B) && stdout_c.contains(TOKEN_OLD),
        "{stdout_c}"
    );
}

#[test]
fn more_names_are_redacted_with_redact() {
    let url = hostile_server();
    let work = tempfile::tempdir().unwrap();
    let fixtures = work.path().join("fixtures");
    std::fs::create_dir(&fixtures).unwrap();
    write_fixture(&fixtures, TOKEN_A, KEY_A, COOKIE_A, QUERY_A);
    let snapshots = work.path().join("snapshots");
    // `note` holds no credential by default; named, it is a fingerprint.
    let plain = harness(&url, &fixtures, &snapshots, &["--snapshots", "off"]);
    assert!(text(&plain.stdout).contains("alert(1)"));
    let named = harness(
        &url,
        &fixtures,
        &snapshots,
        &["--snapshots", "off", "--redact", "NOTE"],
    );
    let stdout = text(&named.stdout);
    assert!(!stdout.contains("alert(1)"), "{stdout}");
    assert!(
        stdout.contains(&fingerprint("<script>alert(1)</script> ]]> \u{1}\u{8}")),
        "{stdout}"
    );
}

// ---------------------------------------------------------------------------------------------
// Interrupted writes

/// Sends `signal` to `pid`.
fn send(pid: u32, signal: i32) {
    // SAFETY: kill has no memory effects.
    unsafe {
        libc::kill(pid as i32, signal);
    }
}

/// Runs `command`; once `ready` holds (polled; writing has begun) and `delay` more has passed,
/// sends it `signal`; waits for it to exit (bounded). Returns its exit code.
fn interrupt(
    command: &mut Command,
    ready: impl Fn() -> bool,
    delay: Duration,
    signal: i32,
) -> Option<i32> {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready() && child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the harness never began writing");
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(delay);
    send(child.id(), signal);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        assert!(
            Instant::now() < deadline,
            "the harness did not exit after the signal"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How many files are under `dir`.
fn count_files(dir: &Path) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        n += if path.is_dir() { count_files(&path) } else { 1 };
    }
    n
}

/// Temporary files left anywhere under `dir` (the old names and the new).
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".tmp") || name.starts_with(".bh-tmp-") {
            out.push(path.clone());
        }
        if path.is_dir() {
            out.extend(leftovers(&path));
        }
    }
    out
}

#[test]
fn a_signal_while_snapshots_are_updated_leaves_whole_files_only() {
    // The signal comes once this many files are there (temporary ones included): always in the
    // middle of the writing, however fast the machine.
    let thresholds = [1usize, 5, 20, 60, 120, 200];
    for (index, threshold) in thresholds.iter().enumerate() {
        let work = tempfile::tempdir().unwrap();
        let snapshots = work.path().join("snapshots");
        let signal = if index % 2 == 0 {
            libc::SIGINT
        } else {
            libc::SIGTERM
        };
        let mut command = bin();
        command
            .args(["run", "--quiet", "--snapshots", "update", "--fixtures"])
            .arg(repo().join("fixtures"))
            .arg("--snapshots-dir")
            .arg(&snapshots);
        let ready = || count_files(&snapshots) >= *threshold;
        let code = interrupt(&mut command, ready, Duration::ZERO, signal);
        let left = leftovers(work.path());
        assert!(
            left.is_empty(),
            "signal {signal} after {threshold} files (exit {code:?}) left {left:?}"
        );
        for (path, bytes) in files(&snapshots) {
            let snapshot = insta::Snapshot::from_file(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let content = snapshot.contents().as_text().expect("text").to_string();
            serde_json::from_str::<serde_json::Value>(&content).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}\n{}",
                    path.display(),
                    String::from_utf8_lossy(&bytes)
                )
            });
        }
    }
}

#[test]
fn a_signal_while_a_report_is_written_leaves_the_old_folder_or_the_new() {
    let work = tempfile::tempdir().unwrap();
    // Two run documents of the whole corpus, told apart by their target's name; each is given
    // several times so that writing the report takes a while.
    let document = |name: &str| {
        let out = bin()
            .args([
                "run",
                "--snapshots",
                "off",
                "--format",
                "json",
                "--target-name",
                name,
            ])
            .output()
            .unwrap();
        let path = work.path().join(format!("{name}.json"));
        std::fs::write(&path, &out.stdout).unwrap();
        path
    };
    let sides = [document("side-old"), document("side-new")];
    let out = work.path().join("reports").join("out");
    let report = |side: usize| {
        let mut command = bin();
        command.arg("report");
        for _ in 0..6 {
            command.arg(&sides[side]);
        }
        command.arg("--out").arg(&out);
        command
    };
    let markers = ["side-old", "side-new"];
    let written = |side: usize| {
        let status = report(side).output().unwrap().status;
        assert!(status.success());
    };
    written(0);
    let mut current = 0;
    let expected_files = ["index.html", "junit.xml", "report.json", "summary.md"];
    // The signal comes this long after the first temporary file or folder appears.
    let delays = [0u64, 0, 1, 2, 3, 5, 8, 13];
    let reports = work.path().join("reports");
    let writing = || !leftovers(&reports).is_empty();
    for (index, delay) in delays.iter().enumerate() {
        let next = 1 - current;
        let signal = if index % 2 == 0 {
            libc::SIGINT
        } else {
            libc::SIGTERM
        };
        let code = interrupt(
            &mut report(next),
            writing,
            Duration::from_millis(*delay),
            signal,
        );
        let left = leftovers(&reports);
        assert!(
            left.is_empty(),
            "after {delay} ms (exit {code:?}): {left:?}"
        );
        let mut names: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, expected_files, "after {delay} ms (exit {code:?})");
        let sides_seen: Vec<usize> = expected_files
            .iter()
            .map(|name| {
                let content = std::fs::read_to_string(out.join(name)).unwrap();
                match (content.contains(markers[0]), content.contains(markers[1])) {
                    (true, false) => 0,
                    (false, true) => 1,
                    other => panic!("{name} after {delay} ms is neither old nor new: {other:?}"),
                }
            })
            .collect();
        assert!(
            sides_seen.iter().all(|s| *s == sides_seen[0]),
            "after {delay} ms (exit {code:?}) the folder mixes old and new: {sides_seen:?}"
        );
        current = sides_seen[0];
    }
}

/// A tmpfs of `size` mounted at `dir` until dropped (root only).
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(dir: &Path, size: &str) -> Option<SmallDisk> {
        // SAFETY: geteuid has no memory effects.
        if unsafe { libc::geteuid() } != 0 {
            return None;
        }
        std::fs::create_dir_all(dir).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        mounted.then(|| SmallDisk(dir.to_path_buf()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_names_the_file_and_keeps_the_old_report_folder() {
    let work = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(&work.path().join("disk"), "128k") else {
        eprintln!(
            "skipped: mounting a small tmpfs needs root (the unit test of report::folder fails a write instead)"
        );
        return;
    };
    let document = |filter: &str, name: &str| {
        let out = bin()
            .args([
                "run",
                "--snapshots",
                "off",
                "--format",
                "json",
                "--filter",
                filter,
            ])
            .output()
            .unwrap();
        let path = work.path().join(name);
        std::fs::write(&path, &out.stdout).unwrap();
        path
    };
    let small = document("cookies-*", "small.json");
    let big = document("*", "big.json");
    let out = disk.0.join("report");
    let first = bin()
        .arg("report")
        .arg(&small)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let before: Vec<(PathBuf, Vec<u8>)> = files(&out);

    let full = bin()
        .arg("report")
        .args([&big, &big, &big])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = text(&full.stderr);
    assert_eq!(full.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot write {}/", out.display()))
            && stderr.contains("No space left on device"),
        "{stderr}"
    );
    assert_eq!(files(&out), before, "the old folder is intact");
    assert!(leftovers(&disk.0).is_empty(), "{:?}", leftovers(&disk.0));
}
