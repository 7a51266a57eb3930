//! Markdown for a CI step summary: the parity grid, then each failure with its diff.

use std::fmt::Write;

use harness_fixture::Protocol;

use super::Outcome;
use super::matrix::{MatrixReport, RunnerStatus, cell};

const PROTOCOLS: [Protocol; 3] = [Protocol::Rest, Protocol::WebSocket, Protocol::Sse];

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
    out.push_str("| runner | language | framework | rest | websocket | sse |\n| --- | --- | --- | --- | --- | --- |\n");
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
        let failing: Vec<_> = r
            .run
            .fixtures
            .iter()
            .filter(|f| matches!(f.outcome, Outcome::Failed | Outcome::Errored))
            .collect();
        if failing.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n## {}: {} not passing\n", r.runner, failing.len());
        for f in failing {
            let known = if f.expected_failure {
                " (known divergence)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "<details><summary><code>{}</code> {:?}{known}</summary>\n\n```",
                f.name, f.outcome
            );
            if let Some(error) = &f.error {
                let _ = writeln!(out, "{}: {}", error.at, error.reason);
            }
            for m in &f.diff {
                let _ = writeln!(out, "{m}");
            }
            out.push_str("```\n\n</details>\n");
        }
    }
    out
}
