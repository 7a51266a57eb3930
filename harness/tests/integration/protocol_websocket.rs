//! `protocol websocket`: the suite against a WebSocket echo server of this test's own (raw tokio
//! TCP, a hand-written handshake and frame parser) that keeps RFC 6455 by default and breaks one
//! rule per flag: each category's cases fail exactly where the rule is broken and pass
//! otherwise. And the real binary against the embedded reference: the whole catalogue.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::common::{assert_suite_fields, run_within, serve_on_thread, text};

/// The rule the server breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Broken {
    /// None: a conforming echo server.
    Nothing,
    /// Takes frames with RSV bits and echoes them with the same bits.
    RsvBits,
    /// Skips frames with reserved opcodes instead of failing the connection.
    ReservedOpcodes,
    /// Echoes text without checking it is UTF-8.
    Utf8,
    /// Answers every close with 1001.
    CloseCode,
    /// Drops TCP on a close instead of answering it.
    NoCloseReply,
    /// Never answers pings.
    NoPong,
    /// Reads everything, answers nothing, never closes.
    Hangs,
    /// Drops the connection right after the handshake.
    Drops,
}

/// Starts the server; returns its base URL.
fn server(broken: Broken) -> String {
    let addr = serve_on_thread(move |listener| async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = connection(stream, broken).await;
            });
        }
    });
    format!("http://{addr}")
}

async fn handshake(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1024];
    let end = loop {
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = stream.read(&mut byte).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&byte[..n]);
    };
    let request = String::from_utf8_lossy(&head[..end]).to_string();
    let key = request
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim().to_string())
        })
        .unwrap_or_default();
    let mut hash = Sha1::new();
    hash.update(key.as_bytes());
    hash.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let accept = base64::engine::general_purpose::STANDARD.encode(hash.finalize());
    let reply = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    stream.write_all(reply.as_bytes()).await?;
    Ok(head[end..].to_vec())
}

/// A frame as the test servers read it.
pub(super) struct Frame {
    pub(super) fin: bool,
    pub(super) rsv: u8,
    pub(super) opcode: u8,
    pub(super) payload: Vec<u8>,
}

