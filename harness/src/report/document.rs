//! The `report.json` document (`reports/schema/report.v1.schema.json`): the conformance results
//! of every runner or target as a `matrix` document, every load run, and the comparison with a
//! baseline. [`super::bundle`] reads its inputs; every rendering takes it from here.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::compare::Comparison;
use crate::results::load::LoadResult;
use crate::results::matrix::{MatrixReport, RunnerReport};

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
            conformance: MatrixReport::new(inputs.runners, duration_ms),
            load: inputs.load,
            comparison,
        }
    }

    /// Whether everything in it passed: conformance as `matrix` decides, no load run with errors,
    /// no regression against the baseline.
    pub fn passed(&self) -> bool {
        self.conformance.exit_code() == crate::error::exit::OK
            && self.load.iter().all(|l| l.result.summary.errors == 0)
            && self.comparison.as_ref().is_none_or(|c| c.regressions == 0)
    }
}
