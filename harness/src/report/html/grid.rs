//! The parity tally (runner x protocol), the grid (fixture rows, runner columns, one table per
//! protocol) and the differences its failing cells link to: each failure or changed snapshot
//! opens to its diff.

use std::collections::{BTreeMap, BTreeSet};

use harness_fixture::Protocol;
use maud::{Markup, html};

use crate::humanize::counted;
use crate::results::SnapshotStatus;
use crate::results::matrix::{MatrixReport, RunnerReport, RunnerStatus};
use crate::results::{FixtureResult, Outcome};

/// The per-protocol tally per runner: the top of the page.
pub fn summary(matrix: &MatrixReport) -> Markup {
    html! {
        section #parity {
            h2 { "Parity" }
            (tally(matrix))
        }
    }
}

/// Each protocol's table (open where something unexpected failed), then the differences the
/// failing cells link to.
pub fn grid(matrix: &MatrixReport) -> Markup {
    html! {
        section #grid {
            h2 { "Parity by fixture" }
            p.note {
                "Each cell is one fixture replayed against one runner. A red, amber or blue cell links to its diff; "
                "\u{2020} marks a divergence the runner's manifest lists as known, \u{0394} a changed snapshot."
            }
            @for protocol in Protocol::ALL {
                (protocol_table(matrix, protocol))
            }
        }
        (differences(matrix))
    }
}

fn tally(matrix: &MatrixReport) -> Markup {
    html! {
        table.tally {
            thead { tr { th { "runner" } th { "language" } th { "framework" }
                @for p in Protocol::ALL { th { (p.as_str()) } } } }
            tbody {
                @for r in &matrix.runners {
                    tr {
                        td { (r.runner) } td { (r.language) } td { (r.framework) }
                        @for p in Protocol::ALL { (tally_cell(r, p)) }
                    }
                }
            }
        }
    }
}

fn tally_cell(runner: &RunnerReport, protocol: Protocol) -> Markup {
    match runner.status {
        RunnerStatus::Unavailable => return html! { td.bad { "unavailable" } },
        RunnerStatus::NotDeclared => return html! { td.none { "not run" } },
        RunnerStatus::Ran => {}
    }
    match crate::results::matrix::cell(runner, protocol) {
        None => html! { td.none { "\u{2013}" } },
        Some((passed, total)) => {
            let share = if total == 0 {
                100.0
            } else {
                passed as f64 * 100.0 / total as f64
            };
            let class = if passed == total { "good" } else { "bad" };
            html! {
                td class=(class) {
                    (passed) "/" (total)
                    span.bar { span style=(format!("width:{share:.1}%")) {} }
                }
            }
        }
    }
}

fn protocol_table(matrix: &MatrixReport, protocol: Protocol) -> Markup {
    // fixture name -> runner name -> result
    let mut rows: BTreeMap<&str, BTreeMap<&str, &FixtureResult>> = BTreeMap::new();
    for r in &matrix.runners {
        for f in r.run.fixtures.iter().filter(|f| f.protocol == protocol) {
            rows.entry(&f.name).or_default().insert(&r.runner, f);
        }
    }
    if rows.is_empty() {
        return html! {};
    }
    let failing = rows
        .values()
        .filter(|cells| cells.values().any(|f| needs_look(f)))
        .count();
    let unexpected = rows
        .values()
        .any(|cells| cells.values().any(|f| needs_look(f) && !f.expected_failure));
    html! {
        details.grid open[unexpected] {
            summary {
                h3 { (protocol.as_str()) }
                " " (rows.len()) " fixtures, " (failing) " with a failure or a changed snapshot"
            }
            table.grid {
                thead { tr { th { "fixture" } @for r in &matrix.runners { th.runner { (r.runner) } } } }
                tbody {
                    @for (name, cells) in &rows {
                        tr {
                            th.fixture { (name) }
                            @for r in &matrix.runners { (grid_cell(r, cells.get(r.runner.as_str()).copied())) }
                        }
                    }
                }
            }
        }
    }
}

/// Whether a result has something to look at: a failure, an error or a changed snapshot.
fn needs_look(f: &FixtureResult) -> bool {
    matches!(f.outcome, Outcome::Failed | Outcome::Errored) || snapshot_changed(f)
}

