//! Category 4, delivery: the head and the first event come promptly, events are not held back
//! (against the server's own timestamps where events carry them, else by their arrival
//! pattern), each event is completed by a blank line and flushed whole; the timings recorded.

use super::reader::Capture;
use super::stream::{Block, blocks, dispatched};
use super::{Case, Finding, plural};
use crate::results::protocol::Verdict;

/// A head later than this after connecting is `non_strict`.
const HEAD_PROMPT_MS: f64 = 1000.0;
/// Events whose delivery lag varies by more than this were held back.
const LAG_SPREAD_MS: f64 = 100.0;
/// Events arriving within this of one another arrived together.
const TOGETHER_MS: f64 = 5.0;
/// A burst later than this after connecting, at the close, is a held-back stream.
const LATE_BURST_MS: f64 = 100.0;
/// The lines of one event arriving further apart than this: the event was not flushed whole.
const TORN_EVENT_MS: f64 = 50.0;
/// An event begun this long before the harness left and still not complete.
const STALE_EVENT_MS: f64 = 500.0;

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "4.1",
            description: "The response head comes promptly",
            expected: "the head within 1 s of connecting, before any event is due (a client's `open` waits for it)",
            judge: |r| head_prompt(&r.main),
        },
        Case {
            id: "4.2",
            description: "A first event arrives",
            expected: "at least one complete event within the case's time limit",
            judge: |r| first_event(&r.main),
        },
        Case {
            id: "4.3",
            description: "No buffering, against the server's own timestamps",
            expected: "each event delivered as produced: the lag between an event's timestamp (a JSON data field in Unix s, ms or us) and its arrival varies by at most 100 ms",
            judge: |r| timestamp_lag(&r.main),
        },
        Case {
            id: "4.4",
            description: "No buffering, by the arrival pattern",
            expected: "events not held back and sent all together when the stream ends",
            judge: |r| burst_at_close(&r.main),
        },
        Case {
            id: "4.5",
            description: "Every event is completed by a blank line",
            expected: "no event left without its blank line when the stream ends (a client drops it), nor for long while it goes on",
            judge: |r| completed(&r.main),
        },
        Case {
            id: "4.6",
            description: "Each event is flushed whole",
            expected: "the lines of one event arrive together (within 50 ms), not flushed line by line with pauses",
            judge: |r| flushed_whole(&r.main),
        },
        Case {
            id: "4.7",
            description: "Timings of the stream (recorded)",
            expected: "recorded: time to the head, to the first event, events read, the gaps between events",
            judge: |r| timings(&r.main),
        },
    ]
}

fn events(capture: &Capture) -> Vec<Block> {
    blocks(&capture.body, &capture.lines)
        .into_iter()
        .filter(dispatched)
        .collect()
}

fn arrival(block: &Block) -> f64 {
    block.end_at_ms.unwrap_or(block.first_at_ms)
}

fn head_prompt(capture: &Capture) -> Finding {
    match capture.head_ms {
        None => Finding::new(Verdict::Failed, format!("no head: {}", capture.end_words())),
        Some(at) => {
            let after = at - capture.connected_ms;
            let observed = format!("the head {after:.1} ms after connecting");
            if after <= HEAD_PROMPT_MS {
                Finding::ok(observed)
            } else {
                Finding::new(Verdict::NonStrict, observed)
            }
        }
    }
}

fn first_event(capture: &Capture) -> Finding {
    match events(capture).first() {
        Some(first) => Finding::ok(format!(
            "the first event {:.1} ms after connecting",
            arrival(first) - capture.connected_ms
        )),
        None => Finding::new(
            Verdict::Failed,
            format!(
                "no complete event in {:.0} ms ({} body bytes); {}",
                capture.end_ms,
                capture.body.len(),
                capture.end_words()
            ),
        ),
    }
}

/// A number in a JSON data object that reads as Unix time, in ms, with its field's name.
fn server_time(data: &str) -> Option<(String, f64)> {
    let value: serde_json::Value = serde_json::from_str(data).ok()?;
    value.as_object()?.iter().find_map(|(name, v)| {
        let n = v.as_f64()?;
        let ms = if (1.5e15..5e15).contains(&n) {
            n / 1000.0
        } else if (1.5e12..5e12).contains(&n) {
            n
        } else if (1.5e9..5e9).contains(&n) {
            n * 1000.0
        } else {
            return None;
        };
        Some((name.clone(), ms))
    })
}

