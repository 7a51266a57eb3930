//! The raw reader: one HTTP/1.1 GET written by hand, the reply head parsed with httparse, the
//! body read as raw bytes with their arrival times, chunked framing decoded and judged by us,
//! all bounded by a size cap and the case's time limit. Plain TCP or TLS (`wire::transport`).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

use super::chunked::{ChunkMark, ChunkedDecoder, FramingError};
use super::stream::{Line, LineSplitter, count_events, escape};
use crate::results::protocol::{TraceDirection, TraceEntry};
use crate::wire::Deadline;
use crate::wire::tls::TlsSettings;
use crate::wire::transport::{Stream, connect, is_tls};

/// The largest reply head read: 64 KiB.
const MAX_HEAD: usize = 64 * 1024;
/// The most header fields read.
const MAX_HEADERS: usize = 96;

/// What to ask and how long to read.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The server's base URL.
    pub base: &'a Url,
    /// The stream's path (and query).
    pub path: &'a str,
    /// TLS settings for `https://`.
    pub tls: &'a TlsSettings,
    /// A `Last-Event-ID` header to send.
    pub last_event_id: Option<&'a str>,
    /// The whole reading's time limit.
    pub time_limit: Duration,
    /// Stop once a client would have dispatched this many events.
    pub max_events: usize,
    /// Stop once the decoded body holds this many bytes.
    pub max_bytes: usize,
    /// After the body's framing is complete, how long to watch for the close (or stray bytes).
    pub linger: Duration,
    /// Once an event is in, a silence this long ends the reading.
    pub idle: Duration,
}

/// The reply's status line and header fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    /// The status code.
    pub status: u16,
    /// `1` for HTTP/1.1, `0` for HTTP/1.0.
    pub minor_version: u8,
    /// Header fields in order: name (lower case) and raw value.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl Head {
    /// The values of header `name` (lower case), in order.
    pub fn values(&self, name: &str) -> Vec<&[u8]> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
            .collect()
    }

    /// The values of `name` joined with `, ` as text (lossy), `None` when absent.
    pub fn text(&self, name: &str) -> Option<String> {
        let values = self.values(name);
        (!values.is_empty()).then(|| {
            values
                .iter()
                .map(|v| String::from_utf8_lossy(v).trim().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        })
    }

    /// Whether a comma-separated header `name` lists `token` (case-insensitive).
    pub fn lists(&self, name: &str, token: &str) -> bool {
        self.text(name).is_some_and(|t| {
            t.split(',')
                .any(|item| item.trim().eq_ignore_ascii_case(token))
        })
    }
}

/// How the body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// `Content-Length`.
    Length(u64),
    /// Until the connection closes.
    Close,
}

/// Why the reading stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The server closed the connection (TCP FIN; with TLS, after close_notify).
    Closed,
    /// A TLS server closed the TCP connection without close_notify.
    ClosedWithoutNotify,
    /// The connection failed (reset, or another error), in words.
    Failed(String),
    /// The time limit passed.
    TimeLimit,
    /// Enough events were read.
    Enough,
    /// After an event, nothing more came for the request's `idle` time.
    Quiet,
    /// The size cap was reached.
    SizeCap,
    /// The reply head was not HTTP, in words.
    BadHead(String),
    /// The framing broke; reading stopped there.
    FramingBroken,
}

