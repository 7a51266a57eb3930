//! The SSE suite: the raw bytes of a server's event stream checked against the WHATWG
//! event-stream rules and what clients need in practice.
//!
//! Data flow: [`reader::read_stream`] reads the stream once as a client would (the main
//! reading), and, when resume cases are selected, twice more with `Last-Event-ID` (an id seen
//! in the main reading, and an id the server cannot know). Every case then judges one of these
//! readings ([`Readings`]): categories 1 head ([`head`]), 2 encoding ([`encoding`]), 3 fields
//! ([`fields`]), 4 delivery ([`delivery`]), 5 resume ([`resume`]), 6 connection
//! ([`connection`]). The edge cases are those clients are tested with (web-platform-tests
//! `eventsource/format-*`), turned around: what a server must never emit.

mod chunked;
mod connection;
mod delivery;
mod encoding;
mod fields;
mod head;
mod reader;
mod resume;
mod stream;

use std::time::Duration;

use self::reader::{Capture, Request, read_stream};
use super::{SuiteError, SuiteOptions, SuiteOutcome};
use crate::results::protocol::{CaseResult, Verdict};

/// The stream the suite reads from the embedded reference (and from a runner whose manifest
/// names none): the corpus's resumable endless counter (`fixtures/sse/resume/endless.json`:
/// ids, `Last-Event-ID` honoured, an event every 5 ms stamped with the server's time in
/// `at_us`), so that every case, 4.3 included, is judged on it.
pub const REFERENCE_STREAM_PATH: &str = "/sse/resume/endless";

/// The main reading stops after this many events (an endless stream is left then).
const EVENTS_WANTED: usize = 20;
/// A resumed reading stops after this many events.
const RESUMED_EVENTS_WANTED: usize = 5;
/// No reading holds more than this many body bytes.
const MAX_BODY: usize = 256 * 1024;
/// After the body's end, how long the reader watches for the close or stray bytes.
const LINGER: Duration = Duration::from_millis(500);
/// Once an event is in, a silence this long ends a reading (a stream held open).
const IDLE: Duration = Duration::from_secs(1);

/// Which reading a case judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum On {
    /// The stream as first read.
    Main,
    /// The stream resumed with `Last-Event-ID` naming an id of the main reading.
    Resumed,
    /// The stream asked with a `Last-Event-ID` the server cannot know.
    UnknownId,
}

/// The readings of one suite run.
pub(crate) struct Readings {
    /// The stream as first read.
    pub main: Capture,
    /// The resumed reading and the id it named.
    pub resumed: Option<(String, Capture)>,
    /// The reading with an unknown id.
    pub unknown: Option<Capture>,
}

impl Readings {
    fn get(&self, on: On) -> &Capture {
        match on {
            On::Main => &self.main,
            On::Resumed => self.resumed.as_ref().map_or(&self.main, |(_, c)| c),
            On::UnknownId => self.unknown.as_ref().unwrap_or(&self.main),
        }
    }
}

/// What a case found.
#[derive(Debug, Clone)]
pub(crate) struct Finding {
    pub verdict: Verdict,
    pub observed: String,
    /// The body line to show in the trace.
    pub focus: Option<usize>,
    /// The reading it judged.
    pub on: On,
}

impl Finding {
    /// A finding on the main reading.
    pub fn new(verdict: Verdict, observed: impl Into<String>) -> Finding {
        Finding {
            verdict,
            observed: observed.into(),
            focus: None,
            on: On::Main,
        }
    }

    /// `ok`, with what was seen.
    pub fn ok(observed: impl Into<String>) -> Finding {
        Finding::new(Verdict::Ok, observed)
    }

    /// The same, pointing at body line `line`.
    pub fn at(mut self, line: Option<usize>) -> Finding {
        self.focus = line;
        self
    }

    /// The same, judged on reading `on`.
    pub fn on(mut self, on: On) -> Finding {
        self.on = on;
        self
    }
}