/// Reads one frame (unmasked) from `stream`, after what `buf` holds.
pub(super) async fn read_frame(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> std::io::Result<Frame> {
    loop {
        if buf.len() >= 2 {
            let short = usize::from(buf[1] & 0x7F);
            let (len, at) = match short {
                126 if buf.len() >= 4 => (usize::from(u16::from_be_bytes([buf[2], buf[3]])), 4),
                127 if buf.len() >= 10 => {
                    let mut word = [0u8; 8];
                    word.copy_from_slice(&buf[2..10]);
                    (u64::from_be_bytes(word) as usize, 10)
                }
                126 | 127 => (usize::MAX, 0),
                n => (n, 2),
            };
            let masked = buf[1] & 0x80 != 0;
            let start = at + if masked { 4 } else { 0 };
            if len != usize::MAX && buf.len() >= start + len {
                let mut payload = buf[start..start + len].to_vec();
                if masked {
                    for (i, byte) in payload.iter_mut().enumerate() {
                        *byte ^= buf[at + i % 4];
                    }
                }
                let frame = Frame {
                    fin: buf[0] & 0x80 != 0,
                    rsv: (buf[0] >> 4) & 7,
                    opcode: buf[0] & 0xF,
                    payload,
                };
                buf.drain(..start + len);
                return Ok(frame);
            }
        }
        let mut chunk = vec![0u8; 64 * 1024];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Sends one final, unmasked frame.
pub(super) async fn send(
    stream: &mut TcpStream,
    rsv: u8,
    opcode: u8,
    payload: &[u8],
) -> std::io::Result<()> {
    let mut out = vec![0x80 | rsv << 4 | opcode];
    match payload.len() {
        n if n <= 125 => out.push(n as u8),
        n if n <= 0xFFFF => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    stream.write_all(&out).await
}

/// Fails the connection: a close frame with `code`, then the end.
async fn fail(stream: &mut TcpStream, code: u16) -> std::io::Result<()> {
    send(stream, 0, 8, &code.to_be_bytes()).await?;
    stream.shutdown().await
}

fn valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999)
}

/// Whether `bytes` so far cannot begin valid UTF-8 (an incomplete last sequence is fine).
fn invalid_so_far(bytes: &[u8]) -> bool {
    matches!(std::str::from_utf8(bytes), Err(e) if e.error_len().is_some())
}

async fn connection(mut stream: TcpStream, broken: Broken) -> std::io::Result<()> {
    let mut buf = handshake(&mut stream).await?;
    if broken == Broken::Drops {
        return Ok(());
    }
    let mut message: Option<(u8, Vec<u8>)> = None;
    loop {
        let frame = read_frame(&mut stream, &mut buf).await?;
        if broken == Broken::Hangs {
            continue;
        }
        if frame.rsv != 0 && broken != Broken::RsvBits {
            return fail(&mut stream, 1002).await;
        }
        let control = frame.opcode >= 8;
        let reserved = matches!(frame.opcode, 3..=7 | 11..=15);
        if reserved {
            if broken == Broken::ReservedOpcodes {
                continue;
            }
            return fail(&mut stream, 1002).await;
        }
        if control && (!frame.fin || frame.payload.len() > 125) {
            return fail(&mut stream, 1002).await;
        }
        match frame.opcode {
            8 => return close(&mut stream, &frame.payload, broken).await,
            9 if broken != Broken::NoPong => send(&mut stream, 0, 10, &frame.payload).await?,
            9 | 10 => {}
            opcode => {
                let text_so_far = match (&mut message, opcode) {
                    (None, 1 | 2) => {
                        message = Some((opcode, frame.payload));
                        message.as_ref().map(|m| m.0 == 1)
                    }
                    (Some(m), 0) => {
                        m.1.extend_from_slice(&frame.payload);
                        Some(m.0 == 1)
                    }
                    _ => return fail(&mut stream, 1002).await,
                };
                let bytes = &message.as_ref().map(|m| &m.1[..]).unwrap_or_default();
                let checks = broken != Broken::Utf8 && text_so_far == Some(true);
                if checks
                    && (invalid_so_far(bytes) || frame.fin && std::str::from_utf8(bytes).is_err())
                {
                    return fail(&mut stream, 1007).await;
                }
                if frame.fin
                    && let Some((opcode, payload)) = message.take()
                {
                    send(&mut stream, frame.rsv, opcode, &payload).await?;
                }
            }
        }
    }
}

async fn close(stream: &mut TcpStream, payload: &[u8], broken: Broken) -> std::io::Result<()> {
    if broken == Broken::NoCloseReply {
        return Ok(());
    }
    let reply: Vec<u8> = match payload {
        [] => Vec::new(),
        [_] => 1002u16.to_be_bytes().to_vec(),
        [a, b, reason @ ..] => {
            let code = u16::from_be_bytes([*a, *b]);
            if !valid_close_code(code) {
                1002u16.to_be_bytes().to_vec()
            } else if std::str::from_utf8(reason).is_err() {
                1007u16.to_be_bytes().to_vec()
            } else {
                code.to_be_bytes().to_vec()
            }
        }
    };
    let reply = if broken == Broken::CloseCode {
        1001u16.to_be_bytes().to_vec()
    } else {
        reply
    };
    send(stream, 0, 8, &reply).await?;
    stream.shutdown().await
}

/// Runs the suite against `url` with `cases`; the exit code and the verdict of each case.
fn suite(url: &str, cases: &str) -> (i32, BTreeMap<String, String>, Value) {
    suite_within(url, cases, "5s")
}

/// [`suite`] with `limit` as each case's time limit (short for servers that hang).
fn suite_within(url: &str, cases: &str, limit: &str) -> (i32, BTreeMap<String, String>, Value) {
    let args = [
        "protocol",
        "websocket",
        "--url",
        url,
        "--path",
        "/echo",
        "--cases",
        cases,
        "--case-timeout",
        limit,
        "--format",
        "json",
    ];
    let (out, _) = run_within(&args, Duration::from_secs(240));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}\nstdout: {}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        )
    });
    let verdicts = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (out.status.code().unwrap_or(-1), verdicts, doc)
}

