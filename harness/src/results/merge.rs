//! Shards of one run, merged into one result document (`merge`, and `report`/`compare` given
//! several shards): what one generator of the whole run would have written.
//!
//! The guarantees. Every histogram is added exactly (HdrHistogram addition: the merged
//! histogram holds every recorded value of every shard, so its counts, minimum, maximum and
//! every percentile are those of one histogram of all the operations, to the histogram's
//! precision; no sketch, no rounding of buckets). Operations, errors, errors by kind and
//! unfinished operations are summed; throughput is the successful operations of all shards
//! per second of the measured window, which the shards share (their windows must overlap by at
//! least [`MIN_OVERLAP`] of its length); schedule lag is the worst shard's, unsent operations
//! the sum. What a shard measured about its own machine (its peak memory, a runner's
//! resources) is not added: it stays per shard, in `merged.shards`. A REST body-timing block
//! has percentiles without histograms, so it cannot be merged exactly and is left out (said in
//! `merged.not_merged`).
//!
//! Refused, naming the files: documents that are not shards, shards of different run ids,
//! fixtures or configurations, a shard missing or given twice, and windows that do not overlap
//! enough to be one run. Pure: the caller reads the files.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use serde_json::Value;
use std::path::PathBuf;

use super::hdr::{HistogramError, decode, encode};
use super::load::{
    Block, ConnectPhase, ItemsBlock, LoadResult, MergedBlock, Percentiles, ScheduleLag,
    ShardContribution, StepBlock, Summary,
};

/// The share of the measured window that every two shards must have in common.
pub const MIN_OVERLAP: f64 = 0.95;

/// An open-loop shard that left more than this share of its due operations unsent fell
/// behind its schedule: a generator problem, called out.
pub const BEHIND_UNSENT_SHARE: f64 = 0.01;

/// A closed-loop shard whose throughput per connection is under this share of the median
/// shard's is called out as behind the others.
pub const BEHIND_THROUGHPUT_SHARE: f64 = 0.5;

/// Why shards cannot be merged into one run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no shard documents given")]
    Nothing,
    /// A document without a shard block.
    #[error("{file}: not a shard (no `shard` block: written without --shard)")]
    NotAShard {
        /// The file.
        file: String,
    },
    /// Two shards differ in what makes a run one run.
    #[error("{first} and {second} are not shards of one run: different {what} ({a} and {b})")]
    Different {
        /// What differs (`run id`, `fixture`, `rate`, ...).
        what: &'static str,
        /// The first file.
        first: String,
        /// The second file.
        second: String,
        /// The first file's value.
        a: String,
        /// The second file's value.
        b: String,
    },
    /// A shard given twice.
    #[error("shard {index}/{count} of run {run_id} given twice: {first} and {second}")]
    Duplicate {
        /// The shard.
        index: usize,
        /// Shards in the run.
        count: usize,
        /// The run.
        run_id: String,
        /// The first file.
        first: String,
        /// The second file.
        second: String,
    },
    /// Shards missing.
    #[error(
        "run {run_id} has {count} shards and shard{} {} {} missing (given: {given})",
        if missing.len() == 1 { "" } else { "s" },
        missing.iter().map(|i| format!("{i}/{count}")).collect::<Vec<_>>().join(", "),
        if missing.len() == 1 { "is" } else { "are" }
    )]
    Missing {
        /// The run.
        run_id: String,
        /// Shards in the run.
        count: usize,
        /// The indexes not given.
        missing: Vec<usize>,
        /// The files given.
        given: String,
    },
    /// Measured windows too far apart.
    #[error(
        "{first} and {second} measured over windows {overlap:.3} s in common of {duration:.3} s \
         (at least {}% needed to be one run): they did not start together (--start-at)",
        MIN_OVERLAP * 100.0
    )]
    WindowsApart {
        /// The first file.
        first: String,
        /// The second file.
        second: String,
        /// Seconds in common.
        overlap: f64,
        /// The measured duration.
        duration: f64,
    },
    /// A shard's `measured_from` is missing or not RFC 3339.
    #[error("{file}: #/measured_from: {problem}")]
    Window {
        /// The file.
        file: String,
        /// What is wrong.
        problem: String,
    },
    /// A shard document that does not have the result document's shape.
    #[error("{file}: #{pointer}: {problem}")]
    Shape {
        /// The file.
        file: String,
        /// Where.
        pointer: String,
        /// What does not fit.
        problem: String,
    },
    /// A histogram does not decode or cannot be added.
    #[error("{file}: #{pointer}: {problem}")]
    Histogram {
        /// The file.
        file: String,
        /// Its JSON pointer.
        pointer: String,
        /// What is wrong.
        problem: String,
    },
}

