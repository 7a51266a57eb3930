//! JUnit XML: one testsuite per runner (or target), one testcase per fixture.

use std::fmt::Write;

use super::matrix::{MatrixReport, RunnerStatus};
use super::{FixtureResult, Outcome, RunReport};

/// The JUnit document of a matrix.
pub fn matrix(report: &MatrixReport) -> String {
    let s = &report.summary;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"benchmark-harness matrix\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        s.passed + s.failed + s.errored + s.skipped + unavailable(report),
        s.failed,
        s.errored + unavailable(report),
        s.skipped,
        s.duration_ms / 1000.0
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
    out.push_str("</testsuites>\n");
    out
}

/// The JUnit document of one run.
pub fn run(report: &RunReport) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"benchmark-harness\">\n",
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
        s.failed,
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
