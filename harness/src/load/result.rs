//! The `bench`/`stream` result document (docs/contract.md, section 5.3): built from a merged [`Tally`], with
//! the latency histogram as HdrHistogram V2 compressed, base64 (readable by any HdrHistogram
//! implementation). Pure: no I/O. Its human summary is [`crate::report::human_load`].
//!
//! Throughput counts successful operations; failed ones are counted beside it (`errors`,
//! `failed_per_s`, `errors_by_kind`), and their latency is kept apart (`failed_latency`). A
//! histogram without a value has no percentiles: they are `null`, never zeros.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

use super::hdr::HistogramError;
use super::recorder::{Tally, micros};
use super::resources::RunnerResources;
use super::schedule::TIMER_SLACK;
use crate::results::TargetInfo;

/// A load run's result document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadResult {
    /// `bench` or `stream`.
    pub command: String,
    /// The fixture's name.
    pub fixture: String,
    /// `rest`, `websocket` or `sse`.
    pub protocol: String,
    /// The server under load.
    pub target: TargetInfo,
    /// `closed` or `open`.
    pub mode: String,
    /// Connections (subscribers for SSE).
    pub connections: usize,
    /// Open-loop rate, operations per second in total.
    pub rate: Option<f64>,
    /// Measured seconds (warmup excluded).
    pub duration_s: f64,
    /// Warmup seconds, not measured.
    pub warmup_s: f64,
    /// Counts and latency percentiles.
    pub summary: Summary,
    /// Latency histogram of successful operations (microseconds), HdrHistogram V2 compressed,
    /// base64.
    pub histogram: String,
    /// Latency of failed operations that had a reply (a status or a body that differs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_latency: Option<Block>,
    /// Errors by kind: a reply that differs by the first difference `run` reports of it
    /// (`/status: different status, got 500`, `/body/message: different string`), a transport
    /// failure by cause (`connection refused`, `timeout`, ...); at most
    /// [`super::recorder::MAX_ERROR_KINDS`] kinds, the rest under [`super::recorder::MORE_KINDS`].
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Open loop: how far behind schedule the load fell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_lag_us: Option<ScheduleLag>,
    /// WebSocket: handshake latency (every handshake, warmup included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect: Option<Block>,
    /// SSE: time from the request to the first event (every subscription).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_event: Option<Block>,
    /// SSE: time between consecutive events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_gap: Option<Block>,
    /// Open loop: lateness of the generator's own timer forgiven before each operation, in
    /// microseconds (see [`crate::load::schedule::TIMER_SLACK`]); later starts count in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer_slack_us: Option<u64>,
    /// Broadcast: what was published and delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broadcast: Option<BroadcastBlock>,
    /// `--runner`: the CPU and memory of the runner's process group during measurement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner_resources: Option<RunnerResources>,
    /// The harness's peak resident memory (`VmHWM`); with the embedded target it includes the
    /// reference server, which runs in the same process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harness_peak_rss_bytes: Option<u64>,
}

/// The summary block.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// Measured operations, errors included.
    pub operations: u64,
    /// Operations that failed (`operations - errors` succeeded).
    pub errors: u64,
    /// Successful operations per measured second (failed ones are not throughput).
    pub throughput_per_s: f64,
    /// Failed operations per measured second.
    #[serde(default)]
    pub failed_per_s: f64,
    /// Latency percentiles of successful operations, microseconds; `None` (`null`) when none
    /// succeeded.
    pub latency_us: Option<Percentiles>,
    /// Operations in flight when the run ended (not counted above).
    #[serde(default)]
    pub unfinished: u64,
}

/// Percentiles of a histogram, microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Smallest value.
    pub min: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest value.
    pub max: u64,
    /// Mean.
    pub mean: f64,
}

impl Percentiles {
    /// The percentiles of `histogram`, `None` when it is empty (no value, no percentile).
    pub fn of(histogram: &Histogram<u64>) -> Option<Percentiles> {
        if histogram.is_empty() {
            return None;
        }
        let at = |q: f64| histogram.value_at_quantile(q);
        Some(Percentiles {
            min: histogram.min(),
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            p999: at(0.999),
            max: histogram.max(),
            mean: (histogram.mean() * 10.0).round() / 10.0,
        })
    }
}

