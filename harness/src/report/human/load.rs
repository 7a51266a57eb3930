//! The human summary of a `bench` or `stream` result: what ran, how many operations succeeded
//! and failed, the latency of the successful ones, and the protocol's own figures.
//!
//! A run with errors says so on its count line (`482 ERRORS`, painted on a terminal) and lists
//! them by kind; a run without a successful operation says `no successful operation` instead of
//! latency figures. Text from the server or from files (fixture names, error kinds) goes through
//! [`escape_controls`].

use std::io::{self, Write};

use crate::humanize::escape_controls;
use crate::humanize::{human_bytes, human_us};
use crate::report::terminal::Style;
use crate::results::load::{LoadResult, Percentiles};

/// What one operation of `protocol` is, in the plural.
fn operations_of(r: &LoadResult) -> &'static str {
    if r.steps.is_some() {
        return "scenario runs";
    }
    match r.protocol.as_str() {
        "rest" => "requests",
        "websocket" => "round trips",
        "broadcast" => "deliveries",
        _ => "events",
    }
}

/// Writes the summary of `result`.
pub fn write_load(out: &mut dyn Write, style: Style, result: &LoadResult) -> io::Result<()> {
    let r = result;
    let rate = r.rate.map_or(String::new(), |r| format!(" at {r} ops/s"));
    let http2 = if r.http_version == "2" {
        format!(" over HTTP/2 ({} streams each)", r.streams)
    } else {
        String::new()
    };
    writeln!(
        out,
        "{} {} ({}) against {} ({}): {} loop, {} connections{http2}{rate}, {:.1} s measured after {:.1} s warmup",
        r.command,
        escape_controls(&r.fixture),
        r.protocol,
        escape_controls(&r.target.name),
        escape_controls(&r.target.url),
        r.mode,
        r.connections,
        r.duration_s,
        r.warmup_s,
    )?;
    write_connect_phase(out, style, r)?;
    write_counts(out, style, r)?;
    match &r.summary.latency_us {
        Some(p) => write_percentiles(out, "latency", p)?,
        None => writeln!(
            out,
            "  latency     {}: no latency figures",
            style.paint("31;1", "no successful operation")
        )?,
    }
    for (kind, count) in &r.errors_by_kind {
        writeln!(out, "  error: {} x{count}", escape_controls(kind))?;
    }
    if let Some(block) = &r.failed_latency
        && let Some(p) = &block.latency_us
    {
        write_percentiles(out, "failed in", p)?;
    }
    write_broadcast(out, r)?;
    write_resources(out, r)?;
    for (name, block) in [
        ("connect", &r.connect),
        ("first event", &r.first_event),
        ("event gap", &r.event_gap),
    ] {
        match block.as_ref().map(|b| &b.latency_us) {
            Some(Some(p)) => write_percentiles(out, name, p)?,
            Some(None) => writeln!(out, "  {name:<11} none")?,
            None => {}
        }
    }
    write_steps_and_items(out, r)?;
    if let Some(timing) = &r.body_timing {
        for (name, figures) in [
            ("first byte", &timing.first_byte_us),
            ("last byte", &timing.last_byte_us),
        ] {
            match figures {
                Some(p) => write_percentiles(out, name, p)?,
                None => writeln!(out, "  {name:<11} none")?,
            }
        }
    }
    Ok(())
}

/// The connection phase: how many connections opened, in how long, and those that never did.
fn write_connect_phase(out: &mut dyn Write, style: Style, r: &LoadResult) -> io::Result<()> {
    let Some(phase) = &r.connect_phase else {
        return Ok(());
    };
    let handshake = phase.handshake_us.map_or(String::new(), |p| {
        format!(
            ", opening p50 {:.1} ms, p99 {:.1} ms",
            p.p50 as f64 / 1e3,
            p.p99 as f64 / 1e3
        )
    });
    writeln!(
        out,
        "  connected   {} of {} in {:.2} s before warmup ({} at once{}){handshake}",
        phase.established,
        phase.connections,
        phase.duration_ms / 1e3,
        phase.concurrency,
        if phase.ramp_s > 0.0 {
            format!(", ramp {:.1} s", phase.ramp_s)
        } else {
            String::new()
        },
    )?;
    if phase.failed > 0 {
        let kinds: Vec<String> = phase
            .failed_by_kind
            .iter()
            .map(|(kind, n)| format!("{} x{n}", escape_controls(kind)))
            .collect();
        writeln!(
            out,
            "  {}: {}",
            style.paint(
                "31;1",
                &format!("{} failed to connect before warmup", phase.failed)
            ),
            kinds.join(", ")
        )?;
    }
    Ok(())
}

