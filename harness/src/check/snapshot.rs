//! Snapshots: the normalized transcript of every fixture, per target, in insta's file format.
//!
//! Files live at `<snapshots>/<target>/<protocol>/<fixture>.snap`. Existing files are read and
//! compared with insta's own parser and comparison; a changed or new transcript is written beside
//! them as `<fixture>.snap.new`, which `cargo insta review` (run in the workspace: `snapshots/` is
//! a package for that reason) accepts or rejects. Volatile values (dates, UUIDs, timings,
//! timestamps, ports, handshake keys) are redacted before anything is compared or written, and
//! so are credentials (by the store's [`Redactor`]: fingerprints stand for their values).
//!
//! Files are written atomically through a temporary file (`.bh-tmp-*`) that a signal's cleanup
//! removes: an interrupted write leaves the old file or the new one, never a part.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use harness_fixture::model::{HeaderExpectation, MessageMatch, WsMatch, WsStep};
use harness_fixture::{Fixture, Spec};
use insta::TextSnapshotKind;
use insta::internals::TextSnapshotContents;
use regex::Regex;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::matcher::Matcher;
use crate::fsutil::write_atomically;
use crate::redact::Redactor;
use crate::results::transcript::{Body, Headers, Transcript};
use crate::results::{SnapshotOutcome, SnapshotStatus};

/// What `--snapshots` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotMode {
    /// Compare; write `.snap.new` for new or changed transcripts.
    Check,
    /// Accept every transcript as the new snapshot.
    Update,
    /// Neither compare nor write.
    Off,
}

/// The snapshots of one target.
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    dir: PathBuf,
    target: String,
    redactor: Redactor,
}

impl SnapshotStore {
    /// Snapshots of `target` under `root` (the `snapshots/` folder), credentials redacted by
    /// default.
    pub fn new(root: &Path, target: &str) -> SnapshotStore {
        SnapshotStore {
            dir: root.join(target),
            target: target.to_string(),
            redactor: Redactor::default(),
        }
    }

    /// The same store, redacting credentials with `redactor`.
    pub fn with_redactor(mut self, redactor: Redactor) -> SnapshotStore {
        self.redactor = redactor;
        self
    }

    /// The `.snap` file of a fixture.
    pub fn path_for(&self, fixture: &Fixture) -> PathBuf {
        self.dir
            .join(fixture.protocol().as_str())
            .join(format!("{}.snap", fixture.name))
    }

    /// Compares (check) or stores (update) the normalized transcript of `fixture`.
    pub fn apply(
        &self,
        fixture: &Fixture,
        transcript: &Transcript,
        mode: SnapshotMode,
    ) -> std::io::Result<Option<SnapshotOutcome>> {
        if mode == SnapshotMode::Off {
            return Ok(None);
        }
        let path = self.path_for(fixture);
        let pending = path.with_extension("snap.new");
        let mut value = normalize(fixture, transcript);
        self.redactor.value(&mut value);
        let content = render(&value);
        let stored = read_stored(&path);
        let new_contents = TextSnapshotContents::new(content.clone(), TextSnapshotKind::File);
        if let Some(old) = &stored
            && old.matches_latest(&new_contents)
        {
            remove_if_present(&pending)?;
            return Ok(Some(SnapshotOutcome {
                status: SnapshotStatus::Matched,
                path,
                diff: None,
            }));
        }
        let file = self.file_text(fixture, &content);
        match mode {
            SnapshotMode::Update => {
                write_atomically(&path, &file)?;
                remove_if_present(&pending)?;
                Ok(Some(SnapshotOutcome {
                    status: SnapshotStatus::Updated,
                    path,
                    diff: None,
                }))
            }
            _ => {
                write_atomically(&pending, &file)?;
                let (status, diff) = match &stored {
                    None => (SnapshotStatus::New, None),
                    Some(old) => (SnapshotStatus::Changed, Some(self.diff(old, &content))),
                };
                Ok(Some(SnapshotOutcome { status, path, diff }))
            }
        }
    }

