//! JUnit XML, written with quick-junit: one testsuite per runner (or target), one testcase per
//! fixture (a changed snapshot fails it); in a report, one more suite with a testcase per load run,
//! and one per protocol suite and target with a testcase per case (a `failed` case fails it).
//! The counts on `<testsuite>` and `<testsuites>` are quick-junit's, taken from the testcases.

use std::fmt::Write;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::document::{LoadEntry, ReportDocument};
use crate::results::SnapshotStatus;
use crate::results::matrix::{MatrixReport, RunnerStatus, SuiteNotRun, SuiteSkip};
use crate::results::protocol::{SuiteReport, Verdict as ProtocolVerdict};
use crate::results::{FixtureResult, Outcome, RunReport};

/// The JUnit document of a matrix: with `--protocol-suites`, a suite per protocol suite and
/// runner too (a testcase per case), and one per suite not run (skipped, or an error when its
/// endpoint was unavailable).
pub fn matrix(report: &MatrixReport) -> String {
    let mut out = testsuites("benchmark-harness matrix", report, &[]);
    for suite in &report.protocol {
        out.add_test_suite(protocol_suite(suite));
    }
    for skipped in &report.protocol_not_run {
        out.add_test_suite(suite_not_run(skipped));
    }
    to_xml(&out)
}

/// A protocol suite a matrix did not run: one `run` testcase, skipped, or an error when the
/// endpoint could not be reached.
fn suite_not_run(skipped: &SuiteNotRun) -> TestSuite {
    let status = match skipped.status {
        SuiteSkip::Skipped => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(text(&skipped.reason));
            status
        }
        SuiteSkip::Unavailable => non_success(
            NonSuccessKind::Error,
            first_line(&skipped.reason),
            &skipped.reason,
        ),
    };
    let name = format!("{} \u{b7} {}", skipped.suite, skipped.runner);
    let mut run = TestCase::new("run", status);
    run.set_classname(text(&name));
    let mut out = TestSuite::new(text(&name));
    out.add_test_case(run);
    out
}

/// The JUnit document of a report: the matrix's suites and one suite of load runs, where a run
/// with errors fails.
pub fn report(report: &ReportDocument) -> String {
    let mut out = testsuites(
        "benchmark-harness report",
        &report.conformance,
        &report.load,
    );
    for suite in &report.protocol {
        out.add_test_suite(protocol_suite(suite));
    }
    to_xml(&out)
}

/// One protocol suite on one target (`websocket · rust-axum`): a testcase per case, a `failed`
/// case a failure with what was expected and observed; the other verdicts pass, named in the
/// testcase's output.
fn protocol_suite(suite: &SuiteReport) -> TestSuite {
    let mut out = TestSuite::new(text(&format!(
        "{} \u{b7} {}",
        suite.suite, suite.target.name
    )));
    if let Some(time) = seconds(suite.duration_ms / 1000.0) {
        out.set_time(time);
    }
    for case in &suite.cases {
        let known = if case.expected_failure {
            " (expected failure: a known failure of this runner's framework)"
        } else {
            ""
        };
        let status = if case.verdict == ProtocolVerdict::Failed {
            non_success(
                NonSuccessKind::Failure,
                &format!(
                    "expected {}; observed {}{known}",
                    case.expected, case.observed
                ),
                &format!(
                    "{}\nexpected: {}\nobserved: {}\n",
                    case.description, case.expected, case.observed
                ),
            )
        } else {
            TestCaseStatus::success()
        };
        let mut test = TestCase::new(text(&case.id), status);
        test.set_classname(text(&format!("{}.{}", suite.suite, case.category)))
            .set_system_out(text(&format!(
                "{}: {} ({})",
                case.id,
                verdict_word(case.verdict),
                case.observed
            )));
        if let Some(time) = seconds(case.duration_ms / 1000.0) {
            test.set_time(time);
        }
        out.add_test_case(test);
    }
    out
}

/// A protocol verdict as the documents spell it.
fn verdict_word(verdict: ProtocolVerdict) -> &'static str {
    match verdict {
        ProtocolVerdict::Ok => "ok",
        ProtocolVerdict::NonStrict => "non_strict",
        ProtocolVerdict::Failed => "failed",
        ProtocolVerdict::Informational => "informational",
        ProtocolVerdict::Unimplemented => "unimplemented",
    }
}

