//! Markdown for a CI step summary: the parity grid, then each failure with its diff; for a
//! report, the load runs and the comparison with a baseline too.

use std::fmt::Write;

use harness_fixture::Protocol;

use super::bundle::{LoadEntry, ReportDocument};
use super::matrix::{MatrixReport, RunnerStatus, cell};
use super::{Outcome, RunReport};
use crate::compare::{Comparison, Verdict};
use crate::measure::result::human_us;

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
    matrix_at(report, 1)
}

/// The summary of a matrix, its title a heading of `level`.
fn matrix_at(report: &MatrixReport, level: usize) -> String {
    let (title, section) = ("#".repeat(level), "#".repeat(level + 1));
    let mut out = format!("{title} Parity matrix\n\n");
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
        for protocol in Protocol::ALL {
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
                "\n{section} {} is unavailable\n\n```\n{}\n```",
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
                "\n{section} {}: {} not passing, {} snapshots changed",
                r.runner, failing, r.run.summary.snapshots_changed
            );
            failures(&mut out, &r.run);
        }
    }
    out
}

/// The summary of a report folder: the parity grid (when there are conformance results), the
/// load runs, and the comparison with a baseline.
pub fn report(document: &ReportDocument) -> String {
    let mut out = String::from("# benchmark-harness report\n\n");
    let verdict = if document.passed() {
        "**passed**"
    } else {
        "**not passed**"
    };
    let _ = writeln!(
        out,
        "{verdict}: conformance of {}, {} (generated {}).\n",
        counted(document.conformance.runners.len(), "runner"),
        counted(document.load.len(), "load run"),
        document.report.generated_at
    );
    if !document.conformance.runners.is_empty() {
        out.push_str(&matrix_at(&document.conformance, 2));
        out.push('\n');
    }
    if !document.load.is_empty() {
        load(&mut out, &document.load);
    }
    if let Some(comparison) = &document.comparison {
        compared(&mut out, comparison);
    }
    out
}

fn load(out: &mut String, runs: &[LoadEntry]) {
    out.push_str("## Load\n\n| run | protocol | mode | connections | throughput/s | p50 | p99 | p99.9 | max | errors |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for entry in runs {
        let r = &entry.result;
        let l = &r.summary.latency_us;
        let errors = if r.summary.errors == 0 {
            "0".to_string()
        } else {
            format!("**{}**", r.summary.errors)
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.0} | {} | {} | {} | {} | {errors} |",
            cell_text(&entry.label),
            r.protocol,
            r.mode,
            r.connections,
            r.summary.throughput_per_s,
            human_us(l.p50),
            human_us(l.p99),
            human_us(l.p999),
            human_us(l.max),
        );
    }
    for entry in runs.iter().filter(|e| !e.result.errors_by_kind.is_empty()) {
        let _ = writeln!(out, "\nErrors of {}:", cell_text(&entry.label));
        for (kind, count) in &entry.result.errors_by_kind {
            let _ = writeln!(out, "- {count} x {}", cell_text(kind));
        }
    }
    out.push('\n');
}

fn compared(out: &mut String, c: &Comparison) {
    let _ = writeln!(
        out,
        "## Against the baseline\n\n{} (threshold {:.1}%; load figures are medians of the runs given, and a change within the runs' own spread is called noise).\n",
        counted(c.regressions, "regression"),
        c.threshold * 100.0
    );
    if !c.load.is_empty() {
        out.push_str("| fixture | target | throughput | p50 | p99 | runs | verdict |\n| --- | --- | --- | --- | --- | --- | --- |\n");
        for d in &c.load {
            let runs = match (&d.baseline, &d.candidate) {
                (Some(b), Some(a)) => format!("{}/{}", b.runs, a.runs),
                _ => "-".into(),
            };
            let verdict = match d.verdict {
                Verdict::Regression => format!("**{}**", d.verdict.describe()),
                other => other.describe().to_string(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {runs} | {verdict} |",
                cell_text(&d.fixture),
                cell_text(&d.target),
                percent(d.throughput_change),
                percent(d.p50_change),
                percent(d.p99_change),
            );
        }
        out.push('\n');
    }
    for change in &c.behaviour {
        let before = change.baseline.as_deref().unwrap_or("-");
        let after = change.candidate.as_deref().unwrap_or("-");
        let _ = writeln!(
            out,
            "- `{}` on {}: {before} -> {after}, {}",
            change.fixture,
            change.target,
            change.kind.describe()
        );
        if let Some(diff) = &change.snapshot_diff {
            let _ = writeln!(out, "\n  ```diff\n{}\n  ```", indent(diff));
        }
    }
}

/// `1 runner`, `2 runners`.
pub fn counted(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

/// A relative change as `+3.2%`, or `-` when there is none.
pub fn percent(change: Option<f64>) -> String {
    change.map_or_else(|| "-".into(), |c| format!("{:+.1}%", c * 100.0))
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Text safe inside a table cell.
fn cell_text(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
