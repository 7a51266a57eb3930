//! JUnit XML: one testsuite per runner (or target), one testcase per fixture (a changed snapshot
//! fails it); in a report, one more suite with a testcase per load run.

use std::fmt::Write;

use super::bundle::{LoadEntry, ReportDocument};
use crate::results::SnapshotStatus;
use crate::results::matrix::{MatrixReport, RunnerStatus};
use crate::results::{FixtureResult, Outcome, RunReport};

/// The JUnit document of a matrix.
pub fn matrix(report: &MatrixReport) -> String {
    testsuites("benchmark-harness matrix", report, &[])
}

/// The JUnit document of a report: the matrix's suites and one suite of load runs, where a run
/// with errors fails.
pub fn report(report: &ReportDocument) -> String {
    testsuites(
        "benchmark-harness report",
        &report.conformance,
        &report.load,
    )
}

fn testsuites(name: &str, report: &MatrixReport, load: &[LoadEntry]) -> String {
    let s = &report.summary;
    let load_failures = load.iter().filter(|l| l.result.summary.errors > 0).count();
    let changed = report
        .runners
        .iter()
        .map(|r| snapshot_only(&r.run))
        .sum::<usize>();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        escape(name),
        s.passed + s.failed + s.errored + s.skipped + unavailable(report) + load.len(),
        s.failed + changed + load_failures,
        s.errored + unavailable(report),
        s.skipped,
        s.duration_ms / 1000.0 + load.iter().map(|l| l.result.duration_s).sum::<f64>()
    );
    for runner in &report.runners {
        if runner.status == RunnerStatus::Unavailable {
            let _ = writeln!(
                out,
                "  <testsuite name=\"{}\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\">",
                escape(&runner.runner)
            );
            let _ = writeln!(
                out,
                "    <testcase classname=\"{0}\" name=\"start\">",
                escape(&runner.runner)
            );
            let error = runner.error.as_deref().unwrap_or("unavailable");
            let _ = writeln!(
                out,
                "      <error message=\"{}\">{}</error>",
                escape(first_line(error)),
                escape(error)
            );
            let _ = writeln!(out, "    </testcase>\n  </testsuite>");
            continue;
        }
        suite(&mut out, &runner.runner, &runner.run);
    }
    if !load.is_empty() {
        load_suite(&mut out, load);
    }
    out.push_str("</testsuites>\n");
    out
}

fn load_suite(out: &mut String, load: &[LoadEntry]) {
    let failures = load.iter().filter(|l| l.result.summary.errors > 0).count();
    let _ = writeln!(
        out,
        "  <testsuite name=\"load\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{:.3}\">",
        load.len(),
        load.iter().map(|l| l.result.duration_s).sum::<f64>()
    );
    for entry in load {
        let r = &entry.result;
        let latency = match &r.summary.latency_us {
            Some(l) => format!(
                "p50 {} us, p99 {} us, p99.9 {} us, max {} us",
                l.p50, l.p99, l.p999, l.max
            ),
            None => "no successful operation".to_string(),
        };
        let _ = write!(
            out,
            "    <testcase classname=\"load.{}\" name=\"{}\" file=\"{}\" time=\"{:.3}\">\n      <system-out>{}</system-out>\n",
            escape(&r.protocol),
            escape(&entry.label),
            escape(&entry.source.display().to_string()),
            r.duration_s,
            escape(&format!(
                "{} {} mode, {} connections: {:.1} successful ops/s, {latency}, {} errors ({:.1}/s)",
                r.command,
                r.mode,
                r.connections,
                r.summary.throughput_per_s,
                r.summary.errors,
                r.summary.failed_per_s
            ))
        );
        if r.summary.errors > 0 {
            let kinds: String = r
                .errors_by_kind
                .iter()
                .map(|(kind, count)| format!("{count} x {kind}\n"))
                .collect();
            let _ = writeln!(
                out,
                "      <failure message=\"{}\">{}</failure>",
                escape(&format!(
                    "{} of {} operations failed{}",
                    r.summary.errors,
                    r.summary.operations,
                    if r.summary.latency_us.is_none() {
                        ": no successful operation"
                    } else {
                        ""
                    }
                )),
                escape(&kinds)
            );
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n");
}

/// Fixtures that passed but whose snapshot changed: each is a failure in JUnit.
fn snapshot_only(run: &RunReport) -> usize {
    run.fixtures
        .iter()
        .filter(|f| snapshot_changed_only(f))
        .count()
}

fn snapshot_changed_only(f: &FixtureResult) -> bool {
    f.outcome == Outcome::Passed
        && f.snapshot
            .as_ref()
            .is_some_and(|s| s.status == SnapshotStatus::Changed)
}

/// The JUnit document of one run.
pub fn run(report: &RunReport) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let s = &report.summary;
    let _ = writeln!(
        out,
        "<testsuites name=\"benchmark-harness\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        report.fixtures.len(),
        s.failed + snapshot_only(report),
        s.errored,
        s.skipped,
        s.duration_ms / 1000.0
    );
    suite(&mut out, &report.target.name, report);
    out.push_str("</testsuites>\n");
    out
}

fn unavailable(report: &MatrixReport) -> usize {
    report
        .runners
        .iter()
        .filter(|r| r.status == RunnerStatus::Unavailable)
        .count()
}

fn suite(out: &mut String, name: &str, run: &RunReport) {
    let s = &run.summary;
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        escape(name),
        run.fixtures.len(),
        s.failed + snapshot_only(run),
        s.errored,
        s.skipped,
        s.duration_ms / 1000.0
    );
    for fixture in &run.fixtures {
        testcase(out, name, fixture);
    }
    out.push_str("  </testsuite>\n");
}

