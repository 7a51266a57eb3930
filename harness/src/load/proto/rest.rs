//! REST load: one keep-alive HTTP/1.1 connection per worker on a raw socket (as the SSE path),
//! the request's bytes built once and written as is, the reply read into the worker's buffer,
//! its head parsed in place (httparse), its body framed by `Content-Length` or chunked, and
//! checked against the fixture's precompiled expectations without a copy.

use std::time::Instant;

use harness_fixture::model::RestFixture;
use hyper::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

use super::rest_body::{self, BodyTimes};
use super::rest_fixture::{RestExpect, RestRequest, too_large};
use crate::load::expect::raw_header_difference;
use crate::load::net::chunked::{Decoder, Framing};
use crate::load::net::endpoint::Endpoint;
use crate::load::net::http1::{MAX_HEAD, framing, keep_alive};
use crate::load::recorder::ErrorKind;
use crate::load::source::SourceAddrs;
use crate::load::worker::{LoadError, RECONNECT_PAUSE, Worker};
use crate::wire::request::MAX_BODY;
use crate::wire::tls::TlsSettings;
use crate::wire::transport::Stream;

/// The initial size of a connection's read buffer.
const READ_BUFFER: usize = 16 * 1024;

/// Why an operation failed.
struct Failure {
    kind: ErrorKind,
    /// When the (wrong) reply was complete; `None` for transport failures.
    replied: Option<Instant>,
    /// The connection could not be opened: pause before the next attempt.
    connecting: bool,
}

impl Failure {
    fn transport(kind: ErrorKind) -> Failure {
        Failure {
            kind,
            replied: None,
            connecting: false,
        }
    }
}

/// One worker's connection and its reusable buffers: a reply is read into `buffer` and checked
/// there (a chunked body is first joined into `body`), so the common case allocates nothing.
struct Connection {
    stream: Option<Stream>,
    /// Bytes read; `buffer[start..end]` are not consumed yet.
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    /// A chunked body, decoded.
    body: Vec<u8>,
    /// With body timing: when the first read since it was last cleared returned bytes.
    first_read: Option<Instant>,
}

impl Connection {
    fn new() -> Connection {
        Connection {
            stream: None,
            buffer: vec![0; READ_BUFFER],
            start: 0,
            end: 0,
            body: Vec::new(),
            first_read: None,
        }
    }

    /// Reads more bytes after `end` (making room first: the unconsumed bytes move to the front,
    /// the buffer grows up to `limit`). `Closed` at the end of the stream.
    async fn fill(&mut self, limit: usize) -> Result<(), ErrorKind> {
        if self.end == self.buffer.len() {
            if self.start > 0 {
                self.buffer.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else if self.buffer.len() >= limit {
                return Err(ErrorKind::Garbage);
            } else {
                let grown = (self.buffer.len() * 2).min(limit);
                self.buffer.resize(grown, 0);
            }
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(ErrorKind::Closed);
        };
        match stream.read(&mut self.buffer[self.end..]).await {
            Ok(0) => Err(ErrorKind::Closed),
            Ok(read) => {
                self.end += read;
                if self.first_read.is_none() {
                    self.first_read = Some(Instant::now());
                }
                Ok(())
            }
            Err(e) => Err(ErrorKind::of_io(&e)),
        }
    }
}

/// What the head of a reply says.
struct Head {
    status: u16,
    /// How the reply's headers differ from the expected ones, first difference only.
    header_difference: Option<ErrorKind>,
    /// The content codings of the body (`Content-Encoding`).
    codings: Vec<String>,
    framing: Framing,
    keep_alive: bool,
}

/// A REST fixture prepared for load.
#[derive(Debug)]
pub(crate) struct RestLoad {
    endpoint: Endpoint,
    /// The request's bytes (head and body), written as is for every operation.
    request: Vec<u8>,
    /// The request is a HEAD: replies have no body.
    head_only: bool,
    /// What every reply must be.
    expect: RestExpect,
}

impl RestLoad {
    /// Builds the request and compiles the expectations of `fixture` against `base`.
    pub(crate) async fn prepare(
        fixture: &RestFixture,
        base: &Url,
        tls: &TlsSettings,
        sources: &SourceAddrs,
    ) -> Result<RestLoad, LoadError> {
        let endpoint = Endpoint::resolve(base, tls, sources).await?;
        let request = RestRequest::build(&fixture.request, &endpoint)?;
        Ok(RestLoad {
            endpoint,
            request: request.http1_bytes(),
            head_only: request.method == Method::HEAD,
            expect: RestExpect::new(&fixture.expected)?,
        })
    }

