//! The `bench`/`stream` result document (docs/contract.md, section 5.3), as data: counts,
//! latency percentiles, the latency histogram as HdrHistogram V2 compressed, base64 (readable by
//! any HdrHistogram implementation), and the blocks each protocol adds. The load layer fills it
//! (`load::document`); `report/` renders it.
//!
//! Throughput counts successful operations; failed ones are counted beside it (`errors`,
//! `failed_per_s`, `errors_by_kind`), and their latency is kept apart (`failed_latency`). A
//! histogram without a value has no percentiles: they are `null`, never zeros.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::hdr::encode;
use super::target::TargetInfo;

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
    /// The HTTP version of the load: `1.1`, or `2` (`bench --http2`); documents written before
    /// it read as `1.1`.
    #[serde(default = "http_1_1")]
    pub http_version: String,
    /// Requests in flight per connection: HTTP/2 streams (`--streams`), 1 on HTTP/1.1.
    #[serde(default = "one")]
    pub streams: usize,
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
    /// 64 kinds, the rest under `other kinds (more than 64)`.
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
    /// REST with `chunks`: when reply bodies came (successful operations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_timing: Option<BodyTiming>,
    /// REST scenario (`bench`): each step's own time, in the runs that passed (the summary is
    /// the whole scenario, one run an operation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<StepBlock>>,
    /// JSON-RPC conversation with subscription items (`stream`): the items received, and their
    /// delivery latency from the server's timestamp where the fixture names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_items: Option<ItemsBlock>,
    /// Open loop: lateness of the generator's own timer forgiven before each operation, in
    /// microseconds (see [`crate::load::schedule::TIMER_SLACK`]); later starts count in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer_slack_us: Option<u64>,
    /// Open loop: how late the generator's timer actually woke for the measured operations it
    /// slept for (microseconds; `latency_us` holds its percentiles), to hold against
    /// `timer_slack_us`. Operations already due when their connection got to them are not in
    /// it: that is `schedule_lag_us`. Documents written before it have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer_lateness: Option<Block>,
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
    /// `--shard I/N`: this document is one generator's share of a run (`connections` and `rate`
    /// above are the whole run's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardBlock>,
    /// When measurement began on the wall clock (RFC 3339, UTC): shards of one run measure over
    /// the same window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_from: Option<String>,
    /// `merge`: this document is the run of several shards merged (`connections` and `rate`
    /// are the whole run's, as in each shard's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<MergedBlock>,
    /// The connection phase before warm-up and measurement: every connection opened first
    /// (all but a REST scenario's and a broadcast's, which has phases of its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_phase: Option<ConnectPhase>,
}

/// The connection phase: this generator's connections opened before warm-up (a WebSocket's
/// handshake done, an SSE subscription's head checked), at most `concurrency` at once, their
/// openings spread over `ramp_s`; warm-up and measurement start when every one is open or has
/// failed. A connection that failed here is opened again when the run starts (each failure
/// then a `connect: ...` error of the run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectPhase {
    /// Connections this generator opened (its shard's share of `connections`).
    pub connections: usize,
    /// Opened.
    pub established: usize,
    /// Never opened in the phase (`connections - established`).
    pub failed: usize,
    /// The failures by kind (`timeout`, `connection refused`, `/connect: different handshake
    /// status, got 503`).
    pub failed_by_kind: BTreeMap<String, u64>,
    /// Openings in flight at once, at most (`--connect-concurrency`).
    pub concurrency: usize,
    /// Openings spread over this time (`--ramp`; 0: as fast as `concurrency` allows).
    pub ramp_s: f64,
    /// From the first opening to the last one's end, milliseconds.
    pub duration_ms: f64,
    /// Time to open each established connection (TCP, TLS, the WebSocket handshake or the SSE
    /// reply's head), microseconds; `null` when none was.
    pub handshake_us: Option<Percentiles>,
}

/// One shard of a run split over several generators.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardBlock {
    /// This shard, from 0.
    pub index: usize,
    /// How many shards the run has.
    pub count: usize,
    /// The run's id, shared by its shards (`--run-id`, else the `--start-at` time).
    pub run_id: String,
    /// The connections this shard opened (connection `g` of the run is shard `g mod count`'s).
    pub connections: usize,
}

/// The `merged` block of a merged document: the run and what each shard contributed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergedBlock {
    /// The run's id, shared by its shards.
    pub run_id: String,
    /// How many shards were merged (all of the run's).
    pub count: usize,
    /// The common measured window: from the latest shard's start (RFC 3339, UTC), seconds long.
    pub common_window_s: f64,
    /// Each shard's contribution, by index.
    pub shards: Vec<ShardContribution>,
    /// Blocks of the shards that could not be merged exactly and were left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_merged: Vec<String>,
}

