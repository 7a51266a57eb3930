//! Markdown for a CI step summary: the parity grid, then each failure with its diff.

use std::fmt::Write;

use harness_fixture::Protocol;

use super::matrix::{MatrixReport, RunnerStatus, cell};
use super::{Outcome, RunReport};

const PROTOCOLS: [Protocol; 4] = [
    Protocol::Rest,
    Protocol::WebSocket,
    Protocol::Sse,
    Protocol::Broadcast,
];

/// The summary of one run.
pub fn run(report: &RunReport) -> String {
    let s = &report.summary;
    let mut out = format!("# Conformance against {}\n\n", report.target.name);
    let _ = writeln!(
        out,
        "{} passed, {} failed, {} errored, {} skipped; snapshots: {} changed, {} new.",
        s.passed, s.failed, s.errored, s.skipped, s.snapshots_changed, s.snapshots_new
    );
    failures(&mut out, report);
    out
}

fn failures(out: &mut String, run: &RunReport) {
    for f in &run.fixtures {
        let changed = f.snapshot.as_ref().and_then(|s| s.diff.as_deref());
        if !matches!(f.outcome, Outcome::Failed | Outcome::Errored) && changed.is_none() {
            continue;
        }
        let known = if f.expected_failure {
            " (known divergence)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "\n<details><summary><code>{}</code> {:?}{known}</summary>\n\n```",
            f.name, f.outcome
        );
        if let Some(error) = &f.error {
            let _ = writeln!(out, "{}: {}", error.at, error.reason);
        }
        for m in &f.diff {
            let _ = writeln!(out, "{m}");
        }
        if let Some(diff) = changed {
            let _ = writeln!(out, "snapshot changed:\n{diff}");
        }
        out.push_str("```\n\n</details>\n");
    }
}

/// The summary of a matrix.
pub fn matrix(report: &MatrixReport) -> String {
    let mut out = String::from("# Parity matrix\n\n");
    let s = &report.summary;
    let _ = writeln!(
        out,
        "{} passed, {} failed, {} errored ({} of these known divergences), {} skipped across {} runners.\n",
        s.passed,
        s.failed,
        s.errored,
        s.expected_failures,
        s.skipped,
        report.runners.len()
    );
    out.push_str("| runner | language | framework | rest | websocket | sse | broadcast |\n| --- | --- | --- | --- | --- | --- | --- |\n");
    for r in &report.runners {
        let _ = write!(out, "| {} | {} | {} |", r.runner, r.language, r.framework);
        for protocol in PROTOCOLS {
            let text = match (r.status, cell(r, protocol)) {
                (RunnerStatus::Unavailable, _) => "unavailable".to_string(),
                (_, None) => "-".to_string(),
                (_, Some((passed, total))) if passed == total => format!("{passed}/{total}"),
                (_, Some((passed, total))) => format!("**{passed}/{total}**"),
            };
            let _ = write!(out, " {text} |");
        }
        out.push('\n');
    }
    for r in &report.runners {
        if let Some(error) = &r.error {
            let _ = writeln!(
                out,
                "\n## {} is unavailable\n\n```\n{}\n```",
                r.runner, error
            );
            continue;
        }
        let failing = r
            .run
            .fixtures
            .iter()
            .filter(|f| matches!(f.outcome, Outcome::Failed | Outcome::Errored))
            .count();
        if failing > 0 || r.run.summary.snapshots_changed > 0 {
            let _ = writeln!(
                out,
                "\n## {}: {} not passing, {} snapshots changed",
                r.runner, failing, r.run.summary.snapshots_changed
            );
            failures(&mut out, &r.run);
        }
    }
    out
}
