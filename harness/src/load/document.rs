//! A load run's result document ([`LoadResult`]) built from its merged [`Tally`] and what the run
//! was ([`RunInfo`]).

use crate::results::TargetInfo;
use crate::results::hdr::encode;
use crate::results::load::{
    Block, BodyTiming, ItemsBlock, LoadResult, Percentiles, ScheduleLag, StepBlock, Summary,
};

use super::recorder::{Tally, micros};
use super::schedule::timer_slack;

/// What the run was, besides what it measured.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// `bench` or `stream`.
    pub command: &'static str,
    /// Fixture name.
    pub fixture: String,
    /// Protocol.
    pub protocol: harness_fixture::Protocol,
    /// Target.
    pub target: TargetInfo,
    /// `closed` or `open`.
    pub mode: &'static str,
    /// Connections.
    pub connections: usize,
    /// Open-loop rate.
    pub rate: Option<f64>,
    /// Measured seconds.
    pub duration_s: f64,
    /// Warmup seconds.
    pub warmup_s: f64,
    /// `1.1` or `2`.
    pub http_version: &'static str,
    /// Requests in flight per connection (HTTP/2 streams; 1 on HTTP/1.1).
    pub streams: usize,
    /// Whether reply bodies were timed (a REST fixture with `chunks`).
    pub body_timing: bool,
    /// A REST scenario's steps: name and request (`GET /path`), in order.
    pub steps: Vec<(Option<String>, String)>,
    /// A JSON-RPC conversation with subscription items: the timestamp field, if the fixture
    /// names one.
    pub subscription_items: Option<Option<String>>,
}

impl LoadResult {
    /// The result document of a run.
    pub fn new(info: RunInfo, tally: &Tally) -> LoadResult {
        use harness_fixture::Protocol;
        let per_second = |count: u64| {
            if info.duration_s > 0.0 {
                (count as f64 / info.duration_s * 10.0).round() / 10.0
            } else {
                0.0
            }
        };
        LoadResult {
            command: info.command.to_string(),
            fixture: info.fixture,
            protocol: info.protocol.as_str().to_string(),
            target: info.target,
            mode: info.mode.to_string(),
            connections: info.connections,
            rate: info.rate,
            duration_s: info.duration_s,
            warmup_s: info.warmup_s,
            http_version: info.http_version.to_string(),
            streams: info.streams,
            summary: Summary {
                operations: tally.operations,
                errors: tally.errors,
                throughput_per_s: per_second(tally.successes()),
                failed_per_s: per_second(tally.errors),
                latency_us: Percentiles::of(&tally.latency),
                unfinished: tally.unfinished,
            },
            histogram: encode(&tally.latency),
            failed_latency: (!tally.failed_latency.is_empty())
                .then(|| Block::of(&tally.failed_latency)),
            errors_by_kind: tally.errors_by_kind.clone(),
            schedule_lag_us: info.rate.map(|_| ScheduleLag {
                max: tally.lag.max_us,
                final_: tally.lag.final_us,
                unsent_operations: tally.lag.unsent,
            }),
            connect: matches!(info.protocol, Protocol::WebSocket | Protocol::Broadcast)
                .then(|| Block::of(&tally.connect)),
            first_event: (info.protocol == Protocol::Sse).then(|| Block::of(&tally.first_event)),
            event_gap: (info.protocol == Protocol::Sse).then(|| Block::of(&tally.event_gap)),
            body_timing: info
                .body_timing
                .then(|| BodyTiming::of(&tally.first_byte, &tally.last_byte)),
            steps: (!info.steps.is_empty()).then(|| steps(&info.steps, tally)),
            subscription_items: info.subscription_items.map(|timestamp_field| ItemsBlock {
                received: tally.item_count,
                timestamp_field,
                delivery: Block::of(&tally.items),
            }),
            timer_slack_us: info.rate.map(|_| micros(timer_slack())),
            timer_lateness: info.rate.map(|_| Block::of(&tally.timer_lateness)),
            broadcast: None,
            runner_resources: None,
            harness_peak_rss_bytes: None,
            shard: None,
            measured_from: None,
            merged: None,
            connect_phase: None,
        }
    }
}

/// A run's description for tests: `bench` of `bench-hello` on the embedded reference, 4
/// connections, 2 s, open loop when `rate` is given.
/// The step blocks of a scenario run: one per step, empty for a step no passing run reached.
fn steps(labels: &[(Option<String>, String)], tally: &Tally) -> Vec<StepBlock> {
    let empty = super::recorder::histogram();
    labels
        .iter()
        .enumerate()
        .map(|(step, (name, request))| StepBlock {
            step,
            name: name.clone(),
            request: request.clone(),
            time: Block::of(tally.steps.get(step).unwrap_or(&empty)),
        })
        .collect()
}

