//! Drivers replay a fixture over real sockets and return its [`Transcript`](crate::results::transcript::Transcript).
//!
//! They do not judge: whatever the server sends is recorded, and a replay that cannot go on
//! (timeout, reset, garbage, an event or message past `--max-event-size`) is recorded as
//! interrupted. Every wait of a step has an absolute deadline ([`crate::wire::Deadline`]) that a
//! server keeping the socket busy cannot starve.

mod broadcast;
mod close_watch;
mod error;
mod reply;
mod rest;
mod scenario;
mod sse;
mod upgrade;
mod ws;

use std::time::Duration;

use harness_fixture::{Fixture, Spec};
use url::Url;

use harness_fixture::model::RequestBody;

use crate::results::transcript::{Headers, ReceivedResponse, SentRequest, Transcript};
use crate::wire::Deadline;
use crate::wire::request::{USER_AGENT, encode_body};
use crate::wire::tls::{ALPN_H2, ALPN_HTTP1, TlsSettings};

pub use error::StepError;
use reply::{read_body, reply_headers, send_and_read_by};
pub use scenario::ScenarioClient;

/// What every replay needs: the target's base URL, one HTTP client, the step timeout, the
/// largest event or message read.
#[derive(Debug, Clone)]
pub struct Driver {
    base: Url,
    /// Where WebSocket fixtures go instead of `base` (`--ws-url`).
    ws_base: Option<Url>,
    /// Where SSE fixtures go instead of `base` (`--sse-url`).
    sse_base: Option<Url>,
    client: reqwest::Client,
    /// The TLS client configuration of `client`, for the WebSocket upgrade too.
    tls: TlsSettings,
    /// `client` speaks HTTP/2 only (`--http2`); the WebSocket upgrade stays HTTP/1.1.
    http2: bool,
    timeout: Duration,
    max_event_size: usize,
}

impl Driver {
    /// A driver for the server at `base` (`http://127.0.0.1:8080`, maybe with a path prefix).
    pub fn new(base: Url, timeout: Duration) -> Result<Driver, reqwest::Error> {
        let tls = TlsSettings::default();
        Ok(Driver {
            base,
            ws_base: None,
            sse_base: None,
            client: http_client(timeout, &tls, false)?,
            tls,
            http2: false,
            timeout,
            max_event_size: crate::wire::DEFAULT_MAX_EVENT_SIZE,
        })
    }

    /// The driver with another TLS client configuration (`--cacert`, `--insecure`,
    /// `--client-cert`) for `https://` and `wss://` targets.
    pub fn with_tls(mut self, tls: TlsSettings) -> Result<Driver, reqwest::Error> {
        self.client = http_client(self.timeout, &tls, self.http2)?;
        self.tls = tls;
        Ok(self)
    }

    /// The driver speaking HTTP/2 only (`--http2`): with prior knowledge to `http://` targets,
    /// offering ALPN `h2` alone over TLS. REST, SSE and the broadcast's REST publish go over
    /// it; WebSocket fixtures keep the HTTP/1.1 upgrade.
    pub fn with_http2(mut self, http2: bool) -> Result<Driver, reqwest::Error> {
        self.client = http_client(self.timeout, &self.tls, http2)?;
        self.http2 = http2;
        Ok(self)
    }

    /// The driver with another limit on an SSE line or event, and a WebSocket message (16 MiB
    /// by default); past it the replay is interrupted.
    pub fn with_max_event_size(mut self, bytes: usize) -> Driver {
        self.max_event_size = bytes;
        self
    }

    /// The driver with other base URLs for WebSocket and SSE fixtures (`--ws-url`,
    /// `--sse-url`): one run covers servers on several ports. Broadcast fixtures (a REST
    /// publish and stream subscribers) stay on the main base.
    pub fn with_protocol_bases(mut self, ws: Option<Url>, sse: Option<Url>) -> Driver {
        self.ws_base = ws;
        self.sse_base = sse;
        self
    }

    /// A copy with an HTTP client of its own (a REST scenario's): its connections are kept
    /// alive from request to request (`reuse`), or each request opens a fresh one.
    fn with_connection_reuse(&self, reuse: bool) -> Result<Driver, reqwest::Error> {
        Ok(Driver {
            client: http_client_pooled(self.timeout, &self.tls, self.http2, reuse)?,
            ..self.clone()
        })
    }

