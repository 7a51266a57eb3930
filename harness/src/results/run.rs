//! The result document of `run`: one entry per fixture and their counts.

use std::path::PathBuf;

use harness_fixture::Protocol;
use serde::{Deserialize, Serialize};

use super::snapshot::{SnapshotOutcome, SnapshotStatus};
use super::target::TargetInfo;
use crate::results::diff::Mismatch;

/// Why a replay could not complete (the fixture is then `errored`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interrupted {
    /// Where in the replay: `request`, `/transcript/3`, `/events/2`.
    pub at: String,
    /// What happened: timeout, reset, garbage.
    pub reason: String,
}

/// The outcome of one fixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every check held.
    Passed,
    /// The server replied, differently from the expectation.
    Failed,
    /// Not replayed (`skip`).
    Skipped,
    /// The replay could not complete: timeout, reset, garbage.
    Errored,
}

/// The result of one fixture.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FixtureResult {
    /// Fixture name.
    pub name: String,
    /// Protocol.
    pub protocol: Protocol,
    /// Fixture file.
    pub file: PathBuf,
    /// Outcome.
    pub outcome: Outcome,
    /// Every difference found (empty when passed).
    pub diff: Vec<Mismatch>,
    /// Why the replay could not complete (errored), or why it was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Interrupted>,
    /// Snapshot result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotOutcome>,
    /// When the reply body arrived, for a REST fixture that expects `chunks` or
    /// `first_byte_within_ms` (and got a reply): a server that buffers what it should stream
    /// shows it here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_arrivals: Option<BodyArrivals>,
    /// The runner's manifest lists this fixture as a known divergence (`expected_failures`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expected_failure: bool,
    /// Replay time in milliseconds.
    pub duration_ms: f64,
}

/// When a reply body arrived, from the transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BodyArrivals {
    /// Whole milliseconds from sending the (first) request to the body's first byte (to the
    /// end of the reply head, for an empty body).
    pub first_byte_ms: u64,
    /// The pieces of the body as read from the connection (reads within one millisecond
    /// together, at most [`crate::results::transcript::MAX_ARRIVALS`]).
    pub arrivals: Vec<crate::results::transcript::Arrival>,
}

/// Counts by outcome.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Passed fixtures.
    pub passed: usize,
    /// Failed fixtures.
    pub failed: usize,
    /// Skipped fixtures.
    pub skipped: usize,
    /// Errored fixtures.
    pub errored: usize,
    /// Snapshots that differ from the stored ones.
    pub snapshots_changed: usize,
    /// Fixtures without a stored snapshot.
    pub snapshots_new: usize,
    /// Failed or errored fixtures that the runner lists as known divergences.
    #[serde(default)]
    pub expected_failures: usize,
    /// Wall time of the run in milliseconds.
    pub duration_ms: f64,
}

/// The result document of `run`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    /// The server replayed against.
    pub target: TargetInfo,
    /// Counts.
    pub summary: Summary,
    /// One entry per fixture, in fixture-file order.
    pub fixtures: Vec<FixtureResult>,
}

impl RunReport {
    /// Builds the report and its summary.
    pub fn new(target: TargetInfo, fixtures: Vec<FixtureResult>, duration_ms: f64) -> RunReport {
        let mut summary = Summary {
            duration_ms,
            ..Summary::default()
        };
        for f in &fixtures {
            if f.expected_failure && matches!(f.outcome, Outcome::Failed | Outcome::Errored) {
                summary.expected_failures += 1;
            }
            match f.outcome {
                Outcome::Passed => summary.passed += 1,
                Outcome::Failed => summary.failed += 1,
                Outcome::Skipped => summary.skipped += 1,
                Outcome::Errored => summary.errored += 1,
            }
            match f.snapshot.as_ref().map(|s| s.status) {
                Some(SnapshotStatus::Changed) => summary.snapshots_changed += 1,
                Some(SnapshotStatus::New) => summary.snapshots_new += 1,
                _ => {}
            }
        }
        RunReport {
            target,
            summary,
            fixtures,
        }
    }

    /// Whether the run passed: nothing failed or errored but known divergences, no snapshot changed.
    pub fn passed(&self) -> bool {
        let s = &self.summary;
        s.failed + s.errored == s.expected_failures && s.snapshots_changed == 0
    }
}