    /// The diff from the stored snapshot to `content`, the stored one redacted as this run's is
    /// (a snapshot recorded without redaction shows no credential either).
    fn diff(&self, stored: &TextSnapshotContents, content: &str) -> String {
        let stored = stored.to_string();
        let shown = match serde_json::from_str::<Value>(&stored) {
            Ok(mut value) if self.redactor.is_enabled() => {
                self.redactor.value(&mut value);
                render(&value)
            }
            _ => self.redactor.diff_text(&stored),
        };
        if shown.trim_end() == content.trim_end() {
            return "the stored snapshot holds credentials in plain text, this run's has their \
                    fingerprints: accept it (--snapshots update) to drop them"
                .to_string();
        }
        unified_diff(&shown, content)
    }

    fn file_text(&self, fixture: &Fixture, content: &str) -> String {
        let input = self.relative(&fixture.file);
        let mut header = String::from("---\n");
        header.push_str(&format!("source: {}\n", yaml_string(&input)));
        if let Some(description) = &fixture.description {
            header.push_str(&format!("description: {}\n", yaml_string(description)));
        }
        header.push_str(&format!(
            "expression: {}\n",
            yaml_string(&format!("{} against {}", fixture.name, self.target))
        ));
        header.push_str(&format!("input_file: {}\n", yaml_string(&input)));
        header.push_str("---\n");
        header.push_str(content);
        header.push('\n');
        header
    }
}

impl SnapshotStore {
    /// `file` relative to the folder holding the snapshots folder (the repository), when inside it.
    fn relative(&self, file: &Path) -> String {
        let base = self
            .dir
            .parent()
            .and_then(Path::parent)
            .and_then(|p| p.canonicalize().ok());
        let file_abs = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
        match base.as_deref().and_then(|b| file_abs.strip_prefix(b).ok()) {
            Some(rel) => rel.to_string_lossy().replace('\\', "/"),
            None => file.display().to_string(),
        }
    }
}

/// A YAML scalar as insta writes it: plain when that is unambiguous, else double-quoted (a JSON
/// string is a valid YAML double-quoted scalar).
fn yaml_string(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " _./-".contains(c))
        && !text.starts_with([' ', '-', '.'])
        && !text.ends_with(' ');
    if plain {
        text.to_string()
    } else {
        Value::from(text).to_string()
    }
}

fn read_stored(path: &Path) -> Option<TextSnapshotContents> {
    if !path.is_file() {
        return None;
    }
    let snapshot = insta::Snapshot::from_file(path).ok()?;
    snapshot.contents().as_text().cloned()
}

fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn unified_diff(old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old.trim_end(), new.trim_end())
        .unified_diff()
        .context_radius(2)
        .header("stored", "this run")
        .to_string()
}

