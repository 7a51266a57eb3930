//! Category 5, resume: events carry ids, each id once; asked again with `Last-Event-ID` the
//! stream goes on after that id, repeating nothing; an id the server cannot know does not
//! break the stream. `unimplemented` where the endpoint sends no ids or ignores the header.

use super::reader::Capture;
use super::stream::{Block, blocks, dispatched};
use super::{Case, Finding, On, Readings, plural};
use crate::results::protocol::Verdict;

/// The `Last-Event-ID` no server has sent.
pub(super) const UNKNOWN_ID: &str = "benchmark-harness-unknown-id-7f3a";

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "5.1",
            description: "Events carry ids",
            expected: "`id` fields on the events, so that a reconnecting client can resume (`unimplemented` without)",
            judge: |r| carries_ids(&r.main),
        },
        Case {
            id: "5.2",
            description: "Resumed with Last-Event-ID, the stream goes on after that id",
            expected: "asked with `Last-Event-ID: <id>` (an id of the first reading), the first event is the one that followed <id>",
            judge: resumes_after,
        },
        Case {
            id: "5.3",
            description: "Resumed, no event is repeated",
            expected: "no event at or before the given id comes again",
            judge: none_repeated,
        },
        Case {
            id: "5.4",
            description: "The resumed reply is an event stream too",
            expected: "status 200 and Content-Type text/event-stream on the resumed request",
            judge: resumed_head,
        },
        Case {
            id: "5.5",
            description: "Each id once in the stream",
            expected: "no two events of one reading with the same id (resume would be ambiguous)",
            judge: |r| ids_unique(&r.main),
        },
        Case {
            id: "5.6",
            description: "An unknown Last-Event-ID does not break the stream",
            expected: "asked with a Last-Event-ID the server never sent: 200 (the stream from where the server chooses) or 204 (nothing to send), not an error",
            judge: unknown_id,
        },
    ]
}

/// The dispatched events of `capture` that carry an id field, with it as text.
fn with_ids(capture: &Capture) -> Vec<(String, Block)> {
    blocks(&capture.body, &capture.lines)
        .into_iter()
        .filter(dispatched)
        .filter_map(|b| Some((b.id_text()?.into_owned(), b)))
        .filter(|(id, _)| !id.is_empty())
        .collect()
}

/// The id the resumed reading names: the second id seen (so that a restart from the first
/// event is told apart from a repeat of the given one), or the only one.
pub(super) fn resume_point(capture: &Capture) -> Option<String> {
    let ids = with_ids(capture);
    let pick = usize::from(ids.len() >= 2);
    ids.get(pick).map(|(id, _)| id.clone())
}

fn carries_ids(capture: &Capture) -> Finding {
    let ids = with_ids(capture);
    let events = blocks(&capture.body, &capture.lines)
        .into_iter()
        .filter(dispatched)
        .count();
    if ids.is_empty() {
        Finding::new(
            Verdict::Unimplemented,
            format!("none of {} carries an id", plural(events, "event")),
        )
    } else {
        Finding::ok(format!(
            "{} of {} carry an id",
            ids.len(),
            plural(events, "event")
        ))
    }
}

/// How the resumed reading went, against the first: the given id, the ids before it (itself
/// included), the id expected next, the resumed ids.
struct Resume<'r> {
    given: &'r str,
    seen_through: Vec<String>,
    first_id: Option<String>,
    expected_next: Option<String>,
    resumed: Vec<String>,
    capture: &'r Capture,
}

fn resume(r: &Readings) -> Result<Resume<'_>, Finding> {
    let Some((given, capture)) = &r.resumed else {
        let why = if with_ids(&r.main).is_empty() {
            "no ids in the stream: nothing to resume from"
        } else {
            "the resumed request got no reply"
        };
        let verdict = if with_ids(&r.main).is_empty() {
            Verdict::Unimplemented
        } else {
            Verdict::Failed
        };
        return Err(Finding::new(verdict, why));
    };
    let ids: Vec<String> = with_ids(&r.main).into_iter().map(|(id, _)| id).collect();
    let at = ids.iter().position(|id| id == given).unwrap_or(0);
    Ok(Resume {
        given,
        seen_through: ids[..=at.min(ids.len().saturating_sub(1))].to_vec(),
        first_id: ids.first().cloned(),
        expected_next: ids.get(at + 1).cloned(),
        resumed: with_ids(capture).into_iter().map(|(id, _)| id).collect(),
        capture,
    })
}

