//! Markdown for a CI step summary: the parity grid, then each failure with its diff; for a
//! report, the load runs, the protocol suites and the comparison with a baseline too.
//!
//! Nothing from a server, a fixture or an input document can change the document's structure:
//! code blocks are fenced with more backticks than any run inside them, names in headings, table
//! cells and lists are escaped for inline Markdown ([`inline`]), names inside HTML are escaped as
//! HTML, and control characters are shown as escapes.

use std::fmt::Write;

use harness_fixture::Protocol;

use super::document::{LoadEntry, ReportDocument};
use crate::compare::{Comparison, Verdict};
use crate::humanize::escape_controls;
use crate::humanize::human_us;
use crate::humanize::{counted, percent};
use crate::report::human::compare::verdict_word;
use crate::results::load::Percentiles;
use crate::results::matrix::{MatrixReport, RunnerStatus, SuiteNotRun, SuiteSkip, cell};
use crate::results::protocol::{SuiteReport, Verdict as ProtocolVerdict};
use crate::results::{Outcome, RunReport};

/// The summary of one run.
pub fn run(report: &RunReport) -> String {
    let s = &report.summary;
    let mut out = format!("# Conformance against {}\n\n", inline(&report.target.name));
    let _ = writeln!(
        out,
        "{} passed, {} failed, {} errored, {} skipped; snapshots: {} changed, {} new.",
        s.passed, s.failed, s.errored, s.skipped, s.snapshots_changed, s.snapshots_new
    );
    failures(&mut out, report);
    out
}

fn failures(out: &mut String, run: &RunReport) {
    for f in &run.fixtures {
        let changed = f.snapshot.as_ref().and_then(|s| s.diff.as_deref());
        if !matches!(f.outcome, Outcome::Failed | Outcome::Errored) && changed.is_none() {
            continue;
        }
        let known = if f.expected_failure {
            " (known divergence)"
        } else {
            ""
        };
        let mut block = String::new();
        if let Some(error) = &f.error {
            let _ = writeln!(block, "{}: {}", error.at, error.reason);
        }
        for m in &f.diff {
            let _ = writeln!(block, "{m}");
        }
        if let Some(diff) = changed {
            let _ = writeln!(block, "snapshot changed:\n{diff}");
        }
        let _ = writeln!(
            out,
            "\n<details><summary><code>{}</code> {:?}{known}</summary>\n",
            html_text(&f.name),
            f.outcome
        );
        out.push_str(&code_block(&block, ""));
        out.push_str("\n</details>\n");
    }
}

/// The summary of a matrix, with its protocol suites (`--protocol-suites`).
pub fn matrix(report: &MatrixReport) -> String {
    let mut out = matrix_at(report, 1);
    if !report.protocol.is_empty() || !report.protocol_not_run.is_empty() {
        out.push('\n');
        protocol(&mut out, &report.protocol, &report.protocol_not_run);
    }
    out
}

/// The summary of a matrix, its title a heading of `level`.
fn matrix_at(report: &MatrixReport, level: usize) -> String {
    let (title, section) = ("#".repeat(level), "#".repeat(level + 1));
    let mut out = format!("{title} Parity matrix\n\n");
    let s = &report.summary;
    let _ = writeln!(
        out,
        "{} passed, {} failed, {} errored ({} of these known divergences), {} skipped across {} runners.\n",
        s.passed,
        s.failed,
        s.errored,
        s.expected_failures,
        s.skipped,
        report.runners.len()
    );
    if let Some(transport) = report.transport {
        let _ = writeln!(
            out,
            "Transport: `{}` ({}).\n",
            transport.name(),
            transport.describe()
        );
    }
    out.push_str("| runner | language | framework | rest | websocket | sse | broadcast |\n| --- | --- | --- | --- | --- | --- | --- |\n");
    for r in &report.runners {
        let own = r
            .transport
            .filter(|own| Some(*own) != report.transport)
            .map_or(String::new(), |own| format!(" (over `{}`)", own.name()));
        let _ = write!(
            out,
            "| {}{own} | {} | {} |",
            inline(&r.runner),
            inline(&r.language),
            inline(&r.framework)
        );
        for protocol in Protocol::ALL {
            let text = match (r.status, cell(r, protocol)) {
                (RunnerStatus::Unavailable, _) => "unavailable".to_string(),
                (RunnerStatus::NotDeclared, _) => "not run".to_string(),
                (_, None) => "-".to_string(),
                (_, Some((passed, total))) if passed == total => format!("{passed}/{total}"),
                (_, Some((passed, total))) => format!("**{passed}/{total}**"),
            };
            let _ = write!(out, " {text} |");
        }
        out.push('\n');
    }
    for r in &report.runners {
        if let Some(error) = &r.error {
            let _ = write!(
                out,
                "\n{section} {} is unavailable\n\n{}",
                inline(&r.runner),
                code_block(error, "")
            );
            continue;
        }
        let failing = r
            .run
            .fixtures
            .iter()
            .filter(|f| matches!(f.outcome, Outcome::Failed | Outcome::Errored))
            .count();
        if failing > 0 || r.run.summary.snapshots_changed > 0 {
            let _ = writeln!(
                out,
                "\n{section} {}: {} not passing, {} snapshots changed",
                inline(&r.runner),
                failing,
                r.run.summary.snapshots_changed
            );
            failures(&mut out, &r.run);
        }
    }
    out
}