/// Everything one reading saw.
#[derive(Debug)]
pub struct Capture {
    /// The request as sent.
    pub request: String,
    /// When the connection was open (ms since the reading started).
    pub connected_ms: f64,
    /// The reply head, when one was read.
    pub head: Option<Head>,
    /// When it was complete (ms).
    pub head_ms: Option<f64>,
    /// How the body is delimited.
    pub framing: Framing,
    /// The body, decoded from its framing.
    pub body: Vec<u8>,
    /// The body's complete lines.
    pub lines: Vec<Line>,
    /// Offset of the unfinished last line in `body`.
    pub tail_start: usize,
    /// When the first body byte arrived (ms).
    pub first_body_ms: Option<f64>,
    /// The chunks as framed (chunked bodies).
    pub chunks: Vec<ChunkMark>,
    /// The framed body bytes as received (capped).
    pub framed: Vec<u8>,
    /// The first chunked framing error.
    pub framing_error: Option<FramingError>,
    /// Whether the framing was complete (last chunk, or all of Content-Length).
    pub framing_complete: bool,
    /// What was unfinished in the framing when the connection closed.
    pub unfinished: Option<String>,
    /// Bytes after the body's framing was complete.
    pub after_end: Vec<u8>,
    /// When the server closed the connection after the body was complete (ms).
    pub closed_after_body_ms: Option<f64>,
    /// When the body's framing was complete (ms).
    pub body_end_ms: Option<f64>,
    /// Why the reading stopped.
    pub end: End,
    /// When (ms).
    pub end_ms: f64,
    /// Whether it ran over TLS.
    pub tls: bool,
}

impl Capture {
    /// The trace of this reading: the request, the head, the body lines (those around line
    /// `focus` when given, else the first ones), and how it ended.
    pub fn trace(&self, focus: Option<usize>) -> Vec<TraceEntry> {
        let entry = |t_ms: f64, direction, what: String| TraceEntry {
            t_ms: round(t_ms),
            direction,
            what,
        };
        let mut out = vec![entry(
            0.0,
            TraceDirection::Sent,
            escape(self.request.as_bytes(), 400),
        )];
        out.push(entry(
            self.connected_ms,
            TraceDirection::Event,
            "connected".into(),
        ));
        if let (Some(head), Some(at)) = (&self.head, self.head_ms) {
            let mut text = format!("HTTP/1.{} {}\r\n", head.minor_version, head.status);
            for (name, value) in &head.headers {
                text.push_str(&format!("{name}: {}\r\n", String::from_utf8_lossy(value)));
            }
            out.push(entry(
                at,
                TraceDirection::Received,
                escape(text.as_bytes(), 1000),
            ));
        }
        let range = match focus {
            Some(line) => line.saturating_sub(6)..(line + 6).min(self.lines.len()),
            None => 0..self.lines.len().min(24),
        };
        if range.start > 0 {
            out.push(entry(
                self.lines[range.start].at_ms,
                TraceDirection::Event,
                format!("({} lines before)", range.start),
            ));
        }
        for line in &self.lines[range.clone()] {
            let bytes = &self.body[line.start..line.end + terminator_len(line)];
            out.push(entry(
                line.at_ms,
                TraceDirection::Received,
                escape(bytes, 200),
            ));
        }
        if range.end < self.lines.len() {
            let left = self.lines.len() - range.end;
            out.push(entry(
                self.lines[range.end].at_ms,
                TraceDirection::Event,
                format!("({left} lines after)"),
            ));
        }
        if self.tail_start < self.body.len() {
            out.push(entry(
                self.end_ms,
                TraceDirection::Received,
                format!(
                    "{} (unfinished line)",
                    escape(&self.body[self.tail_start..], 200)
                ),
            ));
        }
        if !self.after_end.is_empty() {
            out.push(entry(
                self.end_ms,
                TraceDirection::Received,
                format!("after the body: {}", escape(&self.after_end, 200)),
            ));
        }
        out.push(entry(self.end_ms, TraceDirection::Event, self.end_words()));
        out
    }

    /// Why the reading stopped, in words.
    pub fn end_words(&self) -> String {
        match &self.end {
            End::Closed => "the server closed the connection".into(),
            End::ClosedWithoutNotify => {
                "the server closed the connection without TLS close_notify".into()
            }
            End::Failed(why) => format!("connection failed: {why}"),
            End::TimeLimit => "the time limit passed; the harness left".into(),
            End::Enough => "enough events read; the harness left".into(),
            End::Quiet => "quiet after an event; the harness left".into(),
            End::SizeCap => "the size cap was reached; the harness left".into(),
            End::BadHead(why) => format!("not an HTTP reply: {why}"),
            End::FramingBroken => "the chunked framing broke; the harness left".into(),
        }
    }