/// One shard document and where it came from.
pub struct ShardDocument {
    /// The file (as the error messages name it).
    pub source: String,
    /// The document.
    pub result: LoadResult,
}

/// Merges the shards of one run into the document one generator of the whole run would write.
pub fn merge(mut documents: Vec<ShardDocument>) -> Result<LoadResult, MergeError> {
    let first = documents.first().ok_or(MergeError::Nothing)?;
    for document in &documents {
        if document.result.shard.is_none() {
            return Err(MergeError::NotAShard {
                file: document.source.clone(),
            });
        }
    }
    for document in &documents[1..] {
        same_run(first, document)?;
    }
    documents.sort_by_key(|d| shard_of(d).index);
    complete(&documents)?;
    let window = common_window(&documents)?;
    let mut merged = documents[0].result.clone();
    let mut not_merged = Vec::new();
    add_figures(&mut merged, &documents, &mut not_merged)?;
    let contributions = contributions(&documents);
    let run = shard_of(&documents[0]);
    merged.shard = None;
    merged.harness_peak_rss_bytes = None;
    merged.runner_resources = None;
    merged.measured_from = Some(humantime::format_rfc3339_millis(window.0).to_string());
    merged.merged = Some(MergedBlock {
        run_id: run.run_id.clone(),
        count: run.count,
        common_window_s: round3(window.1.as_secs_f64()),
        shards: contributions,
        not_merged,
    });
    Ok(merged)
}

/// A document as read: its file and its JSON.
pub type Read = (PathBuf, Value);

/// Result documents as read, with the shards of each run (same run id and fixture) merged
/// into one document, in the place of the run's first shard; other documents as they are. The
/// error comes with the first file of the run that cannot be merged.
pub fn merge_runs(documents: Vec<Read>) -> Result<Vec<Read>, (PathBuf, Box<MergeError>)> {
    // Each place holds a document, or the index of a run (in `runs`) whose shards go there.
    let mut places: Vec<Result<Read, usize>> = Vec::with_capacity(documents.len());
    let mut runs: Vec<Vec<ShardDocument>> = Vec::new();
    let mut run_index: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (path, value) in documents {
        let Some(run) = run_of(&value) else {
            places.push(Ok((path, value)));
            continue;
        };
        let shard = shard_document(&path, value).map_err(|e| (path.clone(), Box::new(e)))?;
        let index = *run_index.entry(run).or_insert_with(|| {
            places.push(Err(runs.len()));
            runs.push(Vec::new());
            runs.len() - 1
        });
        runs[index].push(shard);
    }
    let mut merged: Vec<Option<Read>> = Vec::with_capacity(runs.len());
    for shards in runs {
        let path = PathBuf::from(&shards[0].source);
        let result = merge(shards).map_err(|e| (path.clone(), Box::new(e)))?;
        let value = serde_json::to_value(&result).map_err(|e| {
            let problem = MergeError::Shape {
                file: path.display().to_string(),
                pointer: String::new(),
                problem: e.to_string(),
            };
            (path.clone(), Box::new(problem))
        })?;
        merged.push(Some((path, value)));
    }
    Ok(places
        .into_iter()
        .filter_map(|place| match place {
            Ok(document) => Some(document),
            Err(run) => merged[run].take(),
        })
        .collect())
}

/// A load result's run id and fixture, when it is a shard.
fn run_of(value: &Value) -> Option<(String, String)> {
    value.pointer("/summary/throughput_per_s")?;
    let run_id = value.pointer("/shard/run_id")?.as_str()?;
    let fixture = value.get("fixture")?.as_str()?;
    Some((run_id.to_string(), fixture.to_string()))
}

/// A shard read from `path`, or where it does not have the result document's shape.
pub fn shard_document(path: &std::path::Path, value: Value) -> Result<ShardDocument, MergeError> {
    let source = path.display().to_string();
    match serde_path_to_error::deserialize::<_, LoadResult>(value) {
        Ok(result) => Ok(ShardDocument { source, result }),
        Err(e) => {
            let pointer: String = e
                .path()
                .iter()
                .map(|segment| format!("/{segment}"))
                .collect();
            Err(MergeError::Shape {
                file: source,
                pointer,
                problem: e.into_inner().to_string(),
            })
        }
    }
}