/// The JUnit document of one run.
pub fn run(report: &RunReport) -> String {
    let mut out = Report::new("benchmark-harness");
    if let Some(time) = seconds(report.summary.duration_ms / 1000.0) {
        out.set_time(time);
    }
    out.add_test_suite(suite(&report.target.name, report));
    to_xml(&out)
}

fn testsuites(name: &str, report: &MatrixReport, load: &[LoadEntry]) -> Report {
    let mut out = Report::new(text(name));
    let load_time = load.iter().map(|l| l.result.duration_s).sum::<f64>();
    if let Some(time) = seconds(report.summary.duration_ms / 1000.0 + load_time) {
        out.set_time(time);
    }
    for runner in &report.runners {
        let start = match runner.status {
            RunnerStatus::Ran => {
                out.add_test_suite(suite(&runner.runner, &runner.run));
                continue;
            }
            RunnerStatus::NotDeclared => {
                let mut status = TestCaseStatus::skipped();
                status.set_message(text(runner.error.as_deref().unwrap_or("not run")));
                status
            }
            RunnerStatus::Unavailable => {
                let error = runner.error.as_deref().unwrap_or("unavailable");
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                status
                    .set_message(text(first_line(error)))
                    .set_description(text(error));
                status
            }
        };
        out.add_test_suite(start_suite(&runner.runner, start));
    }
    if !load.is_empty() {
        out.add_test_suite(load_suite(load, load_time));
    }
    out
}

fn load_suite(load: &[LoadEntry], time: f64) -> TestSuite {
    let mut out = TestSuite::new("load");
    if let Some(time) = seconds(time) {
        out.set_time(time);
    }
    for entry in load {
        out.add_test_case(load_case(entry));
    }
    out
}

fn load_case(entry: &LoadEntry) -> TestCase {
    let r = &entry.result;
    let status = if r.summary.errors > 0 {
        let kinds: String = r
            .errors_by_kind
            .iter()
            .map(|(kind, count)| format!("{count} x {kind}\n"))
            .collect();
        let no_success = if r.summary.latency_us.is_none() {
            ": no successful operation"
        } else {
            ""
        };
        let mut failure = TestCaseStatus::non_success(NonSuccessKind::Failure);
        failure
            .set_message(text(&format!(
                "{} of {} operations failed{no_success}",
                r.summary.errors, r.summary.operations
            )))
            .set_description(text(&kinds));
        failure
    } else {
        TestCaseStatus::success()
    };
    let latency = match &r.summary.latency_us {
        Some(l) => format!(
            "p50 {} us, p99 {} us, p99.9 {} us, max {} us",
            l.p50, l.p99, l.p999, l.max
        ),
        None => "no successful operation".to_string(),
    };
    let mut case = TestCase::new(text(&entry.label), status);
    case.set_classname(text(&format!("load.{}", r.protocol)))
        .set_system_out(text(&format!(
            "{} {} mode, {} connections: {:.1} successful ops/s, {latency}, {} errors ({:.1}/s)",
            r.command,
            r.mode,
            r.connections,
            r.summary.throughput_per_s,
            r.summary.errors,
            r.summary.failed_per_s
        )));
    if let Some(time) = seconds(r.duration_s) {
        case.set_time(time);
    }
    case.extra.insert(
        "file".into(),
        text(&entry.source.display().to_string()).into(),
    );
    case
}

/// Fixtures that passed but whose snapshot changed: each is a failure in JUnit.
fn snapshot_changed_only(f: &FixtureResult) -> bool {
    f.outcome == Outcome::Passed
        && f.snapshot
            .as_ref()
            .is_some_and(|s| s.status == SnapshotStatus::Changed)
}

/// The suite of a runner whose fixtures were not replayed: one `start` case with `status`.
fn start_suite(runner: &str, status: TestCaseStatus) -> TestSuite {
    let mut start = TestCase::new("start", status);
    start.set_classname(text(runner));
    let mut suite = TestSuite::new(text(runner));
    suite.add_test_case(start);
    suite
}

