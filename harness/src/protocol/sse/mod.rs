//! The SSE suite: the raw bytes of a server's event stream checked against the WHATWG
//! event-stream rules and what clients need in practice.

use super::{SuiteError, SuiteOptions, SuiteOutcome};

/// Runs the selected cases against `options.base` + `options.path`.
pub async fn run_suite(_options: &SuiteOptions) -> SuiteOutcome {
    Err(SuiteError::NotBuilt("sse"))
}
