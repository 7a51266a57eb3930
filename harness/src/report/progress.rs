//! What a command shows on stderr while it goes on: the bars (indicatif), drawn only when stderr
//! is a terminal, and the notes of a matrix's runners and of a report folder written.
//!
//! - [`FixtureBar`]: `run`'s fixtures replayed, with results printed above it.
//! - [`LoadBar`]: a `bench` or `stream` run's time and live figures, as the load layer reports
//!   them through [`LoadProgress`].
//!
//! The templates have no colours, so `NO_COLOR` changes nothing here.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::terminal::stderr_is_terminal;
use crate::humanize::{escape_controls, human_us};
use crate::load::{LiveFigures, LoadProgress};

/// A bar of `length` on stderr in `template`, hidden when stderr is not a terminal.
fn stderr_bar(length: u64, template: &str) -> ProgressBar {
    if !stderr_is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// `run`'s bar: fixtures replayed of those selected, and the time.
#[derive(Debug)]
pub struct FixtureBar {
    bar: ProgressBar,
}

impl FixtureBar {
    /// A bar for `fixtures` fixtures.
    pub fn new(fixtures: usize) -> FixtureBar {
        FixtureBar {
            bar: stderr_bar(
                fixtures as u64,
                "{spinner} {pos}/{len} fixtures {wide_bar} {elapsed}",
            ),
        }
    }

    /// One more fixture replayed.
    pub fn replayed(&self) {
        self.bar.inc(1);
    }

    /// Runs `print` with the bar out of the way, so that what it prints stays above the bar.
    pub fn above<R>(&self, print: impl FnOnce() -> R) -> R {
        self.bar.suspend(print)
    }

    /// Every fixture replayed: the bar goes.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// A load run's bar: time elapsed of warm-up plus measurement, and the live figures.
#[derive(Debug, Default)]
pub struct LoadBar {
    /// Made when the run starts, when its length is known.
    bar: OnceLock<ProgressBar>,
}

impl LoadBar {
    /// A bar for `LoadConfig::progress`, drawn once the run starts.
    pub fn shared() -> Arc<dyn LoadProgress> {
        Arc::new(LoadBar::default())
    }
}

impl LoadProgress for LoadBar {
    fn start(&self, total: Duration) {
        let length = u64::try_from(total.as_millis()).unwrap_or(u64::MAX);
        let _ = self.bar.set(stderr_bar(
            length,
            "{spinner} {elapsed:>4} {wide_bar} {msg}",
        ));
    }

    fn update(&self, elapsed: Duration, figures: Option<&LiveFigures>) {
        let Some(bar) = self.bar.get() else { return };
        bar.set_position(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX));
        match figures {
            None => bar.set_message("warming up"),
            Some(f) => bar.set_message(live_message(f)),
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.get() {
            bar.finish_and_clear();
        }
    }
}

/// The bar's message while measuring: rate, counts and the last second's p99.
fn live_message(f: &LiveFigures) -> String {
    format!(
        "{:.0} ops/s  {} ops  {} errors  p99 {}",
        f.rate,
        f.operations,
        f.errors,
        f.p99_us.map_or("-".to_string(), human_us)
    )
}

/// `matrix`: a runner's app is up and its fixtures are being replayed.
pub fn runner_started(runner: &str) {
    eprintln!("[{runner}] started");
}

/// `matrix`: a runner's fixtures are all replayed, in `elapsed`.
pub fn runner_done(runner: &str, elapsed: Duration) {
    eprintln!("[{runner}] done in {:.1} s", elapsed.as_secs_f64());
}

/// `matrix`: a runner could not be set up or started, and why.
pub fn runner_unavailable(runner: &str, error: &str) {
    eprintln!("[{runner}] unavailable: {}", escape_controls(error));
}

/// A report folder was written.
pub fn report_written(dir: &Path) {
    eprintln!("report: {}", dir.display());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_live_message_reads_as_before() {
        let mut figures = LiveFigures {
            rate: 1234.56,
            operations: 5000,
            errors: 3,
            p99_us: Some(1500),
        };
        assert_eq!(
            live_message(&figures),
            "1235 ops/s  5000 ops  3 errors  p99 1.50ms"
        );
        figures.p99_us = None;
        assert!(live_message(&figures).ends_with("p99 -"));
    }

    #[test]
    fn a_load_bar_reports_nothing_before_its_run_starts() {
        let bar = LoadBar::default();
        bar.update(Duration::from_secs(1), None);
        bar.finish();
        bar.start(Duration::from_secs(3));
        bar.update(Duration::from_secs(1), None);
        bar.finish();
        assert!(bar.bar.get().is_some_and(ProgressBar::is_finished));
    }
}
