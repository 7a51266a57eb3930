//! REST load: one keep-alive HTTP/1.1 connection per worker (hyper's connection API, no pool),
//! the request built once and cloned per operation, every reply checked against the fixture.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use harness_fixture::model::{RequestBody, RestFixture};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, COOKIE, HOST, HeaderName, HeaderValue};
use hyper::{HeaderMap, Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use url::Url;

use super::engine::{LoadError, Worker};
use super::expect::{HeaderExpect, JsonExpect, SchemaExpect, TextExpect, first_header_mismatch};
use super::recorder::ErrorKind;

/// Replies larger than this fail the operation.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// Pause after a failed connection attempt, so that a dead target is not hammered in a loop.
pub(super) const RECONNECT_PAUSE: Duration = Duration::from_millis(50);

/// Where requests go: the resolved address, the Host header and the URL's base.
#[derive(Debug, Clone)]
pub(super) struct Endpoint {
    /// The socket address connections open to.
    pub(super) addr: SocketAddr,
    /// The Host header.
    pub(super) host: HeaderValue,
    base: Url,
}

impl Endpoint {
    /// Resolves the target's base URL.
    pub(super) async fn resolve(base: &Url) -> Result<Endpoint, LoadError> {
        let unreachable = |reason: String| LoadError::Unreachable(format!("{base}: {reason}"));
        let host = base
            .host_str()
            .ok_or_else(|| unreachable("no host".into()))?;
        let port = base
            .port_or_known_default()
            .ok_or_else(|| unreachable("no port".into()))?;
        let addr = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| unreachable(format!("cannot resolve {host}: {e}")))?
            .next()
            .ok_or_else(|| unreachable(format!("{host} has no address")))?;
        let authority = match base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        let host = HeaderValue::from_str(&authority)
            .map_err(|e| LoadError::Fixture(format!("bad host {authority:?}: {e}")))?;
        Ok(Endpoint {
            addr,
            host,
            base: base.clone(),
        })
    }

    /// The URL of `path` (which may carry a query) with `query` pairs appended, as the driver
    /// builds it.
    pub(super) fn url(&self, path: &str, query: &[(String, String)]) -> Result<Url, LoadError> {
        let base = self.base.as_str().trim_end_matches('/');
        let mut url = Url::parse(&format!("{base}{path}"))
            .map_err(|e| LoadError::Fixture(format!("bad URL for {path:?}: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// The request target (path and query) of `path` and `query`.
    pub(super) fn target(&self, path: &str, query: &[(String, String)]) -> Result<Uri, LoadError> {
        let url = self.url(path, query)?;
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        target
            .parse()
            .map_err(|e| LoadError::Fixture(format!("bad request target {target:?}: {e}")))
    }
}

/// Aborts a spawned task when dropped: a connection's driver never outlives its worker.
pub(super) struct AbortOnDrop(pub(super) tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// An open HTTP/1.1 connection.
pub(super) struct Http1 {
    pub(super) sender: SendRequest<Full<Bytes>>,
    _driver: AbortOnDrop,
}

/// Opens a connection to `addr`.
pub(super) async fn open(addr: SocketAddr) -> Result<Http1, ErrorKind> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| ErrorKind::of_io(&e))?;
    stream.set_nodelay(true).ok();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| ErrorKind::of_error(&e))?;
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(Http1 {
        sender,
        _driver: AbortOnDrop(driver),
    })
}

/// Why an operation failed.
pub(super) struct Failure {
    pub(super) kind: ErrorKind,
    /// When the (wrong) reply was complete; `None` for transport failures.
    pub(super) replied: Option<Instant>,
    /// The connection could not be opened: pause before the next attempt.
    pub(super) connecting: bool,
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

/// A REST fixture prepared for load.
#[derive(Debug)]
pub(crate) struct RestLoad {
    endpoint: Endpoint,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    status: u16,
    expect_headers: Vec<HeaderExpect>,
    json: Option<JsonExpect>,
    text: Option<TextExpect>,
    bytes: Option<Vec<u8>>,
    schema: Option<SchemaExpect>,
}

impl RestLoad {
    /// Builds the request and compiles the expectations of `fixture` against `base`.
    pub(crate) async fn prepare(fixture: &RestFixture, base: &Url) -> Result<RestLoad, LoadError> {
        let bad = LoadError::Fixture;
        let endpoint = Endpoint::resolve(base).await?;
        let request = &fixture.request;
        let method = Method::from_bytes(request.method.as_bytes())
            .map_err(|e| bad(format!("method {:?}: {e}", request.method)))?;
        let uri = endpoint.target(&request.path, &request.query.pairs())?;
        let mut headers = HeaderMap::new();
        headers.insert(HOST, endpoint.host.clone());
        for (name, value) in &request.headers {
            headers.append(header_name(name)?, header_value(name, value)?);
        }
        if !request.cookies.is_empty() {
            let cookie = request
                .cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            headers.insert(COOKIE, header_value("cookie", &cookie)?);
        }
        let (body, default_type) = encode_body(request.body()).map_err(bad)?;
        if let Some(content_type) = default_type
            && !headers.contains_key(CONTENT_TYPE)
        {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }

        let expected = &fixture.expected;
        Ok(RestLoad {
            endpoint,
            method,
            uri,
            headers,
            body,
            status: expected.status,
            expect_headers: HeaderExpect::all(&expected.headers).map_err(bad)?,
            json: expected
                .body
                .as_ref()
                .map(|v| JsonExpect::new(v, expected.body_match)),
            text: expected
                .body_text
                .as_deref()
                .map(TextExpect::new)
                .transpose()
                .map_err(bad)?,
            bytes: expected
                .body_base64
                .as_deref()
                .map(|b| BASE64.decode(b))
                .transpose()
                .map_err(|e| bad(format!("expected.body_base64 is not base64: {e}")))?,
            schema: expected
                .body_schema
                .as_ref()
                .map(SchemaExpect::new)
                .transpose()
                .map_err(bad)?,
        })
    }

    /// Runs one connection until the run's end cancels it.
    pub(crate) async fn worker(&self, worker: &mut Worker) {
        let mut connection: Option<Http1> = None;
        loop {
            let slot = worker.pacer.wait().await;
            worker.recorder.lag(slot.intended, slot.lag);
            worker.recorder.begin();
            let deadline = tokio::time::Instant::now() + worker.timeout;
            match tokio::time::timeout_at(deadline, self.operation(&mut connection)).await {
                Ok(Ok(done)) => worker.recorder.success(
                    slot.intended,
                    done.saturating_duration_since(slot.measured_from()),
                ),
                Ok(Err(failure)) => {
                    let latency = failure
                        .replied
                        .map(|at| at.saturating_duration_since(slot.measured_from()));
                    worker
                        .recorder
                        .failure(slot.intended, failure.kind, latency);
                    if failure.replied.is_none() {
                        connection = None;
                    }
                    if failure.connecting {
                        tokio::time::sleep(RECONNECT_PAUSE).await;
                    }
                }
                Err(_) => {
                    connection = None;
                    worker
                        .recorder
                        .failure(slot.intended, ErrorKind::Timeout, None);
                }
            }
        }
    }

    /// One request and its reply, checked; the time the reply was complete.
    async fn operation(&self, connection: &mut Option<Http1>) -> Result<Instant, Failure> {
        let usable = match connection {
            Some(open) => open.sender.ready().await.is_ok(),
            None => false,
        };
        if !usable {
            *connection = None;
            let opened = open(self.endpoint.addr).await.map_err(|kind| Failure {
                kind,
                replied: None,
                connecting: true,
            })?;
            *connection = Some(opened);
        }
        let Some(open) = connection else {
            return Err(Failure::transport(ErrorKind::Closed));
        };
        let response = open
            .sender
            .send_request(self.request())
            .await
            .map_err(|e| Failure::transport(ErrorKind::of_error(&e)))?;
        let (parts, body) = response.into_parts();
        let bytes = Limited::new(body, MAX_BODY)
            .collect()
            .await
            .map_err(|e| Failure::transport(ErrorKind::of_error(e.as_ref())))?
            .to_bytes();
        let done = Instant::now();
        self.check(parts.status.as_u16(), &parts.headers, &bytes)
            .map_err(|kind| Failure {
                kind,
                replied: Some(done),
                connecting: false,
            })?;
        Ok(done)
    }

    fn request(&self) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }

    /// Checks a reply against the fixture: status, headers, then the body, cheapest first.
    fn check(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> Result<(), ErrorKind> {
        if status != self.status {
            return Err(ErrorKind::Status(status));
        }
        if let Some(name) = first_header_mismatch(&self.expect_headers, headers) {
            return Err(ErrorKind::Header(name.as_str().to_string()));
        }
        if let Some(json) = &self.json
            && let Some(at) = json.check(body)
        {
            return Err(ErrorKind::Body(at));
        }
        if let Some(text) = &self.text
            && !text.matches(std::str::from_utf8(body).ok())
        {
            return Err(ErrorKind::Body(String::new()));
        }
        if let Some(bytes) = &self.bytes
            && bytes.as_slice() != body
        {
            return Err(ErrorKind::Body(String::new()));
        }
        if let Some(schema) = &self.schema
            && let Some(at) = schema.check(body)
        {
            return Err(ErrorKind::Body(at));
        }
        Ok(())
    }
}

/// A request header name from a fixture.
pub(super) fn header_name(name: &str) -> Result<HeaderName, LoadError> {
    HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
        .map_err(|e| LoadError::Fixture(format!("header name {name:?}: {e}")))
}

/// A request header value from a fixture.
pub(super) fn header_value(name: &str, value: &str) -> Result<HeaderValue, LoadError> {
    HeaderValue::from_str(value)
        .map_err(|e| LoadError::Fixture(format!("header {name:?} cannot be sent: {e}")))
}

/// The bytes of a request body and the content type it goes with by default.
fn encode_body(body: RequestBody<'_>) -> Result<(Bytes, Option<&'static str>), String> {
    Ok(match body {
        RequestBody::None => (Bytes::new(), None),
        RequestBody::Json(value) => (Bytes::from(value.to_string()), Some("application/json")),
        RequestBody::Text(text) => (
            Bytes::from(text.to_string()),
            Some("text/plain; charset=utf-8"),
        ),
        RequestBody::Base64(b64) => {
            let bytes = BASE64
                .decode(b64)
                .map_err(|e| format!("body_base64 is not base64: {e}"))?;
            (Bytes::from(bytes), Some("application/octet-stream"))
        }
        RequestBody::Form(form) => {
            let encoded = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form.pairs())
                .finish();
            (
                Bytes::from(encoded),
                Some("application/x-www-form-urlencoded"),
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let load = RestLoad::prepare(&f, &base).await.unwrap();
        assert_eq!(load.uri.to_string(), "/prefix/items?q=a+b");
        assert_eq!(load.headers[HOST], "127.0.0.1:9");
        assert_eq!(load.headers[CONTENT_TYPE], "application/json");
        assert_eq!(load.headers[COOKIE], "s=1");
        assert_eq!(&load.body[..], br#"{"name":"x"}"#);

        let mut json = HeaderMap::new();
        json.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let good = br#"{"id":"67e55044-10b1-426f-9247-bb680e5fe0c8","name":"x"}"#;
        assert_eq!(load.check(201, &json, good), Ok(()));
        assert_eq!(load.check(500, &json, good), Err(ErrorKind::Status(500)));
        assert_eq!(
            load.check(201, &HeaderMap::new(), good),
            Err(ErrorKind::Header("content-type".into()))
        );
        assert_eq!(
            load.check(201, &json, br#"{"id":"nope","name":"x"}"#),
            Err(ErrorKind::Body("/id".into()))
        );
    }
}
