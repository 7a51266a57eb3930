//! A case's wire trace: every frame both ways and what happened to the connection, each with
//! the milliseconds since the case started. Shared by the reader task and the writer, held in
//! bounds: past [`TRACE_CAP`] lines only a count is kept (the limits cases move thousands of
//! frames).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::results::protocol::{TraceDirection, TraceEntry};

/// The most lines a trace keeps; the rest are counted.
pub const TRACE_CAP: usize = 400;

/// The trace of one case.
#[derive(Debug)]
pub struct Trace {
    started: Instant,
    entries: Vec<TraceEntry>,
    left_out: usize,
}

/// A trace shared between a case's reader and writer.
pub type SharedTrace = Arc<Mutex<Trace>>;

impl Trace {
    /// An empty trace whose clock starts now.
    pub fn shared() -> SharedTrace {
        Arc::new(Mutex::new(Trace {
            started: Instant::now(),
            entries: Vec::new(),
            left_out: 0,
        }))
    }

    /// Adds a line; `what` is only made when the line is kept.
    pub fn record(trace: &SharedTrace, direction: TraceDirection, what: impl FnOnce() -> String) {
        let mut trace = trace
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if trace.entries.len() >= TRACE_CAP {
            trace.left_out += 1;
            return;
        }
        let t_ms = trace.started.elapsed().as_secs_f64() * 1000.0;
        trace.entries.push(TraceEntry {
            t_ms,
            direction,
            what: what(),
        });
    }

    /// The lines, with a last one counting those left out.
    pub fn take(trace: &SharedTrace) -> Vec<TraceEntry> {
        let mut trace = trace
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut entries = std::mem::take(&mut trace.entries);
        if trace.left_out > 0 {
            entries.push(TraceEntry {
                t_ms: trace.started.elapsed().as_secs_f64() * 1000.0,
                direction: TraceDirection::Event,
                what: format!(
                    "{} more lines not kept (the trace keeps {TRACE_CAP})",
                    trace.left_out
                ),
            });
        }
        entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_past_the_cap_are_counted() {
        let trace = Trace::shared();
        for i in 0..TRACE_CAP + 5 {
            Trace::record(&trace, TraceDirection::Sent, || format!("frame {i}"));
        }
        let lines = Trace::take(&trace);
        assert_eq!(lines.len(), TRACE_CAP + 1);
        assert_eq!(lines[0].what, "frame 0");
        assert!(lines[TRACE_CAP].what.starts_with("5 more lines"));
        assert!(lines.windows(2).all(|w| w[0].t_ms <= w[1].t_ms));
    }
}
