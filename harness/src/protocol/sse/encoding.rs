//! Category 2, encoding and line endings: valid UTF-8, a BOM only at the very start, one kind
//! of line ending, no CRLF torn across chunks, and what a client splitting lines at LF only
//! reads of the stream. (web-platform-tests `eventsource/format-utf-8`, `format-bom`,
//! `format-bom-2`, `format-newlines`.)

use std::collections::BTreeMap;

use super::reader::Capture;
use super::stream::{BOM, Ending, Line, LineSplitter, blocks, dispatched};
use super::{Case, Finding, plural};
use crate::results::protocol::Verdict;

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "2.1",
            description: "The body is valid UTF-8",
            expected: "only well-formed UTF-8 (a client replaces anything else with U+FFFD)",
            judge: |r| utf8(&r.main),
        },
        Case {
            id: "2.2",
            description: "A byte order mark only at the very start",
            expected: "no U+FEFF at the start of any line but the first (a second BOM makes the line's field name unknown: the line is lost)",
            judge: |r| bom(&r.main),
        },
        Case {
            id: "2.3",
            description: "One kind of line ending throughout",
            expected: "every line ended alike: all LF, all CRLF or all CR",
            judge: |r| consistent_endings(&r.main),
        },
        Case {
            id: "2.4",
            description: "No CRLF torn across two chunks",
            expected: "no chunk that ends with the CR of a CRLF whose LF starts the next chunk (a client that reads chunk by chunk sees an extra blank line and dispatches early)",
            judge: |r| torn_crlf(&r.main),
        },
        Case {
            id: "2.5",
            description: "A client splitting lines at LF only reads the same events",
            expected: "the events a WHATWG parser dispatches equal those of a parser that splits at LF and drops a CR before it (no lone CR line endings)",
            judge: |r| lf_only_client(&r.main),
        },
    ]
}

/// The line holding body offset `offset`.
pub(super) fn line_at(capture: &Capture, offset: usize) -> Option<usize> {
    capture.lines.iter().rposition(|l| l.start <= offset)
}

fn utf8(capture: &Capture) -> Finding {
    let body = &capture.body;
    let mut at = 0;
    let mut bad = Vec::new();
    for chunk in body.utf8_chunks() {
        at += chunk.valid().len();
        if !chunk.invalid().is_empty() {
            // A sequence cut by the harness leaving is not the server's fault.
            let at_end = at + chunk.invalid().len() == body.len();
            if !(at_end && !capture.server_ended() && chunk.invalid().len() < 4) {
                bad.push(at);
            }
        }
        at += chunk.invalid().len();
    }
    match bad.first() {
        None => Finding::ok(format!("{} bytes of valid UTF-8", body.len())),
        Some(&first) => Finding::new(
            Verdict::Failed,
            format!(
                "{}, the first at body byte {first} (0x{:02x})",
                plural(bad.len(), "invalid UTF-8 sequence"),
                body[first]
            ),
        )
        .at(line_at(capture, first)),
    }
}

fn bom(capture: &Capture) -> Finding {
    let body = &capture.body;
    let start = if body.starts_with(BOM) { BOM.len() } else { 0 };
    let offending: Vec<usize> = capture
        .lines
        .iter()
        .enumerate()
        .filter(|(_, line)| {
            let from = if line.start == 0 { start } else { line.start };
            body.get(from..line.end).is_some_and(|t| t.starts_with(BOM))
        })
        .map(|(i, _)| i)
        .collect();
    let initial = if start > 0 {
        "a BOM at the start"
    } else {
        "no BOM at the start"
    };
    match offending.first() {
        None => Finding::ok(format!("{initial}, none elsewhere")),
        Some(&line) => Finding::new(
            Verdict::Failed,
            format!(
                "{initial}; a BOM at the start of {} (the first: line {})",
                plural(offending.len(), "line"),
                line + 1
            ),
        )
        .at(Some(line)),
    }
}

fn ending_counts(lines: &[Line]) -> BTreeMap<Ending, usize> {
    let mut counts = BTreeMap::new();
    for line in lines {
        *counts.entry(line.ending).or_insert(0) += 1;
    }
    counts
}