#[cfg(test)]
pub(crate) fn test_info(protocol: harness_fixture::Protocol, rate: Option<f64>) -> RunInfo {
    RunInfo {
        command: "bench",
        fixture: "bench-hello".into(),
        protocol,
        target: TargetInfo {
            name: "rust-axum".into(),
            kind: crate::results::TargetKind::Embedded,
            url: "http://127.0.0.1:1/".into(),
        },
        mode: if rate.is_some() { "open" } else { "closed" },
        connections: 4,
        rate,
        duration_s: 2.0,
        warmup_s: 0.0,
        http_version: "1.1",
        streams: 1,
        body_timing: false,
        steps: Vec::new(),
        subscription_items: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::recorder::histogram;
    use crate::results::hdr::decode;

    use super::test_info as info;

    #[test]
    fn the_document_carries_a_histogram_that_decodes_to_its_summary() {
        let mut tally = Tally::default();
        for us in 1..=10_000u64 {
            tally.latency.record(us * 3).unwrap();
        }
        tally.operations = 10_001;
        tally.errors = 1;
        tally
            .errors_by_kind
            .insert("/status: different status, got 500".into(), 1);
        let result = LoadResult::new(info(harness_fixture::Protocol::Rest, None), &tally);
        let json = serde_json::to_value(&result).unwrap();
        assert_eq!(json["mode"], "closed");
        assert_eq!(json["rate"], serde_json::Value::Null);
        // 10 000 of the 10 001 succeeded.
        assert_eq!(json["summary"]["throughput_per_s"], 5000.0);
        assert_eq!(json["summary"]["failed_per_s"], 0.5);
        assert_eq!(
            json["errors_by_kind"]["/status: different status, got 500"],
            1
        );
        assert!(json.get("schedule_lag_us").is_none());
        assert!(json.get("connect").is_none());

        let back: LoadResult = serde_json::from_value(json).unwrap();
        let decoded = decode(&back.histogram).unwrap();
        assert_eq!(decoded.len(), 10_000);
        assert_eq!(Percentiles::of(&decoded), back.summary.latency_us);
        let p = back.summary.latency_us.unwrap();
        assert!(p.p50 >= 14_985 && p.p50 <= 15_015, "{p:?}");
        assert!(p.min == 3 && p.max >= 30_000 && p.max <= 30_030, "{p:?}");
        assert!(back.error_rate() > 0.0);
    }

    #[test]
    fn protocol_blocks_and_open_loop_lag() {
        let mut tally = Tally::default();
        tally.connect.record(250).unwrap();
        tally.lag.max_us = 1500;
        tally.lag.unsent = 3;
        let ws = LoadResult::new(
            info(harness_fixture::Protocol::WebSocket, Some(100.0)),
            &tally,
        );
        let json = serde_json::to_value(&ws).unwrap();
        assert_eq!(json["schedule_lag_us"]["max"], 1500);
        assert_eq!(json["schedule_lag_us"]["unsent_operations"], 3);
        assert_eq!(json["connect"]["count"], 1);
        assert_eq!(
            decode(ws.connect.as_ref().unwrap().histogram.as_str())
                .unwrap()
                .len(),
            1
        );
        assert!(json.get("first_event").is_none());
        assert_eq!(json["timer_slack_us"], 100);
        assert_eq!(json["timer_lateness"]["count"], 0);
        let sse = LoadResult::new(info(harness_fixture::Protocol::Sse, None), &tally);
        assert!(sse.first_event.is_some() && sse.event_gap.is_some() && sse.connect.is_none());
        assert!(sse.timer_slack_us.is_none() && sse.timer_lateness.is_none());
        // No event read: the blocks count none and have no percentiles.
        let json = serde_json::to_value(&sse).unwrap();
        assert_eq!(json["first_event"]["count"], 0);
        assert_eq!(json["first_event"]["latency_us"], serde_json::Value::Null);
        assert_eq!(decode(&encode(&histogram())).unwrap().len(), 0);
    }

    #[test]
    fn body_timing_is_there_for_timed_runs_only() {
        let mut tally = Tally::default();
        for us in [1000, 2000, 3000] {
            tally.first_byte.record(us).unwrap();
            tally.last_byte.record(us * 10).unwrap();
        }
        let plain = LoadResult::new(info(harness_fixture::Protocol::Rest, None), &tally);
        assert!(
            serde_json::to_value(&plain)
                .unwrap()
                .get("body_timing")
                .is_none()
        );
        let timed = RunInfo {
            body_timing: true,
            ..info(harness_fixture::Protocol::Rest, None)
        };
        let json = serde_json::to_value(LoadResult::new(timed.clone(), &tally)).unwrap();
        let block = &json["body_timing"];
        assert_eq!(block["count"], 3);
        assert_eq!(block["first_byte_us"]["p50"], 2000);
        assert_eq!(block["first_byte_us"]["max"], 3001);
        assert_eq!(block["last_byte_us"]["min"], 10000);
        // Nothing timed: the block is there, its figures null.
        let none = serde_json::to_value(LoadResult::new(timed, &Tally::default())).unwrap();
        assert_eq!(none["body_timing"]["count"], 0);
        assert_eq!(
            none["body_timing"]["first_byte_us"],
            serde_json::Value::Null
        );
    }

    #[test]
    fn failures_are_not_throughput_and_no_success_has_no_percentiles() {
        let mut tally = Tally {
            operations: 482,
            errors: 482,
            ..Tally::default()
        };
        tally
            .errors_by_kind
            .insert("/status: different status, got 500".into(), 482);
        tally.failed_latency.record(700).unwrap();
        let result = LoadResult::new(info(harness_fixture::Protocol::Rest, None), &tally);
        let json = serde_json::to_value(&result).unwrap();
        assert_eq!(json["summary"]["throughput_per_s"], 0.0);
        assert_eq!(json["summary"]["failed_per_s"], 241.0);
        assert_eq!(json["summary"]["latency_us"], serde_json::Value::Null);
        assert_eq!(json["failed_latency"]["count"], 1);
        assert_eq!(decode(&result.histogram).unwrap().len(), 0);
        // A document of before (no failed_per_s) still reads.
        let mut old = json.clone();
        old["summary"]
            .as_object_mut()
            .unwrap()
            .remove("failed_per_s");
        let back: LoadResult = serde_json::from_value(old).unwrap();
        assert_eq!(back.summary.failed_per_s, 0.0);
    }
}