/// The summary of a report folder: the parity grid (when there are conformance results), the
/// load runs, and the comparison with a baseline.
pub fn report(document: &ReportDocument) -> String {
    let mut out = String::from("# benchmark-harness report\n\n");
    let verdict = if document.passed() {
        "**passed**"
    } else {
        "**not passed**"
    };
    let _ = writeln!(
        out,
        "{verdict}: conformance of {}, {} (generated {}).\n",
        counted(document.conformance.runners.len(), "runner"),
        counted(document.load.len(), "load run"),
        document.report.generated_at
    );
    if !document.conformance.runners.is_empty() {
        out.push_str(&matrix_at(&document.conformance, 2));
        out.push('\n');
    }
    if !document.load.is_empty() {
        load(&mut out, &document.load);
    }
    let not_run = &document.conformance.protocol_not_run;
    if !document.protocol.is_empty() || !not_run.is_empty() {
        protocol(&mut out, &document.protocol, not_run);
    }
    if let Some(comparison) = &document.comparison {
        compared(&mut out, comparison);
    }
    out
}

/// Per protocol suite, a table of its targets by verdict counts, with the ids of failed cases
/// (those listed as known failures marked so); then the suites a matrix did not run, and why.
fn protocol(out: &mut String, suites: &[SuiteReport], not_run: &[SuiteNotRun]) {
    let mut names: Vec<&str> = suites.iter().map(|s| s.suite.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let _ = writeln!(
            out,
            "## Protocol suite: {}\n\n| target | ok | non_strict | failed | informational | unimplemented | failed cases |\n| --- | --- | --- | --- | --- | --- | --- |",
            cell_text(name)
        );
        for suite in suites.iter().filter(|s| s.suite == name) {
            let c = &suite.summary;
            let failed: Vec<String> = suite
                .cases
                .iter()
                .filter(|case| case.verdict == ProtocolVerdict::Failed)
                .map(|case| {
                    let known = if case.expected_failure {
                        " (known)"
                    } else {
                        ""
                    };
                    format!("{}{known}", code_span(&case.id))
                })
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                cell_text(&suite.target.name),
                c.ok,
                c.non_strict,
                match (c.failed, c.expected_failures) {
                    (0, _) => "0".to_string(),
                    (failed, known) if failed == known => format!("{failed} ({known} known)"),
                    (failed, 0) => format!("**{failed}**"),
                    (failed, known) => format!("**{failed}** ({known} known)"),
                },
                c.informational,
                c.unimplemented,
                failed.join(", ")
            );
        }
        out.push('\n');
    }
    if !not_run.is_empty() {
        out.push_str("## Protocol suites not run\n\n");
        for s in not_run {
            let status = match s.status {
                SuiteSkip::Skipped => "skipped",
                SuiteSkip::Unavailable => "**unavailable**",
            };
            let _ = writeln!(
                out,
                "- {} / {}: {status}: {}",
                inline(&s.runner),
                inline(&s.suite),
                inline(&s.reason)
            );
        }
        out.push('\n');
    }
}

