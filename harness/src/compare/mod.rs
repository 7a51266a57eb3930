//! `compare`: a candidate's results against a baseline's, for a yes or no on a change.
//!
//! Pure: documents in ([`document`]), a [`Comparison`] out. Conformance documents (`run`,
//! `matrix`) are compared fixture by fixture: an outcome that flipped from passing to not passing
//! is a regression, a changed snapshot is a behaviour change. Load documents (`bench`, `stream`)
//! are compared per fixture and target: throughput, p50 and p99, each side the median of its runs,
//! a change beyond the threshold is a regression unless it is within the runs' own spread.
//!
//! A fixture (or load run) in the baseline and not in the candidate is `removed`, a regression
//! unless removals are allowed (`--allow-removed`). Sides that cannot be compared are refused
//! with the reason ([`Incomparable`]): one holds only conformance results and the other only
//! load results, or they have no target in common.

pub mod behaviour;
pub mod document;
pub mod load;
pub mod protocol;

use std::collections::BTreeSet;

use serde::Serialize;

pub use behaviour::{BehaviourChange, ChangeKind};
pub use document::Side;
pub use load::{LoadDelta, Verdict};
pub use protocol::CaseChange;

/// The comparison of two sides.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Relative change beyond which a difference counts (0.05 for 5%).
    pub threshold: f64,
    /// Whether fixtures only in the baseline were accepted (`--allow-removed`).
    pub allow_removed: bool,
    /// Load results, per fixture and target.
    pub load: Vec<LoadDelta>,
    /// Conformance changes, per target and fixture.
    pub behaviour: Vec<BehaviourChange>,
    /// Fixtures and load runs only in the baseline.
    /// Protocol suite cases that failed in one side and not in the other (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub protocol: Vec<CaseChange>,
    pub removed: usize,
    /// Load regressions plus fixtures that stopped passing, plus removed ones unless allowed.
    pub regressions: usize,
}

/// Why two sides cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Incomparable {
    /// They hold different kinds of results.
    #[error(
        "the baseline holds {baseline} and the candidate {candidate}: nothing to compare \
         (compare run or matrix documents with each other, bench or stream documents with each other)"
    )]
    Kinds {
        /// What the baseline holds.
        baseline: String,
        /// What the candidate holds.
        candidate: String,
    },
    /// Same kind, but not one target in common.
    #[error(
        "no target in common: the baseline's {kind} results are of {baseline}, the candidate's of \
         {candidate} (results are compared per target; --target-name names one)"
    )]
    NoCommonTarget {
        /// `conformance` or `load`.
        kind: &'static str,
        /// The baseline's targets.
        baseline: String,
        /// The candidate's targets.
        candidate: String,
    },
}

/// What a side holds, in words: `conformance results (run)`, `load results (bench, stream)`.
fn holds(side: &Side) -> String {
    let of = |names: &[&str]| {
        let found: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| side.documents.contains(*n))
            .collect();
        found.join(", ")
    };
    match (side.has_conformance, side.has_load) {
        (true, true) => format!("conformance and load results ({})", of(&["report"])),
        (true, false) => format!("conformance results ({})", of(&["run", "matrix", "report"])),
        (false, true) => format!("load results ({})", of(&["bench", "stream", "report"])),
        (false, false) if side.has_protocol => "protocol suite results (protocol)".into(),
        (false, false) => "no results".into(),
    }
}