/// The ids whose verdict is `verdict`.
fn with(verdicts: &BTreeMap<String, String>, verdict: &str) -> Vec<String> {
    verdicts
        .iter()
        .filter(|(_, v)| v.as_str() == verdict)
        .map(|(id, _)| id.clone())
        .collect()
}

#[test]
fn a_conforming_server_passes_every_category() {
    let url = server(Broken::Nothing);
    let (code, verdicts, doc) = suite(&url, "1.,2.,3.,4.,5.,6.,7.,10.");
    assert_eq!(verdicts.len(), 16 + 11 + 7 + 10 + 20 + 145 + 37 + 1);
    assert_eq!(with(&verdicts, "failed"), Vec::<String>::new(), "{doc:#}");
    // A server that sees a frame only whole cannot fail fast inside one frame (Autobahn rates
    // that non-strict); 7.1.6 and 7.13.x are informational.
    assert_eq!(with(&verdicts, "non_strict"), ["6.4.3", "6.4.4"]);
    assert_eq!(
        with(&verdicts, "informational"),
        ["7.1.6", "7.13.1", "7.13.2"]
    );
    assert_eq!(code, 0);
    // `ok` cases carry no trace; the others carry theirs.
    for case in doc["cases"].as_array().unwrap() {
        let trace = case["trace"].as_array().unwrap();
        assert_eq!(trace.is_empty(), case["verdict"] == "ok", "{case:#}");
    }
}

#[test]
fn each_broken_rule_fails_exactly_its_cases() {
    let cases = [
        (Broken::RsvBits, "3.,1.1.1", "3."),
        (Broken::ReservedOpcodes, "4.,1.1.1", "4."),
        (Broken::NoPong, "2.,1.1.1", "2."),
    ];
    for (broken, selection, failing) in cases {
        let (code, verdicts, doc) = suite(&server(broken), selection);
        let failed = with(&verdicts, "failed");
        let want: Vec<String> = verdicts
            .keys()
            .filter(|id| id.starts_with(failing))
            // Without pongs, the cases that want no pong back still pass.
            .filter(|id| {
                !(broken == Broken::NoPong && ["2.5", "2.7", "2.8"].contains(&id.as_str()))
            })
            // A close with RSV bits taken as a close ends the connection all the same: 3.7
            // cannot tell (nor can Autobahn's).
            .filter(|id| !(broken == Broken::RsvBits && id.as_str() == "3.7"))
            .cloned()
            .collect();
        assert_eq!(failed, want, "{broken:?}: {doc:#}");
        assert_eq!(verdicts["1.1.1"], "ok", "{broken:?}");
        assert_eq!(code, 1);
    }
}

#[test]
fn utf8_and_close_rules() {
    let (_, verdicts, doc) = suite(&server(Broken::Utf8), "6.2.1,6.3.,6.4.,6.5.1,6.8.");
    assert_eq!(
        with(&verdicts, "failed"),
        [
            "6.3.1", "6.3.2", "6.4.1", "6.4.2", "6.4.3", "6.4.4", "6.8.1", "6.8.2"
        ],
        "{doc:#}"
    );
    assert_eq!(with(&verdicts, "ok"), ["6.2.1", "6.5.1"]);
    let (_, verdicts, doc) = suite(&server(Broken::CloseCode), "1.1.1,7.3.3,7.7.2,7.7.3,7.9.1");
    // 1001 is the right code only where the harness closed with 1001 (7.7.2).
    assert_eq!(
        with(&verdicts, "failed"),
        ["7.3.3", "7.7.3", "7.9.1"],
        "{doc:#}"
    );
    assert_eq!(with(&verdicts, "non_strict"), ["1.1.1"]);
    assert_eq!(with(&verdicts, "ok"), ["7.7.2"]);
    let (_, verdicts, doc) = suite(&server(Broken::NoCloseReply), "1.1.1,3.1,7.9.1");
    // No close answer: unclean where the RFC wants a clean close, fine where a drop is allowed.
    assert_eq!(with(&verdicts, "failed"), ["1.1.1"], "{doc:#}");
    assert_eq!(with(&verdicts, "ok"), ["3.1", "7.9.1"]);
    let observed = doc["cases"][0]["observed"].as_str().unwrap();
    assert!(
        observed.contains("no close frame from the server"),
        "{observed}"
    );
}