/// The load table: throughput counts successful operations; a run with errors says how many
/// (bold, with failed/s), one without a successful operation says so instead of latencies.
fn load(out: &mut String, runs: &[LoadEntry]) {
    out.push_str("## Load\n\n| run | protocol | mode | connections | throughput/s | p50 | p99 | p99.9 | max | errors |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for entry in runs {
        let r = &entry.result;
        let errors = if r.summary.errors == 0 {
            "0".to_string()
        } else {
            format!(
                "**{} errors** ({:.0}/s)",
                r.summary.errors, r.summary.failed_per_s
            )
        };
        let latency = match &r.summary.latency_us {
            Some(l) => format!(
                "{} | {} | {} | {}",
                human_us(l.p50),
                human_us(l.p99),
                human_us(l.p999),
                human_us(l.max)
            ),
            None => "**no successful operation** | - | - | -".to_string(),
        };
        let protocol = match r.transport_note() {
            Some(note) => format!("{} ({note})", r.protocol),
            None => r.protocol.clone(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.0} | {latency} | {errors} |",
            cell_text(&entry.label),
            cell_text(&protocol),
            cell_text(&r.mode),
            r.connections,
            r.summary.throughput_per_s,
        );
    }
    body_timing(out, runs);
    scenario_steps(out, runs);
    subscription_items(out, runs);
    shards(out, runs);
    for entry in runs.iter().filter(|e| !e.result.errors_by_kind.is_empty()) {
        let _ = writeln!(out, "\nErrors of {}:", cell_text(&entry.label));
        for (kind, count) in &entry.result.errors_by_kind {
            let _ = writeln!(out, "- {count} x {}", cell_text(kind));
        }
    }
    out.push('\n');
}

/// Streamed replies (`expected.chunks`): when their first and last bytes came, per run.
fn body_timing(out: &mut String, runs: &[LoadEntry]) {
    let timed: Vec<_> = runs
        .iter()
        .filter_map(|e| Some((e, e.result.body_timing.as_ref()?)))
        .collect();
    if timed.is_empty() {
        return;
    }
    out.push_str("\nStreamed replies, time to their first and last byte:\n\n| run | replies | first byte p50 | first byte p99 | last byte p50 | last byte p99 |\n| --- | --- | --- | --- | --- | --- |\n");
    let figures = p50_p99;
    for (entry, timing) in timed {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            cell_text(&entry.label),
            timing.count,
            figures(&timing.first_byte_us),
            figures(&timing.last_byte_us),
        );
    }
}

/// `p50 | p99` of `p`, or dashes.
fn p50_p99(p: &Option<Percentiles>) -> String {
    match p {
        Some(p) => format!("{} | {}", human_us(p.p50), human_us(p.p99)),
        None => "- | -".to_string(),
    }
}

/// REST scenarios: each step's time, per run.
fn scenario_steps(out: &mut String, runs: &[LoadEntry]) {
    let scenarios: Vec<_> = runs
        .iter()
        .filter_map(|e| Some((e, e.result.steps.as_ref()?)))
        .collect();
    if scenarios.is_empty() {
        return;
    }
    out.push_str(
        "
Scenario steps, each timed in the runs that passed:

| run | step | request | count | p50 | p99 |
| --- | --- | --- | --- | --- | --- |
",
    );
    for (entry, steps) in scenarios {
        for step in steps {
            let name = step
                .name
                .as_deref()
                .map_or(String::new(), |n| format!(" ({n})"));
            let _ = writeln!(
                out,
                "| {} | {}{} | {} | {} | {} |",
                cell_text(&entry.label),
                step.step,
                cell_text(&name),
                code_span(&step.request),
                step.time.count,
                p50_p99(&step.time.latency_us),
            );
        }
    }
}

/// JSON-RPC subscriptions: the items received and their delivery latency, per run.
fn subscription_items(out: &mut String, runs: &[LoadEntry]) {
    let with_items: Vec<_> = runs
        .iter()
        .filter_map(|e| Some((e, e.result.subscription_items.as_ref()?)))
        .collect();
    if with_items.is_empty() {
        return;
    }
    out.push_str(
        "
Subscription items, delivery latency from the server's timestamp:

| run | items | timestamp field | p50 | p99 |
| --- | --- | --- | --- | --- |
",
    );
    for (entry, items) in with_items {
        let field = items
            .timestamp_field
            .as_deref()
            .map_or("-".to_string(), code_span);
        let _ = writeln!(
            out,
            "| {} | {} | {field} | {} |",
            cell_text(&entry.label),
            items.received,
            p50_p99(&items.delivery.latency_us),
        );
    }
}

