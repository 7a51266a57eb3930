//! What the engine hands each protocol: how to load ([`LoadConfig`]), one connection's state
//! ([`Worker`]), and why a fixture cannot be loaded ([`LoadError`]). The protocols
//! ([`super::proto`]) depend on this module, never on the engine that dispatches to them.

use std::sync::Arc;
use std::time::Duration;

use hyper::header::{InvalidHeaderName, InvalidHeaderValue};
use hyper::http::method::InvalidMethod;
use hyper::http::uri::InvalidUri;
use url::Url;

use super::progress::LoadProgress;
use super::recorder::Recorder;
use super::schedule::{Pacer, Schedule};
use crate::wire::tls::{ALPN_HTTP1, TlsSettings};

/// Pause after a failed connection attempt, so that a dead target is not hammered in a loop.
pub(crate) const RECONNECT_PAUSE: Duration = Duration::from_millis(50);

/// Why a load run could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The fixture cannot be loaded this way (wrong protocol, nothing to measure, bad values).
    #[error(transparent)]
    Fixture(#[from] Unloadable),
    /// The target's address cannot be resolved.
    #[error("{base}: {reason}")]
    Unreachable {
        /// The target's base URL.
        base: Url,
        /// Why it has no address.
        reason: Unresolved,
    },
}