#[test]
fn a_server_that_hangs_or_drops_fails_each_case_and_the_suite_goes_on() {
    for broken in [Broken::Hangs, Broken::Drops] {
        let (code, verdicts, doc) =
            suite_within(&server(broken), "1.1.1,1.1.2,2.2,5.3,7.3.3", "400ms");
        assert_eq!(verdicts.len(), 5);
        assert_eq!(with(&verdicts, "failed").len(), 5, "{broken:?}: {doc:#}");
        assert_eq!(code, 1);
        let first = &doc["cases"][0];
        assert!(!first["trace"].as_array().unwrap().is_empty());
        assert!(first["duration_ms"].as_f64().unwrap() < 3000.0, "{first:#}");
    }
}

#[test]
fn the_reference_answers_the_whole_catalogue_of_at_least_300_cases() {
    let (out, took) = run_within(
        &["protocol", "websocket", "--format", "json"],
        Duration::from_secs(300),
    );
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}\nstderr: {}", text(&out.stderr)));
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 300, "{}", cases.len());
    assert_eq!(doc["path"], "/ws/bench/echo");
    let summary = &doc["summary"];
    let counted: u64 = [
        "ok",
        "non_strict",
        "failed",
        "informational",
        "unimplemented",
    ]
    .iter()
    .map(|k| summary[k].as_u64().unwrap())
    .sum();
    assert_eq!(counted, cases.len() as u64);
    // The reference has no permessage-deflate: every case of 12 and 13 is unimplemented.
    let compression = cases.iter().filter(|c| {
        c["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("12.") || id.starts_with("13."))
    });
    assert_eq!(compression.clone().count(), 216);
    assert!(compression.clone().all(|c| c["verdict"] == "unimplemented"));
    assert_eq!(summary["unimplemented"], 216);
    let failed: Vec<&Value> = cases.iter().filter(|c| c["verdict"] == "failed").collect();
    assert_eq!(
        out.status.code(),
        Some(i32::from(!failed.is_empty())),
        "exit 1 exactly when a case failed"
    );
    eprintln!("reference: {summary} in {took:?}");
}

#[test]
fn selection_usage_and_the_document() {
    let url = server(Broken::Nothing);
    let (code, verdicts, doc) = suite(&url, "1.1.");
    assert_eq!(verdicts.len(), 8);
    assert!(verdicts.keys().all(|id| id.starts_with("1.1.")));
    assert_eq!(code, 0);
    assert_suite_fields(&doc);
    assert_eq!(doc["suite"], "websocket");
    let case = &doc["cases"][0];
    assert_eq!(case["category"], "Framing");
    assert_eq!(doc["summary"]["ok"], 8);
    // --url without --path is a usage error.
    let (out, _) = run_within(
        &["protocol", "websocket", "--url", &url],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--path"),
        "{}",
        text(&out.stderr)
    );
}

/// Runs `protocol websocket` with `args` and `--output FILE`; the exit code.
fn suite_to_file(args: &[&str], file: &std::path::Path) -> i32 {
    let file = file.display().to_string();
    let mut all = vec![
        "protocol",
        "websocket",
        "--cases",
        "1.1.,3.",
        "--case-timeout",
        "400ms",
    ];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--output", &file]);
    let (out, _) = run_within(&all, Duration::from_secs(240));
    assert!(
        std::path::Path::new(&file).is_file(),
        "{}",
        text(&out.stderr)
    );
    out.status.code().unwrap_or(-1)
}