/// One case of the catalogue.
pub(crate) struct Case {
    pub id: &'static str,
    pub description: &'static str,
    pub expected: &'static str,
    pub judge: fn(&Readings) -> Finding,
}

/// The category names, by the first component of a case id.
fn category(id: &str) -> &'static str {
    match id.split('.').next() {
        Some("1") => "Response head",
        Some("2") => "Encoding and line endings",
        Some("3") => "Fields",
        Some("4") => "Delivery",
        Some("5") => "Resume (Last-Event-ID)",
        _ => "Connection and framing",
    }
}

/// The whole catalogue, in order.
pub(crate) fn catalogue() -> Vec<Case> {
    let mut cases = head::cases();
    cases.extend(encoding::cases());
    cases.extend(fields::cases());
    cases.extend(delivery::cases());
    cases.extend(resume::cases());
    cases.extend(connection::cases());
    cases
}

/// Runs the selected cases against `options.base` + `options.path`.
pub async fn run_suite(options: &SuiteOptions) -> SuiteOutcome {
    let cases: Vec<Case> = catalogue()
        .into_iter()
        .filter(|c| options.selects(c.id))
        .collect();
    let url = format!(
        "{}{}",
        options.base.as_str().trim_end_matches('/'),
        options.path
    );
    let main = read_stream(&request(options, None, EVENTS_WANTED))
        .await
        .map_err(|e| SuiteError::Unreachable {
            url: url.clone(),
            reason: e.0,
        })?;
    let mut readings = Readings {
        main,
        resumed: None,
        unknown: None,
    };
    if cases.iter().any(|c| c.id.starts_with("5.")) {
        if let Some(id) = resume::resume_point(&readings.main) {
            let capture = read_stream(&request(options, Some(&id), RESUMED_EVENTS_WANTED)).await;
            readings.resumed = capture.ok().map(|c| (id, c));
        }
        let unknown = request(options, Some(resume::UNKNOWN_ID), RESUMED_EVENTS_WANTED);
        readings.unknown = read_stream(&unknown).await.ok();
    }
    Ok(cases.iter().map(|case| judge(case, &readings)).collect())
}

/// The request of one reading.
fn request<'a>(
    options: &'a SuiteOptions,
    last_event_id: Option<&'a str>,
    max_events: usize,
) -> Request<'a> {
    Request {
        base: &options.base,
        path: &options.path,
        tls: &options.tls,
        last_event_id,
        time_limit: options.case_timeout,
        max_events,
        max_bytes: MAX_BODY,
        linger: LINGER,
        idle: IDLE,
    }
}

fn judge(case: &Case, readings: &Readings) -> CaseResult {
    let finding = (case.judge)(readings);
    let capture = readings.get(finding.on);
    let trace = if finding.verdict == Verdict::Ok {
        Vec::new()
    } else {
        capture.trace(finding.focus)
    };
    CaseResult {
        id: case.id.to_string(),
        category: category(case.id).to_string(),
        description: case.description.to_string(),
        verdict: finding.verdict,
        expected: case.expected.to_string(),
        observed: finding.observed,
        duration_ms: (capture.end_ms * 1000.0).round() / 1000.0,
        trace,
        expected_failure: false,
    }
}

/// `n thing(s)`.
pub(crate) fn plural(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_ids_are_unique_dotted_and_in_order() {
        let cases = catalogue();
        assert!(cases.len() >= 30, "{} cases", cases.len());
        let ids: Vec<_> = cases.iter().map(|c| c.id).collect();
        let mut sorted = ids.clone();
        sorted.sort_by_key(|id| {
            id.split('.')
                .map(|n| n.parse::<u32>().unwrap())
                .collect::<Vec<_>>()
        });
        sorted.dedup();
        assert_eq!(ids, sorted);
        for case in &cases {
            assert!(!case.description.is_empty() && !case.expected.is_empty());
            assert!(!category(case.id).is_empty());
        }
    }
}
