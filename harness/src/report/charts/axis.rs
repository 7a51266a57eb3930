//! The axes of the report's charts: a linear scale whose ticks are chosen here (plotters' own f64
//! scale picks its ticks itself), the HdrHistogram percentile axis (log of 1/(1-p)), round tick
//! values and their labels.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::Series;

/// The latency x axis spans 0% to 99.999%: five decades of 1/(1-p).
pub(super) const PERCENTILE_LABELS: [&str; 6] = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"];
/// Pixel heights of a legend row and of a line chart's plotting area, to keep the legend off the data.
pub(super) const LEGEND_ROW_HEIGHT: f64 = 17.0;
pub(super) const LINE_PLOT_HEIGHT: f64 = 280.0;

/// A linear f64 scale with chosen tick positions (plotters' own f64 scale picks its ticks itself).
#[derive(Clone)]
pub(super) struct Ticked {
    range: Range<f64>,
    ticks: Vec<f64>,
}

impl Ticked {
    /// A scale over `range` with a labelled tick at each of `ticks`.
    pub(super) fn new(range: Range<f64>, ticks: Vec<f64>) -> Self {
        Self { range, ticks }
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        RangedCoordf64::from(self.range.clone()).map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            return Vec::new();
        }
        self.ticks.clone()
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

/// One axis of a chart: scale, description (y: none when empty), tick label format, grid lines (y only).
pub(super) struct Axis {
    pub(super) scale: Ticked,
    pub(super) description: String,
    pub(super) format: Box<dyn Fn(&f64) -> String>,
    pub(super) grid: bool,
}

/// Position of `percentile` on the latency x axis: log10(1 / (1 - p)), clamped to 0..=5.
pub(super) fn percentile_axis(percentile: f64) -> f64 {
    let remaining = 1.0 - percentile.clamp(0.0, 100.0) / 100.0;
    (-remaining.log10()).clamp(0.0, (PERCENTILE_LABELS.len() - 1) as f64)
}

/// Tick label of a latency x axis position: 0 -> "0%", 1 -> "90%", 3 -> "99.9%".
pub(super) fn percentile_label(axis: &f64) -> String {
    PERCENTILE_LABELS
        .get(axis.round().max(0.0) as usize)
        .copied()
        .unwrap_or_default()
        .to_owned()
}

/// The unit to show latencies up to `max_us` microseconds in, and how many microseconds it holds.
pub(super) fn latency_unit(max_us: f64) -> (&'static str, f64) {
    match max_us {
        m if m >= 1_000_000.0 => ("s", 1_000_000.0),
        m if m >= 1_000.0 => ("ms", 1_000.0),
        _ => ("µs", 1.0),
    }
}

/// An axis with a grid over `scale`, described by `description`, its ticks labelled by `format`.
pub(super) fn axis(
    scale: Ticked,
    description: &str,
    format: impl Fn(&f64) -> String + 'static,
) -> Axis {
    Axis {
        scale,
        description: description.to_owned(),
        format: Box::new(format),
        grid: true,
    }
}

/// The y axis of a line chart, with room above the data for the legend (top left) to not hide it.
pub(super) fn y_axis_with_legend_room(series: &[Series], description: String) -> Axis {
    let legend_share =
        ((LEGEND_ROW_HEIGHT * series.len() as f64 + 16.0) / LINE_PLOT_HEIGHT).min(0.5);
    let Range { start, end } = value_range(series, |p| p.1);
    value_axis(
        start..start + (end - start) / (1.0 - legend_share),
        description,
    )
}

/// A numeric axis over `range` with round tick values.
pub(super) fn value_axis(range: Range<f64>, description: String) -> Axis {
    let ticks = round_ticks(&range);
    axis(Ticked::new(range, ticks), &description, number_label)
}

/// The range of the points' coordinate `pick`, including 0.
pub(super) fn value_range(series: &[Series], pick: fn(&(f64, f64)) -> f64) -> Range<f64> {
    let values = || series.iter().flat_map(|s| &s.points).map(pick);
    padded(values().fold(0.0, f64::min), values().fold(0.0, f64::max))
}

/// `low..high`, widened to `low..low + 1` when empty and by 5% above otherwise.
pub(super) fn padded(low: f64, high: f64) -> Range<f64> {
    let span = high - low;
    if span > 0.0 {
        low..high + span * 0.05
    } else {
        low..low + 1.0
    }
}

/// About eight evenly spaced round values (1, 2 or 5 times a power of ten apart) inside `range`.
pub(super) fn round_ticks(range: &Range<f64>) -> Vec<f64> {
    let rough_step = (range.end - range.start) / 8.0;
    let magnitude = 10f64.powf(rough_step.log10().floor());
    let steps = [1.0, 2.0, 5.0, 10.0].map(|m| m * magnitude);
    let step = steps
        .into_iter()
        .find(|&s| s >= rough_step)
        .unwrap_or(rough_step);
    let first = (range.start / step).ceil() as i64;
    let ticks = (first..)
        .map(|k| k as f64 * step)
        .take_while(|&tick| tick <= range.end);
    ticks.take(20).collect()
}

/// A short decimal for a tick or bar value: 1234, 12.5, 0.125, 145.4k, 2.75M (no trailing zeros).
pub(super) fn number_label(value: &f64) -> String {
    let (scaled, suffix) = match value.abs() {
        a if a >= 1e6 => (value / 1e6, "M"),
        a if a >= 1e4 => (value / 1e3, "k"),
        _ => (*value, ""),
    };
    let text = match scaled.abs() {
        a if a >= 100.0 && suffix.is_empty() => format!("{scaled:.0}"),
        a if a >= 100.0 => format!("{scaled:.1}"),
        a if a >= 1.0 => format!("{scaled:.2}"),
        _ => format!("{scaled:.3}"),
    };
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    if text == "-0" {
        "0".to_owned()
    } else {
        format!("{text}{suffix}")
    }
}

/// A bar's value printed at its end: whole numbers from 100 on, grouped by thousands (145,367),
/// smaller ones as [`number_label`] writes them.
pub(super) fn value_label(value: &f64) -> String {
    if value.abs() < 100.0 {
        return number_label(value);
    }
    let digits = format!("{:.0}", value.abs());
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if *value < 0.0 {
        format!("-{grouped}")
    } else {
        grouped
    }
}