    /// Whether the server ended the connection (cleanly or not) rather than the harness.
    pub fn server_ended(&self) -> bool {
        matches!(
            self.end,
            End::Closed | End::ClosedWithoutNotify | End::Failed(_)
        )
    }
}

fn terminator_len(line: &Line) -> usize {
    match line.ending {
        super::stream::Ending::CrLf => 2,
        _ => 1,
    }
}

fn round(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// Why no reading was possible: the connection (or TLS) was refused.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Unreachable(pub String);

/// The request text for `request`.
fn request_text(request: &Request<'_>) -> String {
    let host = request.base.host_str().unwrap_or("localhost");
    let authority = match request.base.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    let prefix = request.base.path().trim_end_matches('/');
    let mut text = format!(
        "GET {prefix}{} HTTP/1.1\r\nHost: {authority}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\nUser-Agent: benchmark-harness-protocol-sse\r\n",
        request.path
    );
    if let Some(id) = request.last_event_id {
        text.push_str(&format!("Last-Event-ID: {id}\r\n"));
    }
    text.push_str("\r\n");
    text
}

/// Connects, sends the GET and reads the reply within the request's limits.
pub async fn read_stream(request: &Request<'_>) -> Result<Capture, Unreachable> {
    let started = Instant::now();
    let deadline = Deadline::after(request.time_limit);
    let tls = is_tls(request.base.scheme());
    let host = request
        .base
        .host_str()
        .unwrap_or("localhost")
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = request.base.port_or_known_default().unwrap_or(80);
    let stream = deadline
        .run(connect(&host, port, tls.then_some(request.tls)))
        .await
        .map_err(|_| {
            Unreachable(format!(
                "no connection to {host}:{port} within the time limit"
            ))
        })?
        .map_err(|e| Unreachable(e.to_string()))?;
    let text = request_text(request);
    let mut decoder = Decoder::new(text.clone(), tls, request.max_bytes);
    decoder.capture.connected_ms = ms(started);
    let mut reading = Reading {
        request,
        started,
        deadline,
        stream,
        decoder: &mut decoder,
    };
    let end = reading.run(text.as_bytes()).await;
    Ok(decoder.finish(end, ms(started)))
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// Turns the bytes of a reply, as they arrive, into a [`Capture`].
struct Decoder {
    capture: Capture,
    splitter: LineSplitter,
    chunked: ChunkedDecoder,
    length_left: u64,
    head_bytes: Vec<u8>,
    max_bytes: usize,
}

impl Decoder {
    fn new(request: String, tls: bool, max_bytes: usize) -> Decoder {
        Decoder {
            capture: Capture {
                request,
                connected_ms: 0.0,
                head: None,
                head_ms: None,
                framing: Framing::Close,
                body: Vec::new(),
                lines: Vec::new(),
                tail_start: 0,
                first_body_ms: None,
                chunks: Vec::new(),
                framed: Vec::new(),
                framing_error: None,
                framing_complete: false,
                unfinished: None,
                after_end: Vec::new(),
                closed_after_body_ms: None,
                body_end_ms: None,
                end: End::TimeLimit,
                end_ms: 0.0,
                tls,
            },
            splitter: LineSplitter::default(),
            chunked: ChunkedDecoder::default(),
            length_left: 0,
            head_bytes: Vec::new(),
            max_bytes,
        }
    }

    /// Takes bytes that arrived at `now`; `Some(end)` when the reading must stop.
    fn take(&mut self, bytes: &[u8], now: f64) -> Option<End> {
        if self.capture.framing_complete {
            self.capture.after_end.extend_from_slice(bytes);
            return None;
        }
        if self.capture.head.is_none() {
            self.head_bytes.extend_from_slice(bytes);
            let head_bytes = std::mem::take(&mut self.head_bytes);
            match self.parse_head(&head_bytes, now) {
                Err(end) => return Some(end),
                Ok(None) => {
                    self.head_bytes = head_bytes;
                    return None;
                }
                Ok(Some(used)) => self.body_bytes(&head_bytes[used..], now),
            }
        } else {
            self.body_bytes(bytes, now);
        }
        if self.chunked.is_broken() {
            return Some(End::FramingBroken);
        }
        None
    }

    /// The reading ended with `end` at `now`: the capture, complete.
    fn finish(mut self, end: End, now: f64) -> Capture {
        self.splitter.finish(&self.capture.body, now);
        let mut capture = self.capture;
        capture.end = end;
        capture.end_ms = now;
        capture.lines = std::mem::take(&mut self.splitter.lines);
        capture.tail_start = self.splitter.tail_start();
        capture.chunks = std::mem::take(&mut self.chunked.chunks);
        capture.framing_error = self.chunked.error.clone();
        if capture.framing == Framing::Chunked {
            capture.after_end.extend_from_slice(&self.chunked.after_end);
            if capture.server_ended() {
                capture.unfinished = self.chunked.unfinished();
            }
        } else if let Framing::Length(_) = capture.framing
            && capture.server_ended()
            && self.length_left > 0
        {
            capture.unfinished = Some(format!(
                "the connection ended {} bytes short of Content-Length",
                self.length_left
            ));
        }
        if capture.server_ended() && capture.framing_complete {
            capture.closed_after_body_ms.get_or_insert(now);
        }
        capture
    }

    /// How many events a client has dispatched so far.
    fn events(&self) -> usize {
        count_events(&self.capture.body, &self.splitter.lines)
    }

    /// Parses the head from `bytes`: `Ok(Some(len))` when complete, `Ok(None)` when more is needed.
    fn parse_head(&mut self, bytes: &[u8], now: f64) -> Result<Option<usize>, End> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(bytes) {
            Ok(httparse::Status::Partial) if bytes.len() > MAX_HEAD => Err(End::BadHead(format!(
                "no end of the reply head within {MAX_HEAD} bytes"
            ))),
            Ok(httparse::Status::Partial) => Ok(None),
            Err(e) => Err(End::BadHead(format!(
                "{e}: {}",
                escape(&bytes[..bytes.len().min(200)], 200)
            ))),
            Ok(httparse::Status::Complete(used)) => {
                let head = Head {
                    status: response.code.unwrap_or(0),
                    minor_version: response.version.unwrap_or(1),
                    headers: response
                        .headers
                        .iter()
                        .map(|h| (h.name.to_ascii_lowercase(), h.value.to_vec()))
                        .collect(),
                };
                self.capture.framing = framing_of(&head);
                if let Framing::Length(n) = self.capture.framing {
                    self.length_left = n;
                    self.capture.framing_complete = n == 0;
                    if n == 0 {
                        self.capture.body_end_ms = Some(now);
                    }
                }
                self.capture.head = Some(head);
                self.capture.head_ms = Some(now);
                Ok(Some(used))
            }
        }
    }

    fn body_bytes(&mut self, bytes: &[u8], now: f64) {
        if bytes.is_empty() {
            return;
        }
        if self.capture.framing_complete {
            self.capture.after_end.extend_from_slice(bytes);
            return;
        }
        self.capture.first_body_ms.get_or_insert(now);
        if self.capture.framed.len() < self.max_bytes {
            self.capture.framed.extend_from_slice(bytes);
        }
        match self.capture.framing {
            Framing::Chunked => {
                self.chunked.feed(bytes, &mut self.capture.body);
                self.capture.framing_complete = self.chunked.is_done();
            }
            Framing::Length(_) => {
                let take = usize::try_from(self.length_left)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                self.capture.body.extend_from_slice(&bytes[..take]);
                self.capture.after_end.extend_from_slice(&bytes[take..]);
                self.length_left -= take as u64;
                self.capture.framing_complete = self.length_left == 0;
            }
            Framing::Close => self.capture.body.extend_from_slice(bytes),
        }
        self.splitter.feed(&self.capture.body, now);
        if self.capture.framing_complete {
            self.capture.body_end_ms.get_or_insert(now);
        }
    }
}

struct Reading<'r> {
    request: &'r Request<'r>,
    started: Instant,
    deadline: Deadline,
    stream: Stream,
    decoder: &'r mut Decoder,
}

