//! What a command shows on stderr while it goes on: the bars (indicatif), drawn only when stderr
//! is a terminal, and the notes of a matrix's runners and of a report folder written.
//!
//! - [`FixtureBar`]: `run`'s fixtures replayed, with results printed above it.
//! - [`LoadBar`]: a `bench` or `stream` run's time and live figures, as the load layer reports
//!   them (through `load::LoadProgress`, wired to the bar by the command).
//!
//! The templates have no colours, so `NO_COLOR` changes nothing here.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::terminal::stderr_is_terminal;
use crate::humanize::{escape_controls, human_us};

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

/// A load run's bar: time elapsed of warm-up plus measurement, and the live figures. The load
/// layer reports to it through `load::LoadProgress` (wired by the command: this layer does not
/// import the load layer).
#[derive(Debug, Default)]
pub struct LoadBar {
    /// Made when the run starts, when its length is known.
    bar: OnceLock<ProgressBar>,
    /// The connection phase's bar: connections tried of those to open; gone when the run starts.
    phase: OnceLock<ProgressBar>,
}

impl LoadBar {
    /// The connection phase: `tried` of `total` connections opened or failed.
    pub fn connecting(&self, tried: usize, total: usize) {
        let bar = self.phase.get_or_init(|| {
            stderr_bar(
                total as u64,
                "{spinner} {elapsed:>4} {wide_bar} {pos}/{len} connections",
            )
        });
        bar.set_position(tried as u64);
    }

    /// The run starts: warm-up and measurement take `total`.
    pub fn start(&self, total: Duration) {
        if let Some(phase) = self.phase.get() {
            phase.finish_and_clear();
        }
        let length = u64::try_from(total.as_millis()).unwrap_or(u64::MAX);
        let _ = self.bar.set(stderr_bar(
            length,
            "{spinner} {elapsed:>4} {wide_bar} {msg}",
        ));
    }

    /// `elapsed` of the warm-up.
    pub fn warming_up(&self, elapsed: Duration) {
        if let Some(bar) = self.at(elapsed) {
            bar.set_message("warming up");
        }
    }

    /// `elapsed` since the warm-up started, and the figures measured so far: `rate` operations
    /// per second lately, `operations` and `errors` in all, the last second's p99.
    pub fn measuring(
        &self,
        elapsed: Duration,
        rate: f64,
        operations: u64,
        errors: u64,
        p99_us: Option<u64>,
    ) {
        if let Some(bar) = self.at(elapsed) {
            bar.set_message(live_message(rate, operations, errors, p99_us));
        }
    }

    /// The run is over: the bar goes.
    pub fn finish(&self) {
        for bar in [&self.phase, &self.bar]
            .into_iter()
            .filter_map(OnceLock::get)
        {
            bar.finish_and_clear();
        }
    }

    /// The bar moved to `elapsed`, once the run has started.
    fn at(&self, elapsed: Duration) -> Option<&ProgressBar> {
        let bar = self.bar.get()?;
        bar.set_position(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX));
        Some(bar)
    }
}

/// The bar's message while measuring.
fn live_message(rate: f64, operations: u64, errors: u64, p99_us: Option<u64>) -> String {
    format!(
        "{rate:.0} ops/s  {operations} ops  {errors} errors  p99 {}",
        p99_us.map_or("-".to_string(), human_us)
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

/// A runner left out of the run, and why (it does not declare a transport the run asks for).
pub fn runner_not_run(runner: &str, why: &str) {
    eprintln!("[{runner}] {}", escape_controls(why));
}

/// `matrix`: a note about a runner (a protocol suite's verdict counts, or why it did not run).
pub fn runner_note(runner: &str, note: &str) {
    eprintln!("[{runner}] {}", escape_controls(note));
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
        assert_eq!(
            live_message(1234.56, 5000, 3, Some(1500)),
            "1235 ops/s  5000 ops  3 errors  p99 1.50ms"
        );
        assert_eq!(
            live_message(0.0, 0, 0, None),
            "0 ops/s  0 ops  0 errors  p99 -"
        );
    }

    #[test]
    fn a_load_bar_shows_nothing_before_its_run_starts() {
        let bar = LoadBar::default();
        bar.warming_up(Duration::from_secs(1));
        bar.finish();
        assert!(bar.bar.get().is_none());
        bar.connecting(3, 10);
        assert_eq!(bar.phase.get().map(ProgressBar::position), Some(3));
        bar.start(Duration::from_secs(3));
        assert!(bar.phase.get().is_some_and(ProgressBar::is_finished));
        bar.measuring(Duration::from_secs(2), 1.0, 1, 0, None);
        bar.finish();
        assert!(bar.bar.get().is_some_and(ProgressBar::is_finished));
    }
}