fn suite(name: &str, run: &RunReport) -> TestSuite {
    let mut out = TestSuite::new(text(name));
    if let Some(time) = seconds(run.summary.duration_ms / 1000.0) {
        out.set_time(time);
    }
    for fixture in &run.fixtures {
        out.add_test_case(testcase(name, fixture));
    }
    out
}

fn testcase(suite: &str, f: &FixtureResult) -> TestCase {
    let known = if f.expected_failure {
        " (expected failure: a known divergence of this runner)"
    } else {
        ""
    };
    let status = match f.outcome {
        Outcome::Passed if snapshot_changed_only(f) => {
            non_success(NonSuccessKind::Failure, "snapshot changed", &details(f))
        }
        Outcome::Passed => TestCaseStatus::success(),
        Outcome::Skipped => {
            let reason = f.error.as_ref().map_or("skipped", |e| e.reason.as_str());
            let mut skipped = TestCaseStatus::skipped();
            skipped.set_message(text(reason));
            skipped
        }
        Outcome::Failed => {
            let message = f.diff.first().map_or_else(
                || "failed".to_string(),
                |m| format!("{}: {}", m.path, m.message),
            );
            non_success(
                NonSuccessKind::Failure,
                &format!("{message}{known}"),
                &details(f),
            )
        }
        Outcome::Errored => {
            let message = f
                .error
                .as_ref()
                .map_or("errored".to_string(), |e| format!("{}: {}", e.at, e.reason));
            non_success(
                NonSuccessKind::Error,
                &format!("{}{known}", first_line(&message)),
                &details(f),
            )
        }
    };
    let mut case = TestCase::new(text(&f.name), status);
    case.set_classname(text(&format!("{suite}.{}", f.protocol.as_str())));
    if let Some(time) = seconds(f.duration_ms / 1000.0) {
        case.set_time(time);
    }
    case.extra
        .insert("file".into(), text(&f.file.display().to_string()).into());
    case
}

fn non_success(kind: NonSuccessKind, message: &str, description: &str) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(kind);
    status
        .set_message(text(message))
        .set_description(text(description));
    status
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

/// A duration quick-junit can hold: none for a negative, infinite or NaN number of seconds.
fn seconds(seconds: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(seconds).ok()
}