/// A scenario's steps, each with its own percentiles; a JSON-RPC conversation's subscription
/// items with their delivery latency.
fn write_steps_and_items(out: &mut dyn Write, r: &LoadResult) -> io::Result<()> {
    for step in r.steps.iter().flatten() {
        let name = step
            .name
            .as_deref()
            .map_or(String::new(), |n| format!(" ({n})"));
        writeln!(
            out,
            "  step {}{name}: {} x{}",
            step.step,
            escape_controls(&step.request),
            step.time.count
        )?;
        if let Some(p) = &step.time.latency_us {
            write_percentiles(out, "", p)?;
        }
    }
    if let Some(items) = &r.subscription_items {
        let field = items
            .timestamp_field
            .as_deref()
            .map_or(" (no timestamp field: not timed)".to_string(), |f| {
                format!(", timed from params.{}", escape_controls(f))
            });
        writeln!(out, "  subscription items {}{field}", items.received)?;
        if let Some(p) = &items.delivery.latency_us {
            write_percentiles(out, "delivery", p)?;
        }
    }
    Ok(())
}

/// The count line: operations, how many succeeded, the errors (painted) and what was in flight.
fn write_counts(out: &mut dyn Write, style: Style, r: &LoadResult) -> io::Result<()> {
    let s = &r.summary;
    let what = operations_of(r);
    let unfinished = if s.unfinished > 0 {
        format!(" ({} in flight at the end, not counted)", s.unfinished)
    } else {
        String::new()
    };
    if s.errors == 0 {
        return writeln!(
            out,
            "  {} {what}, {:.1}/s, 0 errors{unfinished}",
            s.operations, s.throughput_per_s
        );
    }
    let errors = style.paint(
        "31;1",
        &format!(
            "{} ERRORS ({:.1}%, {:.1}/s)",
            s.errors,
            r.error_rate() * 100.0,
            s.failed_per_s
        ),
    );
    writeln!(
        out,
        "  {} {what}: {} succeeded, {:.1}/s; {errors}{unfinished}",
        s.operations,
        s.operations.saturating_sub(s.errors),
        s.throughput_per_s,
    )
}

/// A broadcast run's publishing and deliveries.
fn write_broadcast(out: &mut dyn Write, r: &LoadResult) -> io::Result<()> {
    let Some(b) = &r.broadcast else {
        return Ok(());
    };
    writeln!(
        out,
        "  broadcast   {} published at {}/s to {} WebSocket + {} SSE subscribers: {} of {} deliveries, {} not delivered",
        b.published,
        b.publish_rate,
        b.subscribers.websocket,
        b.subscribers.sse,
        b.deliveries,
        b.deliveries_expected,
        b.not_delivered
    )?;
    if let Some(p) = &b.publish_latency_us {
        write_percentiles(out, "publish", p)?;
    }
    Ok(())
}

/// How far an open loop fell behind, and what the runner and the harness used.
fn write_resources(out: &mut dyn Write, r: &LoadResult) -> io::Result<()> {
    if let Some(lag) = &r.schedule_lag_us {
        writeln!(
            out,
            "  behind schedule: max {}, at the end {}, {} operations never sent",
            human_us(lag.max),
            human_us(lag.final_),
            lag.unsent_operations
        )?;
    }
    if let Some(res) = &r.runner_resources {
        writeln!(
            out,
            "  runner      cpu mean {:.1}% max {:.1}% (of one core), rss mean {} max {} ({} samples, process group {})",
            res.cpu_percent.mean,
            res.cpu_percent.max,
            human_bytes(res.rss_bytes.mean),
            human_bytes(res.rss_bytes.max),
            res.samples.len(),
            res.process_group
        )?;
    }
    if let Some(bytes) = r.harness_peak_rss_bytes {
        writeln!(out, "  harness     peak rss {}", human_bytes(bytes))?;
    }
    Ok(())
}