/// Pretty JSON, the snapshot's content.
pub fn render(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Normalization

/// Headers that differ on every run.
const DROPPED_HEADERS: &[&str] = &["date", "sec-websocket-accept", "keep-alive"];

/// Headers whose value is a set of comma-separated tokens: sorted, since servers may list them
/// in any order.
const SET_HEADERS: &[&str] = &[
    "allow",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "vary",
];

/// The transcript without timings, with volatile values redacted: by pattern (UUIDs, dates,
/// addresses, time-like keys) and wherever the fixture expects a class matcher (`<<number>>`...).
pub fn normalize(fixture: &Fixture, transcript: &Transcript) -> Value {
    let mut value = normalize_transcript(transcript);
    redact_by_fixture(fixture, &mut value);
    value
}

fn normalize_transcript(transcript: &Transcript) -> Value {
    match transcript {
        Transcript::Rest(t) => {
            let mut out = Map::new();
            out.insert(
                "request".into(),
                json!({
                    "method": t.request.method,
                    "target": t.request.target,
                    "headers": headers(&t.request.headers),
                    "body": t.request.body.as_ref().map(body),
                }),
            );
            // The redirects followed, only where a fixture follows them.
            if !t.redirects.is_empty() {
                let chain: Vec<Value> = t
                    .redirects
                    .iter()
                    .map(|r| json!({"status": r.status, "location": redact_text(&r.location), "method": r.method}))
                    .collect();
                out.insert("redirects".into(), Value::Array(chain));
            }
            if let Some(response) = &t.response {
                out.insert(
                    "response".into(),
                    json!({
                        "status": response.status,
                        "headers": headers(&response.headers),
                        "body": encoded_body(&response.body, &response.headers),
                    }),
                );
            }
            if let Some(i) = &t.interrupted {
                out.insert(
                    "interrupted".into(),
                    json!({"at": i.at, "reason": redact_text(&i.reason)}),
                );
            }
            Value::Object(out)
        }
        Transcript::WebSocket(t) => {
            let mut out = Map::new();
            if let Some(h) = &t.handshake {
                out.insert(
                    "handshake".into(),
                    json!({
                        "status": h.status,
                        "subprotocol": h.subprotocol,
                        "headers": headers(&h.headers),
                    }),
                );
            }
            let steps: Vec<Value> = t
                .steps
                .iter()
                .map(|r| {
                    let mut frame = serde_json::to_value(&r.frame).unwrap_or(Value::Null);
                    if let Some(text) = frame.get("text").and_then(Value::as_str)
                        && let Ok(parsed) = serde_json::from_str::<Value>(text)
                    {
                        frame = json!({ "json": parsed });
                    }
                    redact_value(&mut frame, None);
                    json!({"step": r.step, (match r.direction {
                        crate::results::transcript::Direction::Sent => "sent",
                        crate::results::transcript::Direction::Received => "received",
                    }): frame})
                })
                .collect();
            out.insert("steps".into(), Value::Array(steps));
            if let Some(i) = &t.interrupted {
                out.insert(
                    "interrupted".into(),
                    json!({"at": i.at, "reason": redact_text(&i.reason)}),
                );
            }
            Value::Object(out)
        }
        Transcript::Broadcast(t) => {
            let subscribers: Vec<Value> = t
                .subscribers
                .iter()
                .map(|s| {
                    let mut out = Map::new();
                    out.insert("kind".into(), s.kind.into());
                    out.insert("path".into(), s.path.clone().into());
                    out.insert("status".into(), json!(s.status));
                    if let Some(ack) = &s.ack {
                        out.insert("ack".into(), message_view(ack));
                    }
                    if let Some(d) = &s.delivery {
                        let mut delivery = message_view(&d.data);
                        if let (Some(event), Value::Object(map)) = (&d.event, &mut delivery) {
                            map.insert("event".into(), event.clone().into());
                        }
                        out.insert("delivery".into(), delivery);
                    }
                    Value::Object(out)
                })
                .collect();
            let mut out = Map::new();
            if let Some(reply) = &t.publish {
                out.insert(
                    "publish".into(),
                    json!({"status": reply.status, "headers": headers(&reply.headers), "body": encoded_body(&reply.body, &reply.headers)}),
                );
            }
            out.insert("subscribers".into(), Value::Array(subscribers));
            if let Some(i) = &t.interrupted {
                out.insert(
                    "interrupted".into(),
                    json!({"at": i.at, "reason": redact_text(&i.reason)}),
                );
            }
            Value::Object(out)
        }
        Transcript::Sse(t) => {
            let events: Vec<Value> = t
                .events
                .iter()
                .map(|e| {
                    let mut event = Map::new();
                    event.insert("event".into(), e.event.clone().into());
                    event.insert("id".into(), e.id.clone().into());
                    if let Some(retry) = e.retry {
                        event.insert("retry".into(), retry.into());
                    }
                    match serde_json::from_str::<Value>(&e.data) {
                        Ok(mut parsed) if !e.data.trim().is_empty() => {
                            redact_value(&mut parsed, None);
                            event.insert("json".into(), parsed);
                        }
                        _ => {
                            event.insert("data".into(), redact_text(&e.data).into());
                        }
                    }
                    Value::Object(event)
                })
                .collect();
            let mut out = Map::new();
            let mut request =
                json!({"target": t.request.target, "headers": headers(&t.request.headers)});
            // A method and a body only where a fixture sends them (POST streams): GET streams
            // keep the snapshots they had.
            if t.request.method != "GET" {
                request["method"] = t.request.method.clone().into();
            }
            if let Some(b) = &t.request.body {
                request["body"] = body(b);
            }
            out.insert("request".into(), request);
            out.insert("status".into(), json!(t.status));
            out.insert("headers".into(), headers(&t.headers));
            out.insert("events".into(), Value::Array(events));
            if let Some(b) = &t.body {
                out.insert("body".into(), encoded_body(b, &t.headers));
            }
            out.insert("end".into(), json!(t.end));
            if let Some(i) = &t.interrupted {
                out.insert(
                    "interrupted".into(),
                    json!({"at": i.at, "reason": redact_text(&i.reason)}),
                );
            }
            Value::Object(out)
        }
    }
}

/// Replaces values the fixture matches by class (`<<number>>`, `<<uuid>>`, `<<any>>`, ...) with
/// the matcher's token: the fixture says they vary.
fn redact_by_fixture(fixture: &Fixture, value: &mut Value) {
    match &fixture.spec {
        Spec::Rest(rest) => {
            if let (Some(want), Some(got)) = (
                &rest.expected.body,
                value.pointer_mut("/response/body/json"),
            ) {
                redact_matched(want, got);
            }
            if let Some(got) = value.pointer_mut("/response/headers") {
                redact_matched(&header_expectations(&rest.expected.headers), got);
            }
            // `body_base64: "<<any>>"` says the bytes vary: the snapshot keeps the token.
            if rest.expected.body_base64.as_deref() == Some("<<any>>")
                && let Some(got) = value.pointer_mut("/response/body")
            {
                *got = json!({"base64": "<<any>>"});
            }
        }
        Spec::Sse(sse) => {
            for (index, want) in sse.expected.events.iter().enumerate() {
                if let (Some(want), Some(got)) = (
                    want.json.as_ref().or(want.json_partial.as_ref()),
                    value.pointer_mut(&format!("/events/{index}/json")),
                ) {
                    redact_matched(want, got);
                }
            }
            if let Some(got) = value.pointer_mut("/headers") {
                redact_matched(&header_expectations(&sse.expected.headers), got);
            }
        }
        Spec::Broadcast(broadcast) => {
            let expected = &broadcast.expected;
            if let (Some(want), Some(got)) = (
                expected.publish.as_ref().and_then(|p| p.body.as_ref()),
                value.pointer_mut("/publish/body/json"),
            ) {
                redact_matched(want, got);
            }
            let (MessageMatch::Json(want) | MessageMatch::JsonPartial(want)) = &expected.delivery
            else {
                return;
            };
            if let Some(Value::Array(subscribers)) = value.get_mut("subscribers") {
                for subscriber in subscribers {
                    if let Some(got) = subscriber.pointer_mut("/delivery/json") {
                        redact_matched(want, got);
                    }
                }
            }
        }
        Spec::WebSocket(ws) => {
            let Some(Value::Array(steps)) = value.get_mut("steps") else {
                return;
            };
            for record in steps {
                let Some(index) = record.get("step").and_then(Value::as_u64) else {
                    continue;
                };
                let Some(WsStep::Expect(expect)) = ws.transcript.get(index as usize) else {
                    continue;
                };
                if let (WsMatch::Json(want) | WsMatch::JsonPartial(want), Some(got)) =
                    (&expect.matches, record.pointer_mut("/received/json"))
                {
                    redact_matched(want, got);
                }
            }
        }
    }
}

/// Expected headers as the snapshot shows received ones: a string, or an array of lines.
fn header_expectations(headers: &harness_fixture::model::ExpectedHeaders) -> Value {
    headers
        .iter()
        .map(|(n, v)| {
            let value = match v {
                HeaderExpectation::One(text) => Value::from(text.as_str()),
                HeaderExpectation::Lines(items) => items.iter().map(|i| i.as_str()).collect(),
            };
            (n.to_ascii_lowercase(), value)
        })
        .collect::<Map<_, _>>()
        .into()
}

fn redact_matched(expected: &Value, actual: &mut Value) {
    match (expected, actual) {
        (Value::String(token), actual) => {
            if let Some(Ok(matcher)) = Matcher::parse(token)
                && matcher.is_class()
            {
                *actual = Value::String(token.clone());
            }
        }
        (Value::Object(want), Value::Object(got)) => {
            for (key, w) in want {
                if let Some(g) = got.get_mut(key) {
                    redact_matched(w, g);
                }
            }
        }
        (Value::Array(want), Value::Array(got)) => {
            for (w, g) in want.iter().zip(got.iter_mut()) {
                redact_matched(w, g);
            }
        }
        _ => {}
    }
}

/// A message as JSON when it parses, else as text: `{"json": ..}` or `{"text": ..}`.
fn message_view(text: &str) -> Value {
    match serde_json::from_str::<Value>(text) {
        Ok(mut parsed) => {
            redact_value(&mut parsed, None);
            json!({ "json": parsed })
        }
        Err(_) => json!({ "text": redact_text(text) }),
    }
}

/// Headers sorted by name (values in order), volatile ones dropped, values redacted.
fn headers(list: &Headers) -> Value {
    let mut sorted: Vec<&(String, String)> = list
        .iter()
        .filter(|(n, _)| !DROPPED_HEADERS.contains(&n.as_str()))
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut map = Map::new();
    for (name, value) in sorted {
        let value = if SET_HEADERS.contains(&name.as_str()) {
            let mut tokens: Vec<&str> = value.split(',').map(str::trim).collect();
            tokens.sort_unstable();
            Value::from(tokens.join(", "))
        } else {
            Value::from(redact_text(value))
        };
        match map.get_mut(name) {
            Some(Value::Array(values)) => values.push(value),
            Some(existing) => *existing = Value::Array(vec![existing.clone(), value]),
            None => {
                map.insert(name.clone(), value);
            }
        }
    }
    Value::Object(map)
}

fn body(body: &Body) -> Value {
    let mut view = body.view();
    redact_value(&mut view, None);
    view
}

/// A reply body as the snapshot shows it. A gzip body (`Content-Encoding: gzip` on one line) is
/// shown decoded, beside `"content_encoding": "gzip"`: its bytes hold the time it was
/// compressed (the header's MTIME), so they change on every run while the content does not.
/// One that does not decode within [`MAX_BODY`] bytes is shown as base64 with the 4 MTIME bytes
/// zeroed, and the reason.
fn encoded_body(raw: &Body, reply_headers: &Headers) -> Value {
    let encodings = crate::results::transcript::header_values(reply_headers, "content-encoding");
    let gzip = matches!(encodings.as_slice(), [one] if ["gzip", "x-gzip"]
        .iter()
        .any(|g| one.trim().eq_ignore_ascii_case(g)));
    if !gzip {
        return body(raw);
    }
    let (mut view, note) = match gunzip(&raw.0) {
        Ok(decoded) => (body(&Body(decoded)), "gzip".to_string()),
        Err(reason) => {
            let mut bytes = raw.0.clone();
            if bytes.len() >= 10 && bytes[..2] == [0x1f, 0x8b] {
                bytes[4..8].fill(0);
            }
            (
                json!({"base64": Body(bytes).base64()}),
                format!("gzip, not decoded: {reason}"),
            )
        }
    };
    if let Value::Object(map) = &mut view {
        map.insert("content_encoding".into(), note.into());
    }
    view
}

/// The most a gzip body may decode to in a snapshot: a reply's own cap.
const MAX_BODY: usize = crate::wire::request::MAX_BODY;

/// Why a gzip body is shown undecoded in a snapshot.
#[derive(Debug, thiserror::Error)]
enum GunzipError {
    /// Not gzip, or cut short.
    #[error("{0}")]
    Corrupt(std::io::Error),
    /// More than [`MAX_BODY`] bytes once decoded.
    #[error("decodes to more than {MAX_BODY} bytes")]
    TooLarge,
}

/// Decodes gzip members (RFC 1952), refusing more than [`MAX_BODY`] bytes of output.
fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, GunzipError> {
    use std::io::Read;
    let mut decoded = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut decoded)
        .map_err(GunzipError::Corrupt)?;
    if decoded.len() > MAX_BODY {
        return Err(GunzipError::TooLarge);
    }
    Ok(decoded)
}

