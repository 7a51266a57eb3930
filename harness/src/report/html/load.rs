//! The load part of the page: a table of runs, then charts drawn by [`crate::report::charts`]:
//! throughput bars, latency percentile curves per protocol (REST request latency, WebSocket round
//! trip, SSE delivery, broadcast publish-to-delivery), the WebSocket handshake, the SSE time to
//! first event and gap between events, and the runner's CPU and memory over time. A runner keeps
//! one colour in every chart.
//!
//! A run with errors is marked everywhere: a red "N errors" badge in the table, its bar labelled
//! "N errors" (the bar is successful operations only), and a run without a successful operation
//! has no latency figures ("no successful operation") and no curve, a note under the charts
//! saying which runs are not drawn.

use std::collections::HashSet;

use harness_fixture::Protocol;
use maud::{Markup, PreEscaped, html};

use crate::humanize::counted;
use crate::humanize::human_us;
use crate::report::charts::{self, Bar, ChartError, Series};
use crate::report::document::LoadEntry;
use crate::results::hdr::decode;
use crate::results::load::{Block, BodyTiming, LoadResult, Percentiles};

/// The protocols in page order, with what one operation is and what its latency means.
const KINDS: [(Protocol, &str, &str); 4] = [
    (Protocol::Rest, "requests/s", "REST request latency"),
    (
        Protocol::WebSocket,
        "messages/s",
        "WebSocket round trip (send to expected reply)",
    ),
    (
        Protocol::Sse,
        "events/s",
        "SSE delivery (event timestamp to receipt, or gap between events when the fixture has no timestamp)",
    ),
    (
        Protocol::Broadcast,
        "deliveries/s",
        "Broadcast publish to delivery, per subscriber",
    ),
];

/// The load section, or nothing when there were no load runs.
pub fn section(runs: &[LoadEntry]) -> Markup {
    if runs.is_empty() {
        return html! {};
    }
    html! {
        section #load {
            h2 { "Load" }
            (table(runs))
            (shards(runs))
            @let colors = colors(runs);
            @for (protocol, unit, latency) in KINDS {
                @let of: Vec<(usize, &LoadEntry)> = colors.iter().copied().zip(runs)
                    .filter(|(_, e)| e.result.protocol == protocol.as_str()).collect();
                @if !of.is_empty() {
                    h3 { (protocol.as_str()) }
                    (not_drawn(&of))
                    div.charts {
                        (chart(charts::bars(&format!("Throughput, {unit}"), unit, &bars(&of))))
                        (chart(charts::latency_percentiles(latency, &curves(&of, |r| Some(r.histogram.as_str())))))
                        @if protocol == Protocol::WebSocket {
                            (chart(charts::latency_percentiles("WebSocket handshake (connect) latency",
                                &curves(&of, |r| block(&r.connect)))))
                        }
                        @if protocol == Protocol::WebSocket && of.iter().any(|(_, e)| e.result.subscription_items.is_some()) {
                            (chart(charts::latency_percentiles("JSON-RPC subscription item delivery (from the server's timestamp)",
                                &curves(&of, |r| r.subscription_items.as_ref().map(|i| i.delivery.histogram.as_str())))))
                        }
                        @for (_, entry) in of.iter().filter(|(_, e)| e.result.steps.is_some()) {
                            (chart(charts::latency_percentiles(&format!("Scenario steps of {}", entry.label),
                                &step_curves(entry))))
                        }
                        @if protocol == Protocol::Sse {
                            (chart(charts::latency_percentiles("SSE time to first event",
                                &curves(&of, |r| block(&r.first_event)))))
                            (chart(charts::latency_percentiles("SSE gap between events",
                                &curves(&of, |r| block(&r.event_gap)))))
                        }
                    }
                }
            }
            (resources(runs, &colors))
        }
    }
}