/// One shard's part of a merged run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardContribution {
    /// The shard, from 0.
    pub index: usize,
    /// The document it came from.
    pub source: String,
    /// Connections it opened.
    pub connections: usize,
    /// When its measurement began (RFC 3339, UTC).
    pub measured_from: String,
    /// Its operations, errors, throughput and latency.
    pub summary: Summary,
    /// Open loop: how far it fell behind its schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_lag_us: Option<ScheduleLag>,
    /// Its generator's peak resident memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harness_peak_rss_bytes: Option<u64>,
    /// The runner's resources as this shard sampled them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner_resources: Option<RunnerResources>,
    /// Why this shard is called out as behind (a generator problem), if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behind: Option<String>,
}

fn http_1_1() -> String {
    "1.1".into()
}

fn one() -> usize {
    1
}

/// The summary block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// One step of a REST scenario under load: what it sends, and its time in the runs that passed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepBlock {
    /// The step's index in `steps`.
    pub step: usize,
    /// The step's `name`, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Method and path as the fixture writes them (`{{NAME}}` not substituted).
    pub request: String,
    /// Its time (from building the request to the reply's last byte), as a block.
    #[serde(flatten)]
    pub time: Block,
}

/// The subscription items of a JSON-RPC conversation under load.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ItemsBlock {
    /// Items received and checked in the measured window.
    pub received: u64,
    /// The `params` field holding the server's send time (Unix microseconds), when the
    /// fixture's handler names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_field: Option<String>,
    /// Delivery latency (receive time minus the item's timestamp, same machine): `count` is
    /// the items that carried one.
    #[serde(flatten)]
    pub delivery: Block,
}

/// When the bodies of successful REST replies came, counted from writing the request: a
/// server that streams sends the first byte early; one that buffers, with the last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BodyTiming {
    /// Replies timed.
    pub count: u64,
    /// Time to the body's first byte (the end of the head, for an empty body), microseconds;
    /// `null` when no reply was timed.
    pub first_byte_us: Option<Percentiles>,
    /// Time to the body's last byte, microseconds; `null` when no reply was timed.
    pub last_byte_us: Option<Percentiles>,
}

impl BodyTiming {
    /// The block of the two histograms (microseconds).
    pub fn of(first_byte: &Histogram<u64>, last_byte: &Histogram<u64>) -> BodyTiming {
        BodyTiming {
            count: first_byte.len(),
            first_byte_us: Percentiles::of(first_byte),
            last_byte_us: Percentiles::of(last_byte),
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

impl LoadResult {
    /// How the requests travelled when it was not HTTP/1.1: `HTTP/2, 10 streams per connection`.
    pub fn transport_note(&self) -> Option<String> {
        (self.http_version == "2")
            .then(|| format!("HTTP/2, {} streams per connection", self.streams))
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

/// How often a runner's processes are sampled.
pub const SAMPLE_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// One sample of a runner's process group.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ResourceSample {
    /// Seconds since measurement started.
    pub t_s: f64,
    /// CPU used since the previous sample, percent of one core (200 = two cores busy).
    pub cpu_percent: f64,
    /// Resident memory of every process of the group, summed.
    pub rss_bytes: u64,
}

/// Mean and largest value of a series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanMax<T> {
    /// Mean over the samples.
    pub mean: T,
    /// Largest sample.
    pub max: T,
}

/// The `runner_resources` block of a result document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunnerResources {
    /// The runner's process group.
    pub process_group: i32,
    /// Every sample, in order.
    pub samples: Vec<ResourceSample>,
    /// CPU percent (of one core), mean and max.
    pub cpu_percent: MeanMax<f64>,
    /// Resident memory, mean and max.
    pub rss_bytes: MeanMax<u64>,
}

impl RunnerResources {
    /// The block made of `samples` (zeros when there are none).
    pub fn new(process_group: i32, samples: Vec<ResourceSample>) -> RunnerResources {
        let n = samples.len().max(1) as f64;
        let round = |x: f64| (x * 10.0).round() / 10.0;
        let cpu_sum: f64 = samples.iter().map(|s| s.cpu_percent).sum();
        let rss_sum: f64 = samples.iter().map(|s| s.rss_bytes as f64).sum();
        RunnerResources {
            process_group,
            cpu_percent: MeanMax {
                mean: round(cpu_sum / n),
                max: samples.iter().map(|s| s.cpu_percent).fold(0.0, f64::max),
            },
            rss_bytes: MeanMax {
                mean: (rss_sum / n).round() as u64,
                max: samples.iter().map(|s| s.rss_bytes).max().unwrap_or(0),
            },
            samples,
        }
    }
}