/// Why a fixture cannot be loaded (with these flags): the text names the fixture's field, or
/// the flag, at fault.
#[derive(Debug, thiserror::Error)]
pub enum Unloadable {
    /// `request.method` (or `publish.method`) is not an HTTP method.
    #[error("method {method:?}: {source}")]
    Method {
        /// The method.
        method: String,
        /// Why it is not one.
        source: InvalidMethod,
    },
    /// A request header's name cannot be sent.
    #[error("header name {name:?}: {source}")]
    HeaderName {
        /// The name.
        name: String,
        /// Why.
        source: InvalidHeaderName,
    },
    /// A request header's value cannot be sent.
    #[error("header {name:?} cannot be sent: {source}")]
    HeaderValue {
        /// The header's name.
        name: String,
        /// Why.
        source: InvalidHeaderValue,
    },
    /// The target's host cannot be a `Host` header.
    #[error("bad host {authority:?}: {source}")]
    Host {
        /// Host and port.
        authority: String,
        /// Why.
        source: InvalidHeaderValue,
    },
    /// A fixture's path does not make a URL on the target.
    #[error("bad URL for {path:?}: {source}")]
    Url {
        /// The fixture's path.
        path: String,
        /// Why.
        source: url::ParseError,
    },
    /// A URL's path and query do not make a request target.
    #[error("bad request target {target:?}: {source}")]
    RequestTarget {
        /// Path and query.
        target: String,
        /// Why.
        source: InvalidUri,
    },
    /// A base64 field of the request (or a message) does not decode.
    #[error(transparent)]
    Base64(#[from] crate::wire::request::Base64Error),
    /// An expected text holds a matcher that does not compile.
    #[error(transparent)]
    Matcher(#[from] crate::check::matcher::InvalidMatcher),
    /// `expected.body_base64` is neither base64 nor a binary matcher.
    #[error("expected.body_base64: {reason}")]
    BodyBase64 {
        /// Why.
        reason: String,
    },
    /// The request body cannot be encoded as `request.content_encoding` asks.
    #[error("request.content_encoding: {0}")]
    Encode(#[from] crate::wire::coding::EncodeError),
    /// An expected JSON Schema does not compile.
    #[error("{reason}")]
    Schema {
        /// Why, with the schema's pointer.
        reason: String,
    },
    /// A WebSocket fixture whose upgrade is expected to be refused.
    #[error(
        "the fixture expects the upgrade to be refused ({status}): there is no conversation to load"
    )]
    RefusedUpgrade {
        /// The status expected instead of 101.
        status: u16,
    },
    /// A WebSocket step (or `ignore`) of format 1.1, which the load engine does not replay.
    #[error(
        "{pointer}: `{kind}` (fixture format 1.1) is not replayed under load, which reads one \
         reply per `expect`: replay the fixture with `run`, or load a transcript without it"
    )]
    UnsupportedStep {
        /// The JSON pointer of the step (or of the `ignore` list).
        pointer: String,
        /// The step's key (`expect_unordered`...) or `ignore`.
        kind: &'static str,
    },
    /// A JSON-RPC transcript whose requests and replies do not pair by id.
    #[error("JSON-RPC id {id}: {why}; under load every request's reply is matched by its id")]
    RpcUnmatched {
        /// The id, as JSON.
        id: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A WebSocket transcript without a round trip.
    #[error("the transcript has no `send` answered by an `expect`: nothing to measure")]
    NoRoundTrip,
    /// A broadcast fixture without subscribers.
    #[error("the fixture lists no subscriber")]
    NoSubscriber,
    /// A broadcast run without `--rate`.
    #[error("a broadcast run publishes at a rate: give --rate")]
    NoRate,
    /// An SSE run with `--rate`.
    #[error("an SSE stream is paced by the server: --rate applies to REST and WebSocket")]
    PacedByServer,
    /// No HTTP client can be built for a REST scenario with the run's settings.
    #[error("no HTTP client for the scenario: {reason}")]
    HttpClient {
        /// Why.
        reason: String,
    },
    /// A broadcast fixture given to the engine of the other protocols.
    #[error("a broadcast fixture is loaded by its own engine")]
    OwnEngine,
    /// No connection.
    #[error("at least one connection is needed")]
    NoConnection,
    /// `--shard I/N` with fewer connections than shards: this one has none.
    #[error(
        "shard {shard}/{shards} has no connection of --connections {connections}: give at least \
         as many connections as shards"
    )]
    EmptyShard {
        /// This shard.
        shard: usize,
        /// How many.
        shards: usize,
        /// The run's connections.
        connections: usize,
    },
    /// `--shard` or `--start-at` on a broadcast fixture.
    #[error(
        "a broadcast fixture is not sharded: its publisher is one schedule (run it without \
         --shard and --start-at)"
    )]
    BroadcastSharded,
    /// `--source-addr` of another family than the target's address.
    #[error("--source-addr {address} cannot connect to {target}: give addresses of its family")]
    SourceFamily {
        /// The first source address of the other family.
        address: std::net::IpAddr,
        /// The target's address.
        target: std::net::SocketAddr,
    },
    /// `--source-addr` on a REST scenario, whose client binds no address.
    #[error("--source-addr applies to bench and stream fixtures, not REST scenarios")]
    ScenarioSources,
    /// The broadcast fixture was still in use when publishing began (a bug).
    #[error("still shared")]
    StillShared,
}

/// Why a target's base URL has no address to connect to.
#[derive(Debug, thiserror::Error)]
pub enum Unresolved {
    /// The URL has no host.
    #[error("no host")]
    NoHost,
    /// The URL has no port, and its scheme none by default.
    #[error("no port")]
    NoPort,
    /// The host name cannot be resolved.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// The host.
        host: String,
        /// Why.
        source: std::io::Error,
    },
    /// The host name resolves to no address.
    #[error("{host} has no address")]
    NoAddress {
        /// The host.
        host: String,
    },
    /// The host of an `https://` URL is no name a TLS certificate can be checked against.
    #[error("the host is not a name TLS can check")]
    NoTlsName,
}

