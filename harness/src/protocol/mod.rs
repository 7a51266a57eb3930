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
    /// Whether the case `id` is selected: its id starts with one of the prefixes (a trailing
    /// `*`, as in `12.*`, is the same as none).
    pub fn selects(&self, id: &str) -> bool {
        self.only.is_empty()
            || self
                .only
                .iter()
                .any(|prefix| id.starts_with(prefix.trim_end_matches('*')))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_are_selected_by_prefix_with_or_without_a_trailing_star() {
        let options = |only: &[&str]| SuiteOptions {
            base: Url::parse("http://127.0.0.1:1").unwrap(),
            path: "/".into(),
            tls: TlsSettings::default(),
            case_timeout: Duration::from_secs(1),
            only: only.iter().map(ToString::to_string).collect(),
        };
        assert!(options(&[]).selects("12.1.1"));
        for selection in [&["12.*"][..], &["12."], &["1.1.", "12"]] {
            assert!(options(selection).selects("12.1.1"), "{selection:?}");
        }
        assert!(!options(&["12.*"]).selects("1.2.1"));
        assert!(!options(&["1.*"]).selects("12.1.1"));
        assert!(!options(&["13.*"]).selects("12.1.1"));
    }
}