/// A secondary histogram: how many values, their percentiles, the histogram itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Block {
    /// Values recorded.
    pub count: u64,
    /// Percentiles, microseconds; `null` when no value was recorded.
    pub latency_us: Option<Percentiles>,
    /// HdrHistogram V2 compressed, base64.
    pub histogram: String,
}

impl Block {
    /// The block of `histogram`.
    pub fn of(histogram: &Histogram<u64>) -> Block {
        Block {
            count: histogram.len(),
            latency_us: Percentiles::of(histogram),
            histogram: encode(histogram),
        }
    }
}

/// A broadcast run's publishing and deliveries (measured messages: those whose intended publish
/// instant falls in the measured time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BroadcastBlock {
    /// Messages published.
    pub published: u64,
    /// Messages per second the publisher was asked for.
    pub publish_rate: f64,
    /// Subscribers by kind.
    pub subscribers: SubscriberCounts,
    /// Deliveries owed: every published message to every subscriber connected when it was
    /// published.
    pub deliveries_expected: u64,
    /// Deliveries received (duplicates excluded).
    pub deliveries: u64,
    /// Deliveries owed and never received.
    pub not_delivered: u64,
    /// A REST publish: the publish request's own latency, microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_latency_us: Option<Percentiles>,
}

/// Subscribers by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriberCounts {
    /// WebSocket subscribers.
    pub websocket: usize,
    /// SSE subscribers.
    pub sse: usize,
}

/// How far open-loop load fell behind its schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleLag {
    /// The largest lag of any operation.
    pub max: u64,
    /// The lag when the run ended (the largest over connections).
    #[serde(rename = "final")]
    pub final_: u64,
    /// Operations due during measurement that were never started (counted nowhere else).
    pub unsent_operations: u64,
}

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
            timer_slack_us: info.rate.map(|_| micros(TIMER_SLACK)),
            broadcast: None,
            runner_resources: None,
            harness_peak_rss_bytes: None,
        }
    }

    /// The share of operations that failed (0 when there were none).
    pub fn error_rate(&self) -> f64 {
        if self.summary.operations == 0 {
            0.0
        } else {
            self.summary.errors as f64 / self.summary.operations as f64
        }
    }
}

/// `850us`, `12.3ms`, `1.50s`.
pub fn human_us(us: u64) -> String {
    if us < 1_000 {
        format!("{us}us")
    } else if us < 1_000_000 {
        format!("{:.2}ms", us as f64 / 1e3)
    } else {
        format!("{:.2}s", us as f64 / 1e6)
    }
}

/// `812 KB`, `41.3 MB`, `1.20 GB` (powers of 1024).
pub fn human_bytes(bytes: u64) -> String {
    let b = bytes as f64;
    if b < 1024.0 * 1024.0 {
        format!("{:.0} KB", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MB", b / (1024.0 * 1024.0))
    } else {
        format!("{:.2} GB", b / (1024.0 * 1024.0 * 1024.0))
    }
}

/// A histogram as HdrHistogram V2 compressed, base64 (empty text if it cannot be serialized).
pub fn encode(histogram: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    match V2DeflateSerializer::new().serialize(histogram, &mut bytes) {
        Ok(_) => BASE64.encode(bytes),
        Err(_) => String::new(),
    }
}

/// Decodes [`encode`]'s text, or any V2 histogram within the bounds of [`super::hdr`] (the text
/// may come from anyone: a document given to `report`).
pub fn decode(text: &str) -> Result<Histogram<u64>, HistogramError> {
    super::hdr::decode(text)
}

/// A run's description for tests: `bench` of `bench-hello` on the embedded reference, 4
/// connections, 2 s, open loop when `rate` is given.
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::recorder::histogram;

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
        assert_eq!(json["timer_slack_us"], 1000);
        let sse = LoadResult::new(info(harness_fixture::Protocol::Sse, None), &tally);
        assert!(sse.first_event.is_some() && sse.event_gap.is_some() && sse.connect.is_none());
        assert!(sse.timer_slack_us.is_none());
        // No event read: the blocks count none and have no percentiles.
        let json = serde_json::to_value(&sse).unwrap();
        assert_eq!(json["first_event"]["count"], 0);
        assert_eq!(json["first_event"]["latency_us"], serde_json::Value::Null);
        assert_eq!(human_bytes(1536), "2 KB");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024 / 2), "1.50 GB");
        assert_eq!(decode(&encode(&histogram())).unwrap().len(), 0);
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