/// Text as quick-junit should get it. quick-junit drops control characters and whole ANSI escape
/// sequences, where an unterminated one (`ESC X`, `ESC P`, `ESC ]`) would take the rest of a
/// failure message with it, and passes U+FFFE and U+FFFF, which XML cannot hold. So every control
/// character but line feed, tab and carriage return, and those two, show as U+FFFD, as they did
/// before quick-junit; a tab, which quick-junit would drop, becomes a space.
fn text(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' => ' ',
            '\n' | '\r' => c,
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// Serializes into memory, where quick-junit's writer cannot fail (its errors are those of the
/// `io::Write` it writes to, and a `Vec` returns none).
fn to_xml(report: &Report) -> String {
    report
        .to_string()
        .expect("a JUnit report serializes into a Vec")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failing_run(message: &str, snapshot_diff: &str) -> RunReport {
        serde_json::from_value(serde_json::json!({
            "target": {"name": "t <&>", "kind": "url", "url": ""},
            "summary": {"passed": 1, "failed": 1, "skipped": 0, "errored": 0,
                        "snapshots_changed": 1, "snapshots_new": 0, "duration_ms": 3.0},
            "fixtures": [
                {"name": "a", "protocol": "rest", "file": "a.json", "outcome": "failed",
                 "diff": [{"path": "/body", "expected": 1, "actual": 2, "message": message}],
                 "duration_ms": 1.0},
                {"name": "b", "protocol": "sse", "file": "b.json", "outcome": "passed", "diff": [],
                 "snapshot": {"status": "changed", "path": "b.snap", "diff": snapshot_diff},
                 "duration_ms": 2.0}
            ]
        }))
        .expect("a run document")
    }

    #[test]
    fn control_characters_and_ansi_escapes_come_out_as_well_formed_xml() {
        let hostile = "nul \0 red \x1b[31mx\x1b[0m title \x1b]0;t\x07 sos \x1bXstill here \u{FFFE}\u{FFFF} <&\"'>";
        let xml = run(&failing_run(hostile, "-a\0\n+b \x1b[32m\n"));
        let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
        let failures: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("failure"))
            .collect();
        assert_eq!(failures.len(), 2, "{xml}");
        let shown = "nul \u{FFFD} red \u{FFFD}[31mx\u{FFFD}[0m title \u{FFFD}]0;t\u{FFFD} sos \u{FFFD}Xstill here \u{FFFD}\u{FFFD} <&\"'>";
        assert_eq!(
            failures[0].attribute("message"),
            Some(format!("/body: {shown}").as_str())
        );
        assert!(
            failures[0].text().is_some_and(|t| t.contains(shown)),
            "{xml}"
        );
        assert_eq!(
            failures[1].text(),
            Some("snapshot changed:\n-a\u{FFFD}\n+b \u{FFFD}[32m\n\n")
        );
        let suites = doc.root_element();
        assert_eq!(suites.attribute("failures"), Some("2"));
        assert_eq!(suites.attribute("tests"), Some("2"));
    }

    #[test]
    fn a_tab_is_a_space_and_line_ends_stay() {
        assert_eq!(text("a\tb\r\nc"), "a b\r\nc");
    }

    #[test]
    fn a_protocol_suite_is_a_testsuite_per_target_and_a_failed_case_a_failure() {
        use crate::report::document::samples::{report, suite};
        use crate::results::protocol::Verdict as V;
        let xml = super::report(&report(vec![
            suite("good", V::Informational),
            suite("bad", V::Failed),
        ]));
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let suites: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("testsuite"))
            .map(|n| {
                (
                    n.attribute("name").unwrap(),
                    n.attribute("tests").unwrap(),
                    n.attribute("failures").unwrap(),
                )
            })
            .collect();
        assert_eq!(
            suites,
            [
                ("websocket \u{b7} good", "3", "0"),
                ("websocket \u{b7} bad", "3", "1")
            ],
            "{xml}"
        );
        let failures: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("failure"))
            .collect();
        assert_eq!(failures.len(), 1, "{xml}");
        assert_eq!(
            failures[0].attribute("message"),
            Some("expected echo of 1.1.2; observed close 1002 in 1.1.2")
        );
        assert_eq!(
            failures[0].parent().unwrap().attribute("name"),
            Some("1.1.2")
        );
    }

    #[test]
    fn a_matrix_has_its_suites_a_known_failure_says_so_and_a_suite_not_run_is_skipped_or_errored() {
        use crate::report::document::samples::suite;
        use crate::results::matrix::{MatrixReport, SuiteNotRun, SuiteSkip};
        use crate::results::protocol::Verdict as V;
        let mut known = suite("known", V::Failed);
        known.cases[1].expected_failure = true;
        let not_run = |runner: &str, status| SuiteNotRun {
            suite: "sse".into(),
            runner: runner.into(),
            status,
            reason: "why\nmore".into(),
        };
        let report = MatrixReport::new(Vec::new(), 1.0).with_protocol(
            vec![known],
            vec![
                not_run("a", SuiteSkip::Skipped),
                not_run("b", SuiteSkip::Unavailable),
            ],
        );
        let xml = super::matrix(&report);
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let failure = doc
            .descendants()
            .find(|n| n.has_tag_name("failure"))
            .unwrap();
        assert!(
            failure
                .attribute("message")
                .unwrap()
                .ends_with("(expected failure: a known failure of this runner's framework)"),
            "{xml}"
        );
        let of = |name: &str| {
            doc.descendants()
                .find(|n| n.has_tag_name("testsuite") && n.attribute("name") == Some(name))
                .unwrap_or_else(|| panic!("{name}: {xml}"))
        };
        let skipped = of("sse \u{b7} a");
        assert!(skipped.descendants().any(|n| n.has_tag_name("skipped")));
        let errored = of("sse \u{b7} b");
        let error = errored
            .descendants()
            .find(|n| n.has_tag_name("error"))
            .unwrap();
        assert_eq!(error.attribute("message"), Some("why"));
    }
}
