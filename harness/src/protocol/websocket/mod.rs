//! The WebSocket suite (RFC 6455): a frame-level client of its own and a case catalogue after
//! Autobahn|Testsuite's numbering, against an echo endpoint.

use super::{SuiteError, SuiteOptions, SuiteOutcome};

/// Runs the selected cases against `options.base` + `options.path`.
pub async fn run_suite(_options: &SuiteOptions) -> SuiteOutcome {
    Err(SuiteError::NotBuilt("websocket"))
}
