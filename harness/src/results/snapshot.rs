//! What happened to a fixture's snapshot, as documents record it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What happened to one fixture's snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotStatus {
    /// Same as the stored snapshot.
    Matched,
    /// No stored snapshot: a pending `.snap.new` was written.
    New,
    /// Differs from the stored snapshot: a pending `.snap.new` was written.
    Changed,
    /// The stored snapshot was written or replaced (`--snapshots update`).
    Updated,
}

/// The snapshot result of one fixture.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotOutcome {
    /// What happened.
    pub status: SnapshotStatus,
    /// The `.snap` file.
    pub path: PathBuf,
    /// Unified diff from the stored snapshot to this run's, when it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}
