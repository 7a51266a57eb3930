//! A case's wire trace: every frame both ways and what happened to the connection, each with
//! the milliseconds since the case started. Shared by the reader task and the writer, held in
//! bounds: the first [`TRACE_HEAD`] lines and the last [`TRACE_TAIL`] are kept, the ones between
//! counted (the limits cases move thousands of frames, and how they end is in the last ones).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::results::protocol::{TraceDirection, TraceEntry};

/// The first lines a trace keeps.
pub const TRACE_HEAD: usize = 300;
/// The last lines a trace keeps.
pub const TRACE_TAIL: usize = 100;

/// The trace of one case.
#[derive(Debug)]
pub struct Trace {
    started: Instant,
    head: Vec<TraceEntry>,
    tail: VecDeque<TraceEntry>,
    left_out: usize,
}

/// A trace shared between a case's reader and writer.
pub type SharedTrace = Arc<Mutex<Trace>>;

impl Trace {
    /// An empty trace whose clock starts now.
    pub fn shared() -> SharedTrace {
        Arc::new(Mutex::new(Trace {
            started: Instant::now(),
            head: Vec::new(),
            tail: VecDeque::new(),
            left_out: 0,
        }))
    }

    /// Adds a line.
    pub fn record(trace: &SharedTrace, direction: TraceDirection, what: impl FnOnce() -> String) {
        let mut trace = trace
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = TraceEntry {
            t_ms: trace.started.elapsed().as_secs_f64() * 1000.0,
            direction,
            what: what(),
        };
        if trace.head.len() < TRACE_HEAD {
            trace.head.push(entry);
            return;
        }
        if trace.tail.len() == TRACE_TAIL {
            trace.tail.pop_front();
            trace.left_out += 1;
        }
        trace.tail.push_back(entry);
    }

    /// The lines, with one between the first and the last counting those left out.
    pub fn take(trace: &SharedTrace) -> Vec<TraceEntry> {
        let mut trace = trace
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut entries = std::mem::take(&mut trace.head);
        let tail = std::mem::take(&mut trace.tail);
        if trace.left_out > 0 {
            let t_ms = tail.front().map_or(0.0, |first| first.t_ms);
            entries.push(TraceEntry {
                t_ms,
                direction: TraceDirection::Event,
                what: format!(
                    "{} lines not kept (the trace keeps the first {TRACE_HEAD} and the last {TRACE_TAIL})",
                    trace.left_out
                ),
            });
        }
        entries.extend(tail);
        entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_and_last_lines_are_kept_and_those_between_counted() {
        let trace = Trace::shared();
        let total = TRACE_HEAD + TRACE_TAIL + 5;
        for i in 0..total {
            Trace::record(&trace, TraceDirection::Sent, || format!("frame {i}"));
        }
        let lines = Trace::take(&trace);
        assert_eq!(lines.len(), TRACE_HEAD + 1 + TRACE_TAIL);
        assert_eq!(lines[0].what, "frame 0");
        assert_eq!(
            lines[TRACE_HEAD - 1].what,
            format!("frame {}", TRACE_HEAD - 1)
        );
        assert!(
            lines[TRACE_HEAD].what.starts_with("5 lines not kept"),
            "{:?}",
            lines[TRACE_HEAD]
        );
        assert_eq!(
            lines[TRACE_HEAD + 1].what,
            format!("frame {}", TRACE_HEAD + 5)
        );
        assert_eq!(lines.last().unwrap().what, format!("frame {}", total - 1));
        assert!(lines.windows(2).all(|w| w[0].t_ms <= w[1].t_ms));
    }

    #[test]
    fn a_short_trace_is_kept_whole() {
        let trace = Trace::shared();
        for i in 0..TRACE_HEAD + 3 {
            Trace::record(&trace, TraceDirection::Received, || format!("frame {i}"));
        }
        let lines = Trace::take(&trace);
        assert_eq!(lines.len(), TRACE_HEAD + 3);
        assert!(lines.iter().all(|l| !l.what.contains("not kept")));
    }
}
