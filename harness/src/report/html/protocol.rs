//! The protocol suites (`protocol websocket|sse`) of a report: per suite, the verdict counts of
//! each target, then a grid of cases (rows, grouped by category, each category collapsible) by
//! targets (columns), each cell that is not `ok` linking to its case's expected, observed and
//! wire trace.

use maud::{Markup, html};

use crate::humanize::counted;
use crate::results::matrix::{SuiteNotRun, SuiteSkip};
use crate::results::protocol::{CaseResult, SuiteReport, TraceDirection, Verdict};

/// The section of every suite, and of the suites a matrix did not run; nothing when there is
/// none.
pub fn section(suites: &[SuiteReport], not_run: &[SuiteNotRun]) -> Markup {
    let mut names: Vec<&str> = suites.iter().map(|s| s.suite.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    html! {
        @if !suites.is_empty() || !not_run.is_empty() {
            section #protocol {
                h2 { "Protocol suites" }
                p.note {
                    "Each cell is one case against one target: \u{2713} ok, ~ non-strict, \u{2717} failed, "
                    "i informational, \u{2013} unimplemented. A cell that is not ok links to what was expected, "
                    "what was observed and the wire trace."
                }
                @for name in names { (suite(name, suites)) }
                @if !not_run.is_empty() {
                    h3 { "Suites not run" }
                    ul {
                        @for s in not_run {
                            li class=(if s.status == SuiteSkip::Unavailable { "bad" } else { "" }) {
                                strong { (s.runner) } " / " (s.suite) ": "
                                (if s.status == SuiteSkip::Unavailable { "unavailable" } else { "skipped" })
                                " \u{2013} " (s.reason)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The anchor of a case's details: the suite document's index and the case's.
pub fn anchor(document: usize, case: usize) -> String {
    format!("protocol-{document}-{case}")
}

fn suite(name: &str, suites: &[SuiteReport]) -> Markup {
    let targets: Vec<(usize, &SuiteReport)> = suites
        .iter()
        .enumerate()
        .filter(|(_, s)| s.suite == name)
        .collect();
    let categories = categories(&targets);
    html! {
        h3 { "Suite: " (name) }
        (counts(&targets))
        @for (category, ids) in &categories {
            (category_table(category, ids, &targets))
        }
        @for (index, report) in &targets {
            @for (case_index, case) in report.cases.iter().enumerate() {
                @if case.verdict != Verdict::Ok { (details(*index, case_index, report, case)) }
            }
        }
    }
}

/// The categories in the order their first case appears, each with its case ids in order.
fn categories<'a>(targets: &[(usize, &'a SuiteReport)]) -> Vec<(&'a str, Vec<&'a str>)> {
    let mut out: Vec<(&str, Vec<&str>)> = Vec::new();
    for (_, report) in targets {
        for case in &report.cases {
            let at = match out.iter().position(|(c, _)| *c == case.category) {
                Some(at) => at,
                None => {
                    out.push((&case.category, Vec::new()));
                    out.len() - 1
                }
            };
            if !out[at].1.contains(&case.id.as_str()) {
                out[at].1.push(&case.id);
            }
        }
    }
    out
}

fn counts(targets: &[(usize, &SuiteReport)]) -> Markup {
    html! {
        table.tally {
            thead { tr { th { "target" } th { "ok" } th { "non_strict" } th { "failed" } th { "informational" } th { "unimplemented" } } }
            tbody {
                @for (_, report) in targets {
                    @let c = &report.summary;
                    tr {
                        td { (report.target.name) }
                        td.num { (c.ok) } td.num { (c.non_strict) }
                        td.num class=(if c.failed > c.expected_failures { "num bad" } else { "num" }) {
                            (c.failed)
                            @if c.expected_failures > 0 { " (" (c.expected_failures) " known)" }
                        }
                        td.num { (c.informational) } td.num { (c.unimplemented) }
                    }
                }
            }
        }
    }
}

fn category_table(category: &str, ids: &[&str], targets: &[(usize, &SuiteReport)]) -> Markup {
    let failed = targets
        .iter()
        .flat_map(|(_, r)| &r.cases)
        .filter(|c| c.category == category && c.verdict == Verdict::Failed)
        .count();
    html! {
        details.grid open[failed > 0] {
            summary {
                strong { (category) } " \u{00b7} " (counted(ids.len(), "case"))
                @if failed > 0 { ", " span.badge.bad { (failed) " failed" } }
            }
            table.grid {
                thead { tr { th { "case" } @for (_, r) in targets { th.runner { (r.target.name) } } } }
                tbody {
                    @for id in ids {
                        tr {
                            th.fixture { (id) }
                            @for (index, report) in targets { (cell(*index, report, id)) }
                        }
                    }
                }
            }
        }
    }
}

fn cell(document: usize, report: &SuiteReport, id: &str) -> Markup {
    let Some((case_index, case)) = report.cases.iter().enumerate().find(|(_, c)| c.id == id) else {
        return html! { td.cell.none { "" } };
    };
    let (class, mark) = match look(case.verdict) {
        ("fail", mark) if case.expected_failure => ("known", mark),
        look => look,
    };
    let known = if case.expected_failure {
        " (listed as a known failure)"
    } else {
        ""
    };
    html! {
        td class=(format!("cell {class}")) title=(format!("{}: {}{known}", case.description, word(case.verdict))) {
            @if case.verdict == Verdict::Ok { (mark) }
            @else { a href=(format!("#{}", anchor(document, case_index))) { (mark) } }
        }
    }
}

/// A verdict's cell class and mark.
fn look(verdict: Verdict) -> (&'static str, &'static str) {
    match verdict {
        Verdict::Ok => ("pass", "\u{2713}"),
        Verdict::NonStrict => ("known", "~"),
        Verdict::Failed => ("fail", "\u{2717}"),
        Verdict::Informational => ("changed", "i"),
        Verdict::Unimplemented => ("skip", "\u{2013}"),
    }
}

/// A verdict as the document spells it.
pub fn word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Ok => "ok",
        Verdict::NonStrict => "non_strict",
        Verdict::Failed => "failed",
        Verdict::Informational => "informational",
        Verdict::Unimplemented => "unimplemented",
    }
}

fn details(document: usize, case_index: usize, report: &SuiteReport, case: &CaseResult) -> Markup {
    let trace: String = case
        .trace
        .iter()
        .map(|t| {
            let who = match t.direction {
                TraceDirection::Sent => "->",
                TraceDirection::Received => "<-",
                TraceDirection::Event => "--",
            };
            format!("{:>9.3} ms {who} {}\n", t.t_ms, t.what)
        })
        .collect();
    html! {
        details.difference id=(anchor(document, case_index)) open[case.verdict == Verdict::Failed] {
            summary {
                strong { (report.target.name) } " / " code { (case.id) } ": " (word(case.verdict))
                @if case.expected_failure { " (listed as a known failure)" }
                " \u{00b7} " (case.description)
            }
            p { strong { "expected: " } (case.expected) }
            p { strong { "observed: " } (case.observed) }
            @if !trace.is_empty() { pre.udiff { (trace) } }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::report::document::samples::{report, suite};
    use crate::results::protocol::Verdict;

    #[test]
    fn a_failed_cell_links_to_its_expected_observed_and_trace() {
        let page = super::super::page(&report(vec![
            suite("good", Verdict::Ok),
            suite("bad", Verdict::Failed),
        ]));
        // The bad target is document 1; its case 1.1.2 is case 1.
        assert!(page.contains(r##"<a href="#protocol-1-1">"##), "{page}");
        assert!(page.contains(r#"id="protocol-1-1""#), "{page}");
        assert!(page.contains("close 1002 in 1.1.2"), "{page}");
        assert!(page.contains("close code=1002"), "{page}");
        assert!(
            page.contains("<details class=\"grid\" open><summary><strong>Framing</strong>"),
            "{page}"
        );
        assert!(
            page.contains("<details class=\"grid\"><summary><strong>Reserved Bits</strong>"),
            "{page}"
        );
        assert!(page.contains("not passed"), "{page}");
        assert!(
            !page.contains("#protocol-0-"),
            "an ok cell links nowhere: {page}"
        );
    }

    #[test]
    fn an_all_ok_suite_has_no_links_and_passes() {
        let page = super::super::page(&report(vec![suite("good", Verdict::Ok)]));
        assert!(page.contains("Suite: websocket"), "{page}");
        assert!(!page.contains("href=\"#protocol-"), "{page}");
        assert!(page.contains("<strong>passed</strong>"), "{page}");
    }

    #[test]
    fn a_known_failure_is_marked_known_and_suites_not_run_are_listed() {
        use crate::results::matrix::{SuiteNotRun, SuiteSkip};
        let mut known = suite("listed", Verdict::Failed);
        known.cases[1].expected_failure = true;
        let known = crate::results::protocol::SuiteReport::new(
            &known.suite,
            known.target.clone(),
            &known.path,
            known.cases.clone(),
            1.0,
        );
        let not_run = [SuiteNotRun {
            suite: "sse".into(),
            runner: "quiet".into(),
            status: SuiteSkip::Unavailable,
            reason: "connection refused".into(),
        }];
        let section = super::section(&[known], &not_run).into_string();
        assert!(
            section.contains(
                r#"<td class="cell known" title="case 1.1.2: failed (listed as a known failure)">"#
            ),
            "{section}"
        );
        assert!(section.contains("1 (1 known)"), "{section}");
        assert!(
            section
                .contains("<strong>quiet</strong> / sse: unavailable \u{2013} connection refused"),
            "{section}"
        );
        let plain = super::section(&[suite("bad", Verdict::Failed)], &[]).into_string();
        assert!(plain.contains(r#"class="cell fail""#), "{plain}");
        assert!(!plain.contains("known"), "{plain}");
        assert!(!plain.contains("Suites not run"), "{plain}");
    }
}