fn volatile_key() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)(^|_)(ts|timestamp|time|now|elapsed|duration)(_|$)").unwrap()
    })
}

fn patterns() -> &'static [(Regex, &'static str)] {
    static RES: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    RES.get_or_init(|| {
        vec![
            (Regex::new(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b").unwrap(), "[uuid]"),
            (Regex::new(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?").unwrap(), "[datetime]"),
            (Regex::new(r"\b(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+").unwrap(), "[addr]"),
            (Regex::new(r"(?i)\b(mon|tue|wed|thu|fri|sat|sun), \d{2} [a-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT").unwrap(), "[http-date]"),
        ]
    })
}

/// Replaces UUIDs, dates and local addresses inside a text.
pub fn redact_text(text: &str) -> String {
    let mut out = text.to_string();
    for (re, replacement) in patterns() {
        if re.is_match(&out) {
            out = re.replace_all(&out, *replacement).into_owned();
        }
    }
    out
}

/// Redacts strings everywhere and numbers under time-like keys (`ts_us`, `timestamp`, ...).
pub fn redact_value(value: &mut Value, key: Option<&str>) {
    match value {
        Value::String(s) => *s = redact_text(s),
        Value::Number(_) if key.is_some_and(|k| volatile_key().is_match(k)) => {
            *value = "[timestamp]".into()
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact_value(v, key)),
        Value::Object(map) => map.iter_mut().for_each(|(k, v)| redact_value(v, Some(k))),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gzipped(text: &str, mtime: u32) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::GzBuilder::new()
            .mtime(mtime)
            .write(Vec::new(), flate2::Compression::default());
        encoder.write_all(text.as_bytes()).unwrap();
        encoder.finish().unwrap()
    }

    fn gzip_headers() -> Headers {
        vec![("content-encoding".into(), "gzip".into())]
    }

    #[test]
    fn gzip_bodies_show_decoded_whatever_their_mtime() {
        let one = encoded_body(&Body(gzipped(r#"{"n":1}"#, 1)), &gzip_headers());
        let later = encoded_body(&Body(gzipped(r#"{"n":1}"#, 2)), &gzip_headers());
        assert_eq!(one, json!({"json": {"n": 1}, "content_encoding": "gzip"}));
        assert_eq!(one, later);
        let other = encoded_body(&Body(gzipped(r#"{"n":2}"#, 1)), &gzip_headers());
        assert_ne!(one, other);
        // Without the header the bytes are shown as they came.
        let raw = encoded_body(&Body(gzipped("x", 1)), &Vec::new());
        assert!(raw.get("base64").is_some(), "{raw}");
    }

    #[test]
    fn gzip_that_does_not_decode_keeps_its_bytes_without_the_mtime() {
        let mut one = gzipped("hello", 1);
        let mut later = gzipped("hello", 2);
        let cut = one.len() - 6;
        one.truncate(cut);
        later.truncate(cut);
        let a = encoded_body(&Body(one), &gzip_headers());
        let b = encoded_body(&Body(later), &gzip_headers());
        assert_eq!(a, b);
        let note = a["content_encoding"].as_str().unwrap();
        assert!(note.starts_with("gzip, not decoded: "), "{note}");
        assert!(a.get("base64").is_some(), "{a}");
    }

    #[test]
    fn redacts_volatile_values() {
        let mut v = json!({"id": "67e55044-10b1-426f-9247-bb680e5fe0c8", "at": "2026-11-23T21:00:00Z",
                           "ts_us": 1763931600000000u64, "n": 3, "url": "http://127.0.0.1:41234/x"});
        redact_value(&mut v, None);
        assert_eq!(
            v,
            json!({"id": "[uuid]", "at": "[datetime]", "ts_us": "[timestamp]", "n": 3, "url": "http://[addr]/x"})
        );
    }

    #[test]
    fn headers_are_sorted_and_date_dropped() {
        let list = vec![
            ("x-b".to_string(), "2".to_string()),
            (
                "date".to_string(),
                "Mon, 23 Nov 2026 21:00:00 GMT".to_string(),
            ),
            ("set-cookie".to_string(), "a=1".to_string()),
            ("set-cookie".to_string(), "b=2".to_string()),
        ];
        assert_eq!(
            headers(&list),
            json!({"set-cookie": ["a=1", "b=2"], "x-b": "2"})
        );
        let allow = vec![("allow".to_string(), "PATCH,GET, DELETE".to_string())];
        assert_eq!(headers(&allow), json!({"allow": "DELETE, GET, PATCH"}));
    }

    #[test]
    fn written_files_read_back_through_insta() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.snap");
        let content = render(&json!({"a": 1, "text": "quote \" and \u{e9}"}));
        let file = format!(
            "---\nsource: {}\nexpression: {}\n---\n{content}\n",
            yaml_string("f.json"),
            yaml_string("a: b")
        );
        write_atomically(&path, &file).unwrap();
        let stored = read_stored(&path).expect("insta reads it");
        assert!(stored.matches_latest(&TextSnapshotContents::new(content, TextSnapshotKind::File)));
        let snapshot = insta::Snapshot::from_file(&path).unwrap();
        assert_eq!(snapshot.metadata().expression(), Some("a: b"));
    }
}
