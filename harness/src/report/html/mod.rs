//! `index.html`: one self-contained page (inline style, inline SVG charts, a few lines of inline
//! script; a Content-Security-Policy forbids loading anything else) showing a report: verdict,
//! parity grid with the differences, load runs with their charts, the protocol suites' grids,
//! and the comparison with a baseline.

mod grid;
mod load;
mod protocol;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::document::ReportDocument;
use crate::compare::{Comparison, Verdict};
use crate::humanize::{counted, percent};

/// Nothing but what the page carries may load: no scripts, styles, fonts or images from elsewhere.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

const STYLE: &str = include_str!("style.css");

/// Opens the difference a grid cell links to (browsers scroll to a closed `details`, but do not
/// always open it).
const SCRIPT: &str = r#"
function openTarget() {
  var id = decodeURIComponent(location.hash.slice(1));
  var el = id && document.getElementById(id);
  if (el && el.tagName === "DETAILS") { el.open = true; el.scrollIntoView(); }
}
window.addEventListener("hashchange", openTarget);
window.addEventListener("DOMContentLoaded", openTarget);
"#;

/// The page.
pub fn page(report: &ReportDocument) -> String {
    let title = "benchmark-harness report";
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content=(CONTENT_SECURITY_POLICY);
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
                script { (PreEscaped(SCRIPT)) }
            }
            body {
                header {
                    h1 { (title) }
                    (verdict(report))
                    nav {
                        @if !report.conformance.runners.is_empty() { a href="#parity" { "parity" } }
                        @if !report.load.is_empty() { a href="#load" { "load" } }
                        @if !report.conformance.runners.is_empty() { a href="#grid" { "by fixture" } }
                        @if !report.protocol.is_empty() || !report.conformance.protocol_not_run.is_empty() { a href="#protocol" { "protocol suites" } }
                        @if report.comparison.is_some() { a href="#comparison" { "against the baseline" } }
                    }
                }
                main {
                    @if let Some(comparison) = &report.comparison { (compared(comparison)) }
                    @if !report.conformance.runners.is_empty() { (grid::summary(&report.conformance)) }
                    (load::section(&report.load))
                    @if !report.conformance.runners.is_empty() { (grid::grid(&report.conformance)) }
                    (protocol::section(&report.protocol, &report.conformance.protocol_not_run))
                }
                footer {
                    "Generated " (report.report.generated_at)
                    @if !report.report.inputs.is_empty() {
                        " from " (counted(report.report.inputs.len(), "result document")) ": "
                        @for (i, input) in report.report.inputs.iter().enumerate() {
                            @if i > 0 { ", " }
                            code { (input.display().to_string()) }
                        }
                    }
                    "."
                }
            }
        }
    };
    // maud escapes markup; control characters from the server (ESC in a JSON key of a pointer)
    // are shown as escapes too, as on the terminal.
    let page = markup.into_string();
    match crate::humanize::escape_controls(&page) {
        std::borrow::Cow::Borrowed(_) => page,
        std::borrow::Cow::Owned(escaped) => escaped,
    }
}

fn verdict(report: &ReportDocument) -> Markup {
    let s = &report.conformance.summary;
    let load_errors: u64 = report.load.iter().map(|l| l.result.summary.errors).sum();
    let (class, word) = if report.passed() {
        ("verdict good", "passed")
    } else {
        ("verdict bad", "not passed")
    };
    html! {
        p class=(class) {
            strong { (word) }
            @if !report.conformance.runners.is_empty() {
                " \u{00b7} " (s.passed) " passed, " (s.failed) " failed, " (s.errored) " errored ("
                (s.expected_failures) " known divergences), " (s.skipped) " skipped across "
                (counted(report.conformance.runners.len(), "runner")) "; snapshots " (s.snapshots_changed) " changed, "
                (s.snapshots_new) " new"
            }
            @if !report.load.is_empty() {
                " \u{00b7} " (counted(report.load.len(), "load run")) ", " (counted(load_errors as usize, "error"))
            }
            @if !report.protocol.is_empty() {
                " \u{00b7} " (counted(report.protocol.len(), "protocol suite run")) ", "
                (counted(report.protocol.iter().map(|s| s.summary.failed).sum(), "failed case"))
            }
            @if let Some(c) = &report.comparison {
                " \u{00b7} " (counted(c.regressions, "regression")) " against the baseline"
            }
        }
    }
}

fn compared(c: &Comparison) -> Markup {
    html! {
        section #comparison {
            h2 { "Against the baseline" }
            p.note {
                (counted(c.regressions, "regression")) ". A load change counts beyond " (format!("{:.1}%", c.threshold * 100.0))
                " and beyond the spread of the runs given (medians of several runs where there are several)."
            }
            @if !c.load.is_empty() {
                table.compare {
                    thead { tr { th { "fixture" } th { "target" } th { "throughput" } th { "p50" } th { "p99" } th { "runs" } th { "verdict" } } }
                    tbody {
                        @for d in &c.load {
                            tr class=(if d.verdict == Verdict::Regression || (d.verdict == Verdict::Removed && !c.allow_removed) { "bad" } else { "" }) {
                                td { (d.fixture) } td { (d.target) }
                                td.num { (percent(d.throughput_change)) }
                                td.num { (percent(d.p50_change)) }
                                td.num { (percent(d.p99_change)) }
                                td.num { @if let (Some(b), Some(a)) = (&d.baseline, &d.candidate) { (b.runs) "/" (a.runs) } }
                                td { (d.verdict.describe()) }
                            }
                        }
                    }
                }
            }
            @for change in &c.behaviour {
                details.difference open[change.kind == crate::compare::ChangeKind::Regressed] {
                    summary {
                        strong { (change.target) } " / " code { (change.fixture) } ": "
                        (change.baseline.as_deref().unwrap_or("-")) " \u{2192} " (change.candidate.as_deref().unwrap_or("-"))
                        ", " (change.kind.describe())
                    }
                    @if let Some(diff) = &change.snapshot_diff { (grid::unified_diff(diff)) }
                }
            }
            @if !c.protocol.is_empty() {
                table.compare {
                    thead { tr { th { "suite" } th { "target" } th { "case" } th { "baseline" } th { "candidate" } th { "verdict" } } }
                    tbody {
                        @for change in &c.protocol {
                            tr class=(if change.kind == crate::compare::ChangeKind::Regressed { "bad" } else { "" }) {
                                td { (change.suite) } td { (change.target) } td { code { (change.case) } }
                                td { (protocol::word(change.baseline)) } td { (protocol::word(change.candidate)) }
                                td { (change.kind.describe()) }
                            }
                        }
                    }
                }
            }
        }
    }
}