fn snapshot_changed(f: &FixtureResult) -> bool {
    f.snapshot
        .as_ref()
        .is_some_and(|s| s.status == SnapshotStatus::Changed)
}

fn grid_cell(runner: &RunnerReport, result: Option<&FixtureResult>) -> Markup {
    let Some(f) = result else {
        return html! { td.cell.none title="not served by this runner" { "\u{2013}" } };
    };
    let known = if f.expected_failure { "\u{2020}" } else { "" };
    let (class, mark) = match f.outcome {
        Outcome::Passed if snapshot_changed(f) => ("cell changed", "\u{0394}"),
        Outcome::Passed => ("cell pass", "\u{2713}"),
        Outcome::Skipped => ("cell skip", "\u{2012}"),
        Outcome::Failed if f.expected_failure => ("cell known", "\u{2717}"),
        Outcome::Failed => ("cell fail", "\u{2717}"),
        Outcome::Errored if f.expected_failure => ("cell known", "!"),
        Outcome::Errored => ("cell fail", "!"),
    };
    let title = format!("{} on {}: {:?}", f.name, runner.runner, f.outcome);
    if needs_look(f) {
        html! { td class=(class) title=(title) { a href=(format!("#{}", anchor(&runner.runner, &f.name))) { (mark) (known) } } }
    } else {
        html! { td class=(class) title=(title) { (mark) } }
    }
}

/// The id of a failure's details element.
pub fn anchor(runner: &str, fixture: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect()
    };
    format!("d-{}--{}", clean(runner), clean(fixture))
}

fn differences(matrix: &MatrixReport) -> Markup {
    let unavailable: Vec<&RunnerReport> = matrix
        .runners
        .iter()
        .filter(|r| r.status == RunnerStatus::Unavailable)
        .collect();
    let failures: Vec<(&str, &FixtureResult)> = matrix
        .runners
        .iter()
        .flat_map(|r| r.run.fixtures.iter().map(move |f| (r.runner.as_str(), f)))
        .filter(|(_, f)| needs_look(f))
        .collect();
    if unavailable.is_empty() && failures.is_empty() {
        return html! {};
    }
    let runners: BTreeSet<&str> = failures.iter().map(|(r, _)| *r).collect();
    html! {
        section #differences {
            h2 { "Differences" }
            p.note { (counted(failures.len(), "result")) " of " (counted(runners.len(), "runner")) ". Each opens to what the fixture expected and what came back." }
            @for r in unavailable {
                details.difference open {
                    summary { strong { (r.runner) } " could not run" }
                    pre { (r.error.as_deref().unwrap_or("unavailable")) }
                }
            }
            @for (runner, f) in failures { (difference(runner, f)) }
        }
    }
}

fn difference(runner: &str, f: &FixtureResult) -> Markup {
    let what = match f.outcome {
        Outcome::Passed => "snapshot changed".to_string(),
        other => format!("{other:?}").to_lowercase(),
    };
    html! {
        details.difference id=(anchor(runner, &f.name)) {
            summary {
                strong { (runner) } " / " code { (f.name) } " \u{2014} " (what)
                @if f.expected_failure { " (known divergence)" }
            }
            p.file { (f.file.display().to_string()) }
            @if let Some(error) = &f.error {
                p { "At " code { (error.at) } ": " (error.reason) }
            }
            @if !f.diff.is_empty() {
                table.diff {
                    thead { tr { th { "where" } th { "expected" } th { "actual" } th { "why" } } }
                    tbody {
                        @for m in &f.diff {
                            tr {
                                td { code { (m.path) } }
                                td { pre { (pretty(&m.expected)) } }
                                td { pre { (pretty(&m.actual)) } }
                                td { (m.message) }
                            }
                        }
                    }
                }
            }
            @if let Some(diff) = f.snapshot.as_ref().and_then(|s| s.diff.as_deref()) {
                p { "Snapshot changed (" (f.snapshot.as_ref().map(|s| s.path.display().to_string()).unwrap_or_default()) "):" }
                (unified_diff(diff))
            }
        }
    }
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// A unified diff with its added and removed lines marked for colour.
pub fn unified_diff(diff: &str) -> Markup {
    html! {
        pre.udiff {
            @for line in diff.lines() {
                @let class = if line.starts_with('+') { "add" } else if line.starts_with('-') { "del" } else { "ctx" };
                span class=(class) { (line) "\n" }
            }
        }
    }
}