fn timestamp_lag(capture: &Capture) -> Finding {
    let stamped: Vec<(usize, String, f64)> = events(capture)
        .iter()
        .filter_map(|b| {
            let (field, at) = server_time(b.data.as_deref()?)?;
            Some((b.first, field, arrival(b) - at))
        })
        .collect();
    if stamped.len() < 2 {
        return Finding::new(
            Verdict::Unimplemented,
            format!(
                "{} with a timestamp (a JSON data field in Unix s, ms or us): nothing to measure against",
                plural(stamped.len(), "event")
            ),
        );
    }
    let min = stamped.iter().map(|s| s.2).fold(f64::INFINITY, f64::min);
    let (line, field, worst) = stamped
        .iter()
        .max_by(|a, b| a.2.total_cmp(&b.2))
        .map(|(l, f, lag)| (*l, f.clone(), *lag))
        .unwrap_or((0, String::new(), min));
    let spread = worst - min;
    let observed = format!(
        "over {} stamped with `{field}`, the delivery lag varies by {spread:.1} ms",
        plural(stamped.len(), "event")
    );
    if spread <= LAG_SPREAD_MS {
        Finding::ok(observed)
    } else {
        let first = stamped.first().map(|s| s.0);
        Finding::new(
            Verdict::Failed,
            format!("{observed}: events were held back"),
        )
        .at(first.or(Some(line)))
    }
}

fn burst_at_close(capture: &Capture) -> Finding {
    let all = events(capture);
    let (Some(first), Some(last)) = (all.first(), all.last()) else {
        return Finding::ok("no events to judge");
    };
    let (first_at, last_at) = (arrival(first), arrival(last));
    let observed = format!(
        "{} between {:.1} and {:.1} ms after connecting",
        plural(all.len(), "event"),
        first_at - capture.connected_ms,
        last_at - capture.connected_ms
    );
    let burst = all.len() >= 3
        && capture.server_ended()
        && last_at - first_at <= TOGETHER_MS
        && first_at - capture.connected_ms > LATE_BURST_MS
        && capture.end_ms - last_at <= 4.0 * TOGETHER_MS;
    if burst {
        Finding::new(
            Verdict::Failed,
            format!("{observed}, all together as the stream closed: the server held them back"),
        )
        .at(Some(first.first))
    } else {
        Finding::ok(observed)
    }
}

fn completed(capture: &Capture) -> Finding {
    let all = blocks(&capture.body, &capture.lines);
    let open = all.last().filter(|b| b.blank.is_none() && b.data.is_some());
    let tail = capture.tail_start < capture.body.len();
    if capture.server_ended() {
        if open.is_some() || tail {
            return Finding::new(
                Verdict::Failed,
                format!(
                    "the stream ended inside an event{}: a client drops it",
                    if tail { " (mid-line)" } else { "" }
                ),
            )
            .at(open.map(|b| b.first).or(capture.lines.len().checked_sub(1)));
        }
        return Finding::ok("the stream ended between events");
    }
    match open {
        Some(block) if capture.end_ms - block.first_at_ms > STALE_EVENT_MS => Finding::new(
            Verdict::NonStrict,
            format!(
                "an event begun {:.0} ms before the harness left was still not complete",
                capture.end_ms - block.first_at_ms
            ),
        )
        .at(Some(block.first)),
        _ => Finding::ok("no event waited for its blank line"),
    }
}

fn flushed_whole(capture: &Capture) -> Finding {
    let torn: Vec<(usize, f64)> = events(capture)
        .iter()
        .map(|b| (b.first, arrival(b) - b.first_at_ms))
        .filter(|(_, took)| *took > TORN_EVENT_MS)
        .collect();
    match torn.first() {
        None => Finding::ok("every event arrived whole"),
        Some((line, took)) => Finding::new(
            Verdict::NonStrict,
            format!(
                "{} arrived in pieces, the first over {took:.1} ms",
                plural(torn.len(), "event")
            ),
        )
        .at(Some(*line)),
    }
}

