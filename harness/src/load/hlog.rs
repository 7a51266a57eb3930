//! Per-second latency histograms of a run and the HdrHistogram interval log (`--hlog`) made of
//! them, readable by the standard HdrHistogram tools (HistogramLogProcessor, HdrHistogram
//! plotters). Seconds a few seconds old are kept compressed, so a long run stays small.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, IntervalLogWriterError};
use hdrhistogram::serialization::{Serializer, V2DeflateSerializeError, V2DeflateSerializer};

use super::recorder::IntervalReport;
use crate::results::hdr::{HistogramError, decode_bytes};

/// Why the interval log could not be made (the caller names the file it was for).
#[derive(Debug, thiserror::Error)]
pub enum IntervalLogError {
    /// The log's header could not be written.
    #[error("{0}")]
    Begin(std::io::Error),
    /// A second kept compressed does not decode.
    #[error("{source}")]
    Decode {
        /// The second, counted from the start of measurement.
        second: u64,
        /// Why.
        source: HistogramError,
    },
    /// A second's histogram could not be written.
    #[error("{source:?}")]
    Write {
        /// The second, counted from the start of measurement.
        second: u64,
        /// Why.
        source: IntervalLogWriterError<V2DeflateSerializeError>,
    },
    /// The log is not UTF-8.
    #[error("{0}")]
    NotUtf8(std::string::FromUtf8Error),
}

/// The log's column legend, as the Java `HistogramLogWriter` writes it.
const LEGEND: &str =
    "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"";

enum Slot {
    Open(Histogram<u64>),
    Sealed(Vec<u8>),
}

/// Latency histograms by second of measurement, merged over connections.
pub struct IntervalSeries {
    keep: bool,
    seconds: BTreeMap<u64, Slot>,
}

impl IntervalSeries {
    /// A series; with `keep` false, sealed seconds are dropped (only recent ones are needed).
    pub fn new(keep: bool) -> IntervalSeries {
        IntervalSeries {
            keep,
            seconds: BTreeMap::new(),
        }
    }

    /// Adds one connection's second.
    pub fn add(&mut self, report: IntervalReport) {
        let slot = self
            .seconds
            .entry(report.second)
            .or_insert_with(|| Slot::Open(Histogram::new_from(&report.latency)));
        if let Slot::Sealed(bytes) = slot {
            // A late report for a sealed second: open it again.
            let reopened =
                decode_bytes(bytes).unwrap_or_else(|_| Histogram::new_from(&report.latency));
            *slot = Slot::Open(reopened);
        }
        if let Slot::Open(histogram) = slot {
            let _ = histogram.add(&report.latency);
        }
    }

    /// The merged histogram of `second`, while it is not sealed.
    pub fn second(&self, second: u64) -> Option<&Histogram<u64>> {
        match self.seconds.get(&second) {
            Some(Slot::Open(histogram)) => Some(histogram),
            _ => None,
        }
    }

    /// Compresses (or, without `keep`, drops) every second before `second`.
    pub fn seal_before(&mut self, second: u64) {
        if !self.keep {
            self.seconds.retain(|s, _| *s >= second);
            return;
        }
        for (_, slot) in self.seconds.range_mut(..second) {
            if let Slot::Open(histogram) = slot {
                let mut bytes = Vec::new();
                if V2DeflateSerializer::new()
                    .serialize(histogram, &mut bytes)
                    .is_ok()
                {
                    *slot = Slot::Sealed(bytes);
                }
            }
        }
    }

    /// The interval log: one interval a second from `start` (the start of measurement), values
    /// in microseconds, the max column in milliseconds.
    pub fn interval_log(
        &self,
        start: SystemTime,
        comment: &str,
    ) -> Result<String, IntervalLogError> {
        let mut body = Vec::new();
        let mut serializer = V2DeflateSerializer::new();
        {
            let mut writer = IntervalLogWriterBuilder::new()
                .add_comment(comment)
                .add_comment("latency values in microseconds; Interval_Max in milliseconds")
                .with_start_time(start)
                .with_base_time(start)
                .with_max_value_divisor(1000.0)
                .begin_log_with(&mut body, &mut serializer)
                .map_err(IntervalLogError::Begin)?;
            for (second, slot) in &self.seconds {
                let sealed;
                let histogram = match slot {
                    Slot::Open(histogram) => histogram,
                    Slot::Sealed(bytes) => {
                        sealed =
                            decode_bytes(bytes).map_err(|source| IntervalLogError::Decode {
                                second: *second,
                                source,
                            })?;
                        &sealed
                    }
                };
                writer
                    .write_histogram(
                        histogram,
                        Duration::from_secs(*second),
                        Duration::from_secs(1),
                        None,
                    )
                    .map_err(|source| IntervalLogError::Write {
                        second: *second,
                        source,
                    })?;
            }
        }
        let text = String::from_utf8(body).map_err(IntervalLogError::NotUtf8)?;
        // The legend goes after the header comments, where the Java writer puts it.
        let mut out = String::with_capacity(text.len() + LEGEND.len() + 1);
        let mut legend_written = false;
        for line in text.lines() {
            if !legend_written && !line.starts_with('#') {
                out.push_str(LEGEND);
                out.push('\n');
                legend_written = true;
            }
            out.push_str(line);
            out.push('\n');
        }
        if !legend_written {
            out.push_str(LEGEND);
            out.push('\n');
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::recorder::histogram;
    use hdrhistogram::serialization::Deserializer;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

    fn report(second: u64, values: &[u64]) -> IntervalReport {
        let mut latency = histogram();
        for v in values {
            latency.record(*v).unwrap();
        }
        IntervalReport { second, latency }
    }

    #[test]
    fn the_log_has_one_interval_a_second_and_reads_back() {
        let mut series = IntervalSeries::new(true);
        series.add(report(0, &[100, 200]));
        series.add(report(0, &[300]));
        series.add(report(2, &[5000]));
        series.seal_before(2);
        // A late report for a sealed second is merged, not lost.
        series.add(report(0, &[400]));
        series.seal_before(3);
        assert!(series.second(0).is_none());
        let log = series
            .interval_log(
                SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
                "test",
            )
            .unwrap();
        assert!(log.contains("#[BaseTime: 1700000000.000"), "{log}");
        assert!(log.contains(LEGEND), "{log}");
        let mut intervals = Vec::new();
        for entry in IntervalLogIterator::new(log.as_bytes()) {
            if let LogEntry::Interval(interval) = entry.unwrap() {
                let bytes = base64::Engine::decode(
                    &base64::engine::general_purpose::STANDARD,
                    interval.encoded_histogram(),
                )
                .unwrap();
                let h: Histogram<u64> = Deserializer::new()
                    .deserialize(&mut bytes.as_slice())
                    .unwrap();
                intervals.push((
                    interval.start_timestamp().as_secs(),
                    h.len(),
                    interval.max(),
                ));
            }
        }
        assert_eq!(intervals.len(), 2);
        assert_eq!((intervals[0].0, intervals[0].1), (0, 4));
        assert_eq!((intervals[1].0, intervals[1].1), (2, 1));
        assert!((intervals[1].2 - 5.0).abs() < 0.01, "{intervals:?}");
    }

    #[test]
    fn without_keep_old_seconds_are_dropped() {
        let mut series = IntervalSeries::new(false);
        series.add(report(0, &[1]));
        series.add(report(1, &[1]));
        series.seal_before(1);
        assert!(series.second(0).is_none());
        assert_eq!(series.second(1).map(Histogram::len), Some(1));
    }
}
