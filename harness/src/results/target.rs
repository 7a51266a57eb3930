//! The server a result was measured against, as documents name it.

use serde::{Deserialize, Serialize};

/// How a target is described in results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// Name used for snapshots and reports (`rust-axum`, `url-127.0.0.1-8080`, a runner's name).
    pub name: String,
    /// What kind of target it is.
    pub kind: TargetKind,
    /// Base URL.
    pub url: String,
}

/// What kind of target a run was against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// The reference server, in process.
    Embedded,
    /// A server already running at `--url`.
    Url,
    /// A runner's app, booted by the harness.
    Runner,
    /// A matrix of several runners (the target of a matrix document).
    Matrix,
}
