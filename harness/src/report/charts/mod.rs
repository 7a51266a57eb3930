//! SVG charts for the HTML report: latency by percentile, bars, and lines over time.
//!
//! Every function is pure (data in, SVG document out) and draws with plotters' SVG backend, so the
//! report needs no JavaScript, fonts or network: the SVGs are inlined in one self-contained page.
//! The root `<svg>` carries plotters' own `viewBox` (so CSS can scale it), text is XML-escaped by
//! plotters, the only font named is the generic "sans-serif", and the same input gives the same bytes.
//! Odd input never panics: non-finite points are dropped and a chart without data says "no data".

use std::fmt::Display;

use hdrhistogram::Histogram;
use hdrhistogram::iterators::IterationValue;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

mod axis;

use axis::{
    Axis, PERCENTILE_LABELS, Ticked, axis, latency_unit, padded, percentile_axis, percentile_label,
    value_axis, value_label, value_range, y_axis_with_legend_room,
};

/// Chart width in pixels (the SVG's viewBox width).
pub const WIDTH: u32 = 760;
/// Chart height in pixels (the SVG's viewBox height; a bar chart with many bars grows taller).
pub const HEIGHT: u32 = 380;

/// A chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("chart {title:?}: {message}")]
pub struct ChartError {
    /// The title of the chart that failed.
    pub title: String,
    /// What went wrong, from the drawing library.
    pub message: String,
}

/// One series of an overlaid chart. `color` indexes a fixed palette (wrapping), so that the same run has
/// the same colour in every chart of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Palette index (wraps around).
    pub color: usize,
    /// (x, y) points; non-finite ones are dropped.
    pub points: Vec<(f64, f64)>,
}

/// One bar of a bar chart. `color` indexes the same palette as [`Series::color`].
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Text beside the bar (longer than 48 characters: shortened with "…").
    pub label: String,
    /// Palette index (wraps around).
    pub color: usize,
    /// Bar length; a non-finite value drops the bar.
    pub value: f64,
}

/// Tableau 10 as 0xRRGGBB: distinguishable colours, in a fixed order.
const PALETTE: [u32; 10] = [
    0x4E79A7, 0xF28E2B, 0xE15759, 0x76B7B2, 0x59A14F, 0xEDC948, 0xB07AA1, 0xFF9DA7, 0x9C755F,
    0xBAB0AC,
];
const FONT: &str = "sans-serif";
const TITLE_SIZE: u32 = 20;
const TEXT_SIZE: u32 = 13;
const NO_DATA: &str = "no data";
/// Quantile iteration density, as in HdrHistogram's own percentile output.
const TICKS_PER_HALF_DISTANCE: u32 = 5;
/// Pixels per bar, and besides the bars (title, margins, x axis).
const BAR_ROW_HEIGHT: u32 = 22;
const BAR_CHART_FRAME: u32 = 100;
const MAX_BAR_LABEL_CHARS: usize = 48;

type Root<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<Ticked, Ticked>>;

/// The HdrHistogram percentile distribution of `histogram`: (percentile, value) points with the
/// percentile in [0, 100], as HdrHistogram's own percentile output (quantile iteration, 5 ticks per half
/// distance), so the last point is (100, max); empty for an empty histogram. Values as recorded.
pub fn percentile_points(histogram: &Histogram<u64>) -> Vec<(f64, f64)> {
    if histogram.is_empty() {
        return Vec::new();
    }
    let quantiles = histogram.iter_quantiles(TICKS_PER_HALF_DISTANCE);
    let point = |q: IterationValue<u64>| (q.quantile_iterated_to(), q.value_iterated_to());
    let points = quantiles.map(point);
    points
        .map(|(quantile, value)| (quantile * 100.0, value as f64))
        .collect()
}