/// Runs merged from shards (`merge`): each shard's contribution; a shard behind its schedule
/// is a generator problem, called out.
fn shards(runs: &[LoadEntry]) -> Markup {
    html! {
        @for entry in runs {
            @if let Some(merged) = &entry.result.merged {
                h3 { (entry.label) ": " (merged.count) " shards of run " code { (merged.run_id) } }
                p { "Histograms added exactly; " (format!("{:.3}", merged.common_window_s))
                    " s measured in common." }
                @for left in &merged.not_merged { p { "Not merged: " (left) } }
                table {
                    tr { th { "shard" } th { "document" } th { "connections" } th { "operations" }
                         th { "errors" } th { "throughput/s" } th { "p50" } th { "p99" }
                         th { "behind schedule" } }
                    @for shard in &merged.shards {
                        @let latency = shard.summary.latency_us.as_ref();
                        tr.bad[shard.behind.is_some()] {
                            td { (shard.index) "/" (merged.count) }
                            td { (shard.source) }
                            td { (shard.connections) }
                            td { (shard.summary.operations) }
                            td { (shard.summary.errors) }
                            td { (format!("{:.0}", shard.summary.throughput_per_s)) }
                            td { (latency.map_or("-".into(), |l| human_us(l.p50))) }
                            td { (latency.map_or("-".into(), |l| human_us(l.p99))) }
                            td { @match &shard.behind {
                                Some(why) => { strong { "yes" } ": " (why) }
                                None => { "no" }
                            } }
                        }
                    }
                }
            }
        }
    }
}

/// Each run's palette index: one per target (runner), so a runner has the same colour in every
/// chart; a second run of the same target and protocol takes the next free one.
fn colors(runs: &[LoadEntry]) -> Vec<usize> {
    let mut targets: Vec<&str> = Vec::new();
    for run in runs {
        if !targets.contains(&run.result.target.name.as_str()) {
            targets.push(&run.result.target.name);
        }
    }
    let mut taken: HashSet<(&str, usize)> = HashSet::new();
    runs.iter()
        .map(|run| {
            let target = &run.result.target.name;
            let mut color = targets.iter().position(|t| t == target).unwrap_or(0);
            while !taken.insert((run.result.protocol.as_str(), color)) {
                color += targets.len();
            }
            color
        })
        .collect()
}

fn block(block: &Option<Block>) -> Option<&str> {
    block.as_ref().map(|b| b.histogram.as_str())
}

fn chart(svg: Result<String, ChartError>) -> Markup {
    match svg {
        Ok(svg) => html! { figure.chart { (PreEscaped(svg)) } },
        Err(e) => {
            tracing::warn!("{e}");
            html! { p.error { "This chart could not be drawn: " (e.to_string()) } }
        }
    }
}

/// One bar per run: its successful operations per second, labelled with its errors if any.
fn bars(runs: &[(usize, &LoadEntry)]) -> Vec<Bar> {
    runs.iter()
        .map(|(color, e)| Bar {
            label: match e.result.summary.errors {
                0 => e.label.clone(),
                errors => format!("{} \u{2014} {}", e.label, counted(errors as usize, "error")),
            },
            color: *color,
            value: e.result.summary.throughput_per_s,
        })
        .collect()
}

/// The note naming the runs whose latency is not drawn: no operation succeeded.
fn not_drawn(runs: &[(usize, &LoadEntry)]) -> Markup {
    let none: Vec<&str> = runs
        .iter()
        .filter(|(_, e)| e.result.summary.latency_us.is_none())
        .map(|(_, e)| e.label.as_str())
        .collect();
    html! {
        @if !none.is_empty() {
            p.note.bad { "No successful operation, so no latency curve: " (none.join(", ")) "." }
        }
    }
}

/// One percentile curve per run whose histogram `pick` finds and decodes.
/// One curve per step of a scenario run, each in its own colour.
fn step_curves(entry: &LoadEntry) -> Vec<Series> {
    entry
        .result
        .steps
        .iter()
        .flatten()
        .filter_map(|step| {
            let histogram = decode(&step.time.histogram).ok()?;
            let name = step
                .name
                .as_deref()
                .map_or(String::new(), |n| format!(" ({n})"));
            Some(Series {
                label: format!("step {}{name}: {}", step.step, step.request),
                color: step.step,
                points: charts::percentile_points(&histogram),
            })
        })
        .collect()
}

fn curves(runs: &[(usize, &LoadEntry)], pick: impl Fn(&LoadResult) -> Option<&str>) -> Vec<Series> {
    runs.iter()
        .filter_map(|(color, e)| {
            let histogram = match decode(pick(&e.result)?) {
                Ok(h) => h,
                Err(error) => {
                    tracing::warn!("{}: histogram not drawn: {error}", e.label);
                    return None;
                }
            };
            Some(Series {
                label: e.label.clone(),
                color: *color,
                points: charts::percentile_points(&histogram),
            })
        })
        .collect()
}