/// How to load.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// This generator's share of the run (`--shard`; the whole run by default).
    pub shard: super::schedule::Shard,
    /// When the run starts on the wall clock (`--start-at`): shards start together. `None`:
    /// now.
    pub start_at: Option<std::time::SystemTime>,
    /// Connections (SSE: subscribers), at least one.
    pub connections: usize,
    /// Closed or open loop.
    pub schedule: Schedule,
    /// Load before measurement starts.
    pub warmup: Duration,
    /// Measured load.
    pub duration: Duration,
    /// Bound on every wait: a connection, a reply, an event.
    pub timeout: Duration,
    /// The largest SSE line or event, and WebSocket message, read from the server; past it the
    /// operation fails (`event too large`, `message too large`).
    pub max_event_size: usize,
    /// Openings of connections spread over this time (WebSocket, SSE).
    pub ramp: Duration,
    /// Keep every second's histogram (for `--hlog`).
    pub keep_intervals: bool,
    /// Where the run reports its progress (the command's bar), if anywhere.
    pub progress: Option<Arc<dyn LoadProgress>>,
    /// Sample the CPU and memory of this process group (a runner's app) while measuring.
    pub sample_group: Option<i32>,
    /// The TLS client configuration of `https://` targets (`--cacert`, `--insecure`,
    /// `--client-cert`), one for every connection of the run.
    pub tls: TlsSettings,
    /// HTTP/1.1, or HTTP/2 with this many streams per connection (REST only).
    pub http: HttpVersion,
    /// `--source-addr`: local addresses connections are bound to in turn.
    pub sources: super::source::SourceAddrs,
    /// Connections opening at once in the connection phase, at most (`--connect-concurrency`).
    pub connect_concurrency: usize,
}

impl LoadConfig {
    /// The TLS configuration of HTTP/1.1 connections (REST, the WebSocket upgrade, SSE):
    /// `--cacert` and the others, offering ALPN `http/1.1`.
    pub(crate) fn http1_tls(&self) -> TlsSettings {
        self.tls.with_alpn(&[ALPN_HTTP1])
    }
}

/// The HTTP version REST load speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpVersion {
    /// HTTP/1.1, one request in flight per connection.
    #[default]
    Http1,
    /// HTTP/2 (h2c with prior knowledge for `http://`, ALPN `h2` for `https://`).
    Http2 {
        /// Requests in flight per connection (concurrent streams), at least one.
        streams: usize,
    },
}

impl HttpVersion {
    /// `1.1` or `2`, as result documents say it.
    pub fn label(self) -> &'static str {
        match self {
            HttpVersion::Http1 => "1.1",
            HttpVersion::Http2 { .. } => "2",
        }
    }

    /// Requests in flight per connection.
    pub fn streams(self) -> usize {
        match self {
            HttpVersion::Http1 => 1,
            HttpVersion::Http2 { streams } => streams,
        }
    }
}

/// One connection's state, handed to the protocol's worker loop.
pub(crate) struct Worker {
    /// When each operation is due.
    pub(crate) pacer: Pacer,
    /// Where results go.
    pub(crate) recorder: Recorder,
    /// Bound on every wait.
    pub(crate) timeout: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `bench` and `stream` print after the fixture's file name, word for word.
    #[test]
    fn reasons_keep_their_words() {
        let base = Url::parse("http://nowhere.invalid:8080/").unwrap();
        let cases = [
            (
                LoadError::from(Unloadable::RefusedUpgrade { status: 403 }),
                "the fixture expects the upgrade to be refused (403): there is no conversation to load",
            ),
            (
                Unloadable::NoRoundTrip.into(),
                "the transcript has no `send` answered by an `expect`: nothing to measure",
            ),
            (
                Unloadable::NoRate.into(),
                "a broadcast run publishes at a rate: give --rate",
            ),
            (
                Unloadable::PacedByServer.into(),
                "an SSE stream is paced by the server: --rate applies to REST and WebSocket",
            ),
            (
                Unloadable::BodyBase64 {
                    reason: "bad".into(),
                }
                .into(),
                "expected.body_base64: bad",
            ),
            (
                LoadError::Unreachable {
                    base: base.clone(),
                    reason: Unresolved::NoAddress {
                        host: "nowhere.invalid".into(),
                    },
                },
                "http://nowhere.invalid:8080/: nowhere.invalid has no address",
            ),
            (
                LoadError::Unreachable {
                    base,
                    reason: Unresolved::NoPort,
                },
                "http://nowhere.invalid:8080/: no port",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text, "{error:?}");
        }
    }
}
