//! The human rendering of a run: one line per fixture, the diff of each failure, a summary.

use std::io::{self, Write};

use super::{FixtureResult, Outcome, RunReport};
use crate::check::snapshot::SnapshotStatus;

/// ANSI styling, on only when wanted.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    color: bool,
}

impl Style {
    /// Colors when `out` is a terminal and `NO_COLOR` is unset or empty.
    pub fn detect(is_terminal: bool) -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            color: is_terminal && !no_color,
        }
    }

    /// No colors.
    pub fn plain() -> Style {
        Style { color: false }
    }

    /// `text` in the ANSI style `code` (e.g. "31;1"), or plain.
    pub fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// Writes one fixture's line, and its diff when it did not pass.
pub fn write_fixture(out: &mut dyn Write, style: Style, result: &FixtureResult) -> io::Result<()> {
    let known =
        result.expected_failure && matches!(result.outcome, Outcome::Failed | Outcome::Errored);
    let label = match result.outcome {
        _ if known => style.paint("33", "KNOWN"),
        Outcome::Passed => style.paint("32", "PASS "),
        Outcome::Failed => style.paint("31;1", "FAIL "),
        Outcome::Skipped => style.paint("33", "SKIP "),
        Outcome::Errored => style.paint("35;1", "ERROR"),
    };
    let snapshot = match result.snapshot.as_ref().map(|s| s.status) {
        Some(SnapshotStatus::Changed) => style.paint("31", " [snapshot changed]"),
        Some(SnapshotStatus::New) => style.paint("33", " [snapshot new]"),
        Some(SnapshotStatus::Updated) => " [snapshot updated]".to_string(),
        _ => String::new(),
    };
    writeln!(
        out,
        "{label} {:<9} {} ({:.0} ms){snapshot}",
        result.protocol.as_str(),
        result.name,
        result.duration_ms
    )?;
    if let Some(error) = &result.error {
        writeln!(
            out,
            "      {}: {}",
            if error.at.is_empty() { "/" } else { &error.at },
            error.reason
        )?;
    }
    if result.outcome != Outcome::Passed {
        for mismatch in &result.diff {
            for line in mismatch.to_string().lines() {
                writeln!(out, "      {line}")?;
            }
        }
        if result.outcome != Outcome::Skipped {
            writeln!(out, "      --> {}", result.file.display())?;
        }
    }
    if let Some(diff) = result.snapshot.as_ref().and_then(|s| s.diff.as_deref()) {
        for line in diff.lines().take(60) {
            let line = match line.chars().next() {
                Some('+') => style.paint("32", line),
                Some('-') => style.paint("31", line),
                _ => line.to_string(),
            };
            writeln!(out, "      {line}")?;
        }
    }
    Ok(())
}

/// Writes the closing summary line.
pub fn write_summary(out: &mut dyn Write, style: Style, report: &RunReport) -> io::Result<()> {
    let s = &report.summary;
    let verdict = if report.passed() {
        style.paint("32;1", "ok")
    } else {
        style.paint("31;1", "FAILED")
    };
    let mut snapshots = String::new();
    if s.expected_failures > 0 {
        snapshots.push_str(&format!(
            " ({} of them known divergences)",
            s.expected_failures
        ));
    }
    if s.snapshots_changed + s.snapshots_new > 0 {
        snapshots += &format!(
            "; snapshots: {} changed, {} new (review: cargo insta review, or --snapshots update)",
            s.snapshots_changed, s.snapshots_new
        );
    }
    writeln!(
        out,
        "{verdict}: {} passed, {} failed, {} skipped, {} errored{snapshots} in {:.2} s against {} ({})",
        s.passed,
        s.failed,
        s.skipped,
        s.errored,
        s.duration_ms / 1000.0,
        report.target.name,
        report.target.url
    )
}