impl Resume<'_> {
    /// The server ignored the header: it started over from the first event. (Given the first
    /// id itself, a repeat of it looks the same: the header is taken as ignored.)
    fn restarted(&self) -> bool {
        self.first_id.is_some() && self.resumed.first() == self.first_id.as_ref()
    }

    fn words(&self) -> String {
        let shown: Vec<&str> = self.resumed.iter().take(5).map(String::as_str).collect();
        format!(
            "Last-Event-ID: {}; the resumed stream's ids: [{}]",
            self.given,
            shown.join(", ")
        )
    }
}

fn resumes_after(r: &Readings) -> Finding {
    let resume = match resume(r) {
        Ok(resume) => resume,
        Err(finding) => return finding,
    };
    let observed = resume.words();
    let verdict = if resume.restarted() {
        return Finding::new(
            Verdict::Unimplemented,
            format!("{observed}: the header is ignored, the stream starts over"),
        )
        .on(On::Resumed);
    } else {
        match (&resume.expected_next, resume.resumed.first()) {
            (Some(next), Some(first)) if next == first => Verdict::Ok,
            (None, None) => Verdict::Ok,
            _ => Verdict::Failed,
        }
    };
    let expected = resume
        .expected_next
        .as_deref()
        .map_or("no event".to_string(), |id| format!("id {id} first"));
    Finding::new(verdict, format!("{observed} (expected {expected})"))
        .on(On::Resumed)
        .at(Some(0).filter(|_| verdict != Verdict::Ok && !resume.capture.lines.is_empty()))
}

fn none_repeated(r: &Readings) -> Finding {
    let resume = match resume(r) {
        Ok(resume) => resume,
        Err(finding) => return finding,
    };
    if resume.restarted() {
        return Finding::new(
            Verdict::Unimplemented,
            format!(
                "{}: the header is ignored, the stream starts over",
                resume.words()
            ),
        )
        .on(On::Resumed);
    }
    let repeated: Vec<&String> = resume
        .resumed
        .iter()
        .filter(|id| resume.seen_through.contains(id))
        .collect();
    if repeated.is_empty() {
        Finding::ok(resume.words()).on(On::Resumed)
    } else {
        let shown: Vec<&str> = repeated.iter().take(5).map(|s| s.as_str()).collect();
        Finding::new(
            Verdict::Failed,
            format!("{}: repeated {}", resume.words(), shown.join(", ")),
        )
        .on(On::Resumed)
    }
}

fn resumed_head(r: &Readings) -> Finding {
    let Some((given, capture)) = &r.resumed else {
        return resume(r).err().unwrap_or_else(|| Finding::ok(""));
    };
    head_is_stream(capture, &format!("Last-Event-ID: {given}"), On::Resumed)
}

fn head_is_stream(capture: &Capture, asked: &str, on: On) -> Finding {
    let Some(head) = &capture.head else {
        return Finding::new(
            Verdict::Failed,
            format!("{asked}: no reply head ({})", capture.end_words()),
        )
        .on(on);
    };
    let content_type = head.text("content-type").unwrap_or_default();
    let (essence, _) = super::head::media_type(&content_type);
    let observed = format!(
        "{asked}: status {}, Content-Type: {content_type}",
        head.status
    );
    if head.status == 200 && essence == "text/event-stream" {
        Finding::ok(observed).on(on)
    } else {
        Finding::new(Verdict::Failed, observed).on(on)
    }
}

fn ids_unique(capture: &Capture) -> Finding {
    let ids = with_ids(capture);
    if ids.is_empty() {
        return Finding::new(Verdict::Unimplemented, "no ids in the stream");
    }
    let mut seen = std::collections::HashSet::new();
    match ids.iter().find(|(id, _)| !seen.insert(id.as_str())) {
        None => Finding::ok(format!("{} distinct ids", ids.len())),
        Some((id, block)) => {
            Finding::new(Verdict::Failed, format!("id {id} twice")).at(Some(block.first))
        }
    }
}

