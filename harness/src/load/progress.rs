//! The seam between a run and whoever shows its progress: the run reports to a
//! [`LoadProgress`] (handed in [`LoadConfig::progress`](super::worker::LoadConfig::progress));
//! the command hands one that draws (the report layer's bar), so that this layer knows nothing
//! of terminals.

use std::time::Duration;

/// Where a run reports how far it is: when it starts, four times a second while it goes on, and
/// when it is over (a progress bar, drawn by whoever made it).
pub trait LoadProgress: std::fmt::Debug + Send + Sync {
    /// The connection phase, before the run starts: `tried` of the `total` connections to open
    /// are open or failed (reported a few times a second, and once when all are).
    fn connecting(&self, tried: usize, total: usize) {
        let _ = (tried, total);
    }
    /// The run starts (its warm-up): warm-up and measurement take `total`.
    fn start(&self, total: Duration);
    /// `elapsed` since the run (its warm-up) started; `figures` once measurement has started
    /// (`None`: warming up).
    fn update(&self, elapsed: Duration, figures: Option<&LiveFigures>);
    /// The run is over: nothing more is reported.
    fn finish(&self);
}

/// The measured figures so far, as progress shows them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveFigures {
    /// Operations per second since the previous report.
    pub rate: f64,
    /// Measured operations so far.
    pub operations: u64,
    /// Measured errors so far.
    pub errors: u64,
    /// The p99 latency of the last whole second, in microseconds (`None` before the first).
    pub p99_us: Option<u64>,
}