/// Runs merged from shards (`merge`): each shard's contribution, the shards behind called out.
fn shards(out: &mut String, runs: &[LoadEntry]) {
    for entry in runs {
        let Some(merged) = &entry.result.merged else {
            continue;
        };
        let _ = write!(
            out,
            "\n{} is {} merged shards of run {} (histograms added exactly; {:.3} s measured in \
             common):\n\n| shard | document | connections | operations | errors | throughput/s | \
             p50 | p99 | behind schedule |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
            cell_text(&entry.label),
            merged.count,
            code_span(&merged.run_id),
            merged.common_window_s,
        );
        for shard in &merged.shards {
            let _ = writeln!(
                out,
                "| {}/{} | {} | {} | {} | {} | {:.0} | {} | {} |",
                shard.index,
                merged.count,
                cell_text(&shard.source),
                shard.connections,
                shard.summary.operations,
                shard.summary.errors,
                shard.summary.throughput_per_s,
                p50_p99(&shard.summary.latency_us),
                shard
                    .behind
                    .as_deref()
                    .map_or("no".to_string(), |why| format!(
                        "**yes**: {}",
                        cell_text(why)
                    )),
            );
        }
        for left in &merged.not_merged {
            let _ = writeln!(out, "\nNot merged: {}", cell_text(left));
        }
    }
}

