//! Conformance changes: fixtures whose outcome flipped, snapshots that changed.

use std::collections::BTreeMap;

use serde::Serialize;

use super::document::FixtureState;

/// What changed for one fixture on one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// It passed in the baseline and does not in the candidate.
    Regressed,
    /// It did not pass in the baseline and does in the candidate.
    Fixed,
    /// Same outcome, but the recorded transcript changed.
    SnapshotChanged,
    /// Only in the candidate.
    Added,
    /// Only in the baseline.
    Removed,
}

impl ChangeKind {
    /// The words reports use for it.
    pub fn describe(self) -> &'static str {
        match self {
            ChangeKind::Regressed => "REGRESSED",
            ChangeKind::Fixed => "fixed",
            ChangeKind::SnapshotChanged => "snapshot changed",
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
        }
    }
}

/// One fixture's change.
#[derive(Debug, Clone, Serialize)]
pub struct BehaviourChange {
    /// Runner or target.
    pub target: String,
    /// Fixture.
    pub fixture: String,
    /// What changed.
    pub kind: ChangeKind,
    /// Baseline outcome.
    pub baseline: Option<String>,
    /// Candidate outcome.
    pub candidate: Option<String>,
    /// The snapshot diff, when it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_diff: Option<String>,
}

/// Every change between the two sides' fixtures, in (target, fixture) order.
pub fn compare(
    baseline: &BTreeMap<(String, String), FixtureState>,
    candidate: &BTreeMap<(String, String), FixtureState>,
) -> Vec<BehaviourChange> {
    let mut keys: Vec<&(String, String)> = baseline.keys().chain(candidate.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut changes = Vec::new();
    for key in keys {
        let (before, after) = (baseline.get(key), candidate.get(key));
        let passes = |s: &FixtureState| s.outcome == "passed" || s.outcome == "skipped";
        let kind = match (before, after) {
            (Some(b), Some(a)) if passes(b) && !passes(a) => ChangeKind::Regressed,
            (Some(b), Some(a)) if !passes(b) && passes(a) => ChangeKind::Fixed,
            (Some(_), Some(a)) if a.snapshot.as_deref() == Some("changed") => {
                ChangeKind::SnapshotChanged
            }
            (Some(_), Some(_)) => continue,
            (None, Some(_)) => ChangeKind::Added,
            (Some(_), None) => ChangeKind::Removed,
            (None, None) => continue,
        };
        changes.push(BehaviourChange {
            target: key.0.clone(),
            fixture: key.1.clone(),
            kind,
            baseline: before.map(|s| s.outcome.clone()),
            candidate: after.map(|s| s.outcome.clone()),
            snapshot_diff: after.and_then(|s| s.snapshot_diff.clone()),
        });
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(outcome: &str, snapshot: Option<&str>) -> FixtureState {
        FixtureState {
            outcome: outcome.into(),
            snapshot: snapshot.map(Into::into),
            snapshot_diff: None,
        }
    }

    fn side(entries: &[(&str, FixtureState)]) -> BTreeMap<(String, String), FixtureState> {
        entries
            .iter()
            .map(|(f, s)| (("go".to_string(), f.to_string()), s.clone()))
            .collect()
    }

    #[test]
    fn flips_and_snapshot_changes() {
        let baseline = side(&[
            ("a", state("passed", Some("matched"))),
            ("b", state("failed", None)),
            ("c", state("passed", Some("matched"))),
            ("d", state("passed", Some("matched"))),
            ("gone", state("passed", None)),
        ]);
        let candidate = side(&[
            ("a", state("failed", None)),
            ("b", state("passed", Some("matched"))),
            ("c", state("passed", Some("changed"))),
            ("d", state("passed", Some("matched"))),
            ("new", state("passed", None)),
        ]);
        let kinds: Vec<(String, ChangeKind)> = compare(&baseline, &candidate)
            .into_iter()
            .map(|c| (c.fixture, c.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("a".into(), ChangeKind::Regressed),
                ("b".into(), ChangeKind::Fixed),
                ("c".into(), ChangeKind::SnapshotChanged),
                ("gone".into(), ChangeKind::Removed),
                ("new".into(), ChangeKind::Added),
            ]
        );
    }
}
