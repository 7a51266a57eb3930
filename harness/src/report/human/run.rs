//! The human rendering of a run: one line per fixture, the diff of each failure, a summary.
//! `matrix` prints its failures with [`write_fixture`] too.

use std::io::{self, Write};
use std::path::Path;

use crate::humanize::escape_controls;
use crate::report::terminal::Style;
use crate::results::SnapshotStatus;
use crate::results::diff::{CLIP_CHARS, clip};
use crate::results::{FixtureResult, Outcome, RunReport};

/// Alike mismatches in a row shown in full before the rest are counted.
const SHOWN_ALIKE: usize = 3;

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
        escape_controls(&result.name),
        result.duration_ms
    )?;
    if let Some(error) = &result.error {
        let at = if error.at.is_empty() { "/" } else { &error.at };
        let text = format!("{at}: {}", clip(&error.reason, CLIP_CHARS));
        for line in escape_controls(&text).lines() {
            writeln!(out, "      {line}")?;
        }
    }
    if result.outcome != Outcome::Passed {
        // A run of alike mismatches (an endless stream's unexpected events) shows its first
        // few and a count; the result document keeps them all.
        for alike in result.diff.chunk_by(|a, b| a.message == b.message) {
            for mismatch in alike.iter().take(SHOWN_ALIKE) {
                for line in escape_controls(&mismatch.to_string()).lines() {
                    writeln!(out, "      {line}")?;
                }
            }
            if let [first, .., last] = alike.get(SHOWN_ALIKE..).unwrap_or_default() {
                let more = alike.len() - SHOWN_ALIKE;
                let text = format!(
                    "… and {more} more: {} ({} … {})",
                    clip(&first.message, CLIP_CHARS),
                    clip(&first.path, CLIP_CHARS),
                    clip(&last.path, CLIP_CHARS)
                );
                writeln!(out, "      {}", escape_controls(&text))?;
            } else if let [only] = alike.get(SHOWN_ALIKE..).unwrap_or_default() {
                for line in escape_controls(&only.to_string()).lines() {
                    writeln!(out, "      {line}")?;
                }
            }
        }
        if result.outcome != Outcome::Skipped {
            let file = result.file.display().to_string();
            writeln!(out, "      --> {}", escape_controls(&file))?;
        }
    }
    if let Some(diff) = result.snapshot.as_ref().and_then(|s| s.diff.as_deref()) {
        for line in escape_controls(diff).lines().take(60) {
            let line = clip(line, CLIP_CHARS);
            let line = match line.chars().next() {
                Some('+') => style.paint("32", &line),
                Some('-') => style.paint("31", &line),
                _ => line.into_owned(),
            };
            writeln!(out, "      {line}")?;
        }
    }
    Ok(())
}

/// Shown under a failing fixture without a handler replayed against the embedded reference.
const NO_HANDLER_HINT: &str = "hint: this fixture has no handler, so the embedded reference \
    server does not serve it (a 404 or a refused upgrade); replay it against your server with --url URL";

/// Whether `run` prints `result` as it comes: always, or with `--quiet` only what needs a look
/// (a fixture that did not pass, a changed snapshot). A new snapshot of a passing fixture is
/// counted in the summary (with the folder it went to), not listed.
pub fn is_shown(result: &FixtureResult, quiet: bool) -> bool {
    let notable = result.outcome != Outcome::Passed
        || result
            .snapshot
            .as_ref()
            .is_some_and(|s| s.status == SnapshotStatus::Changed);
    notable || !quiet
}

/// Writes one replayed fixture as `run` prints it: its line and diff ([`write_fixture`]), and
/// when it did not pass and `unserved` (the embedded reference has no handler for it), a hint
/// to replay it with `--url`.
pub fn write_replayed(
    out: &mut dyn Write,
    style: Style,
    result: &FixtureResult,
    unserved: bool,
) -> io::Result<()> {
    write_fixture(out, style, result)?;
    if result.outcome != Outcome::Passed && unserved {
        writeln!(out, "      {NO_HANDLER_HINT}")?;
    }
    Ok(())
}

