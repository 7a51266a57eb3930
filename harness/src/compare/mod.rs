//! `compare`: a candidate's results against a baseline's, for a yes or no on a change.
//!
//! Pure: documents in ([`document`]), a [`Comparison`] out. Conformance documents (`run`,
//! `matrix`) are compared fixture by fixture: an outcome that flipped from passing to not passing
//! is a regression, a changed snapshot is a behaviour change. Load documents (`bench`, `stream`)
//! are compared per fixture and target: throughput, p50 and p99, each side the median of its runs,
//! a change beyond the threshold is a regression unless it is within the runs' own spread.

pub mod behaviour;
pub mod document;
pub mod load;

use serde::Serialize;

pub use behaviour::{BehaviourChange, ChangeKind};
pub use document::{Document, Side};
pub use load::{LoadDelta, Verdict};

/// The comparison of two sides.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Relative change beyond which a difference counts (0.05 for 5%).
    pub threshold: f64,
    /// Load results, per fixture and target.
    pub load: Vec<LoadDelta>,
    /// Conformance changes, per target and fixture.
    pub behaviour: Vec<BehaviourChange>,
    /// Load regressions plus fixtures that stopped passing.
    pub regressions: usize,
}

/// Compares `candidate` with `baseline`.
pub fn compare(baseline: &Side, candidate: &Side, threshold: f64) -> Comparison {
    let load = load::compare(&baseline.load, &candidate.load, threshold);
    let behaviour = behaviour::compare(&baseline.fixtures, &candidate.fixtures);
    let regressions = load
        .iter()
        .filter(|d| d.verdict == Verdict::Regression)
        .count()
        + behaviour
            .iter()
            .filter(|c| c.kind == ChangeKind::Regressed)
            .count();
    Comparison {
        threshold,
        load,
        behaviour,
        regressions,
    }
}