fn counts_words(counts: &BTreeMap<Ending, usize>) -> String {
    counts
        .iter()
        .map(|(ending, n)| format!("{n} {}", ending.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn consistent_endings(capture: &Capture) -> Finding {
    let counts = ending_counts(&capture.lines);
    match counts.len() {
        0 => Finding::ok("no complete line"),
        1 => Finding::ok(format!("all lines end alike: {}", counts_words(&counts))),
        _ => {
            let first = capture.lines[0].ending;
            let odd = capture.lines.iter().position(|l| l.ending != first);
            Finding::new(
                Verdict::NonStrict,
                format!(
                    "mixed line endings: {} (a WHATWG parser accepts the mix; clients that split at one kind do not)",
                    counts_words(&counts)
                ),
            )
            .at(odd)
        }
    }
}

fn torn_crlf(capture: &Capture) -> Finding {
    if capture.chunks.is_empty() {
        return Finding::ok("not chunked: no chunk boundaries");
    }
    let body = &capture.body;
    let torn: Vec<usize> = capture
        .chunks
        .iter()
        .map(|c| c.decoded_offset)
        .filter(|&at| at > 0 && at < body.len() && body[at - 1] == b'\r' && body[at] == b'\n')
        .collect();
    match torn.first() {
        None => Finding::ok(format!(
            "{}, no CRLF torn between two",
            plural(capture.chunks.len(), "chunk")
        )),
        Some(&at) => Finding::new(
            Verdict::NonStrict,
            format!(
                "{} torn across chunks (the first at body byte {})",
                plural(torn.len(), "CRLF"),
                at - 1
            ),
        )
        .at(line_at(capture, at - 1)),
    }
}

/// An event as compared: its type, data and id.
type EventKey = (Option<String>, Option<String>, Option<Vec<u8>>);

/// The events dispatched from `body` read with `lines`.
fn events_of(body: &[u8], lines: &[Line]) -> Vec<EventKey> {
    blocks(body, lines)
        .into_iter()
        .filter(dispatched)
        .map(|b| (b.event, b.data, b.id))
        .collect()
}

/// The lines of `body` as a client splitting at LF only (and dropping a CR before it) reads them.
fn lf_only_lines(body: &[u8]) -> Vec<Line> {
    let mut splitter = LineSplitter::default();
    let plain: Vec<u8> = body
        .iter()
        .map(|&b| if b == b'\r' { b'\x01' } else { b })
        .collect();
    splitter.feed(&plain, 0.0);
    splitter
        .lines
        .into_iter()
        .map(|mut line| {
            if line.end > line.start && body[line.end - 1] == b'\r' {
                line.end -= 1;
            }
            line
        })
        .collect()
}

fn lf_only_client(capture: &Capture) -> Finding {
    let body = &capture.body[..capture.tail_start.min(capture.body.len())];
    let whatwg = events_of(body, &capture.lines);
    let naive = events_of(body, &lf_only_lines(body));
    if whatwg == naive {
        return Finding::ok(format!("both read {}", plural(whatwg.len(), "event")));
    }
    let lone_cr = capture.lines.iter().position(|l| l.ending == Ending::Cr);
    Finding::new(
        Verdict::NonStrict,
        format!(
            "a WHATWG parser reads {}, a client splitting at LF only reads {}",
            plural(whatwg.len(), "event"),
            plural(naive.len(), "event")
        ),
    )
    .at(lone_cr)
}

#[cfg(test)]
mod tests {
    use super::super::Readings;
    use super::super::reader::{End, capture_of};
    use super::*;

    const HEAD: &str = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n";

    fn verdict(id: &str, body: &[u8]) -> Finding {
        verdict_after(HEAD, id, body)
    }

    fn verdict_after(head: &str, id: &str, body: &[u8]) -> Finding {
        let mut reply = head.as_bytes().to_vec();
        reply.extend_from_slice(body);
        let readings = Readings {
            main: capture_of(&reply, End::Closed),
            resumed: None,
            unknown: None,
        };
        let case = cases().into_iter().find(|c| c.id == id).unwrap();
        (case.judge)(&readings)
    }

    #[test]
    fn utf8_valid_and_invalid() {
        assert_eq!(
            verdict("2.1", "data: é ✓ 😀\n\n".as_bytes()).verdict,
            Verdict::Ok
        );
        let bad = verdict("2.1", b"data: ok\n\ndata: \xff\xfe\n\n");
        assert_eq!(bad.verdict, Verdict::Failed);
        assert!(bad.observed.contains("body byte 16"), "{}", bad.observed);
        assert_eq!(bad.focus, Some(2));
        // A sequence cut at the end of a stream the server closed is invalid too.
        assert_eq!(verdict("2.1", b"data: \xe2\x9c").verdict, Verdict::Failed);
    }

    #[test]
    fn a_bom_at_the_start_only() {
        assert_eq!(
            verdict("2.2", b"\xEF\xBB\xBFdata: a\n\n").verdict,
            Verdict::Ok
        );
        assert_eq!(
            verdict("2.2", "data: a\u{feff}b\n\n".as_bytes()).verdict,
            Verdict::Ok
        );
        let second = verdict("2.2", b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\n");
        assert_eq!(second.verdict, Verdict::Failed, "format-bom-2");
        let mid = verdict("2.2", b"data: a\n\n\xEF\xBB\xBFdata: b\n\n");
        assert_eq!((mid.verdict, mid.focus), (Verdict::Failed, Some(2)));
    }

    #[test]
    fn line_endings() {
        for right in [&b"data: a\n\n"[..], b"data: a\r\n\r\n", b"data: a\r\r"] {
            assert_eq!(verdict("2.3", right).verdict, Verdict::Ok);
        }
        let mixed = verdict("2.3", b"data: a\r\n\ndata: b\n\n");
        assert_eq!((mixed.verdict, mixed.focus), (Verdict::NonStrict, Some(1)));
        assert!(
            mixed.observed.contains("3 LF, 1 CRLF"),
            "{}",
            mixed.observed
        );
        assert_eq!(
            verdict("2.5", b"data: a\r\n\ndata: b\n\n").verdict,
            Verdict::Ok
        );
        let cr = verdict("2.5", b"data: a\r\rdata: b\n\n");
        assert_eq!(cr.verdict, Verdict::NonStrict, "{}", cr.observed);
    }

    #[test]
    fn a_crlf_torn_between_chunks() {
        let chunked = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
        let whole = b"9\r\ndata: a\r\n\r\n2\r\n\r\n\r\n0\r\n\r\n";
        assert_eq!(verdict_after(chunked, "2.4", whole).verdict, Verdict::Ok);
        let torn = b"8\r\ndata: a\r\r\n3\r\n\n\r\n\r\n0\r\n\r\n";
        let finding = verdict_after(chunked, "2.4", torn);
        assert_eq!(finding.verdict, Verdict::NonStrict, "{}", finding.observed);
        assert_eq!(verdict("2.4", b"data: a\r\n\r\n").verdict, Verdict::Ok);
    }
}