    /// Opens a connection (the caller bounds it).
    pub(crate) async fn open(&self) -> Result<Stream, ErrorKind> {
        self.endpoint.connect().await
    }

    /// Runs one connection until the run's end cancels it: `first`, the one the connection
    /// phase opened, then a new one whenever it closes (a failure to open one is a `connect`
    /// error).
    pub(crate) async fn worker(&self, worker: &mut Worker, first: Option<Stream>) {
        let mut connection = Connection::new();
        connection.stream = first;
        // One timer for the worker's whole life, bounding every operation (connect, write,
        // every read). Deadlines only move later, so it is re-armed only when it fires before
        // the current operation's deadline: no timer work per operation in the usual case.
        let timer = tokio::time::sleep(worker.timeout);
        tokio::pin!(timer);
        loop {
            let slot = worker.pacer.wait().await;
            worker.recorder.lag(&slot);
            worker.recorder.begin();
            // The slot was taken just now (intended start plus lateness): no other clock read.
            let deadline =
                tokio::time::Instant::from_std(slot.intended + slot.lag + worker.timeout);
            if timer.deadline() > deadline {
                timer.as_mut().reset(deadline);
            }
            let outcome = {
                let operation = self.operation(&mut connection);
                tokio::pin!(operation);
                loop {
                    tokio::select! {
                        biased;
                        outcome = &mut operation => break Some(outcome),
                        () = &mut timer => {
                            if tokio::time::Instant::now() >= deadline {
                                break None;
                            }
                            timer.as_mut().reset(deadline);
                        }
                    }
                }
            };
            match outcome {
                Some(Ok((done, times))) => {
                    worker.recorder.success(
                        slot.intended,
                        done.saturating_duration_since(slot.measured_from()),
                    );
                    if let Some(times) = times {
                        worker.recorder.body_timing(slot.intended, times);
                    }
                }
                Some(Err(failure)) => {
                    let latency = failure
                        .replied
                        .map(|at| at.saturating_duration_since(slot.measured_from()));
                    worker
                        .recorder
                        .failure(slot.intended, failure.kind, latency);
                    if failure.replied.is_none() {
                        connection.stream = None;
                    }
                    if failure.connecting {
                        tokio::time::sleep(RECONNECT_PAUSE).await;
                    }
                }
                None => {
                    connection.stream = None;
                    worker
                        .recorder
                        .failure(slot.intended, ErrorKind::Timeout, None);
                }
            }
        }
    }

    /// One request and its reply, checked; the time the reply was complete, and with `chunks`
    /// when its body came.
    async fn operation(
        &self,
        connection: &mut Connection,
    ) -> Result<(Instant, Option<BodyTimes>), Failure> {
        if connection.stream.is_none() {
            let stream = self.endpoint.connect().await.map_err(|kind| Failure {
                kind: ErrorKind::connect(kind),
                replied: None,
                connecting: true,
            })?;
            connection.stream = Some(stream);
            connection.start = 0;
            connection.end = 0;
        }
        let sent = self.expect.chunks.timed().then(Instant::now);
        if let Some(stream) = connection.stream.as_mut() {
            // The flush sends what TLS may still hold; on plain TCP it does nothing.
            let written = match stream.write_all(&self.request).await {
                Ok(()) => stream.flush().await,
                Err(e) => Err(e),
            };
            written.map_err(|e| Failure::transport(ErrorKind::of_io(&e)))?;
        }
        let head = self
            .read_head(connection)
            .await
            .map_err(Failure::transport)?;
        // The body's first byte: with the head, or the next read.
        let head_at = sent.map(|_| Instant::now());
        connection.first_read = None;
        let body_with_head = connection.start < connection.end;
        let body = self
            .read_body(connection, head.framing)
            .await
            .map_err(Failure::transport)?;
        let done = Instant::now();
        let body_read = !body_with_head && !body.is_empty();
        let decoded = rest_body::decode(&head.codings, body);
        let checked = self
            .expect
            .check(head.status, head.header_difference, decoded);
        let times = sent.zip(head_at).map(|(sent, head_at)| {
            let first = match connection.first_read {
                Some(read) if body_read => read,
                _ => head_at,
            };
            BodyTimes::new(sent, first, done)
        });
        if !head.keep_alive {
            connection.stream = None;
        }
        checked.map_err(|kind| Failure {
            kind,
            replied: Some(done),
            connecting: false,
        })?;
        Ok((done, times))
    }