/// Latency by percentile, HdrHistogram-style: x is the percentile on a log scale of 1/(1-p), labelled
/// 0%, 90%, 99%, 99.9%, 99.99%, 99.999% (points beyond 99.999% are clamped to it); y is latency, given in
/// microseconds and drawn in µs, ms or s to fit the data (named in the axis description). One line per
/// series, with a legend and `title` on top.
pub fn latency_percentiles(title: &str, series: &[Series]) -> Result<String, ChartError> {
    let series = finite_series(series);
    let all_points = series.iter().flat_map(|s| &s.points);
    let max_us = all_points.fold(0.0, |max: f64, p| max.max(p.1));
    let (unit, micros_per_unit) = latency_unit(max_us);
    let to_axes =
        |&(percentile, us): &(f64, f64)| (percentile_axis(percentile), us / micros_per_unit);
    let series: Vec<Series> = series
        .into_iter()
        .map(|s| Series {
            points: s.points.iter().map(to_axes).collect(),
            ..s
        })
        .collect();
    let decades = 0.0..(PERCENTILE_LABELS.len() - 1) as f64;
    let ticks = (0..PERCENTILE_LABELS.len()).map(|d| d as f64).collect();
    let x = axis(Ticked::new(decades, ticks), "percentile", percentile_label);
    let y = y_axis_with_legend_room(&series, format!("latency ({unit})"));
    line_chart(title, &x, &y, &series)
}

/// A horizontal bar chart: one bar per entry, its label beside it and its value printed at its end;
/// `unit` (e.g. "requests/s") describes the value axis. Many bars make the chart (and viewBox) taller.
pub fn bars(title: &str, unit: &str, bars: &[Bar]) -> Result<String, ChartError> {
    let bars: Vec<&Bar> = bars.iter().filter(|bar| bar.value.is_finite()).collect();
    if bars.is_empty() {
        return no_data(title);
    }
    let rows = bars.len();
    let labels: Vec<String> = bars.iter().map(|bar| shorten(&bar.label)).collect();
    let longest = labels.iter().map(|l| l.chars().count()).max();
    let label_area_width = (longest.unwrap_or(0) as u32 * 7 + 16).clamp(60, 340);
    let values = || bars.iter().map(|bar| bar.value);
    let (low, high) = (values().fold(0.0, f64::min), values().fold(0.0, f64::max));
    // Headroom on the right for the value printed after the longest bar.
    let x = value_axis(padded(low, high + (high - low) * 0.15), unit.to_owned());
    let row_center = move |row: usize| (rows - row) as f64 - 0.5;
    let rows_scale = Ticked::new(0.0..rows as f64, (0..rows).map(row_center).collect());
    let row_of = move |y: &f64| (rows as f64 - 0.5 - y).round() as usize;
    let label_of_row = move |y: &f64| labels.get(row_of(y)).cloned().unwrap_or_default();
    let mut y = axis(rows_scale, "", label_of_row);
    y.grid = false;
    let height = HEIGHT.max(BAR_CHART_FRAME + rows as u32 * BAR_ROW_HEIGHT);
    render(title, height, |root| {
        let mut chart = chart_with_axes(root, title, (&x, &y), label_area_width)?;
        let rectangles = bars.iter().enumerate().map(|(row, bar)| {
            let (y, fill) = (row_center(row), palette_color(bar.color).filled());
            Rectangle::new([(0.0, y - 0.35), (bar.value, y + 0.35)], fill)
        });
        chart
            .draw_series(rectangles)
            .map_err(drawing_failed(title))?;
        let style = TextStyle::from((FONT, TEXT_SIZE)).pos(Pos::new(HPos::Left, VPos::Center));
        let values = bars.iter().enumerate().map(|(row, bar)| {
            EmptyElement::at((bar.value, row_center(row)))
                + Text::new(value_label(&bar.value), (4, 0), style.clone())
        });
        chart.draw_series(values).map_err(drawing_failed(title))?;
        Ok(())
    })
}

/// Lines over time: x is seconds, y is in `y_unit` (e.g. "CPU, % of one core", "RSS, MB"); one line per
/// series with a legend. Used for a runner's CPU and RSS during a load run.
pub fn over_time(title: &str, y_unit: &str, series: &[Series]) -> Result<String, ChartError> {
    let series = finite_series(series);
    let x = value_axis(value_range(&series, |p| p.0), "time (s)".to_owned());
    let y = y_axis_with_legend_room(&series, y_unit.to_owned());
    line_chart(title, &x, &y, &series)
}

