//! Protocol suite changes: cases (`protocol websocket|sse`) that failed in one side and not in
//! the other. Only `failed` fails a case: `non_strict`, `informational` and `unimplemented`
//! pass, as in the suite's own exit code.

use std::collections::BTreeMap;

use serde::Serialize;

use super::behaviour::ChangeKind;
use crate::results::protocol::Verdict;

/// One case whose failing changed, on one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseChange {
    /// `websocket` or `sse`.
    pub suite: String,
    /// The target.
    pub target: String,
    /// The case id (`3.1`).
    pub case: String,
    /// `regressed` (failed now, not before) or `fixed` (failed before, not now).
    pub kind: ChangeKind,
    /// Baseline verdict.
    pub baseline: Verdict,
    /// Candidate verdict.
    pub candidate: Verdict,
}

/// Every case in both sides that failed in exactly one, in (suite, target, case) order.
pub fn compare(
    baseline: &BTreeMap<(String, String, String), Verdict>,
    candidate: &BTreeMap<(String, String, String), Verdict>,
) -> Vec<CaseChange> {
    let mut changes = Vec::new();
    for ((suite, target, case), before) in baseline {
        let Some(after) = candidate.get(&(suite.clone(), target.clone(), case.clone())) else {
            continue;
        };
        let kind = match (*before == Verdict::Failed, *after == Verdict::Failed) {
            (false, true) => ChangeKind::Regressed,
            (true, false) => ChangeKind::Fixed,
            _ => continue,
        };
        changes.push(CaseChange {
            suite: suite.clone(),
            target: target.clone(),
            case: case.clone(),
            kind,
            baseline: *before,
            candidate: *after,
        });
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(verdicts: &[(&str, Verdict)]) -> BTreeMap<(String, String, String), Verdict> {
        verdicts
            .iter()
            .map(|(id, v)| (("websocket".into(), "t".into(), (*id).into()), *v))
            .collect()
    }

    #[test]
    fn a_case_failed_now_and_not_before_regressed_and_the_reverse_is_fixed() {
        let baseline = side(&[
            ("1.1", Verdict::Ok),
            ("1.2", Verdict::NonStrict),
            ("1.3", Verdict::Failed),
            ("1.4", Verdict::Informational),
            ("1.5", Verdict::Ok),
        ]);
        let candidate = side(&[
            ("1.1", Verdict::Failed),
            ("1.2", Verdict::Ok),
            ("1.3", Verdict::Unimplemented),
            ("1.4", Verdict::Informational),
        ]);
        let changes: Vec<_> = compare(&baseline, &candidate)
            .into_iter()
            .map(|c| (c.case, c.kind))
            .collect();
        assert_eq!(
            changes,
            [
                ("1.1".to_string(), ChangeKind::Regressed),
                ("1.3".to_string(), ChangeKind::Fixed)
            ]
        );
        assert!(compare(&baseline, &baseline).is_empty());
    }
}