impl Reading<'_> {
    async fn run(&mut self, request: &[u8]) -> End {
        // The flush sends what TLS may still hold (a write can leave it buffered when the
        // task's budget runs out); on plain TCP it does nothing.
        let stream = &mut self.stream;
        let sending = async move {
            stream.write_all(request).await?;
            stream.flush().await
        };
        match self.deadline.run(sending).await {
            Err(_) => End::TimeLimit,
            Ok(Err(e)) => End::Failed(format!("sending the request: {e}")),
            Ok(Ok(())) => self.read_all().await,
        }
    }

    /// Reads until the server ends, the limits say stop, or the framing is complete (then
    /// lingers to see the close or stray bytes).
    async fn read_all(&mut self) -> End {
        let mut buffer = vec![0u8; 16 * 1024];
        let mut linger: Option<Deadline> = None;
        // Once an event is in, a silence of `idle` ends the reading (a held-open stream).
        let mut quiet_after: Option<Instant> = None;
        loop {
            let quiet = quiet_after.map(|at| at + self.request.idle);
            let wait = match (linger, quiet) {
                (Some(linger), _) => linger,
                (None, Some(quiet)) if quiet < self.started + self.request.time_limit => {
                    Deadline::at(quiet)
                }
                _ => self.deadline,
            };
            let read = match wait.run(self.stream.read(&mut buffer)).await {
                Err(_) if linger.is_some() => return End::Enough,
                Err(_) if wait != self.deadline => return End::Quiet,
                Err(_) => return End::TimeLimit,
                Ok(Ok(0)) => return End::Closed,
                Ok(Ok(n)) => n,
                Ok(Err(e))
                    if e.kind() == std::io::ErrorKind::UnexpectedEof
                        && self.decoder.capture.tls =>
                {
                    return End::ClosedWithoutNotify;
                }
                Ok(Err(e)) => return End::Failed(e.to_string()),
            };
            let now = ms(self.started);
            if let Some(end) = self.decoder.take(&buffer[..read], now) {
                return end;
            }
            let capture = &self.decoder.capture;
            if capture.framing_complete {
                if linger.is_none() {
                    // A server that said it would close gets the whole linger to do so; on a
                    // kept-alive connection stray bytes would follow at once.
                    let says_close = capture
                        .head
                        .as_ref()
                        .is_some_and(|h| h.lists("connection", "close") || h.minor_version == 0);
                    let wait = if says_close {
                        self.request.linger
                    } else {
                        self.request.linger / 5
                    };
                    let left = self
                        .request
                        .time_limit
                        .saturating_sub(self.started.elapsed());
                    linger = Some(Deadline::after(wait.min(left)));
                }
                continue;
            }
            if capture.body.len() >= self.request.max_bytes {
                return End::SizeCap;
            }
            let events = self.decoder.events();
            if self.request.max_events > 0 && events >= self.request.max_events {
                return End::Enough;
            }
            if events > 0 {
                quiet_after = Some(Instant::now());
            }
        }
    }
}