fn timings(capture: &Capture) -> Finding {
    let all = events(capture);
    let mut gaps: Vec<f64> = all
        .windows(2)
        .map(|w| arrival(&w[1]) - arrival(&w[0]))
        .collect();
    gaps.sort_by(f64::total_cmp);
    let head = capture.head_ms.map_or("no head".into(), |h| {
        format!("head {:.1} ms", h - capture.connected_ms)
    });
    let first = all.first().map_or("no event".into(), |b| {
        format!("first event {:.1} ms", arrival(b) - capture.connected_ms)
    });
    let gaps_words = match (gaps.get(gaps.len() / 2), gaps.last()) {
        (Some(median), Some(max)) => format!("; gaps median {median:.1} ms, max {max:.1} ms"),
        _ => String::new(),
    };
    Finding::new(
        Verdict::Informational,
        format!(
            "{head}, {first}; {} and {} body bytes in {:.1} ms{gaps_words}",
            plural(all.len(), "event"),
            capture.body.len(),
            capture.end_ms
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::super::Readings;
    use super::super::reader::{End, capture_timed};
    use super::*;

    const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n";

    fn finding(id: &str, pieces: &[(f64, &[u8])], end: End) -> Finding {
        let readings = Readings {
            main: capture_timed(pieces, end),
            resumed: None,
            unknown: None,
        };
        let case = cases().into_iter().find(|c| c.id == id).unwrap();
        (case.judge)(&readings)
    }

    fn stamped(n: u64, produced_ms: f64) -> Vec<u8> {
        let us = 1_700_000_000_000_000.0 + produced_ms * 1000.0;
        format!("id: {n}\ndata: {{\"n\":{n},\"ts_us\":{us}}}\n\n").into_bytes()
    }

    #[test]
    fn prompt_heads_and_first_events() {
        let events: &[(f64, &[u8])] = &[(1.0, HEAD), (2.0, b"data: a\n\n")];
        assert_eq!(finding("4.1", events, End::Enough).verdict, Verdict::Ok);
        assert_eq!(finding("4.2", events, End::Enough).verdict, Verdict::Ok);
        let late: &[(f64, &[u8])] = &[(1500.0, HEAD)];
        assert_eq!(
            finding("4.1", late, End::TimeLimit).verdict,
            Verdict::NonStrict
        );
        let silent = finding("4.2", late, End::TimeLimit);
        assert_eq!(silent.verdict, Verdict::Failed);
        assert!(
            silent.observed.contains("no complete event"),
            "{}",
            silent.observed
        );
        assert_eq!(finding("4.1", &[], End::TimeLimit).verdict, Verdict::Failed);
    }

    #[test]
    fn buffering_against_server_timestamps() {
        let (a, b, c) = (stamped(1, 0.0), stamped(2, 40.0), stamped(3, 80.0));
        let live: &[(f64, &[u8])] = &[(1.0, HEAD), (2.0, &a), (42.0, &b), (83.0, &c)];
        let found = finding("4.3", live, End::Closed);
        assert_eq!(found.verdict, Verdict::Ok, "{}", found.observed);
        let (b, c) = (stamped(2, 150.0), stamped(3, 300.0));
        let held: &[(f64, &[u8])] = &[(1.0, HEAD), (400.0, &a), (400.5, &b), (401.0, &c)];
        let found = finding("4.3", held, End::Closed);
        assert_eq!(found.verdict, Verdict::Failed, "{}", found.observed);
        assert!(found.observed.contains("ts_us"), "{}", found.observed);
        let plain: &[(f64, &[u8])] = &[(1.0, HEAD), (2.0, b"data: 1\n\ndata: 2\n\n")];
        assert_eq!(
            finding("4.3", plain, End::Closed).verdict,
            Verdict::Unimplemented
        );
        assert_eq!(
            server_time("{\"at\":1700000000.5}").map(|t| t.1),
            Some(1_700_000_000_500.0)
        );
        assert_eq!(server_time("{\"n\":3}"), None);
    }

    #[test]
    fn buffering_by_the_arrival_pattern() {
        let three = b"data: 1\n\ndata: 2\n\ndata: 3\n\n";
        let held: &[(f64, &[u8])] = &[(1.0, HEAD), (250.0, three)];
        assert_eq!(finding("4.4", held, End::Closed).verdict, Verdict::Failed);
        let prompt: &[(f64, &[u8])] = &[(1.0, HEAD), (2.0, three)];
        assert_eq!(finding("4.4", prompt, End::Closed).verdict, Verdict::Ok);
        let spread: &[(f64, &[u8])] = &[
            (1.0, HEAD),
            (150.0, b"data: 1\n\n"),
            (250.0, b"data: 2\n\ndata: 3\n\n"),
        ];
        assert_eq!(finding("4.4", spread, End::Closed).verdict, Verdict::Ok);
        assert_eq!(
            finding("4.4", held, End::Enough).verdict,
            Verdict::Ok,
            "an endless stream left by the harness"
        );
    }

    #[test]
    fn events_completed_and_flushed_whole() {
        let cut: &[(f64, &[u8])] = &[(1.0, HEAD), (2.0, b"data: 1\n\ndata: 2\n")];
        assert_eq!(finding("4.5", cut, End::Closed).verdict, Verdict::Failed);
        assert_eq!(finding("4.5", cut, End::Enough).verdict, Verdict::Ok);
        let stale: &[(f64, &[u8])] = &[(1.0, HEAD), (2.0, b"data: 1\n"), (900.0, b": ping\n")];
        assert_eq!(
            finding("4.5", stale, End::TimeLimit).verdict,
            Verdict::NonStrict
        );
        let whole: &[(f64, &[u8])] = &[(1.0, HEAD), (2.0, b"data: 1\n\n")];
        assert_eq!(finding("4.5", whole, End::Closed).verdict, Verdict::Ok);
        assert_eq!(finding("4.6", whole, End::Closed).verdict, Verdict::Ok);
        let torn: &[(f64, &[u8])] = &[(1.0, HEAD), (2.0, b"data: 1\n"), (200.0, b"\n")];
        assert_eq!(
            finding("4.6", torn, End::Closed).verdict,
            Verdict::NonStrict
        );
        let info = finding("4.7", whole, End::Closed);
        assert_eq!(info.verdict, Verdict::Informational);
        assert!(info.observed.contains("1 event"), "{}", info.observed);
    }
}