fn testcase(out: &mut String, suite: &str, f: &FixtureResult) {
    let _ = write!(
        out,
        "    <testcase classname=\"{}.{}\" name=\"{}\" file=\"{}\" time=\"{:.3}\"",
        escape(suite),
        f.protocol.as_str(),
        escape(&f.name),
        escape(&f.file.display().to_string()),
        f.duration_ms / 1000.0
    );
    let details = details(f);
    let known = if f.expected_failure {
        " (expected failure: a known divergence of this runner)"
    } else {
        ""
    };
    match f.outcome {
        Outcome::Passed if snapshot_changed_only(f) => {
            let _ = writeln!(
                out,
                ">\n      <failure message=\"snapshot changed\">{}</failure>\n    </testcase>",
                escape(&details)
            );
        }
        Outcome::Passed => out.push_str("/>\n"),
        Outcome::Skipped => {
            let reason = f.error.as_ref().map_or("skipped", |e| e.reason.as_str());
            let _ = writeln!(
                out,
                ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                escape(reason)
            );
        }
        Outcome::Failed => {
            let message = f.diff.first().map_or_else(
                || "failed".to_string(),
                |m| format!("{}: {}", m.path, m.message),
            );
            let _ = writeln!(
                out,
                ">\n      <failure message=\"{}{known}\">{}</failure>\n    </testcase>",
                escape(&message),
                escape(&details)
            );
        }
        Outcome::Errored => {
            let message = f
                .error
                .as_ref()
                .map_or("errored".to_string(), |e| format!("{}: {}", e.at, e.reason));
            let _ = writeln!(
                out,
                ">\n      <error message=\"{}{known}\">{}</error>\n    </testcase>",
                escape(first_line(&message)),
                escape(&details)
            );
        }
    }
}

fn details(f: &FixtureResult) -> String {
    let mut text = String::new();
    if let Some(error) = &f.error {
        let _ = writeln!(text, "{}: {}", error.at, error.reason);
    }
    for mismatch in &f.diff {
        let _ = writeln!(text, "{mismatch}");
    }
    if let Some(diff) = f.snapshot.as_ref().and_then(|s| s.diff.as_deref()) {
        let _ = writeln!(text, "snapshot changed:\n{diff}");
    }
    text
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// Escapes text for XML attributes and content, dropping characters XML 1.0 cannot hold.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(
            escape("a<b>&\"c'\u{1}"),
            "a&lt;b&gt;&amp;&quot;c&apos;\u{FFFD}"
        );
    }
}
