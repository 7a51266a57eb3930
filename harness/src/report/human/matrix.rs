//! The human rendering of a matrix: each runner's failures, changed snapshots and known
//! divergences, then the grid of runners by protocol and the summary line.

use std::io::{self, Write};

use harness_fixture::Protocol;

use super::run::write_fixture;
use crate::humanize::escape_controls;
use crate::report::terminal::Style;
use crate::results::matrix::{MatrixReport, RunnerReport, RunnerStatus, SuiteSkip, cell};
use crate::results::protocol::{CaseResult, Verdict};
use crate::results::{Outcome, SnapshotStatus};

/// Writes what `matrix` prints: the failures of every runner, then the grid.
pub fn write_matrix(out: &mut dyn Write, style: Style, report: &MatrixReport) -> io::Result<()> {
    for runner in &report.runners {
        write_failures(out, style, runner)?;
    }
    write_suites(out, report)?;
    write_grid(out, report)
}

/// With `--protocol-suites`: a line per suite and runner (verdict counts, the failed cases
/// named, those listed as known failures apart), and one per suite not run, with why.
fn write_suites(out: &mut dyn Write, report: &MatrixReport) -> io::Result<()> {
    for suite in &report.protocol {
        let c = &suite.summary;
        write!(
            out,
            "{} suite on {}: {} ok, {} non_strict, {} failed, {} informational, {} unimplemented",
            suite.suite,
            escape_controls(&suite.target.name),
            c.ok,
            c.non_strict,
            c.failed,
            c.informational,
            c.unimplemented
        )?;
        let failed = suite.cases.iter().filter(|c| c.verdict == Verdict::Failed);
        let (known, unexpected): (Vec<_>, Vec<_>) = failed.partition(|c| c.expected_failure);
        let ids = |cases: &[&CaseResult]| {
            let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
            escape_controls(&ids.join(", ")).into_owned()
        };
        if !unexpected.is_empty() {
            write!(out, "; failed: {}", ids(&unexpected))?;
        }
        if !known.is_empty() {
            write!(out, "; known failures: {}", ids(&known))?;
        }
        let fixed: Vec<&CaseResult> = suite
            .cases
            .iter()
            .filter(|c| c.expected_failure && c.verdict != Verdict::Failed)
            .collect();
        if !fixed.is_empty() {
            write!(
                out,
                "; listed as known failures but did not fail (remove them from \
                 [expected_protocol_failures]): {}",
                ids(&fixed)
            )?;
        }
        writeln!(out)?;
    }
    for skipped in &report.protocol_not_run {
        let status = match skipped.status {
            SuiteSkip::Skipped => "skipped",
            SuiteSkip::Unavailable => "unavailable",
        };
        writeln!(
            out,
            "{} suite on {}: {status}: {}",
            skipped.suite,
            escape_controls(&skipped.runner),
            escape_controls(&skipped.reason)
        )?;
    }
    Ok(())
}

/// One runner's unavailability, or its changed snapshots, unexpected failures, known
/// divergences (named) and listed divergences that passed.
fn write_failures(out: &mut dyn Write, style: Style, r: &RunnerReport) -> io::Result<()> {
    let runner = escape_controls(&r.runner);
    if r.status == RunnerStatus::NotDeclared {
        return Ok(()); // the grid says why
    }
    if let Some(error) = &r.error {
        return writeln!(out, "{runner}: unavailable: {}\n", escape_controls(error));
    }
    let changed = r.run.fixtures.iter().filter(|f| {
        f.outcome == Outcome::Passed
            && f.snapshot
                .as_ref()
                .is_some_and(|s| s.status == SnapshotStatus::Changed)
    });
    for f in changed {
        write!(out, "{runner}: ")?;
        write_fixture(out, style, f)?;
    }
    let failing = r
        .run
        .fixtures
        .iter()
        .filter(|f| matches!(f.outcome, Outcome::Failed | Outcome::Errored));
    let (known, unexpected): (Vec<_>, Vec<_>) = failing.partition(|f| f.expected_failure);
    for f in unexpected {
        write!(out, "{runner}: ")?;
        write_fixture(out, style, f)?;
    }
    if !known.is_empty() {
        let names: Vec<&str> = known.iter().map(|f| f.name.as_str()).collect();
        writeln!(
            out,
            "{runner}: {} known divergences (diffs in --format json and --report): {}",
            names.len(),
            escape_controls(&names.join(", "))
        )?;
    }
    let fixed: Vec<&str> = r
        .run
        .fixtures
        .iter()
        .filter(|f| f.expected_failure && f.outcome == Outcome::Passed)
        .map(|f| f.name.as_str())
        .collect();
    if !fixed.is_empty() {
        writeln!(
            out,
            "{runner}: listed as known divergences but passed (remove them from expected_failures): {}",
            escape_controls(&fixed.join(", "))
        )?;
    }
    Ok(())
}

