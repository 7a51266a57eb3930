//! The protocol suites: frame-level conformance of a WebSocket echo endpoint (RFC 6455, after
//! Autobahn|Testsuite's catalogue) and of an SSE stream (the WHATWG event-stream format). Unlike
//! fixture replay, these speak the wire themselves: a conformant client library refuses to send
//! the bad frames and cannot show the raw bytes the cases judge.
//!
//! Data flow: [`SuiteOptions`] -> a suite's catalogue of cases -> each case on its own
//! connection, within its time limit -> a [`CaseResult`] per case (verdict, expected, observed,
//! trace) -> `results::protocol::SuiteReport`.

pub mod sse;
pub mod websocket;

use std::time::Duration;

use url::Url;

use crate::results::protocol::CaseResult;
use crate::wire::tls::TlsSettings;

/// What a suite runs against and how.
#[derive(Debug, Clone)]
pub struct SuiteOptions {
    /// The server's base URL (`http://`, `https://`; `ws://` and `wss://` are read as their
    /// HTTP twins).
    pub base: Url,
    /// The endpoint's path (and query) under test.
    pub path: String,
    /// TLS client settings for `https://` bases.
    pub tls: TlsSettings,
    /// Time limit of each case.
    pub case_timeout: Duration,
    /// Only cases whose id starts with one of these; all when empty.
    pub only: Vec<String>,
}

impl SuiteOptions {
    /// Whether the case `id` is selected.
    pub fn selects(&self, id: &str) -> bool {
        self.only.is_empty()
            || self
                .only
                .iter()
                .any(|prefix| id.starts_with(prefix.as_str()))
    }
}

/// Why a suite could not run at all (a case that fails is a verdict, not this).
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// The endpoint could not be reached at all (connection refused, TLS refused).
    #[error("{url}: {reason}")]
    Unreachable {
        /// The endpoint.
        url: String,
        /// Why, in words.
        reason: String,
    },
}

/// Runs the cases of one suite.
pub type SuiteOutcome = Result<Vec<CaseResult>, SuiteError>;