/// Draws `series` as lines on the given axes, with a legend; "no data" when there are none.
fn line_chart(title: &str, x: &Axis, y: &Axis, series: &[Series]) -> Result<String, ChartError> {
    if series.is_empty() {
        return no_data(title);
    }
    render(title, HEIGHT, |root| {
        let mut chart = chart_with_axes(root, title, (x, y), 64)?;
        for line in series {
            draw_line(&mut chart, line).map_err(drawing_failed(title))?;
        }
        let mut legend = chart.configure_series_labels();
        legend.position(SeriesLabelPosition::UpperLeft);
        legend
            .label_font((FONT, TEXT_SIZE))
            .background_style(WHITE.mix(0.85));
        legend
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(drawing_failed(title))
    })
}

/// Draws one series as a line (and a dot when it is a single point) and adds its legend entry.
fn draw_line(
    chart: &mut Chart<'_, '_>,
    line: &Series,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let color = palette_color(line.color);
    let points = line.points.iter().copied();
    let legend_mark =
        move |(x, y): (i32, i32)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2));
    chart
        .draw_series(LineSeries::new(points, color.stroke_width(2)))?
        .label(&line.label)
        .legend(legend_mark);
    if let [point] = line.points[..] {
        chart.draw_series([Circle::new(point, 3, color.filled())])?;
    }
    Ok(())
}

/// Builds a chart with `title` on `root` and draws its axes, labels and grid.
fn chart_with_axes<'a, 'b>(
    root: &'a Root<'b>,
    title: &str,
    (x, y): (&Axis, &Axis),
    label_area_width: u32,
) -> Result<Chart<'a, 'b>, ChartError> {
    let mut builder = ChartBuilder::on(root);
    builder.caption(title, (FONT, TITLE_SIZE)).margin(12);
    builder.margin_right(30).x_label_area_size(40);
    builder.y_label_area_size(label_area_width);
    let mut chart = builder
        .build_cartesian_2d(x.scale.clone(), y.scale.clone())
        .map_err(drawing_failed(title))?;
    let mut mesh = chart.configure_mesh();
    mesh.x_label_formatter(&x.format)
        .y_label_formatter(&y.format);
    mesh.label_style((FONT, TEXT_SIZE))
        .axis_desc_style((FONT, TEXT_SIZE));
    mesh.x_desc(x.description.as_str());
    if !y.description.is_empty() {
        mesh.y_desc(y.description.as_str());
    }
    if !y.grid {
        mesh.disable_y_mesh();
    }
    mesh.draw().map_err(drawing_failed(title))?;
    Ok(chart)
}

/// A chart-sized SVG with the title and "no data".
fn no_data(title: &str) -> Result<String, ChartError> {
    render(title, HEIGHT, |root| {
        let area = root
            .titled(title, (FONT, TITLE_SIZE))
            .map_err(drawing_failed(title))?;
        let (width, height) = area.dim_in_pixel();
        let style =
            TextStyle::from((FONT, TEXT_SIZE + 3)).pos(Pos::new(HPos::Center, VPos::Center));
        let center = (width as i32 / 2, height as i32 / 2);
        area.draw(&Text::new(NO_DATA, center, style))
            .map_err(drawing_failed(title))
    })
}

/// Runs `draw` on a white SVG canvas `WIDTH` x `height` and returns the finished document.
fn render(
    title: &str,
    height: u32,
    draw: impl FnOnce(&Root<'_>) -> Result<(), ChartError>,
) -> Result<String, ChartError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(drawing_failed(title))?;
        draw(&root)?;
        root.present().map_err(drawing_failed(title))?;
    }
    Ok(svg)
}

/// Maps a drawing error of chart `title` to a [`ChartError`].
fn drawing_failed<E: Display>(title: &str) -> impl Fn(E) -> ChartError + '_ {
    move |error| ChartError {
        title: title.to_owned(),
        message: error.to_string(),
    }
}

/// The palette colour for `index`, wrapping around.
fn palette_color(index: usize) -> RGBColor {
    let rgb = PALETTE[index % PALETTE.len()];
    RGBColor((rgb >> 16) as u8, (rgb >> 8) as u8, rgb as u8)
}