/// The transport line (when the document says it), runners by protocol (passed/total), then
/// the summary line.
fn write_grid(out: &mut dyn Write, report: &MatrixReport) -> io::Result<()> {
    if let Some(transport) = report.transport {
        writeln!(
            out,
            "transport: {} ({})",
            transport.name(),
            transport.describe()
        )?;
    }
    // A column's name (a `--url` column's `url-HOST-PORT`) may be wider than a runner's.
    let width = report
        .runners
        .iter()
        .map(|r| escape_controls(&r.runner).chars().count())
        .fold(16, usize::max);
    writeln!(
        out,
        "{:<width$} {:<10} {:>10} {:>10} {:>10} {:>10}",
        "runner", "language", "rest", "websocket", "sse", "broadcast"
    )?;
    for r in &report.runners {
        write!(
            out,
            "{:<width$} {:<10}",
            escape_controls(&r.runner),
            escape_controls(&r.language)
        )?;
        match r.status {
            RunnerStatus::Unavailable => {
                writeln!(out, " unavailable")?;
                continue;
            }
            RunnerStatus::NotDeclared => {
                let why = r.error.as_deref().unwrap_or("not run");
                writeln!(out, " {}", escape_controls(why))?;
                continue;
            }
            RunnerStatus::Ran => {}
        }
        for protocol in Protocol::ALL {
            let text = cell(r, protocol).map_or("-".to_string(), |(passed, total)| {
                format!("{passed}/{total}")
            });
            write!(out, " {text:>10}")?;
        }
        let known = r.run.summary.expected_failures;
        if known > 0 {
            write!(out, "   ({known} known divergences)")?;
        }
        if let Some(own) = r.transport.filter(|own| Some(*own) != report.transport) {
            write!(out, "   (over {})", own.name())?;
        }
        writeln!(out)?;
    }
    let s = &report.summary;
    let suites = if report.protocol.is_empty() {
        String::new()
    } else {
        let failed: usize = report.protocol.iter().map(|r| r.summary.failed).sum();
        let known: usize = report
            .protocol
            .iter()
            .map(|r| r.summary.expected_failures)
            .sum();
        format!(
            "; {} run, {failed} cases failed ({known} known)",
            crate::humanize::counted(report.protocol.len(), "protocol suite")
        )
    };
    writeln!(
        out,
        "{}: {} passed, {} failed, {} skipped, {} errored ({} known divergences){suites} in {:.1} s",
        if report.exit_code() == 0 {
            "ok"
        } else {
            "FAILED"
        },
        s.passed,
        s.failed,
        s.skipped,
        s.errored,
        s.expected_failures,
        s.duration_ms / 1000.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{RunReport, TargetInfo, TargetKind};

    fn run(fixtures: serde_json::Value) -> RunReport {
        let target = TargetInfo {
            name: "x".into(),
            kind: TargetKind::Runner,
            url: "http://127.0.0.1:1".into(),
        };
        RunReport::new(target, serde_json::from_value(fixtures).unwrap(), 1234.5)
    }

    fn runner(name: &str, language: &str, protocols: &[Protocol], run: RunReport) -> RunnerReport {
        RunnerReport {
            runner: name.into(),
            language: language.into(),
            framework: "f".into(),
            protocols: protocols.to_vec(),
            status: RunnerStatus::Ran,
            error: None,
            transport: None,
            run,
        }
    }

    /// A runner with every kind of line (hostile name), a clean one and an unavailable one.
    fn sample() -> MatrixReport {
        let every_kind = run(serde_json::json!([
            {"name": "ok", "protocol": "rest", "file": "ok.json", "outcome": "passed", "diff": [],
             "duration_ms": 1.0},
            {"name": "snap", "protocol": "sse", "file": "snap.json", "outcome": "passed", "diff": [],
             "snapshot": {"status": "changed", "path": "s.snap", "diff": "-a\n+b\n c"},
             "duration_ms": 2.4},
            {"name": "bad", "protocol": "rest", "file": "bad.json", "outcome": "failed",
             "diff": [{"path": "/status", "expected": 200, "actual": 500,
                       "message": "different status"}], "duration_ms": 3.0},
            {"name": "known1", "protocol": "rest", "file": "k1.json", "outcome": "failed",
             "diff": [], "expected_failure": true, "duration_ms": 1.0},
            {"name": "known2", "protocol": "sse", "file": "k2.json", "outcome": "errored",
             "error": {"at": "", "reason": "reset"}, "expected_failure": true, "diff": [],
             "duration_ms": 1.0},
            {"name": "fixed", "protocol": "rest", "file": "f.json", "outcome": "passed",
             "diff": [], "expected_failure": true, "duration_ms": 1.0},
            {"name": "skip", "protocol": "rest", "file": "s.json", "outcome": "skipped",
             "diff": [], "duration_ms": 0.0}
        ]));
        let clean = run(serde_json::json!([
            {"name": "ok", "protocol": "websocket", "file": "ok.json", "outcome": "passed",
             "diff": [], "duration_ms": 1.0}
        ]));
        let gone = RunnerReport {
            status: RunnerStatus::Unavailable,
            error: Some("no python3\n\u{1b}]0;t".into()),
            ..runner(
                "py",
                "python",
                &[Protocol::Rest],
                run(serde_json::json!([])),
            )
        };
        let runners = vec![
            runner(
                "go-\u{1b}[2Jchi",
                "go",
                &[Protocol::Rest, Protocol::Sse],
                every_kind,
            ),
            runner("rust-axum", "rust", &Protocol::ALL, clean),
            gone,
        ];
        MatrixReport::new(runners, 98765.0)
    }

    fn text(style: Style) -> String {
        let mut out = Vec::new();
        write_matrix(&mut out, style, &sample()).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_transport_is_named_above_the_grid_and_beside_a_column_that_differs() {
        use crate::results::matrix::Transport;
        let mut report = sample().with_transport(Transport::H2c);
        // Sorted by name: go-chi, py (unavailable), rust-axum.
        report.runners[0].transport = Some(Transport::H2);
        report.runners[2].transport = Some(Transport::H2c);
        let mut out = Vec::new();
        write_matrix(&mut out, Style::plain(), &report).unwrap();
        let text = String::from_utf8(out).unwrap();
        let grid: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("transport: "))
            .collect();
        assert_eq!(
            grid[0],
            "transport: h2c (HTTP/2 with prior knowledge (h2c) over plain TCP; WebSocket \
             fixtures over HTTP/1.1)"
        );
        assert!(grid[1].starts_with("runner "), "{text}");
        assert!(grid[2].ends_with("(over h2)"), "{text}");
        assert!(
            grid[4].starts_with("rust-axum") && !grid[4].contains("over"),
            "{text}"
        );
    }

    #[test]
    fn failures_then_the_grid_as_before_the_move() {
        assert_eq!(
            text(Style::plain()),
            include_str!("golden/matrix_plain.txt")
        );
        assert_eq!(text(Style::ansi()), include_str!("golden/matrix_ansi.txt"));
    }
}
