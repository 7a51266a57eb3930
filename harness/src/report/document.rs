//! The `report.json` document (`reports/schema/report.v1.schema.json`): the conformance results
//! of every runner or target as a `matrix` document, every load run, and the comparison with a
//! baseline. [`super::bundle`] reads its inputs; every rendering takes it from here.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::compare::Comparison;
use crate::results::load::LoadResult;
use crate::results::matrix::{MatrixReport, RunnerReport, SuiteNotRun};
use crate::results::protocol::SuiteReport;

/// The version of the `report.json` format (`reports/schema/report.v1.schema.json`).
pub const REPORT_VERSION: u32 = 1;

/// The `report.json` document.
#[derive(Debug, Clone, Serialize)]
pub struct ReportDocument {
    /// What made it, when and from what.
    pub report: ReportInfo,
    /// The conformance results of every runner or target, as a `matrix` document.
    #[serde(flatten)]
    pub conformance: MatrixReport,
    /// Every load run, in input order.
    pub load: Vec<LoadEntry>,
    /// Every protocol suite document (`protocol websocket|sse`), whole, in input order; absent
    /// when there is none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub protocol: Vec<SuiteReport>,
    /// This report against a baseline (`report --baseline`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
}

/// The document's header.
#[derive(Debug, Clone, Serialize)]
pub struct ReportInfo {
    /// [`REPORT_VERSION`].
    pub version: u32,
    /// When the report was written (RFC 3339, UTC).
    pub generated_at: String,
    /// The result documents it was made from.
    pub inputs: Vec<PathBuf>,
}

/// One load run and the name the report gives it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadEntry {
    /// `target · fixture` (plus the rate of an open-loop run), unique in the report.
    pub label: String,
    /// The file it was read from.
    pub source: PathBuf,
    /// The `bench`/`stream` result document.
    #[serde(flatten)]
    pub result: LoadResult,
}

/// What the inputs hold.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Conformance blocks, one per runner or target.
    pub runners: Vec<RunnerReport>,
    /// Load runs.
    pub load: Vec<LoadEntry>,
    /// Protocol suite documents, each target's name unique within its suite.
    pub protocol: Vec<SuiteReport>,
    /// Protocol suites a matrix did not run, and why.
    pub protocol_not_run: Vec<SuiteNotRun>,
    /// Every file read.
    pub files: Vec<PathBuf>,
}

impl ReportDocument {
    /// Builds the document.
    pub fn new(inputs: Inputs, comparison: Option<Comparison>, generated_at: String) -> Self {
        let duration_ms = inputs
            .runners
            .iter()
            .map(|r| r.run.summary.duration_ms)
            .sum();
        ReportDocument {
            report: ReportInfo {
                version: REPORT_VERSION,
                generated_at,
                inputs: inputs.files,
            },
            // The suites' documents are the report's own `protocol`, not the matrix part's.
            conformance: MatrixReport::new(inputs.runners, duration_ms)
                .with_protocol(Vec::new(), inputs.protocol_not_run),
            load: inputs.load,
            protocol: inputs.protocol,
            comparison,
        }
    }

    /// Whether everything in it passed: conformance as `matrix` decides, no load run with errors,
    /// no failed protocol case, no regression against the baseline.
    pub fn passed(&self) -> bool {
        self.conformance.exit_code() == crate::error::exit::OK
            && self.load.iter().all(|l| l.result.summary.errors == 0)
            && self.protocol.iter().all(|s| s.exit_code() == 0)
            && self.comparison.as_ref().is_none_or(|c| c.regressions == 0)
    }
}

/// Report documents for the renderers' tests.
#[cfg(test)]
pub(crate) mod samples {
    use super::*;
    use crate::results::protocol::{CaseResult, TraceDirection, TraceEntry, Verdict};
    use crate::results::{TargetInfo, TargetKind};

    fn case(id: &str, category: &str, verdict: Verdict) -> CaseResult {
        CaseResult {
            id: id.into(),
            category: category.into(),
            description: format!("case {id}"),
            verdict,
            expected: format!("echo of {id}"),
            observed: if verdict == Verdict::Ok {
                format!("echo of {id}")
            } else {
                format!("close 1002 in {id}")
            },
            duration_ms: 1.0,
            trace: if verdict == Verdict::Ok {
                Vec::new()
            } else {
                vec![TraceEntry {
                    t_ms: 0.5,
                    direction: TraceDirection::Received,
                    what: "close code=1002".into(),
                }]
            },
            expected_failure: false,
        }
    }

    /// A suite of three cases in two categories on `target`, case 1.1.2 with `verdict`.
    pub(crate) fn suite(target: &str, verdict: Verdict) -> SuiteReport {
        SuiteReport::new(
            "websocket",
            TargetInfo {
                name: target.into(),
                kind: TargetKind::Url,
                url: "http://127.0.0.1:1/".into(),
            },
            "/ws",
            vec![
                case("1.1.1", "Framing", Verdict::Ok),
                case("1.1.2", "Framing", verdict),
                case("3.1", "Reserved Bits", Verdict::Ok),
            ],
            3.0,
        )
    }

    /// A report of nothing but `suites`.
    pub(crate) fn report(suites: Vec<SuiteReport>) -> ReportDocument {
        let inputs = Inputs {
            protocol: suites,
            ..Inputs::default()
        };
        ReportDocument::new(inputs, None, "2026-12-03T00:00:00Z".into())
    }
}