fn write_percentiles(out: &mut dyn Write, name: &str, p: &Percentiles) -> io::Result<()> {
    writeln!(
        out,
        "  {name:<11} p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  (min {}, mean {})",
        human_us(p.p50),
        human_us(p.p90),
        human_us(p.p99),
        human_us(p.p999),
        human_us(p.max),
        human_us(p.min),
        human_us(p.mean.round() as u64),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::recorder::{Tally, histogram};
    use crate::results::load::{ResourceSample, RunnerResources};
    use harness_fixture::Protocol;

    use crate::load::document::test_info as info;

    fn text(result: &LoadResult) -> String {
        let mut out = Vec::new();
        write_load(&mut out, Style::plain(), result).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_run_that_only_failed_says_so_and_prints_no_latency() {
        let mut tally = Tally {
            operations: 482,
            errors: 482,
            ..Tally::default()
        };
        tally
            .errors_by_kind
            .insert("/status: different status, got 500".into(), 482);
        tally.failed_latency.record(900).unwrap();
        let result = LoadResult::new(info(Protocol::Rest, None), &tally);
        let text = text(&result);
        assert!(
            text.contains("482 requests: 0 succeeded, 0.0/s; 482 ERRORS (100.0%, 241.0/s)"),
            "{text}"
        );
        assert!(text.contains("no successful operation"), "{text}");
        assert!(text.contains("closed loop, 4 connections, 2.0 s"), "{text}");
        assert!(!text.contains("p50 0us"), "{text}");
        assert!(text.contains("failed in   p50 900us"), "{text}");
        assert!(
            text.contains("error: /status: different status, got 500 x482"),
            "{text}"
        );
    }

    #[test]
    fn an_http2_run_says_so_with_its_streams() {
        let mut info = info(Protocol::Rest, None);
        info.http_version = "2";
        info.streams = 10;
        let result = LoadResult::new(info, &Tally::default());
        let text = text(&result);
        assert!(
            text.contains("closed loop, 4 connections over HTTP/2 (10 streams each), 2.0 s"),
            "{text}"
        );
    }

    #[test]
    fn protocol_blocks_resources_and_lag() {
        let mut tally = Tally::default();
        tally.connect.record(250).unwrap();
        tally.lag.max_us = 1500;
        let ws = LoadResult::new(info(Protocol::WebSocket, Some(100.0)), &tally);
        let text_ws = text(&ws);
        assert!(text_ws.contains("behind schedule: max 1.50ms"), "{text_ws}");
        assert!(text_ws.contains("connect     p50 250us"), "{text_ws}");
        let mut sse = LoadResult::new(info(Protocol::Sse, None), &tally);
        sse.harness_peak_rss_bytes = Some(42 * 1024 * 1024);
        sse.runner_resources = Some(RunnerResources::new(
            77,
            vec![ResourceSample {
                t_s: 0.25,
                cpu_percent: 87.5,
                rss_bytes: 3 * 1024 * 1024,
            }],
        ));
        let text = text(&sse);
        assert!(text.contains("harness     peak rss 42.0 MB"), "{text}");
        assert!(
            text.contains("cpu mean 87.5% max 87.5% (of one core), rss mean 3.0 MB max 3.0 MB"),
            "{text}"
        );
        // No event was read: no figures, not zeros.
        assert!(text.contains("first event none"), "{text}");
        assert!(histogram().is_empty());
    }

    #[test]
    fn body_timing_shows_first_and_last_bytes() {
        let mut tally = Tally::default();
        tally.latency.record(50_000).unwrap();
        tally.operations = 1;
        tally.first_byte.record(2_000).unwrap();
        tally.last_byte.record(48_000).unwrap();
        let timed = crate::load::document::RunInfo {
            body_timing: true,
            ..info(Protocol::Rest, None)
        };
        let shown = text(&LoadResult::new(timed.clone(), &tally));
        assert!(shown.contains("first byte  p50 2.00ms"), "{shown}");
        assert!(shown.contains("last byte   p50 48.03ms"), "{shown}");
        let none = text(&LoadResult::new(timed, &Tally::default()));
        assert!(none.contains("first byte  none"), "{none}");
        let plain = text(&LoadResult::new(info(Protocol::Rest, None), &tally));
        assert!(!plain.contains("first byte"), "{plain}");
    }
}