fn names(targets: &BTreeSet<String>) -> String {
    if targets.is_empty() {
        "no target".into()
    } else {
        targets
            .iter()
            .map(|t| crate::humanize::escape_controls(t).into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Whether the sides can be compared: a kind of result both hold, and for each kind both hold,
/// a target in common.
pub fn comparable(baseline: &Side, candidate: &Side) -> Result<(), Incomparable> {
    let conformance = baseline.has_conformance && candidate.has_conformance;
    let load = baseline.has_load && candidate.has_load;
    let protocol = baseline.has_protocol && candidate.has_protocol;
    if !conformance && !load && !protocol {
        return Err(Incomparable::Kinds {
            baseline: holds(baseline),
            candidate: holds(candidate),
        });
    }
    for (shared, kind, b, c) in [
        (
            conformance,
            "conformance",
            &baseline.conformance_targets,
            &candidate.conformance_targets,
        ),
        (
            load,
            "load",
            &baseline.load_targets,
            &candidate.load_targets,
        ),
        (
            protocol,
            "protocol suite",
            &baseline.protocol_targets,
            &candidate.protocol_targets,
        ),
    ] {
        if shared && b.is_disjoint(c) {
            return Err(Incomparable::NoCommonTarget {
                kind,
                baseline: names(b),
                candidate: names(c),
            });
        }
    }
    Ok(())
}

/// Compares `candidate` with `baseline`; fixtures only in the baseline are regressions unless
/// `allow_removed`.
pub fn compare(
    baseline: &Side,
    candidate: &Side,
    threshold: f64,
    allow_removed: bool,
) -> Result<Comparison, Incomparable> {
    comparable(baseline, candidate)?;
    let load = load::compare(&baseline.load, &candidate.load, threshold);
    let behaviour = behaviour::compare(&baseline.fixtures, &candidate.fixtures);
    let protocol = protocol::compare(&baseline.cases, &candidate.cases);
    let removed = load
        .iter()
        .filter(|d| d.verdict == Verdict::Removed)
        .count()
        + behaviour
            .iter()
            .filter(|c| c.kind == ChangeKind::Removed)
            .count();
    let regressions = load
        .iter()
        .filter(|d| d.verdict == Verdict::Regression)
        .count()
        + behaviour
            .iter()
            .filter(|c| c.kind == ChangeKind::Regressed)
            .count()
        + protocol
            .iter()
            .filter(|c| c.kind == ChangeKind::Regressed)
            .count()
        + if allow_removed { 0 } else { removed };
    Ok(Comparison {
        threshold,
        allow_removed,
        load,
        behaviour,
        protocol,
        removed,
        regressions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn side(documents: &[serde_json::Value]) -> Side {
        let mut side = Side::default();
        for d in documents {
            document::add(&mut side, d).unwrap();
        }
        side
    }

    fn run(target: &str, fixtures: &[&str]) -> serde_json::Value {
        let fixtures: Vec<_> = fixtures
            .iter()
            .map(|f| json!({"name": f, "outcome": "passed"}))
            .collect();
        json!({"target": {"name": target}, "fixtures": fixtures})
    }

    fn bench(target: &str) -> serde_json::Value {
        json!({"command": "bench", "fixture": "hello", "target": {"name": target},
               "summary": {"operations": 1, "errors": 0, "throughput_per_s": 1.0,
                           "latency_us": {"p50": 1, "p99": 2}}})
    }

    #[test]
    fn removed_fixtures_are_regressions_unless_allowed() {
        let baseline = side(&[run("axum", &["a", "b"])]);
        let candidate = side(&[run("axum", &["c"])]);
        let c = compare(&baseline, &candidate, 0.05, false).unwrap();
        assert_eq!((c.removed, c.regressions), (2, 2));
        let c = compare(&baseline, &candidate, 0.05, true).unwrap();
        assert_eq!((c.removed, c.regressions), (2, 0));
    }

    #[test]
    fn different_kinds_or_no_common_target_cannot_be_compared() {
        let error = compare(
            &side(&[run("axum", &["a"])]),
            &side(&[bench("axum")]),
            0.05,
            true,
        )
        .unwrap_err();
        assert!(matches!(error, Incomparable::Kinds { .. }), "{error}");
        assert!(
            error.to_string().contains("conformance results (run)")
                && error.to_string().contains("load results (bench)"),
            "{error}"
        );
        let error = compare(
            &side(&[run("axum", &["a"])]),
            &side(&[run("go", &["a"])]),
            0.05,
            true,
        )
        .unwrap_err();
        assert_eq!(
            error,
            Incomparable::NoCommonTarget {
                kind: "conformance",
                baseline: "axum".into(),
                candidate: "go".into()
            }
        );
        // A report holding both kinds against a run: the conformance part is compared, the
        // load runs it alone has are removed.
        let report = json!({"report": {"version": 1}, "runners": [{"runner": "axum",
            "fixtures": [{"name": "a", "outcome": "passed"}]}], "load": [bench("axum")]});
        let c = compare(&side(&[report]), &side(&[run("axum", &["a"])]), 0.05, false).unwrap();
        assert_eq!((c.removed, c.regressions), (1, 1));
    }
}