fn shard_of(document: &ShardDocument) -> &super::load::ShardBlock {
    document
        .result
        .shard
        .as_ref()
        .expect("merge checks that every document is a shard")
}

/// Refuses `b` unless it is a shard of `a`'s run: same run id and shard count, fixture,
/// command, target and load configuration.
fn same_run(a: &ShardDocument, b: &ShardDocument) -> Result<(), MergeError> {
    let (x, y) = (&a.result, &b.result);
    let (sx, sy) = (shard_of(a), shard_of(b));
    let differs = |what: &'static str, va: String, vb: String| -> Result<(), MergeError> {
        if va == vb {
            Ok(())
        } else {
            Err(MergeError::Different {
                what,
                first: a.source.clone(),
                second: b.source.clone(),
                a: va,
                b: vb,
            })
        }
    };
    differs("run id", sx.run_id.clone(), sy.run_id.clone())?;
    differs("fixture", x.fixture.clone(), y.fixture.clone())?;
    differs("shard count", sx.count.to_string(), sy.count.to_string())?;
    differs("command", x.command.clone(), y.command.clone())?;
    differs("target", x.target.url.clone(), y.target.url.clone())?;
    differs("mode", x.mode.clone(), y.mode.clone())?;
    differs(
        "connections",
        x.connections.to_string(),
        y.connections.to_string(),
    )?;
    differs("rate", format!("{:?}", x.rate), format!("{:?}", y.rate))?;
    differs("duration", secs(x.duration_s), secs(y.duration_s))?;
    differs("warmup", secs(x.warmup_s), secs(y.warmup_s))?;
    differs(
        "HTTP version",
        x.http_version.clone(),
        y.http_version.clone(),
    )?;
    differs("streams", x.streams.to_string(), y.streams.to_string())
}

fn secs(s: f64) -> String {
    format!("{s} s")
}