fn table(runs: &[LoadEntry]) -> Markup {
    html! {
        table.load {
            thead { tr {
                th { "run" } th { "mode" } th { "connections" } th { "measured" }
                th { "throughput/s" } th { "p50" } th { "p90" } th { "p99" } th { "p99.9" } th { "max" }
                th { "errors" } th { "behind schedule" }
            } }
            tbody {
                @for e in runs {
                    @let r = &e.result;
                    @let l = &r.summary.latency_us;
                    tr {
                        td {
                            (e.label) br; small { (r.command) " " (r.protocol)
                                @if let Some(note) = r.transport_note() { ", " (note) } }
                            @if let Some(t) = &r.body_timing {
                                br; small { (body_timing(t)) }
                            }
                            @if let Some(b) = &r.broadcast {
                                br; small { (b.deliveries) " of " (b.deliveries_expected) " deliveries to "
                                    (b.subscribers.websocket) " WebSocket and " (b.subscribers.sse) " SSE subscribers" }
                            }
                        }
                        td { (r.mode) @if let Some(rate) = r.rate { " @ " (rate) "/s" } }
                        td.num {
                            (r.connections)
                            @if let Some(phase) = &r.connect_phase {
                                br; small { (phase.established) " opened in " (format!("{:.2} s", phase.duration_ms / 1e3)) }
                                @if phase.failed > 0 {
                                    br; span.badge.bad { (phase.failed) " never opened" }
                                    @for (kind, count) in &phase.failed_by_kind { br; small { (count) " \u{00d7} " (kind) } }
                                }
                            }
                        }
                        td.num { (format!("{:.1} s", r.duration_s)) }
                        td.num {
                            (format!("{:.0}", r.summary.throughput_per_s))
                            @if r.summary.errors > 0 { br; small { (format!("{:.0}", r.summary.failed_per_s)) " failed/s" } }
                        }
                        @match l {
                            Some(l) => {
                                td.num { (human_us(l.p50)) } td.num { (human_us(l.p90)) } td.num { (human_us(l.p99)) }
                                td.num { (human_us(l.p999)) } td.num { (human_us(l.max)) }
                            }
                            None => { td.bad colspan="5" { "no successful operation" } }
                        }
                        td.num class=(if r.summary.errors > 0 { "bad" } else { "" }) {
                            @if r.summary.errors > 0 {
                                span.badge.bad { (counted(r.summary.errors as usize, "error")) }
                            } @else { "0" }
                            @for (kind, count) in &r.errors_by_kind { br; small { (count) " \u{00d7} " (kind) } }
                        }
                        td.num {
                            @match &r.schedule_lag_us {
                                Some(lag) => { "max " (human_us(lag.max)) @if lag.unsent_operations > 0 { br; small { (lag.unsent_operations) " never sent" } } }
                                None => { "\u{2013}" }
                            }
                            @if let Some(p) = r.timer_lateness.as_ref().and_then(|t| t.latency_us) {
                                br; small { "timer late p99 " (human_us(p.p99)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// When the first and last bytes of streamed replies came (`expected.chunks`).
fn body_timing(t: &BodyTiming) -> String {
    let figures = |p: &Option<Percentiles>| match p {
        Some(p) => format!("p50 {}, p99 {}", human_us(p.p50), human_us(p.p99)),
        None => "none".to_string(),
    };
    format!(
        "{} streamed replies: first byte {}; last byte {}",
        t.count,
        figures(&t.first_byte_us),
        figures(&t.last_byte_us)
    )
}

/// The runner's CPU and RSS over time, for the runs that sampled them (`--runner`).
fn resources(runs: &[LoadEntry], colors: &[usize]) -> Markup {
    let sampled: Vec<(usize, &LoadEntry)> = colors
        .iter()
        .copied()
        .zip(runs)
        .filter(|(_, e)| e.result.runner_resources.is_some())
        .collect();
    if sampled.is_empty() {
        return html! {};
    }
    let series = |value: fn(&crate::results::load::ResourceSample) -> f64| -> Vec<Series> {
        sampled
            .iter()
            .filter_map(|(color, e)| {
                let samples = &e.result.runner_resources.as_ref()?.samples;
                Some(Series {
                    label: e.label.clone(),
                    color: *color,
                    points: samples.iter().map(|s| (s.t_s, value(s))).collect(),
                })
            })
            .collect()
    };
    html! {
        h3 { "Runner resources" }
        p.note { "The runner's whole process group, sampled every "
            (crate::results::load::SAMPLE_EVERY.as_millis()) " ms during measurement." }
        div.charts {
            (chart(charts::over_time("Runner CPU", "CPU, % of one core", &series(|s| s.cpu_percent))))
            (chart(charts::over_time("Runner memory", "RSS, MB", &series(|s| s.rss_bytes as f64 / 1e6))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(target: &str, protocol: &str) -> LoadEntry {
        let latency = serde_json::json!({"min": 1, "p50": 1, "p90": 1, "p99": 1, "p999": 1, "max": 1, "mean": 1.0});
        serde_json::from_value(serde_json::json!({
            "label": format!("{target} {protocol}"), "source": "x.json",
            "command": "bench", "fixture": "f", "protocol": protocol,
            "target": {"name": target, "kind": "runner", "url": ""},
            "mode": "closed", "connections": 1, "rate": null, "duration_s": 1.0, "warmup_s": 0.0,
            "summary": {"operations": 1, "errors": 0, "throughput_per_s": 1.0, "latency_us": latency},
            "histogram": "", "errors_by_kind": {}
        }))
        .unwrap()
    }

    #[test]
    fn an_http2_run_with_streamed_replies_shows_its_transport_and_body_timing() {
        let mut entry = run("axum", "rest");
        entry.result.http_version = "2".into();
        entry.result.streams = 10;
        entry.result.body_timing = Some(serde_json::from_value(serde_json::json!({
            "count": 40,
            "first_byte_us": {"min": 1, "p50": 1500, "p90": 1, "p99": 2500, "p999": 1, "max": 1, "mean": 1.0},
            "last_byte_us": null
        })).unwrap());
        let page = table(std::slice::from_ref(&entry)).into_string();
        assert!(
            page.contains("bench rest, HTTP/2, 10 streams per connection"),
            "{page}"
        );
        assert!(
            page.contains("40 streamed replies: first byte p50 1.50ms, p99 2.50ms; last byte none"),
            "{page}"
        );
        let plain = table(&[run("axum", "rest")]).into_string();
        assert!(
            !plain.contains("HTTP/2") && !plain.contains("streamed"),
            "{plain}"
        );
    }

    #[test]
    fn the_connection_phase_and_the_pacer_lateness_are_shown() {
        let mut entry = run("axum", "websocket");
        entry.result.connect_phase = Some(
            serde_json::from_value(serde_json::json!({
                "connections": 100, "established": 97, "failed": 3,
                "failed_by_kind": {"timeout": 2, "connection refused": 1},
                "concurrency": 64, "ramp_s": 0.0, "duration_ms": 1234.0, "handshake_us": null
            }))
            .unwrap(),
        );
        entry.result.timer_lateness = Some(serde_json::from_value(serde_json::json!({
            "count": 5, "histogram": "",
            "latency_us": {"min": 1, "p50": 20, "p90": 30, "p99": 120, "p999": 1, "max": 1, "mean": 1.0}
        })).unwrap());
        let page = table(std::slice::from_ref(&entry)).into_string();
        for shown in [
            "97 opened in 1.23 s",
            "3 never opened",
            "2 \u{00d7} timeout",
            "1 \u{00d7} connection refused",
            "timer late p99 120",
        ] {
            assert!(page.contains(shown), "{shown} in {page}");
        }
        let plain = table(&[run("axum", "rest")]).into_string();
        assert!(
            !plain.contains("opened") && !plain.contains("timer late"),
            "{plain}"
        );
    }

    #[test]
    fn a_runner_keeps_its_colour_across_protocols_and_runs_of_one_chart_differ() {
        let runs = [
            run("go", "rest"),
            run("node", "rest"),
            run("go", "websocket"),
            run("node", "websocket"),
            run("go", "rest"),
        ];
        assert_eq!(colors(&runs), [0, 1, 0, 1, 2]);
    }
}