/// A capture of `reply` (head and framed body) as if it arrived in one piece at 1 ms and the
/// reading then ended with `end`: for the cases' tests.
#[cfg(test)]
pub fn capture_of(reply: &[u8], end: End) -> Capture {
    capture_timed(&[(1.0, reply)], end)
}

/// A capture of the reply's `pieces`, each arriving at its time (ms), the reading then ending
/// with `end` 1 ms after the last.
#[cfg(test)]
pub fn capture_timed(pieces: &[(f64, &[u8])], end: End) -> Capture {
    let mut decoder = Decoder::new("GET / HTTP/1.1\r\n\r\n".into(), false, 1 << 20);
    let mut end = Some(end);
    let mut last = 0.0;
    for (at, bytes) in pieces {
        last = *at;
        if let Some(stop) = decoder.take(bytes, *at) {
            end = Some(stop);
            break;
        }
    }
    decoder.finish(end.unwrap_or(End::Closed), last + 1.0)
}

/// The framing a head announces (RFC 9112, section 6.3): chunked wins over Content-Length.
pub fn framing_of(head: &Head) -> Framing {
    let codings = head.text("transfer-encoding").unwrap_or_default();
    if codings
        .rsplit(',')
        .next()
        .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
    {
        return Framing::Chunked;
    }
    if !codings.is_empty() {
        return Framing::Close;
    }
    match head.text("content-length").map(|v| v.trim().parse::<u64>()) {
        Some(Ok(n)) => Framing::Length(n),
        _ => Framing::Close,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server on loopback that answers every connection with `reply`, then holds it open.
    async fn holding(reply: &'static [u8]) -> Url {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut request = [0u8; 1024];
                    let _ = conn.read(&mut request).await;
                    let _ = conn.write_all(reply).await;
                    tokio::time::sleep(Duration::from_secs(30)).await;
                });
            }
        });
        url
    }

    fn request<'a>(base: &'a Url, tls: &'a TlsSettings, limit: Duration) -> Request<'a> {
        Request {
            base,
            path: "/events",
            tls,
            last_event_id: Some("7"),
            time_limit: limit,
            max_events: 20,
            max_bytes: 1 << 20,
            linger: Duration::from_millis(100),
            idle: Duration::from_millis(150),
        }
    }

    #[tokio::test]
    async fn a_held_stream_ends_quiet_and_a_silent_one_at_the_time_limit() {
        let tls = TlsSettings::default();
        let held =
            holding(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n9\r\ndata: a\n\n\r\n")
                .await;
        let started = Instant::now();
        let capture = read_stream(&request(&held, &tls, Duration::from_secs(5)))
            .await
            .unwrap();
        assert_eq!(capture.end, End::Quiet);
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(capture.body, b"data: a\n\n");
        assert!(
            capture.request.contains("Last-Event-ID: 7\r\n"),
            "{}",
            capture.request
        );
        assert!(capture.request.starts_with("GET /events HTTP/1.1\r\n"));
        let silent = holding(b"HTTP/1.1 200 OK\r\n\r\n").await;
        let capture = read_stream(&request(&silent, &tls, Duration::from_millis(300)))
            .await
            .unwrap();
        assert_eq!(capture.end, End::TimeLimit);
        assert!(capture.head.is_some() && capture.body.is_empty());
    }

    #[tokio::test]
    async fn garbage_instead_of_a_head_and_a_refused_connection() {
        let tls = TlsSettings::default();
        let garbage = holding(b"SSH-2.0-OpenSSH\r\n\r\n").await;
        let capture = read_stream(&request(&garbage, &tls, Duration::from_secs(2)))
            .await
            .unwrap();
        assert!(matches!(capture.end, End::BadHead(_)), "{:?}", capture.end);
        let closed = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            drop(listener);
            Url::parse(&format!("http://{addr}")).unwrap()
        };
        assert!(
            read_stream(&request(&closed, &tls, Duration::from_secs(2)))
                .await
                .is_err()
        );
    }
}