/// Refuses a shard given twice or missing (documents sorted by index).
fn complete(documents: &[ShardDocument]) -> Result<(), MergeError> {
    let run = shard_of(&documents[0]);
    for pair in documents.windows(2) {
        if shard_of(&pair[0]).index == shard_of(&pair[1]).index {
            return Err(MergeError::Duplicate {
                index: shard_of(&pair[0]).index,
                count: run.count,
                run_id: run.run_id.clone(),
                first: pair[0].source.clone(),
                second: pair[1].source.clone(),
            });
        }
    }
    let given: Vec<usize> = documents.iter().map(|d| shard_of(d).index).collect();
    let missing: Vec<usize> = (0..run.count).filter(|i| !given.contains(i)).collect();
    // An index out of 0..count is a shard of no run of `count` shards.
    let stray = given.iter().any(|&i| i >= run.count);
    if !missing.is_empty() || stray {
        return Err(MergeError::Missing {
            run_id: run.run_id.clone(),
            count: run.count,
            missing,
            given: documents
                .iter()
                .map(|d| format!("{} ({}/{})", d.source, shard_of(d).index, run.count))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(())
}

/// The window every shard measured in: from the latest start to the earliest end. Refused when
/// two shards have less than [`MIN_OVERLAP`] of the duration in common.
fn common_window(documents: &[ShardDocument]) -> Result<(SystemTime, Duration), MergeError> {
    let duration = Duration::from_secs_f64(documents[0].result.duration_s.max(0.0));
    let mut starts = Vec::with_capacity(documents.len());
    for document in documents {
        let text = document
            .result
            .measured_from
            .as_deref()
            .ok_or_else(|| MergeError::Window {
                file: document.source.clone(),
                problem: "missing (written before shards had windows)".into(),
            })?;
        let start = humantime::parse_rfc3339_weak(text).map_err(|e| MergeError::Window {
            file: document.source.clone(),
            problem: format!("{text:?}: {e}"),
        })?;
        starts.push(start);
    }
    let earliest = (0..starts.len()).min_by_key(|&i| starts[i]).unwrap_or(0);
    let latest = (0..starts.len()).max_by_key(|&i| starts[i]).unwrap_or(0);
    let apart = starts[latest]
        .duration_since(starts[earliest])
        .unwrap_or_default();
    let overlap = duration.saturating_sub(apart);
    if overlap.as_secs_f64() < MIN_OVERLAP * duration.as_secs_f64() {
        return Err(MergeError::WindowsApart {
            first: documents[earliest].source.clone(),
            second: documents[latest].source.clone(),
            overlap: overlap.as_secs_f64(),
            duration: duration.as_secs_f64(),
        });
    }
    Ok((starts[latest], overlap))
}

/// Adds every shard's figures into `merged` (a copy of shard 0).
fn add_figures(
    merged: &mut LoadResult,
    documents: &[ShardDocument],
    not_merged: &mut Vec<String>,
) -> Result<(), MergeError> {
    let results: Vec<(&str, &LoadResult)> = documents
        .iter()
        .map(|d| (d.source.as_str(), &d.result))
        .collect();
    let main = add_histograms(&results, "/histogram", |r| Some(&r.histogram))?;
    let operations: u64 = results.iter().map(|(_, r)| r.summary.operations).sum();
    let errors: u64 = results.iter().map(|(_, r)| r.summary.errors).sum();
    let per_second = |count: u64| {
        if merged.duration_s > 0.0 {
            (count as f64 / merged.duration_s * 10.0).round() / 10.0
        } else {
            0.0
        }
    };
    merged.summary = Summary {
        operations,
        errors,
        throughput_per_s: per_second(operations - errors.min(operations)),
        failed_per_s: per_second(errors),
        latency_us: Percentiles::of(&main),
        unfinished: results.iter().map(|(_, r)| r.summary.unfinished).sum(),
    };
    merged.histogram = encode(&main);
    merged.errors_by_kind = BTreeMap::new();
    for (_, r) in &results {
        for (kind, count) in &r.errors_by_kind {
            *merged.errors_by_kind.entry(kind.clone()).or_default() += count;
        }
    }
    merged.failed_latency = add_block(&results, "/failed_latency", |r| r.failed_latency.as_ref())?;
    merged.connect = add_block(&results, "/connect", |r| r.connect.as_ref())?;
    merged.first_event = add_block(&results, "/first_event", |r| r.first_event.as_ref())?;
    merged.event_gap = add_block(&results, "/event_gap", |r| r.event_gap.as_ref())?;
    merged.timer_lateness = add_block(&results, "/timer_lateness", |r| r.timer_lateness.as_ref())?;
    merged.schedule_lag_us = add_lag(&results);
    merged.steps = add_steps(&results)?;
    merged.subscription_items = add_items(&results)?;
    merged.connect_phase = add_connect_phases(&results, not_merged);
    if merged.body_timing.is_some() {
        merged.body_timing = None;
        not_merged.push(
            "body_timing (percentiles without histograms: each shard's is in its own document)"
                .into(),
        );
    }
    Ok(())
}

/// The sum of a histogram over the shards that have it.
fn add_histograms<'a>(
    results: &[(&str, &'a LoadResult)],
    pointer: &str,
    text: impl Fn(&'a LoadResult) -> Option<&'a String>,
) -> Result<Histogram<u64>, MergeError> {
    let mut sum: Option<Histogram<u64>> = None;
    for (file, result) in results {
        let Some(text) = text(result) else { continue };
        let problem = |problem: String| MergeError::Histogram {
            file: (*file).to_string(),
            pointer: pointer.to_string(),
            problem,
        };
        let histogram = decode(text).map_err(|e: HistogramError| problem(e.to_string()))?;
        match &mut sum {
            None => {
                let mut first = histogram;
                first.auto(true);
                sum = Some(first);
            }
            Some(total) => total
                .add(&histogram)
                .map_err(|e| problem(format!("{e:?}")))?,
        }
    }
    match sum {
        Some(sum) => Ok(sum),
        None => Histogram::new(3).map_err(|e| MergeError::Histogram {
            file: String::new(),
            pointer: pointer.to_string(),
            problem: format!("{e:?}"),
        }),
    }
}

/// The sum of an optional block, `None` when no shard has it.
fn add_block<'a>(
    results: &[(&str, &'a LoadResult)],
    pointer: &str,
    block: impl Fn(&'a LoadResult) -> Option<&'a Block>,
) -> Result<Option<Block>, MergeError> {
    if results.iter().all(|(_, r)| block(r).is_none()) {
        return Ok(None);
    }
    let histogram = add_histograms(results, &format!("{pointer}/histogram"), |r| {
        block(r).map(|b| &b.histogram)
    })?;
    Ok(Some(Block::of(&histogram)))
}

/// The shards' connection phases: counts and failures by kind summed, the longest phase; the
/// opening-time percentiles cannot be added (no histogram: a WebSocket's handshakes are in the
/// `connect` block, which is).
fn add_connect_phases(
    results: &[(&str, &LoadResult)],
    not_merged: &mut Vec<String>,
) -> Option<ConnectPhase> {
    let phases: Vec<&ConnectPhase> = results
        .iter()
        .filter_map(|(_, r)| r.connect_phase.as_ref())
        .collect();
    let first = *phases.first()?;
    let mut failed_by_kind = BTreeMap::new();
    for phase in &phases {
        for (kind, count) in &phase.failed_by_kind {
            *failed_by_kind.entry(kind.clone()).or_default() += count;
        }
    }
    if phases.iter().any(|p| p.handshake_us.is_some()) {
        not_merged.push(
            "connect_phase.handshake_us (percentiles without a histogram: each shard's is in its \
             own document)"
                .into(),
        );
    }
    Some(ConnectPhase {
        connections: phases.iter().map(|p| p.connections).sum(),
        established: phases.iter().map(|p| p.established).sum(),
        failed: phases.iter().map(|p| p.failed).sum(),
        failed_by_kind,
        concurrency: first.concurrency,
        ramp_s: first.ramp_s,
        duration_ms: phases.iter().map(|p| p.duration_ms).fold(0.0, f64::max),
        handshake_us: None,
    })
}

/// The worst lag, the unsent operations of all shards.
fn add_lag(results: &[(&str, &LoadResult)]) -> Option<ScheduleLag> {
    let lags: Vec<ScheduleLag> = results
        .iter()
        .filter_map(|(_, r)| r.schedule_lag_us)
        .collect();
    (!lags.is_empty()).then(|| ScheduleLag {
        max: lags.iter().map(|l| l.max).max().unwrap_or(0),
        final_: lags.iter().map(|l| l.final_).max().unwrap_or(0),
        unsent_operations: lags.iter().map(|l| l.unsent_operations).sum(),
    })
}

/// A scenario's steps, each step's histogram added over the shards.
fn add_steps(results: &[(&str, &LoadResult)]) -> Result<Option<Vec<StepBlock>>, MergeError> {
    let Some(first) = results[0].1.steps.as_ref() else {
        return Ok(None);
    };
    let mut steps = Vec::with_capacity(first.len());
    for (i, step) in first.iter().enumerate() {
        let time = add_block(results, &format!("/steps/{i}"), |r| {
            r.steps.as_ref().and_then(|s| s.get(i)).map(|s| &s.time)
        })?
        .unwrap_or_else(|| step.time.clone());
        steps.push(StepBlock {
            time,
            ..step.clone()
        });
    }
    Ok(Some(steps))
}

/// Subscription items: received summed, delivery histograms added.
fn add_items(results: &[(&str, &LoadResult)]) -> Result<Option<ItemsBlock>, MergeError> {
    let Some(first) = results[0].1.subscription_items.as_ref() else {
        return Ok(None);
    };
    let delivery = add_block(results, "/subscription_items", |r| {
        r.subscription_items.as_ref().map(|i| &i.delivery)
    })?
    .unwrap_or_else(|| first.delivery.clone());
    Ok(Some(ItemsBlock {
        received: results
            .iter()
            .filter_map(|(_, r)| r.subscription_items.as_ref())
            .map(|i| i.received)
            .sum(),
        timestamp_field: first.timestamp_field.clone(),
        delivery,
    }))
}

/// Each shard's part, with the shards behind called out.
fn contributions(documents: &[ShardDocument]) -> Vec<ShardContribution> {
    let per_connection: Vec<f64> = documents
        .iter()
        .map(|d| d.result.summary.throughput_per_s / shard_of(d).connections.max(1) as f64)
        .collect();
    let mut sorted = per_connection.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    documents
        .iter()
        .zip(&per_connection)
        .map(|(d, &mine)| {
            let r = &d.result;
            ShardContribution {
                index: shard_of(d).index,
                source: d.source.clone(),
                connections: shard_of(d).connections,
                measured_from: r.measured_from.clone().unwrap_or_default(),
                summary: r.summary.clone(),
                schedule_lag_us: r.schedule_lag_us,
                harness_peak_rss_bytes: r.harness_peak_rss_bytes,
                runner_resources: r.runner_resources.clone(),
                behind: behind(r, mine, median),
            }
        })
        .collect()
}

/// Why a shard is behind: in open loop, operations it owed and never sent; in closed loop, a
/// throughput per connection far under the median shard's.
fn behind(result: &LoadResult, per_connection: f64, median: f64) -> Option<String> {
    if let Some(lag) = result.schedule_lag_us {
        let due = result.summary.operations + lag.unsent_operations;
        let share = lag.unsent_operations as f64 / due.max(1) as f64;
        return (share > BEHIND_UNSENT_SHARE).then(|| {
            format!(
                "{} of its {} due operations never sent ({:.1}%), {} ms behind schedule at the \
                 end: the generator could not keep its rate",
                lag.unsent_operations,
                due,
                share * 100.0,
                lag.final_ / 1000
            )
        });
    }
    (median > 0.0 && per_connection < BEHIND_THROUGHPUT_SHARE * median).then(|| {
        format!(
            "{per_connection:.1} operations/s per connection, under {:.0}% of the median shard's \
             {median:.1}: its generator or its path to the server is slower",
            BEHIND_THROUGHPUT_SHARE * 100.0
        )
    })
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Latencies from a small deterministic generator (spread over four decades).
    fn latencies(seed: u64, count: usize) -> Vec<u64> {
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..count)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let decade = 10u64.pow(((x >> 60) % 4) as u32 + 1);
                decade + (x >> 33) % (decade * 9)
            })
            .collect()
    }

    fn histogram_of(values: &[u64]) -> Histogram<u64> {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for &v in values {
            h.record(v).unwrap();
        }
        h
    }

    /// Shard `index` of `count` of run `run`, with these latencies and errors.
    fn shard(index: usize, count: usize, values: &[u64], errors: u64) -> ShardDocument {
        let h = histogram_of(values);
        let value = json!({
            "command": "bench", "fixture": "bench-hello", "protocol": "rest",
            "target": {"name": "url-127.0.0.1-8080", "kind": "url", "url": "http://127.0.0.1:8080"},
            "mode": "open", "connections": 8, "rate": 1000.0, "duration_s": 10.0, "warmup_s": 1.0,
            "summary": {
                "operations": values.len() as u64 + errors, "errors": errors,
                "throughput_per_s": values.len() as f64 / 10.0, "failed_per_s": errors as f64 / 10.0,
                "latency_us": Percentiles::of(&h), "unfinished": 1
            },
            "histogram": encode(&h),
            "errors_by_kind": if errors > 0 { json!({"timeout": errors}) } else { json!({}) },
            "schedule_lag_us": {"max": 900, "final": 0, "unsent_operations": 0},
            "timer_slack_us": 100,
            "timer_lateness": {"count": h.len(), "latency_us": Percentiles::of(&h), "histogram": encode(&h)},
            "harness_peak_rss_bytes": 1000 + index as u64,
            "shard": {"index": index, "count": count, "run_id": "r1", "connections": 8 / count},
            "measured_from": "2026-12-04T17:00:01.000Z"
        });
        ShardDocument {
            source: format!("shard-{index}.json"),
            result: serde_json::from_value(value).unwrap(),
        }
    }

    fn three_shards() -> (Vec<ShardDocument>, Vec<u64>) {
        let parts: Vec<Vec<u64>> = (0..3)
            .map(|i| latencies(i, 5000 + 700 * i as usize))
            .collect();
        let all = parts.concat();
        let shards = parts
            .iter()
            .enumerate()
            .map(|(i, v)| shard(i, 3, v, i as u64))
            .collect();
        (shards, all)
    }

    #[test]
    fn the_merged_histogram_is_one_histogram_of_every_operation() {
        let (shards, all) = three_shards();
        let merged = merge(shards).unwrap();
        let one = histogram_of(&all);
        let got = decode(&merged.histogram).unwrap();
        assert_eq!(got.len(), one.len());
        assert_eq!((got.min(), got.max()), (one.min(), one.max()));
        for per_mille in 0..=1000 {
            let q = per_mille as f64 / 1000.0;
            assert_eq!(got.value_at_quantile(q), one.value_at_quantile(q), "at {q}");
        }
        let counts = |h: &Histogram<u64>| -> Vec<(u64, u64)> {
            h.iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect()
        };
        assert_eq!(counts(&got), counts(&one));
        assert_eq!(merged.summary.latency_us, Percentiles::of(&one));
        // Every block with a histogram is added the same way: the pacer's lateness here.
        let lateness = merged.timer_lateness.as_ref().unwrap();
        assert_eq!(lateness.count, one.len());
        assert_eq!(lateness.latency_us, Percentiles::of(&one));
        assert_eq!(merged.summary.operations, all.len() as u64 + 3);
        assert_eq!(merged.summary.errors, 3);
        assert_eq!(merged.summary.unfinished, 3);
        assert_eq!(merged.errors_by_kind["timeout"], 3);
        assert_eq!(merged.summary.throughput_per_s, all.len() as f64 / 10.0);
        let block = merged.merged.as_ref().unwrap();
        assert_eq!((block.count, block.run_id.as_str()), (3, "r1"));
        assert_eq!(block.shards.len(), 3);
        assert_eq!(block.shards[2].harness_peak_rss_bytes, Some(1002));
        assert!(block.shards.iter().all(|s| s.behind.is_none()));
        assert!(merged.shard.is_none() && merged.harness_peak_rss_bytes.is_none());
    }

    #[test]
    fn connection_phases_are_summed_and_their_percentiles_said_not_merged() {
        let (mut shards, _) = three_shards();
        for (i, s) in shards.iter_mut().enumerate() {
            s.result.connect_phase = Some(ConnectPhase {
                connections: 3,
                established: 3 - i.min(1),
                failed: i.min(1),
                failed_by_kind: if i > 0 {
                    BTreeMap::from([("timeout".to_string(), 1)])
                } else {
                    BTreeMap::new()
                },
                concurrency: 64,
                ramp_s: 0.0,
                duration_ms: 100.0 * (i + 1) as f64,
                handshake_us: Percentiles::of(&histogram_of(&[100, 200])),
            });
        }
        let merged = merge(shards).unwrap();
        let phase = merged.connect_phase.unwrap();
        assert_eq!(
            (phase.connections, phase.established, phase.failed),
            (9, 7, 2)
        );
        assert_eq!(phase.failed_by_kind["timeout"], 2);
        assert_eq!(phase.duration_ms, 300.0);
        assert!(phase.handshake_us.is_none());
        assert!(merged.merged.unwrap().not_merged[0].starts_with("connect_phase.handshake_us"));
    }

    #[test]
    fn shards_in_any_order_merge_alike() {
        let (mut shards, _) = three_shards();
        shards.reverse();
        let reversed = merge(shards).unwrap();
        let (shards, _) = three_shards();
        let ordered = merge(shards).unwrap();
        assert_eq!(reversed.histogram, ordered.histogram);
        assert_eq!(reversed.merged, ordered.merged);
    }

    #[test]
    fn a_shard_that_left_operations_unsent_is_called_out() {
        let (mut shards, _) = three_shards();
        shards[1].result.schedule_lag_us = Some(ScheduleLag {
            max: 2_000_000,
            final_: 1_500_000,
            unsent_operations: 400,
        });
        let merged = merge(shards).unwrap();
        let block = merged.merged.unwrap();
        let why = block.shards[1].behind.as_deref().unwrap();
        assert!(
            why.contains("400 of its") && why.contains("1500 ms behind"),
            "{why}"
        );
        assert!(block.shards[0].behind.is_none());
        assert_eq!(merged.schedule_lag_us.unwrap().unsent_operations, 400);
        assert_eq!(merged.schedule_lag_us.unwrap().max, 2_000_000);
    }

    #[test]
    fn a_closed_loop_shard_far_below_the_others_is_called_out() {
        let (mut shards, _) = three_shards();
        for s in &mut shards {
            s.result.schedule_lag_us = None;
            s.result.mode = "closed".into();
            s.result.rate = None;
        }
        shards[0].result.summary.throughput_per_s = 10.0;
        let block = merge(shards).unwrap().merged.unwrap();
        assert!(
            block.shards[0]
                .behind
                .as_deref()
                .unwrap()
                .contains("median")
        );
        assert!(block.shards[1].behind.is_none());
    }

    fn refused(shards: Vec<ShardDocument>) -> String {
        merge(shards).unwrap_err().to_string()
    }

    #[test]
    fn documents_that_are_not_one_run_are_refused_naming_the_files() {
        let (mut shards, _) = three_shards();
        shards[1].result.shard = None;
        assert_eq!(
            refused(shards),
            "shard-1.json: not a shard (no `shard` block: written without --shard)"
        );
        type Change = fn(&mut LoadResult);
        let cases: [(&str, Change); 6] = [
            ("run id (r1 and r2)", |r| {
                r.shard.as_mut().unwrap().run_id = "r2".into()
            }),
            ("fixture (bench-hello and other)", |r| {
                r.fixture = "other".into()
            }),
            ("rate (Some(1000.0) and Some(2000.0))", |r| {
                r.rate = Some(2000.0)
            }),
            ("connections (8 and 9)", |r| r.connections = 9),
            ("duration (10 s and 20 s)", |r| r.duration_s = 20.0),
            ("target (http://127.0.0.1:8080 and http://10.0.0.1)", |r| {
                r.target.url = "http://10.0.0.1".into()
            }),
        ];
        for (what, change) in cases {
            let (mut shards, _) = three_shards();
            change(&mut shards[2].result);
            assert_eq!(
                refused(shards),
                format!(
                    "shard-0.json and shard-2.json are not shards of one run: different {what}"
                )
            );
        }
    }

    #[test]
    fn a_missing_or_repeated_shard_is_refused() {
        let (mut shards, _) = three_shards();
        shards.remove(1);
        assert_eq!(
            refused(shards),
            "run r1 has 3 shards and shard 1/3 is missing \
             (given: shard-0.json (0/3), shard-2.json (2/3))"
        );
        let (mut shards, _) = three_shards();
        let again = shard(1, 3, &latencies(9, 10), 0);
        shards.push(ShardDocument {
            source: "copy.json".into(),
            ..again
        });
        assert_eq!(
            refused(shards),
            "shard 1/3 of run r1 given twice: shard-1.json and copy.json"
        );
        assert_eq!(merge(Vec::new()).unwrap_err(), MergeError::Nothing);
    }

    #[test]
    fn windows_too_far_apart_are_refused_and_a_small_skew_is_not() {
        let (mut shards, _) = three_shards();
        // 0.4 s of 10 s apart: 96% in common.
        shards[1].result.measured_from = Some("2026-12-04T17:00:01.400Z".into());
        let merged = merge(shards).unwrap();
        let block = merged.merged.unwrap();
        assert_eq!(block.common_window_s, 9.6);
        assert_eq!(
            merged.measured_from.as_deref(),
            Some("2026-12-04T17:00:01.400Z")
        );
        let (mut shards, _) = three_shards();
        shards[2].result.measured_from = Some("2026-12-04T17:00:03.000Z".into());
        assert_eq!(
            refused(shards),
            "shard-0.json and shard-2.json measured over windows 8.000 s in common of 10.000 s \
             (at least 95% needed to be one run): they did not start together (--start-at)"
        );
        let (mut shards, _) = three_shards();
        shards[0].result.measured_from = None;
        assert!(refused(shards).starts_with("shard-0.json: #/measured_from: missing"));
    }

    #[test]
    fn a_histogram_that_does_not_decode_is_named() {
        let (mut shards, _) = three_shards();
        shards[1].result.histogram = "not base64!".into();
        assert!(refused(shards).starts_with("shard-1.json: #/histogram: "));
    }

    #[test]
    fn reading_merges_each_run_in_place_and_keeps_other_documents() {
        let (shards, _) = three_shards();
        let mut read: Vec<Read> = vec![(PathBuf::from("matrix.json"), json!({"runners": []}))];
        for s in shards {
            read.push((
                PathBuf::from(&s.source),
                serde_json::to_value(&s.result).unwrap(),
            ));
        }
        read.push((PathBuf::from("other.json"), json!({"fixtures": []})));
        let out = merge_runs(read).unwrap();
        let names: Vec<_> = out.iter().map(|(p, _)| p.display().to_string()).collect();
        assert_eq!(names, ["matrix.json", "shard-0.json", "other.json"]);
        assert_eq!(out[1].1["merged"]["count"], 3);
        assert!(out[1].1.get("shard").is_none());
    }
}
