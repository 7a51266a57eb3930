//! The result of a protocol suite for people: every case that is not `ok` with what was
//! expected, what was seen and its wire trace; then one line per category and the counts.

use std::io::{self, Write};

use crate::humanize::escape_controls;
use crate::report::terminal::Style;
use crate::results::protocol::{CaseResult, SuiteReport, TraceDirection, Verdict};

/// Writes `report`.
pub fn write_suite(out: &mut dyn Write, style: Style, report: &SuiteReport) -> io::Result<()> {
    for case in report.cases.iter().filter(|c| c.verdict != Verdict::Ok) {
        write_case(out, style, case)?;
    }
    for (category, cases) in by_category(&report.cases) {
        let ok = cases.iter().filter(|c| c.verdict == Verdict::Ok).count();
        let failed = cases
            .iter()
            .filter(|c| c.verdict == Verdict::Failed)
            .count();
        let failed = if failed > 0 {
            style.paint("31;1", &format!(", {failed} failed"))
        } else {
            String::new()
        };
        writeln!(out, "{category:<48} {ok:>4}/{:<4} ok{failed}", cases.len())?;
    }
    let s = &report.summary;
    let verdict = if s.failed > 0 {
        style.paint("31;1", "FAILED")
    } else {
        style.paint("32;1", "ok")
    };
    writeln!(
        out,
        "{verdict}: {} suite, {} cases: {} ok, {} non_strict, {} failed, {} informational, {} unimplemented in {:.1} s against {} ({}{})",
        report.suite,
        report.cases.len(),
        s.ok,
        s.non_strict,
        s.failed,
        s.informational,
        s.unimplemented,
        report.duration_ms / 1000.0,
        escape_controls(&report.target.name),
        escape_controls(report.target.url.trim_end_matches('/')),
        escape_controls(&report.path),
    )
}

fn write_case(out: &mut dyn Write, style: Style, case: &CaseResult) -> io::Result<()> {
    let (code, word) = match case.verdict {
        Verdict::Failed => ("31;1", "FAIL "),
        Verdict::NonStrict => ("33", "NSTR "),
        Verdict::Informational => ("36", "INFO "),
        Verdict::Unimplemented => ("2", "UNIMP"),
        Verdict::Ok => ("32", "OK   "),
    };
    writeln!(
        out,
        "{} {:<9} {} ({:.0} ms)",
        style.paint(code, word),
        case.id,
        escape_controls(&case.description),
        case.duration_ms
    )?;
    writeln!(out, "      expected: {}", escape_controls(&case.expected))?;
    writeln!(out, "      observed: {}", escape_controls(&case.observed))?;
    for line in &case.trace {
        let who = match line.direction {
            TraceDirection::Sent => "sent",
            TraceDirection::Received => "recv",
            TraceDirection::Event => "    ",
        };
        writeln!(
            out,
            "        {:>9.1} ms {who} {}",
            line.t_ms,
            escape_controls(&line.what)
        )?;
    }
    Ok(())
}

/// The cases grouped by category name, in order of first appearance, named with their id's
/// first component (`6 UTF-8 Handling`).
fn by_category(cases: &[CaseResult]) -> Vec<(String, Vec<&CaseResult>)> {
    let mut groups: Vec<(String, Vec<&CaseResult>)> = Vec::new();
    for case in cases {
        let number = case.id.split('.').next().unwrap_or_default();
        let name = format!("{number} {}", case.category);
        match groups.iter_mut().find(|(n, _)| *n == name) {
            Some((_, members)) => members.push(case),
            None => groups.push((name, vec![case])),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::protocol::TraceEntry;
    use crate::results::{TargetInfo, TargetKind};

    fn case(id: &str, category: &str, verdict: Verdict) -> CaseResult {
        CaseResult {
            id: id.into(),
            category: category.into(),
            description: format!("case {id}"),
            verdict,
            expected: "close 1002".into(),
            observed: "echoed the frame".into(),
            duration_ms: 3.0,
            trace: if verdict == Verdict::Ok {
                Vec::new()
            } else {
                vec![TraceEntry {
                    t_ms: 0.5,
                    direction: TraceDirection::Sent,
                    what: "text fin=1 rsv=100 len=5 \"hello\"".into(),
                }]
            },
            expected_failure: false,
        }
    }

    #[test]
    fn failures_show_expected_observed_and_trace_and_categories_count() {
        let cases = vec![
            case("3.1", "Reserved Bits", Verdict::Failed),
            case("3.2", "Reserved Bits", Verdict::Ok),
            case("1.1.1", "Framing", Verdict::Ok),
        ];
        let target = TargetInfo {
            name: "app".into(),
            kind: TargetKind::Url,
            url: "http://127.0.0.1:9/".into(),
        };
        let report = SuiteReport::new("websocket", target, "/ws/echo", cases, 1500.0);
        let mut out = Vec::new();
        write_suite(&mut out, Style::plain(), &report).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("FAIL  3.1       case 3.1 (3 ms)"), "{text}");
        assert!(
            text.contains("expected: close 1002\n      observed: echoed the frame"),
            "{text}"
        );
        assert!(
            text.contains("0.5 ms sent text fin=1 rsv=100 len=5 \"hello\""),
            "{text}"
        );
        assert!(
            text.contains("3 Reserved Bits") && text.contains("1/2    ok, 1 failed"),
            "{text}"
        );
        assert!(
            !text.contains("1.1.1     case"),
            "an ok case is not listed: {text}"
        );
        assert!(
            text.contains("FAILED: websocket suite, 3 cases: 2 ok, 0 non_strict, 1 failed, 0 informational, 0 unimplemented in 1.5 s against app (http://127.0.0.1:9/ws/echo)"),
            "{text}"
        );
    }
}