fn unknown_id(r: &Readings) -> Finding {
    let Some(capture) = &r.unknown else {
        return Finding::new(
            Verdict::Failed,
            "the request got no reply: the connection was refused",
        );
    };
    let asked = format!("Last-Event-ID: {UNKNOWN_ID}");
    match capture.head.as_ref().map(|h| h.status) {
        Some(200) => head_is_stream(capture, &asked, On::UnknownId),
        Some(204) => Finding::ok(format!("{asked}: status 204")).on(On::UnknownId),
        Some(status @ 400..=499) => Finding::new(
            Verdict::NonStrict,
            format!("{asked}: status {status} (a client gives up instead of starting over)"),
        )
        .on(On::UnknownId),
        Some(status) => {
            Finding::new(Verdict::Failed, format!("{asked}: status {status}")).on(On::UnknownId)
        }
        None => Finding::new(
            Verdict::Failed,
            format!("{asked}: no reply head ({})", capture.end_words()),
        )
        .on(On::UnknownId),
    }
}

#[cfg(test)]
mod tests {
    use super::super::reader::{End, capture_of};
    use super::*;

    const HEAD: &str = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n";

    fn stream(ids: &[u32]) -> Capture {
        let body: String = ids
            .iter()
            .map(|n| format!("id: {n}\ndata: {n}\n\n"))
            .collect();
        capture_of(format!("{HEAD}{body}").as_bytes(), End::Enough)
    }

    fn readings(main: &[u32], resumed: Option<&[u32]>) -> Readings {
        let main = stream(main);
        let point = resume_point(&main);
        Readings {
            resumed: resumed.map(|ids| (point.unwrap_or_default(), stream(ids))),
            main,
            unknown: Some(stream(&[1])),
        }
    }

    fn verdicts(r: &Readings) -> Vec<Verdict> {
        cases().iter().map(|c| (c.judge)(r).verdict).collect()
    }

    #[test]
    fn a_right_resume_passes() {
        let r = readings(&[1, 2, 3, 4], Some(&[3, 4, 5]));
        assert_eq!(resume_point(&r.main).as_deref(), Some("2"));
        assert!(
            verdicts(&r).iter().all(|v| *v == Verdict::Ok),
            "{:?}",
            verdicts(&r)
        );
    }

    #[test]
    fn repeats_skips_and_ignored_headers() {
        use Verdict::{Failed as F, Ok as O, Unimplemented as U};
        let repeats = readings(&[1, 2, 3, 4], Some(&[2, 3, 4]));
        assert_eq!(verdicts(&repeats), [O, F, F, O, O, O]);
        let skips = readings(&[1, 2, 3, 4], Some(&[4, 5]));
        assert_eq!(verdicts(&skips), [O, F, O, O, O, O]);
        let restarts = readings(&[1, 2, 3, 4], Some(&[1, 2, 3]));
        assert_eq!(verdicts(&restarts), [O, U, U, O, O, O]);
        let no_ids = Readings {
            main: capture_of(format!("{HEAD}data: a\n\n").as_bytes(), End::Enough),
            resumed: None,
            unknown: Some(stream(&[1])),
        };
        assert_eq!(verdicts(&no_ids), [U, U, U, U, U, O]);
        let twice = readings(&[1, 2, 2, 3], Some(&[3]));
        assert_eq!(verdicts(&twice)[4], F);
        // One id only: a restart and a repeat look alike, taken as the header ignored.
        let single = readings(&[1], Some(&[1]));
        assert_eq!(verdicts(&single), [O, U, U, O, O, O]);
        let single = readings(&[1], Some(&[]));
        assert_eq!(verdicts(&single), [O, O, O, O, O, O]);
        // Given the last of two ids, a finite stream has nothing left.
        let last = readings(&[1, 2], Some(&[]));
        assert_eq!(verdicts(&last), [O, O, O, O, O, O]);
        let repeats_last = readings(&[1, 2], Some(&[2]));
        assert_eq!(verdicts(&repeats_last), [O, F, F, O, O, O]);
    }

    #[test]
    fn an_unknown_id_answered_with_an_error() {
        let mut r = readings(&[1, 2, 3], Some(&[3]));
        r.unknown = Some(capture_of(
            b"HTTP/1.1 500 Oops\r\ncontent-length: 0\r\n\r\n",
            End::Closed,
        ));
        assert_eq!((cases()[5].judge)(&r).verdict, Verdict::Failed);
        r.unknown = Some(capture_of(
            b"HTTP/1.1 404 No\r\ncontent-length: 0\r\n\r\n",
            End::Closed,
        ));
        assert_eq!((cases()[5].judge)(&r).verdict, Verdict::NonStrict);
        r.unknown = Some(capture_of(b"HTTP/1.1 204 No Content\r\n\r\n", End::Closed));
        assert_eq!((cases()[5].judge)(&r).verdict, Verdict::Ok);
    }
}