    /// Reads and parses the reply's head (skipping interim replies); the body's first bytes
    /// follow at `connection.start`.
    async fn read_head(&self, connection: &mut Connection) -> Result<Head, ErrorKind> {
        loop {
            if connection.start < connection.end {
                let mut slots = [httparse::EMPTY_HEADER; 64];
                let mut response = httparse::Response::new(&mut slots);
                let parsed = response.parse(&connection.buffer[connection.start..connection.end]);
                match parsed {
                    Ok(httparse::Status::Complete(length)) => {
                        connection.start += length;
                        let status = response.code.unwrap_or_default();
                        if (100..200).contains(&status) && status != 101 {
                            // An interim reply: the real one follows.
                            continue;
                        }
                        let headers = &*response.headers;
                        let no_body = self.head_only
                            || (100..200).contains(&status)
                            || status == 204
                            || status == 304;
                        return Ok(Head {
                            status,
                            header_difference: raw_header_difference(&self.expect.headers, headers),
                            codings: rest_body::reply_codings(headers),
                            framing: if no_body {
                                Framing::Length(0)
                            } else {
                                framing(headers)?
                            },
                            keep_alive: keep_alive(response.version, headers),
                        });
                    }
                    Ok(httparse::Status::Partial) => {}
                    Err(_) => return Err(ErrorKind::Garbage),
                }
            }
            connection.fill(MAX_HEAD).await?;
        }
    }