fn compared(out: &mut String, c: &Comparison) {
    let _ = writeln!(
        out,
        "## Against the baseline\n\n{}{} (threshold {:.1}%; load figures are medians of the runs given, and a change within the runs' own spread is called noise).\n",
        counted(c.regressions, "regression"),
        match (c.removed, c.allow_removed) {
            (0, _) => String::new(),
            (n, false) => format!(", {n} of them removed (only in the baseline)"),
            (n, true) => format!(", {n} removed (allowed)"),
        },
        c.threshold * 100.0
    );
    if !c.load.is_empty() {
        out.push_str("| fixture | target | throughput | p50 | p99 | runs | verdict |\n| --- | --- | --- | --- | --- | --- | --- |\n");
        for d in &c.load {
            let runs = match (&d.baseline, &d.candidate) {
                (Some(b), Some(a)) => format!("{}/{}", b.runs, a.runs),
                _ => "-".into(),
            };
            let verdict = match d.verdict {
                Verdict::Regression => format!("**{}**", d.verdict.describe()),
                other => other.describe().to_string(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {runs} | {verdict} |",
                cell_text(&d.fixture),
                cell_text(&d.target),
                percent(d.throughput_change),
                percent(d.p50_change),
                percent(d.p99_change),
            );
        }
        out.push('\n');
    }
    for change in &c.behaviour {
        let before = change.baseline.as_deref().unwrap_or("-");
        let after = change.candidate.as_deref().unwrap_or("-");
        let _ = writeln!(
            out,
            "- {} on {}: {} -> {}, {}",
            code_span(&change.fixture),
            inline(&change.target),
            inline(before),
            inline(after),
            change.kind.describe()
        );
        if let Some(diff) = &change.snapshot_diff {
            let _ = writeln!(out, "\n{}", indent(&code_block(diff, "diff")));
        }
    }
    for change in &c.protocol {
        let _ = writeln!(
            out,
            "- {} case {} on {}: {} -> {}, {}",
            inline(&change.suite),
            code_span(&change.case),
            inline(&change.target),
            verdict_word(change.baseline),
            verdict_word(change.candidate),
            change.kind.describe()
        );
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Text safe inside a table cell: [`inline`] text (which escapes `|` too).
fn cell_text(text: &str) -> String {
    inline(text)
}

/// Text safe in inline Markdown (a heading, a table cell, a list item): one line, control
/// characters escaped, and every character that could start markup (emphasis, links, images,
/// HTML, code, tables, headings) backslash-escaped.
pub fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in escape_controls(&text.replace(['\n', '\r', '\t'], " ")).chars() {
        if "\\`*_[]<>#!~&|".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Text safe inside an HTML element of the document (`<summary><code>..`): one line, escaped
/// as HTML, control characters escaped.
pub fn html_text(text: &str) -> String {
    escape_controls(&text.replace(['\n', '\r', '\t'], " "))
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('|', "&#124;")
}

/// An inline code span that no backtick inside it can close.
pub fn code_span(text: &str) -> String {
    let text = escape_controls(&text.replace(['\n', '\r'], " ")).into_owned();
    let ticks = "`".repeat(longest_run(&text, '`') + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

/// A fenced code block (with an info string such as `diff`) that no line inside it can close:
/// its fence is longer than any run of backticks in `text`.
pub fn code_block(text: &str, info: &str) -> String {
    let text = escape_controls(text);
    let fence = "`".repeat(longest_run(&text, '`').max(2) + 1);
    let body = text.trim_end_matches('\n');
    format!("{fence}{info}\n{body}\n{fence}\n")
}

/// The longest run of `c` in `text`.
fn longest_run(text: &str, c: char) -> usize {
    let (mut longest, mut run) = (0, 0);
    for ch in text.chars() {
        run = if ch == c { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_entry(http_version: &str, body_timing: serde_json::Value) -> LoadEntry {
        let latency = serde_json::json!({"min": 1, "p50": 900, "p90": 1, "p99": 1200, "p999": 1, "max": 1, "mean": 1.0});
        serde_json::from_value(serde_json::json!({
            "label": "axum stream", "source": "x.json",
            "command": "bench", "fixture": "f", "protocol": "rest",
            "target": {"name": "axum", "kind": "runner", "url": ""},
            "mode": "closed", "connections": 2, "rate": null, "duration_s": 1.0, "warmup_s": 0.0,
            "http_version": http_version, "streams": 8,
            "summary": {"operations": 1, "errors": 0, "throughput_per_s": 1.0, "latency_us": latency},
            "histogram": "", "errors_by_kind": {}, "body_timing": body_timing
        }))
        .unwrap()
    }

    #[test]
    fn load_rows_name_http2_and_streamed_replies_get_their_byte_timings() {
        let timing = serde_json::json!({
            "count": 12,
            "first_byte_us": {"min": 1, "p50": 300, "p90": 1, "p99": 700, "p999": 1, "max": 1, "mean": 1.0},
            "last_byte_us": {"min": 1, "p50": 2000, "p90": 1, "p99": 4000, "p999": 1, "max": 1, "mean": 1.0}
        });
        let mut out = String::new();
        load(&mut out, &[load_entry("2", timing)]);
        assert!(
            out.contains("| rest (HTTP/2, 8 streams per connection) | closed | 2 |"),
            "{out}"
        );
        assert!(
            out.contains("| axum stream | 12 | 300us | 700us | 2.00ms | 4.00ms |"),
            "{out}"
        );

        let mut plain = String::new();
        load(&mut plain, &[load_entry("1.1", serde_json::Value::Null)]);
        assert!(plain.contains("| rest | closed | 2 |"), "{plain}");
        assert!(!plain.contains("Streamed replies"), "{plain}");
    }

    #[test]
    fn scenario_steps_and_subscription_items_get_their_tables() {
        let p = serde_json::json!({"min": 1, "p50": 400, "p90": 1, "p99": 900, "p999": 1, "max": 1, "mean": 1.0});
        let mut entry = load_entry("1.1", serde_json::Value::Null);
        entry.result.steps = Some(vec![
            serde_json::from_value(serde_json::json!({"step": 0, "name": "create", "request": "POST /things", "count": 5, "latency_us": p, "histogram": ""})).unwrap(),
            serde_json::from_value(serde_json::json!({"step": 1, "request": "GET /things/{{id}}", "count": 0, "latency_us": null, "histogram": ""})).unwrap(),
        ]);
        entry.result.subscription_items = Some(serde_json::from_value(serde_json::json!({"received": 9, "timestamp_field": "ts_us", "count": 9, "latency_us": p, "histogram": ""})).unwrap());
        let mut out = String::new();
        load(&mut out, &[entry]);
        assert!(
            out.contains("| axum stream | 0 (create) | `POST /things` | 5 | 400us | 900us |"),
            "{out}"
        );
        assert!(
            out.contains("| axum stream | 1 | `GET /things/{{id}}` | 0 | - | - |"),
            "{out}"
        );
        assert!(
            out.contains("| axum stream | 9 | `ts_us` | 400us | 900us |"),
            "{out}"
        );
        let mut plain = String::new();
        load(&mut plain, &[load_entry("1.1", serde_json::Value::Null)]);
        assert!(!plain.contains("Scenario steps") && !plain.contains("Subscription items"));
    }

    #[test]
    fn the_matrix_summary_names_its_transport_and_a_column_over_another() {
        use crate::results::matrix::{RunnerReport, RunnerStatus, Transport};
        use crate::results::{RunReport, TargetInfo, TargetKind};
        let column = |name: &str, transport: Transport| RunnerReport {
            runner: name.into(),
            language: "-".into(),
            framework: "-".into(),
            protocols: vec![Protocol::Rest],
            status: RunnerStatus::Ran,
            error: None,
            transport: Some(transport),
            run: RunReport::new(
                TargetInfo {
                    name: name.into(),
                    kind: TargetKind::Url,
                    url: String::new(),
                },
                Vec::new(),
                0.0,
            ),
        };
        let report = MatrixReport::new(
            vec![
                column("rust-axum", Transport::H2c),
                column("url-localhost-8443", Transport::H2),
            ],
            1.0,
        )
        .with_transport(Transport::H2c);
        let text = matrix(&report);
        assert!(
            text.contains("Transport: `h2c` (HTTP/2 with prior knowledge (h2c) over plain TCP;"),
            "{text}"
        );
        assert!(text.contains("| rust-axum | - | - |"), "{text}");
        assert!(
            text.contains("| url-localhost-8443 (over `h2`) | - | - |"),
            "{text}"
        );
        let without = matrix(&MatrixReport::new(Vec::new(), 1.0));
        assert!(!without.contains("Transport"), "{without}");
    }

    #[test]
    fn a_code_block_is_fenced_longer_than_any_backtick_run_inside() {
        let block = code_block("a\n```\n# injected\n`````x", "");
        let fence = "``````";
        assert!(block.starts_with(&format!("{fence}\n")), "{block}");
        assert!(block.ends_with(&format!("\n{fence}\n")), "{block}");
        assert_eq!(code_block("plain", "diff"), "```diff\nplain\n```\n");
    }

    #[test]
    fn inline_text_cannot_start_markup_or_a_new_line() {
        assert_eq!(
            inline("a|b\n# h <script>*x*_[l](u)`"),
            "a\\|b \\# h \\<script\\>\\*x\\*\\_\\[l\\](u)\\`"
        );
        assert_eq!(inline("rust-axum"), "rust-axum");
        assert_eq!(inline("\u{1b}[2J"), "\\\\u{1b}\\[2J");
        assert_eq!(html_text("<a>\n&\""), "&lt;a&gt; &amp;&quot;");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("`x"), "`` `x ``");
    }

    #[test]
    fn protocol_suites_count_verdicts_per_target_and_name_the_failed_cases() {
        use crate::report::document::samples::{report, suite};
        use crate::results::protocol::Verdict as V;
        let md = super::report(&report(vec![
            suite("good", V::NonStrict),
            suite("bad", V::Failed),
        ]));
        assert!(md.contains("**not passed**"), "{md}");
        assert!(md.contains("## Protocol suite: websocket"), "{md}");
        assert!(md.contains("| good | 2 | 1 | 0 | 0 | 0 |  |\n"), "{md}");
        assert!(
            md.contains("| bad | 2 | 0 | **1** | 0 | 0 | `1.1.2` |\n"),
            "{md}"
        );
        let md = super::report(&report(vec![suite("good", V::Ok)]));
        assert!(md.contains("**passed**"), "{md}");
        assert!(md.contains("| good | 3 | 0 | 0 | 0 | 0 |  |\n"), "{md}");
    }

    #[test]
    fn the_comparison_lists_protocol_cases_that_regressed_or_were_fixed() {
        use crate::compare::{CaseChange, ChangeKind};
        use crate::results::protocol::Verdict as V;
        let mut c = Comparison {
            threshold: 0.05,
            allow_removed: false,
            load: Vec::new(),
            behaviour: Vec::new(),
            protocol: Vec::new(),
            removed: 0,
            regressions: 0,
        };
        let mut out = String::new();
        compared(&mut out, &c);
        assert!(!out.contains("case"), "{out}");
        c.protocol.push(CaseChange {
            suite: "websocket".into(),
            target: "axum".into(),
            case: "3.1".into(),
            kind: ChangeKind::Regressed,
            baseline: V::Ok,
            candidate: V::Failed,
        });
        c.regressions = 1;
        let mut out = String::new();
        compared(&mut out, &c);
        assert!(
            out.contains("- websocket case `3.1` on axum: ok -> failed, REGRESSED\n"),
            "{out}"
        );
        assert!(out.contains("1 regression"), "{out}");
    }
}