/// Writes the closing summary line; `snapshots_dir` is where snapshots were compared or
/// written (named when files were written there).
pub fn write_summary(
    out: &mut dyn Write,
    style: Style,
    report: &RunReport,
    snapshots_dir: Option<&Path>,
) -> io::Result<()> {
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
    snapshots += &snapshot_note(report, snapshots_dir);
    writeln!(
        out,
        "{verdict}: {} passed, {} failed, {} skipped, {} errored{snapshots} in {:.2} s against {} ({})",
        s.passed,
        s.failed,
        s.skipped,
        s.errored,
        s.duration_ms / 1000.0,
        escape_controls(&report.target.name),
        escape_controls(&report.target.url)
    )
}

/// `; snapshots: N checked[, C changed, W new in DIR (review: ...)][, U updated in DIR]`, or
/// nothing when snapshots were off.
fn snapshot_note(report: &RunReport, snapshots_dir: Option<&Path>) -> String {
    let statuses: Vec<SnapshotStatus> = report
        .fixtures
        .iter()
        .filter_map(|f| f.snapshot.as_ref().map(|s| s.status))
        .collect();
    if statuses.is_empty() {
        return String::new();
    }
    let count = |status| statuses.iter().filter(|s| **s == status).count();
    let (changed, new, updated) = (
        count(SnapshotStatus::Changed),
        count(SnapshotStatus::New),
        count(SnapshotStatus::Updated),
    );
    let within = snapshots_dir.map_or(String::new(), |dir| {
        format!(" in {}", escape_controls(&dir.display().to_string()))
    });
    let mut note = format!("; snapshots: {} checked", statuses.len());
    if changed + new > 0 {
        note += &format!(
            ", {changed} changed, {new} new{within} (review: cargo insta review, or --snapshots update)"
        );
    }
    if updated > 0 {
        note += &format!(", {updated} updated{within}");
    }
    note
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_escaped() {
        assert_eq!(escape_controls("plain\tline\n"), "plain\tline\n");
        assert_eq!(
            escape_controls("a\u{1b}]0;title\u{7}\u{1b}[2J\r\u{7f}\u{9b}\u{202e}z"),
            "a\\u{1b}]0;title\\u{7}\\u{1b}[2J\\u{d}\\u{7f}\\u{9b}\\u{202e}z"
        );
    }
    #[test]
    fn a_huge_reason_or_snapshot_line_is_clipped_with_its_length() {
        let huge = "x".repeat(5 * 1024 * 1024);
        let result = FixtureResult {
            name: "big".into(),
            protocol: harness_fixture::Protocol::Rest,
            file: "big.json".into(),
            outcome: Outcome::Errored,
            diff: Vec::new(),
            error: Some(crate::results::Interrupted {
                at: "/request".into(),
                reason: format!("garbage: {huge}"),
            }),
            snapshot: None,
            body_arrivals: None,
            expected_failure: false,
            duration_ms: 1.0,
        };
        let mut out = Vec::new();
        write_fixture(&mut out, Style::plain(), &result).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.len() < 1000, "{} bytes printed", text.len());
        assert!(
            text.contains(&format!("({} bytes)", huge.len() + 9)),
            "{text}"
        );
    }

    #[test]
    fn an_unserved_failure_gets_the_hint_and_quiet_hides_what_passed() {
        let mut result: FixtureResult = serde_json::from_value(serde_json::json!({
            "name": "echo", "protocol": "websocket", "file": "echo.json", "outcome": "failed",
            "diff": [], "duration_ms": 2.0
        }))
        .unwrap();
        let mut out = Vec::new();
        write_replayed(&mut out, Style::plain(), &result, true).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "FAIL  websocket echo (2 ms)\n      --> echo.json\n      hint: this fixture has no \
             handler, so the embedded reference server does not serve it (a 404 or a refused \
             upgrade); replay it against your server with --url URL\n"
        );
        assert!(is_shown(&result, true));
        result.outcome = Outcome::Passed;
        let mut out = Vec::new();
        write_replayed(&mut out, Style::plain(), &result, true).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "PASS  websocket echo (2 ms)\n"
        );
        assert!(!is_shown(&result, true) && is_shown(&result, false));
    }
}
