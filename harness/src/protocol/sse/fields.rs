//! Category 3, fields: only the four field names, `retry` as ASCII digits, `id` without NUL,
//! exact event names, no typed event without data, blank lines that are blank, comments that
//! are comments. (web-platform-tests `eventsource/format-field-*`, `format-comments`,
//! `format-leading-space`, `format-data-before-final-empty-line`.)

use super::reader::Capture;
use super::stream::{Field, blocks, escape, field};
use super::{Case, Finding, plural};
use crate::results::protocol::Verdict;

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "3.1",
            description: "Only the field names data, event, id and retry",
            expected: "every field line named data, event, id or retry, in lower case (a client ignores any other line: what it carries is lost)",
            judge: |r| unknown_fields(&r.main),
        },
        Case {
            id: "3.2",
            description: "retry is ASCII digits only",
            expected: "`retry:` followed by one or more ASCII digits (a client ignores `retry: 1000x`, `retry: 1.5`, `retry:`)",
            judge: |r| retry_digits(&r.main),
        },
        Case {
            id: "3.3",
            description: "id holds no NUL",
            expected: "no U+0000 in an `id` value (a client ignores such an id: resume would ask for an older one)",
            judge: |r| id_without_nul(&r.main),
        },
        Case {
            id: "3.4",
            description: "No empty id",
            expected: "no `id` field without a value (it clears the client's last event ID: a reconnection would not resume)",
            judge: |r| empty_id(&r.main),
        },
        Case {
            id: "3.5",
            description: "Event names are exact",
            expected: "`event:` values that are non-empty and carry no leading or trailing white space (`event:  tick` is the type \" tick\": listeners for `tick` never fire)",
            judge: |r| event_names(&r.main),
        },
        Case {
            id: "3.6",
            description: "No typed event without data",
            expected: "every block with an `event` field has a `data` field (a client dispatches nothing without data)",
            judge: |r| event_without_data(&r.main),
        },
        Case {
            id: "3.7",
            description: "Blank lines are empty",
            expected: "the line ending an event is empty (a line of spaces is a field named \" \": the event is not dispatched until a truly blank line)",
            judge: |r| whitespace_lines(&r.main),
        },
        Case {
            id: "3.8",
            description: "Comments (keep-alives) start the line with a colon",
            expected: "keep-alive comments as `:` at the start of the line (` : ping` is a field named \" \", not a comment)",
            judge: |r| indented_comments(&r.main),
        },
    ]
}

/// The fields of `capture`'s lines (index, name, value) that `pick` flags; `observed` says
/// what was seen when none is flagged.
fn flag_fields(
    capture: &Capture,
    verdict: Verdict,
    what: &str,
    none: &str,
    pick: fn(&[u8], &[u8]) -> bool,
) -> Finding {
    let body = &capture.body;
    let mut flagged = Vec::new();
    for index in 0..capture.lines.len() {
        if let Field::Named { name, value } = field(body, &capture.lines, index)
            && pick(name, value)
        {
            flagged.push(index);
        }
    }
    match flagged.first() {
        None => Finding::ok(none),
        Some(&line) => Finding::new(
            verdict,
            format!(
                "{} {what}, the first: line {} `{}`",
                plural(flagged.len(), "line"),
                line + 1,
                escape(capture.lines[line].text(body), 80)
            ),
        )
        .at(Some(line)),
    }
}

const KNOWN: [&[u8]; 4] = [b"data", b"event", b"id", b"retry"];

fn unknown_fields(capture: &Capture) -> Finding {
    flag_fields(
        capture,
        Verdict::Failed,
        "with a field name a client ignores",
        "every field is data, event, id or retry",
        |name, _| !KNOWN.contains(&name),
    )
}

fn retry_digits(capture: &Capture) -> Finding {
    flag_fields(
        capture,
        Verdict::Failed,
        "with a retry that is not ASCII digits",
        "no retry, or only digits",
        |name, value| {
            name == b"retry" && (value.is_empty() || !value.iter().all(u8::is_ascii_digit))
        },
    )
}

fn id_without_nul(capture: &Capture) -> Finding {
    flag_fields(
        capture,
        Verdict::Failed,
        "with NUL in an id",
        "no id holds NUL",
        |name, value| name == b"id" && value.contains(&0),
    )
}

fn empty_id(capture: &Capture) -> Finding {
    flag_fields(
        capture,
        Verdict::NonStrict,
        "with an empty id",
        "no empty id",
        |name, value| name == b"id" && value.is_empty(),
    )
}