    /// This driver, or a copy aimed at `base` when one is given.
    fn based(&self, base: Option<&Url>) -> std::borrow::Cow<'_, Driver> {
        match base {
            Some(base) => std::borrow::Cow::Owned(Driver {
                base: base.clone(),
                ..self.clone()
            }),
            None => std::borrow::Cow::Borrowed(self),
        }
    }

    /// Replays one fixture.
    pub async fn replay(&self, fixture: &Fixture) -> Transcript {
        match &fixture.spec {
            Spec::Rest(rest) => Transcript::Rest(rest::replay(self, rest).await),
            Spec::Scenario(s) => Transcript::Scenario(scenario::replay(self, s).await),
            Spec::WebSocket(ws) => {
                let driver = self.based(self.ws_base.as_ref());
                Transcript::WebSocket(ws::replay(&driver, ws).await)
            }
            Spec::Sse(sse) => {
                let driver = self.based(self.sse_base.as_ref());
                Transcript::Sse(sse::replay(&driver, sse).await)
            }
            Spec::Broadcast(b) => Transcript::Broadcast(broadcast::replay(self, b).await),
        }
    }

    /// The URL of `path` (which may carry a query) on the target, with `query` pairs appended.
    fn url(&self, path: &str, query: &[(String, String)]) -> Result<Url, url::ParseError> {
        let base = self.base.as_str().trim_end_matches('/');
        let mut url = Url::parse(&format!("{base}{path}"))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }
}

/// The HTTP client of a driver: no redirects followed, connections kept 5 s, TLS by `tls`;
/// HTTP/1.1 (ALPN `http/1.1`), or HTTP/2 only (prior knowledge, ALPN `h2`). It neither sends
/// `Accept-Encoding` nor decodes replies itself (whatever features another crate turns on): a
/// fixture's headers say what is accepted, and the driver decodes what came
/// ([`crate::wire::coding`]).
fn http_client(
    timeout: Duration,
    tls: &TlsSettings,
    http2: bool,
) -> Result<reqwest::Client, reqwest::Error> {
    http_client_pooled(timeout, tls, http2, true)
}

/// [`http_client`], keeping idle connections for reuse or (`reuse` false) none: every request
/// then opens a connection of its own.
fn http_client_pooled(
    timeout: Duration,
    tls: &TlsSettings,
    http2: bool,
    reuse: bool,
) -> Result<reqwest::Client, reqwest::Error> {
    let mut builder = reqwest::Client::builder();
    if !reuse {
        builder = builder.pool_max_idle_per_host(0);
    }
    let builder = builder
        .no_gzip()
        .no_brotli()
        .no_zstd()
        .no_deflate()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(USER_AGENT)
        .connect_timeout(timeout)
        .pool_idle_timeout(Duration::from_secs(5));
    if http2 {
        builder
            .http2_prior_knowledge()
            .tls_backend_preconfigured(tls.with_alpn(&[ALPN_H2]).client_config())
            .build()
    } else {
        builder
            .http1_only()
            .tls_backend_preconfigured(tls.with_alpn(&[ALPN_HTTP1]).client_config())
            .build()
    }
}

/// A fixture's request headers, names in lower case.
fn fixture_headers(headers: &harness_fixture::model::StringMap) -> Headers {
    headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .collect()
}

/// Adds `headers` to a request; the error names a header that cannot be sent.
fn with_headers(
    mut builder: reqwest::RequestBuilder,
    headers: &Headers,
) -> Result<reqwest::RequestBuilder, StepError> {
    use reqwest::header::{HeaderName, HeaderValue};
    for (name, value) in headers {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(value)) => builder = builder.header(name, value),
            _ => return Err(StepError::Header { name: name.clone() }),
        }
    }
    Ok(builder)
}

/// How long a step waits: `--timeout`, or the fixture's `within_ms` when that is longer.
fn step_wait(timeout: Duration, within_ms: Option<u64>) -> Duration {
    within_ms.map_or(timeout, |ms| timeout.max(Duration::from_millis(ms)))
}

/// Sends a request and reads its whole reply, within the step timeout.
async fn send_and_read(
    driver: &Driver,
    request: reqwest::RequestBuilder,
) -> Result<ReceivedResponse, StepError> {
    let started = std::time::Instant::now();
    let deadline = Deadline::after(driver.timeout);
    send_and_read_by(request, deadline, driver.timeout, started).await
}

/// Puts `body` into `sent`, with its default content type unless the fixture's headers name one.
fn set_body(
    sent: &mut SentRequest,
    body: RequestBody<'_>,
    boundary: Option<&str>,
) -> Result<(), StepError> {
    use reqwest::header::CONTENT_TYPE;
    let (body, default_type) = encode_body(body, boundary)?;
    sent.body = body;
    if let Some(content_type) = default_type
        && !sent.headers.iter().any(|(n, _)| n == CONTENT_TYPE.as_str())
    {
        sent.headers
            .push((CONTENT_TYPE.as_str().to_string(), content_type));
    }
    Ok(())
}

/// Path and query of a URL, as they go on the request line.
fn target_of(url: &Url) -> String {
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_string(),
    }
}

/// A readable reason from an error and its sources.
fn reason(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        source = inner.source();
    }
    text
}

fn micros(since: std::time::Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}
