//! The result document of `matrix`: one run block per runner (docs/contract.md, section 5.2).

use harness_fixture::Protocol;
use serde::{Deserialize, Serialize};

use super::run::{FixtureResult, Outcome, RunReport, Summary};
use super::target::{TargetInfo, TargetKind};
use crate::error::HarnessError;

/// Whether a runner could be run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunnerStatus {
    /// Its fixtures were replayed.
    Ran,
    /// It could not be set up or started.
    Unavailable,
    /// Not run: it does not declare a transport the run asks for (`matrix --tls`); `error`
    /// says which. Not a failure.
    NotDeclared,
}

/// One runner's block.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunnerReport {
    /// Runner name.
    pub runner: String,
    /// Language.
    pub language: String,
    /// Framework.
    pub framework: String,
    /// Declared protocols.
    pub protocols: Vec<Protocol>,
    /// Whether it ran.
    pub status: RunnerStatus,
    /// Why it is unavailable, with the app's last output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The run: target, summary, fixtures.
    #[serde(flatten)]
    pub run: RunReport,
}

/// The matrix document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MatrixReport {
    /// `{"name": "matrix", ...}`.
    pub target: TargetInfo,
    /// Totals over every runner.
    pub summary: Summary,
    /// Every runner's fixture results in one list, each tagged with its runner (the `run`
    /// document's shape, docs/contract.md, section 5.1).
    #[serde(default)]
    pub fixtures: Vec<MatrixFixture>,
    /// One block per runner, sorted by name.
    pub runners: Vec<RunnerReport>,
}

/// A fixture result and the runner it is of.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MatrixFixture {
    /// Runner name.
    pub runner: String,
    /// The result.
    #[serde(flatten)]
    pub result: FixtureResult,
}

impl MatrixReport {
    /// Builds the document and its totals.
    pub fn new(mut runners: Vec<RunnerReport>, duration_ms: f64) -> MatrixReport {
        runners.sort_by(|a, b| a.runner.cmp(&b.runner));
        let mut summary = Summary {
            duration_ms,
            ..Summary::default()
        };
        for r in &runners {
            let s = &r.run.summary;
            summary.passed += s.passed;
            summary.failed += s.failed;
            summary.skipped += s.skipped;
            summary.errored += s.errored;
            summary.snapshots_changed += s.snapshots_changed;
            summary.snapshots_new += s.snapshots_new;
            summary.expected_failures += s.expected_failures;
        }
        let target = TargetInfo {
            name: "matrix".into(),
            kind: TargetKind::Matrix,
            url: String::new(),
        };
        let fixtures = runners
            .iter()
            .flat_map(|r| {
                r.run.fixtures.iter().map(|f| MatrixFixture {
                    runner: r.runner.clone(),
                    result: f.clone(),
                })
            })
            .collect();
        MatrixReport {
            target,
            summary,
            fixtures,
            runners,
        }
    }

    /// Joins documents made on several machines; a runner present twice is an error.
    pub fn merge(documents: Vec<MatrixReport>) -> Result<MatrixReport, HarnessError> {
        let mut runners: Vec<RunnerReport> = Vec::new();
        let mut duration_ms: f64 = 0.0;
        for document in documents {
            duration_ms = duration_ms.max(document.summary.duration_ms);
            for runner in document.runners {
                if runners.iter().any(|r| r.runner == runner.runner) {
                    return Err(HarnessError::RunnerTwice {
                        runner: runner.runner,
                    });
                }
                runners.push(runner);
            }
        }
        Ok(MatrixReport::new(runners, duration_ms))
    }

    /// The exit code: 3 when a runner was unavailable, 1 on an unexpected failure or changed
    /// snapshot, else 0.
    pub fn exit_code(&self) -> i32 {
        if self
            .runners
            .iter()
            .any(|r| r.status == RunnerStatus::Unavailable)
        {
            crate::error::exit::TARGET
        } else if self.runners.iter().all(|r| r.run.passed()) {
            crate::error::exit::OK
        } else {
            crate::error::exit::FAILED
        }
    }
}

/// Passed and total fixtures of one protocol in one runner's run; `None` when it declared none.
pub fn cell(report: &RunnerReport, protocol: Protocol) -> Option<(usize, usize)> {
    if !report.protocols.contains(&protocol) {
        return None;
    }
    let fixtures = report
        .run
        .fixtures
        .iter()
        .filter(|f| f.protocol == protocol);
    let (mut passed, mut total) = (0, 0);
    for f in fixtures {
        if f.outcome == Outcome::Skipped {
            continue;
        }
        total += 1;
        if f.outcome == Outcome::Passed {
            passed += 1;
        }
    }
    Some((passed, total))
}