#[test]
fn a_report_of_suite_documents_has_the_grid_the_links_and_valid_documents() {
    let dir = tempfile::tempdir().unwrap();
    let (good, bad) = (dir.path().join("a.json"), dir.path().join("b.json"));
    assert_eq!(suite_to_file(&[], &good), 0);
    let url = server(Broken::RsvBits);
    let broken = [
        "--url",
        url.as_str(),
        "--path",
        "/echo",
        "--target-name",
        "broken",
    ];
    assert_eq!(suite_to_file(&broken, &bad), 1);
    let out = dir.path().join("report");
    let args = [
        "report".to_string(),
        good.display().to_string(),
        bad.display().to_string(),
        "--report".into(),
        out.display().to_string(),
    ];
    let (run, _) = run_within(&args, Duration::from_secs(60));
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();

    let html = read("index.html");
    assert!(html.contains("Suite: websocket"), "{html}");
    assert!(html.contains("<strong>Reserved Bits</strong>"), "{html}");
    // 3.1 is the first case of category 3 after the eight of 1.1: case 8 of document 1.
    assert!(html.contains(r##"<a href="#protocol-1-8">"##), "{html}");
    assert!(html.contains(r#"id="protocol-1-8""#), "{html}");
    assert!(
        !html.contains("href=\"#protocol-0-"),
        "the reference passes: {html}"
    );

    let document: Value = serde_json::from_str(&read("report.json")).unwrap();
    super::common::assert_valid("report.v1.schema.json", &document);
    assert_eq!(document["protocol"].as_array().unwrap().len(), 2);
    let mut wrong = document.clone();
    wrong["protocol"][0]["cases"][0]["verdict"] = "passed".into();
    assert!(!super::common::published_schema("report.v1.schema.json").is_valid(&wrong));

    let summary = read("summary.md");
    assert!(
        summary.contains("## Protocol suite: websocket"),
        "{summary}"
    );
    assert!(summary.contains("`3.1`"), "{summary}");

    let junit = read("junit.xml");
    let xml = roxmltree::Document::parse(&junit).unwrap();
    let broken_suite = xml
        .descendants()
        .find(|n| {
            n.has_tag_name("testsuite") && n.attribute("name") == Some("websocket \u{b7} broken")
        })
        .unwrap_or_else(|| panic!("{junit}"));
    assert_ne!(broken_suite.attribute("failures"), Some("0"), "{junit}");
}

#[test]
fn compare_of_suite_documents_names_the_regressed_and_fixed_cases() {
    let dir = tempfile::tempdir().unwrap();
    let (good, bad) = (dir.path().join("good.json"), dir.path().join("bad.json"));
    for (broken, file) in [(Broken::Nothing, &good), (Broken::RsvBits, &bad)] {
        let url = server(broken);
        let args = [
            "--url",
            url.as_str(),
            "--path",
            "/echo",
            "--target-name",
            "srv",
        ];
        suite_to_file(&args, file);
    }
    let compare = |baseline: &std::path::Path, candidate: &std::path::Path, json: bool| {
        let mut args = vec![
            "compare".to_string(),
            "--baseline".into(),
            baseline.display().to_string(),
            "--candidate".into(),
            candidate.display().to_string(),
        ];
        if json {
            args.extend(["--format".into(), "json".into()]);
        }
        run_within(&args, Duration::from_secs(60)).0
    };
    let out = compare(&good, &bad, false);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("websocket / srv / 3.1: ok -> failed  REGRESSED"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("1.1.1:"),
        "an unchanged case is not listed: {stdout}"
    );

    let out = compare(&bad, &good, true);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let fixed: Vec<&str> = doc["protocol"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "fixed")
        .map(|c| c["case"].as_str().unwrap())
        .collect();
    assert!(fixed.contains(&"3.1"), "{doc:#}");
    assert_eq!(doc["regressions"], 0);

    // A suite document against a run document: nothing to compare (exit 2).
    let run = dir.path().join("run.json");
    std::fs::write(
        &run,
        r#"{"target": {"name": "srv", "kind": "url", "url": ""}, "fixtures": []}"#,
    )
    .unwrap();
    let out = compare(&good, &run, false);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("protocol suite results"),
        "{}",
        text(&out.stderr)
    );
}