fn event_names(capture: &Capture) -> Finding {
    let empty = flag_fields(
        capture,
        Verdict::NonStrict,
        "with an empty event name (dispatched as `message`: leave the field out)",
        "",
        |name, value| name == b"event" && value.is_empty(),
    );
    let padded = flag_fields(
        capture,
        Verdict::Failed,
        "with white space around the event name",
        "",
        |name, value| {
            name == b"event"
                && !value.is_empty()
                && (value[0].is_ascii_whitespace() || value[value.len() - 1].is_ascii_whitespace())
        },
    );
    match (padded.verdict, empty.verdict) {
        (Verdict::Failed, _) => padded,
        (_, Verdict::NonStrict) => empty,
        _ => Finding::ok("every event name is exact"),
    }
}

fn event_without_data(capture: &Capture) -> Finding {
    let all = blocks(&capture.body, &capture.lines);
    let dropped: Vec<_> = all
        .iter()
        .filter(|b| b.blank.is_some() && b.event.is_some() && b.data.is_none())
        .collect();
    match dropped.first() {
        None => Finding::ok(format!(
            "{}, each typed one with data",
            plural(all.len(), "block")
        )),
        Some(block) => Finding::new(
            Verdict::Failed,
            format!(
                "{} with an event type but no data (the first at line {}): clients drop them",
                plural(dropped.len(), "block"),
                block.first + 1
            ),
        )
        .at(Some(block.first)),
    }
}

/// Lines whose text `pick` flags.
fn flag_lines(capture: &Capture, what: &str, none: &str, pick: fn(&[u8]) -> bool) -> Finding {
    let body = &capture.body;
    let flagged: Vec<usize> = (0..capture.lines.len())
        .filter(|&i| pick(capture.lines[i].text(body)))
        .collect();
    match flagged.first() {
        None => Finding::ok(none),
        Some(&line) => Finding::new(
            Verdict::Failed,
            format!(
                "{} {what}, the first: line {} `{}`",
                plural(flagged.len(), "line"),
                line + 1,
                escape(capture.lines[line].text(body), 80)
            ),
        )
        .at(Some(line)),
    }
}

fn whitespace_lines(capture: &Capture) -> Finding {
    flag_lines(
        capture,
        "of white space only",
        "every blank line is empty",
        |text| !text.is_empty() && text.iter().all(|b| *b == b' ' || *b == b'\t'),
    )
}

fn indented_comments(capture: &Capture) -> Finding {
    flag_lines(
        capture,
        "with a colon after leading white space",
        "every comment starts its line",
        |text| {
            let trimmed = text.trim_ascii_start();
            trimmed.len() < text.len() && trimmed.first() == Some(&b':')
        },
    )
}

#[cfg(test)]
mod tests {
    use super::super::Readings;
    use super::super::reader::{End, capture_of};
    use super::*;

    fn finding(id: &str, body: &str) -> Finding {
        let reply = format!("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n{body}");
        let readings = Readings {
            main: capture_of(reply.as_bytes(), End::Closed),
            resumed: None,
            unknown: None,
        };
        let case = cases().into_iter().find(|c| c.id == id).unwrap();
        (case.judge)(&readings)
    }

    const RIGHT: &str =
        ": keep-alive\n\nretry: 1500\nid: 1\nevent: tick\ndata: a\ndata\n\nid: 2\n\n";

    #[test]
    fn a_right_stream_passes_every_field_case() {
        for case in cases() {
            assert_eq!(finding(case.id, RIGHT).verdict, Verdict::Ok, "{}", case.id);
        }
    }

    #[test]
    fn what_a_server_must_never_emit() {
        use Verdict::{Failed as F, NonStrict as N};
        let cases = [
            ("3.1", "Data: x\n\n", F, 0),
            ("3.1", "data: a\nfoo: b\n\n", F, 1),
            ("3.2", "retry: 1000x\ndata: a\n\n", F, 0),
            ("3.2", "retry:\ndata: a\n\n", F, 0),
            ("3.2", "retry: 1.5\n\n", F, 0),
            ("3.3", "id: 1\0\ndata: a\n\n", F, 0),
            ("3.4", "data: a\n\nid\ndata: b\n\n", N, 2),
            ("3.5", "event:  tick\ndata: a\n\n", F, 0),
            ("3.5", "event:\ndata: a\n\n", N, 0),
            ("3.6", "data: a\n\nevent: tick\n\n", F, 2),
            ("3.7", "data: a\n \ndata: b\n\n", F, 1),
            ("3.8", "data: a\n\n :ping\n\n", F, 2),
        ];
        for (id, body, verdict, line) in cases {
            let found = finding(id, body);
            assert_eq!(found.verdict, verdict, "{id} {body:?}: {}", found.observed);
            assert_eq!(found.focus, Some(line), "{id} {body:?}");
            assert!(
                found.observed.contains(&format!("line {}", line + 1)),
                "{}",
                found.observed
            );
        }
    }
}