/// `series` without non-finite points, and without series left with no points.
fn finite_series(series: &[Series]) -> Vec<Series> {
    let finite = |p: &(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let cleaned = series.iter().map(|s| Series {
        points: s.points.iter().copied().filter(finite).collect(),
        ..s.clone()
    });
    cleaned.filter(|s| !s.points.is_empty()).collect()
}

/// `label`, cut to `MAX_BAR_LABEL_CHARS` characters with "…" when longer.
fn shorten(label: &str) -> String {
    if label.chars().count() <= MAX_BAR_LABEL_CHARS {
        return label.to_owned();
    }
    let kept: String = label.chars().take(MAX_BAR_LABEL_CHARS - 1).collect();
    format!("{kept}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRICKY: &str = r#"a<b & "c""#;

    fn series(label: &str, points: &[(f64, f64)]) -> Series {
        let (label, points) = (label.to_owned(), points.to_vec());
        Series {
            label,
            color: 7,
            points,
        }
    }

    fn bar(label: &str, value: f64) -> Bar {
        let label = label.to_owned();
        Bar {
            label,
            color: 11,
            value,
        }
    }

    fn histogram(values: impl Iterator<Item = u64>) -> Histogram<u64> {
        let mut histogram = Histogram::<u64>::new(3).expect("valid precision");
        values.for_each(|v| histogram.record(v).expect("auto-resized"));
        histogram
    }

    /// Parses `svg`, checks its root is an `<svg>` whose viewBox matches its size, with no external
    /// references, and that each of `wanted` is the text of exactly one `<text>`. Returns the height.
    fn assert_texts(svg: &str, wanted: &[&str]) -> u32 {
        let document = roxmltree::Document::parse(svg).expect("well-formed XML");
        let root = document.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        let height = root.attribute("height").and_then(|h| h.parse().ok());
        let height: u32 = height.expect("a height");
        let view_box = format!("0 0 {WIDTH} {height}");
        assert_eq!(root.attribute("viewBox"), Some(view_box.as_str()));
        assert!(!svg.contains("href") && !svg.contains("url("));
        assert!(svg.contains(r#"font-family="sans-serif""#));
        let text_nodes = document.descendants().filter(|n| n.has_tag_name("text"));
        let texts: Vec<&str> = text_nodes.filter_map(|n| n.text()).map(str::trim).collect();
        for text in wanted {
            let count = texts.iter().filter(|t| *t == text).count();
            assert_eq!(count, 1, "{text:?} once in {texts:?}");
        }
        height
    }

    #[test]
    fn latency_chart_has_title_legend_percentile_labels_and_unit() {
        let fast = percentile_points(&histogram((1..=1000).map(|v| v * 100)));
        let tricky = series(TRICKY, &[(0.0, 5.0), (99.0, 9_000.0)]);
        let svg = latency_percentiles("Latency", &[series("fast", &fast), tricky]);
        let svg = svg.expect("drawn");
        assert_texts(&svg, &["Latency", "fast", TRICKY, "latency (ms)"]);
        assert_texts(&svg, &["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]);
        let micros = latency_percentiles("a", &[series("a", &[(50.0, 900.0)])]);
        assert_texts(&micros.expect("drawn"), &["latency (µs)"]);
        let seconds = latency_percentiles("a", &[series("a", &[(50.0, 2e6)])]);
        assert_texts(&seconds.expect("drawn"), &["latency (s)"]);
    }

    #[test]
    fn bars_have_title_labels_values_and_unit() {
        let few = [bar("node-fastify · hello", 12_345.0), bar(TRICKY, 0.5)];
        let svg = bars("Throughput", "requests/s", &few).expect("drawn");
        let wanted = ["Throughput", "node-fastify · hello", TRICKY, "requests/s"];
        assert_eq!(assert_texts(&svg, &wanted), HEIGHT);
        assert_texts(&svg, &["12,345", "0.5"]);
        let many: Vec<Bar> = (0..40)
            .map(|i| bar(&format!("run {i}"), i as f64))
            .collect();
        let svg = bars("Many", "requests/s", &many).expect("drawn");
        let height = assert_texts(&svg, &["run 0", "run 39"]);
        assert!(height > HEIGHT, "40 bars need more than {HEIGHT} pixels");
    }

    #[test]
    fn over_time_has_title_legend_and_units() {
        let cpu = series("axum", &[(0.0, 10.0), (1.0, 95.5), (2.0, 50.0)]);
        let svg = over_time(
            "CPU",
            "CPU, % of one core",
            &[cpu, series(TRICKY, &[(0.5, 2.0)])],
        );
        let wanted = ["CPU", "axum", TRICKY, "CPU, % of one core", "time (s)"];
        assert_texts(&svg.expect("drawn"), &wanted);
    }

    #[test]
    fn percentile_points_follow_the_distribution() {
        let points = percentile_points(&histogram(1..=1000));
        let monotone = points
            .windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1);
        assert!(monotone, "{points:?}");
        assert_eq!(points.first().map(|p| p.0), Some(0.0));
        assert_eq!(points.last(), Some(&(100.0, 1000.0)));
        let median = points.iter().find(|p| p.0 >= 50.0).expect("a median point");
        assert!((median.1 - 500.0).abs() <= 2.0, "median {median:?}");
        assert!(percentile_points(&histogram(std::iter::empty())).is_empty());
    }

    #[test]
    fn empty_input_says_no_data() {
        let non_finite = [series("nan", &[(f64::NAN, 1.0), (1.0, f64::INFINITY)])];
        let non_finite = [&non_finite[..], &[series("none", &[])]].concat();
        let charts = [
            latency_percentiles("Empty", &[]),
            latency_percentiles("Empty", &non_finite),
            over_time("Empty", "RSS, MB", &[]),
            over_time("Empty", "RSS, MB", &non_finite),
            bars("Empty", "requests/s", &[]),
            bars("Empty", "requests/s", &[bar("x", f64::NAN)]),
        ];
        for chart in charts {
            let height = assert_texts(&chart.expect("drawn"), &["Empty", NO_DATA]);
            assert_eq!(height, HEIGHT);
        }
    }

    #[test]
    fn odd_points_are_drawn_without_panicking() {
        let odd = [
            (0.0, f64::NAN),
            (1.0, 2.0),
            (f64::INFINITY, 3.0),
            (2.0, 4.0),
        ];
        let svg = over_time("Odd", "RSS, MB", &[series("odd", &odd)]).expect("drawn");
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        assert_texts(&svg, &["odd"]);
        let single = latency_percentiles("One", &[series("one", &[(99.9999, 1.0)])]);
        assert_texts(&single.expect("drawn"), &["one"]);
        let zeros = over_time("Zero", "CPU", &[series("zero", &[(0.0, 0.0), (1.0, 0.0)])]);
        assert_texts(&zeros.expect("drawn"), &["zero"]);
        let zero_bar = bars("Zero", "requests/s", &[bar("zero", 0.0)]);
        assert_texts(&zero_bar.expect("drawn"), &["zero"]);
    }

    #[test]
    fn output_is_deterministic() {
        let a = series("a", &percentile_points(&histogram(1..=5000)));
        let lines = [a, series("b", &[(50.0, 3.0)])];
        let render = || latency_percentiles("Latency", &lines).expect("drawn");
        assert_eq!(render(), render());
    }

    #[test]
    fn axis_positions_and_labels_are_as_documented() {
        let positions = [0.0, 99.9, 100.0, -1.0].map(|p| percentile_axis(p).round());
        assert_eq!(positions, [0.0, 3.0, 5.0, 0.0]);
        assert_eq!(percentile_label(&4.0), "99.99%");
        let numbers = [1234.4, 12.5, -0.0001, 50_000.0, 145_367.0, 2_753_428.0, 3e6]
            .map(|n| axis::number_label(&n));
        assert_eq!(
            numbers,
            ["1234", "12.5", "0", "50k", "145.4k", "2.75M", "3M"]
        );
        let values = [12.5, 999.6, 145_367.0, 2_753_428.0, -12_345.0].map(|n| value_label(&n));
        assert_eq!(values, ["12.5", "1,000", "145,367", "2,753,428", "-12,345"]);
        assert_eq!(
            shorten(&"x".repeat(60)).chars().count(),
            MAX_BAR_LABEL_CHARS
        );
    }
}