    /// Reads the reply's body; its bytes, in place.
    async fn read_body<'c>(
        &self,
        connection: &'c mut Connection,
        framing: Framing,
    ) -> Result<&'c [u8], ErrorKind> {
        match framing {
            Framing::Length(length) => {
                let length = usize::try_from(length)
                    .ok()
                    .filter(|&n| n <= MAX_BODY)
                    .ok_or_else(too_large)?;
                if connection.start + length > connection.buffer.len() {
                    // Room for the whole body behind the unconsumed bytes.
                    connection
                        .buffer
                        .copy_within(connection.start..connection.end, 0);
                    connection.end -= connection.start;
                    connection.start = 0;
                    if length > connection.buffer.len() {
                        connection.buffer.resize(length, 0);
                    }
                }
                while connection.end - connection.start < length {
                    connection.fill(MAX_BODY).await?;
                }
                let from = connection.start;
                connection.start += length;
                if connection.start == connection.end {
                    connection.start = 0;
                    connection.end = 0;
                }
                Ok(&connection.buffer[from..from + length])
            }
            Framing::Chunked | Framing::Close => {
                let mut decoder = Decoder::new(framing);
                let mut body = std::mem::take(&mut connection.body);
                body.clear();
                let outcome = loop {
                    let input = &connection.buffer[connection.start..connection.end];
                    let decoded = decoder.decode(input, |data| body.extend_from_slice(data));
                    // Bytes after the body's end are dropped with the rest: one reply at a time.
                    connection.start = 0;
                    connection.end = 0;
                    if decoded.is_err() {
                        break Err(ErrorKind::Garbage);
                    }
                    if body.len() > MAX_BODY {
                        break Err(too_large());
                    }
                    if decoder.done() {
                        break Ok(());
                    }
                    match connection.fill(READ_BUFFER).await {
                        Ok(()) => {}
                        Err(ErrorKind::Closed) if decoder.may_end() => {
                            connection.stream = None;
                            break Ok(());
                        }
                        Err(kind) => break Err(kind),
                    }
                };
                connection.body = body;
                outcome.map(|()| &connection.body[..])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    /// A reply body that needed no decoding.
    fn ok(body: &[u8]) -> Result<Cow<'_, [u8]>, ErrorKind> {
        Ok(Cow::Borrowed(body))
    }

    fn fixture(expected: serde_json::Value) -> RestFixture {
        serde_json::from_value(serde_json::json!({
            "request": {"method": "POST", "path": "/items", "query": {"q": "a b"},
                        "json": {"name": "x"}, "cookies": {"s": "1"}},
            "expected": expected
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn the_request_is_built_once_and_replies_are_checked_cheaply() {
        let f = fixture(serde_json::json!({
            "status": 201,
            "headers": {"content-type": "<<starts_with:application/json>>"},
            "body": {"id": "<<uuid>>", "name": "x"}
        }));
        let base = Url::parse("http://127.0.0.1:9/prefix/").unwrap();
        let load = RestLoad::prepare(&f, &base, &TlsSettings::default(), &SourceAddrs::default())
            .await
            .unwrap();
        let request = String::from_utf8(load.request.clone()).unwrap();
        assert!(
            request.starts_with("POST /prefix/items?q=a+b HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(request.contains("\r\nhost: 127.0.0.1:9\r\n"), "{request}");
        assert!(request.contains("\r\ncontent-type: application/json\r\n"));
        assert!(request.contains("\r\ncookie: s=1\r\n"));
        assert!(request.ends_with("\r\ncontent-length: 12\r\n\r\n{\"name\":\"x\"}"));

        let json = [httparse::Header {
            name: "Content-Type",
            value: b"application/json",
        }];
        let differs =
            |headers: &[httparse::Header<'_>]| raw_header_difference(&load.expect.headers, headers);
        let good = br#"{"id":"67e55044-10b1-426f-9247-bb680e5fe0c8","name":"x"}"#;
        assert_eq!(load.expect.check(201, differs(&json), ok(good)), Ok(()));
        assert_eq!(
            load.expect
                .check(500, differs(&json), ok(good))
                .unwrap_err()
                .to_string(),
            "/status: different status, got 500"
        );
        assert_eq!(
            load.expect
                .check(201, differs(&[]), ok(good))
                .unwrap_err()
                .to_string(),
            "/headers/content-type: missing"
        );
        assert_eq!(
            load.expect
                .check(201, None, ok(br#"{"id":"nope","name":"x"}"#))
                .unwrap_err()
                .to_string(),
            "/body/id: expected a UUID"
        );
    }

    #[tokio::test]
    async fn byte_matchers_and_lengths_are_checked_as_run_checks_them() {
        // `run` accepts these (issue 10); the load path refused `<<starts_with:>>` as bad base64
        // and ignored `body_length`.
        let f = fixture(serde_json::json!({
            "status": 200,
            "body_base64": "<<starts_with:iVBORw==>>",
            "body_length": 6
        }));
        let base = Url::parse("http://127.0.0.1:9/").unwrap();
        let load = RestLoad::prepare(&f, &base, &TlsSettings::default(), &SourceAddrs::default())
            .await
            .unwrap();
        let said = |body: &[u8]| {
            load.expect
                .check(200, None, ok(body))
                .map_err(|kind| kind.to_string())
        };
        assert_eq!(said(b"\x89PNG\r\n"), Ok(()));
        assert_eq!(
            said(b"GIF89a"),
            Err("/body_base64: the body does not start with these 4 bytes".into())
        );
        assert_eq!(
            said(b"\x89PNG\r\n\x1a"),
            Err("/body_length: the body has 7 bytes".into())
        );
    }

    #[tokio::test]
    async fn coded_uploads_chunks_and_undecodable_replies_as_run_sees_them() {
        let f: RestFixture = serde_json::from_value(serde_json::json!({
            "request": {"method": "POST", "path": "/up", "json": {"n": 1},
                        "content_encoding": "gzip"},
            "expected": {"status": 200, "chunks": [{"json": {"n": 1}}, {"json": {"n": 2}}]}
        }))
        .unwrap();
        let base = Url::parse("http://127.0.0.1:9/").unwrap();
        let load = RestLoad::prepare(&f, &base, &TlsSettings::default(), &SourceAddrs::default())
            .await
            .unwrap();
        let head_end = load
            .request
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap();
        let head = String::from_utf8_lossy(&load.request[..head_end]).into_owned();
        assert!(head.contains("\r\ncontent-encoding: gzip"), "{head}");
        let sent = &load.request[head_end + 4..];
        assert!(
            head.contains(&format!("\r\ncontent-length: {}", sent.len())),
            "{head}"
        );
        let codings = vec!["gzip".to_string()];
        assert_eq!(
            rest_body::decode(&codings, sent).unwrap().as_ref(),
            br#"{"n":1}"#
        );

        let said = |body: Result<Cow<'_, [u8]>, ErrorKind>| {
            load.expect
                .check(200, None, body)
                .map_err(|kind| kind.to_string())
        };
        assert_eq!(said(ok(b"{\"n\":1}\n{\"n\":2}\n")), Ok(()));
        assert_eq!(
            said(ok(b"{\"n\":1}\n{\"n\":3}\n")),
            Err("/chunks/1/json/n: different number".into())
        );
        assert_eq!(
            said(ok(b"{\"n\":1}\n{\"n\":2}\nmore")),
            Err("/chunks: extra data after the last chunk".into())
        );
        let lie = said(rest_body::decode(&codings, b"{\"n\":1}\n"));
        assert!(
            lie.as_ref()
                .is_err_and(|e| e.starts_with("/body: content-encoding gzip claimed")),
            "{lie:?}"
        );
        // A reply with another status is counted by its status first, as run reports it.
        assert_eq!(
            load.expect
                .check(500, None, rest_body::decode(&codings, b"x"))
                .map_err(|kind| kind.to_string()),
            Err("/status: different status, got 500".into())
        );
    }
}
