//! Category 6, connection and framing: chunked framing correct, the stream ended by its framing
//! (not cut), nothing after the body, the connection closed when the server said it would, a
//! clean close, an HTTP/1.1 reply.

use super::reader::{Capture, End, Framing};
use super::stream::escape;
use super::{Case, Finding};
use crate::results::protocol::Verdict;

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "6.1",
            description: "The chunked framing is correct",
            expected: "chunk sizes in hex, each size line and each chunk's data ended by CRLF, a last chunk of size 0 (RFC 9112, 7.1)",
            judge: |r| chunk_framing(&r.main),
        },
        Case {
            id: "6.2",
            description: "The stream ends by its framing, not cut off",
            expected: "when the server ends the stream: the last chunk (chunked), all of Content-Length, or a close after whole lines (close-delimited)",
            judge: |r| ends_by_framing(&r.main),
        },
        Case {
            id: "6.3",
            description: "Nothing after the end of the body",
            expected: "no bytes after the last chunk (or after Content-Length) that are not a new reply",
            judge: |r| nothing_after(&r.main),
        },
        Case {
            id: "6.4",
            description: "The connection closes as the server said",
            expected: "after a body announced with `Connection: close` (or on HTTP/1.0 without keep-alive), the server closes the connection",
            judge: |r| closes_as_said(&r.main),
        },
        Case {
            id: "6.5",
            description: "The connection ends cleanly",
            expected: "no reset; over TLS, close_notify before the TCP close",
            judge: |r| clean_close(&r.main),
        },
        Case {
            id: "6.6",
            description: "An HTTP/1.1 reply",
            expected: "HTTP/1.1 to an HTTP/1.1 request (HTTP/1.0 has no chunking: the stream can only end with the connection)",
            judge: |r| http11(&r.main),
        },
    ]
}

fn chunk_framing(capture: &Capture) -> Finding {
    if capture.framing != Framing::Chunked {
        return Finding::ok(match capture.framing {
            Framing::Length(n) => format!("not chunked (Content-Length {n})"),
            _ => "not chunked (the body ends with the connection)".into(),
        });
    }
    match &capture.framing_error {
        None => Finding::ok(format!("{} chunks, well framed", capture.chunks.len())),
        Some(error) => {
            let from = error.offset.saturating_sub(40);
            let to = (error.offset + 20).min(capture.framed.len());
            let near = capture.framed.get(from..to).unwrap_or_default();
            Finding::new(
                Verdict::Failed,
                format!("{error}; the framed bytes there: `{}`", escape(near, 120)),
            )
            .at(capture.lines.len().checked_sub(1))
        }
    }
}

fn ends_by_framing(capture: &Capture) -> Finding {
    if !capture.server_ended() {
        return Finding::ok(format!(
            "still open when the harness left ({}): an endless stream",
            capture.end_words()
        ));
    }
    if let Some(unfinished) = &capture.unfinished {
        return Finding::new(Verdict::Failed, unfinished.clone())
            .at(capture.lines.len().checked_sub(1));
    }
    if capture.framing == Framing::Close && capture.tail_start < capture.body.len() {
        return Finding::new(
            Verdict::Failed,
            "the connection closed in the middle of a line",
        )
        .at(capture.lines.len().checked_sub(1));
    }
    Finding::ok(match capture.framing {
        Framing::Chunked => "the last chunk, then the close",
        Framing::Length(_) => "all of Content-Length, then the close",
        Framing::Close => "the close, after whole lines",
    })
}

fn nothing_after(capture: &Capture) -> Finding {
    if capture.after_end.is_empty() {
        return Finding::ok(if capture.framing_complete {
            "nothing after the body"
        } else {
            "the body did not end while the harness read"
        });
    }
    if capture.after_end.starts_with(b"HTTP/1.") {
        return Finding::ok("a new reply after the body");
    }
    Finding::new(
        Verdict::Failed,
        format!(
            "{} bytes after the body: `{}`",
            capture.after_end.len(),
            escape(&capture.after_end, 120)
        ),
    )
}

fn closes_as_said(capture: &Capture) -> Finding {
    let Some(head) = &capture.head else {
        return Finding::new(Verdict::Failed, format!("no head: {}", capture.end_words()));
    };
    let says_close = head.lists("connection", "close")
        || (head.minor_version == 0 && !head.lists("connection", "keep-alive"));
    if !capture.framing_complete {
        return Finding::ok(if capture.server_ended() {
            "the body did not end by its framing (see 6.2)".to_string()
        } else {
            "the stream was still going when the harness left".to_string()
        });
    }
    match (says_close, capture.closed_after_body_ms) {
        (true, Some(_)) => Finding::ok("Connection: close, and the server closed"),
        (true, None) => Finding::new(
            Verdict::Failed,
            format!(
                "Connection: close, but the connection was still open {:.0} ms after the body",
                capture.end_ms - capture.body_end_ms.unwrap_or(capture.end_ms)
            ),
        ),
        (false, Some(_)) => Finding::ok("kept alive by default; the server closed after the body"),
        (false, None) => Finding::ok("kept alive, as the head allows"),
    }
}

fn clean_close(capture: &Capture) -> Finding {
    match &capture.end {
        End::Failed(why) => Finding::new(Verdict::Failed, format!("the connection failed: {why}")),
        End::ClosedWithoutNotify => Finding::new(
            Verdict::NonStrict,
            "the TCP connection closed without TLS close_notify (a truncation attack looks the same)",
        ),
        End::Closed => Finding::ok("closed cleanly"),
        _ => Finding::ok(format!(
            "open when the harness left ({})",
            capture.end_words()
        )),
    }
}

fn http11(capture: &Capture) -> Finding {
    match &capture.head {
        None => Finding::new(Verdict::Failed, format!("no head: {}", capture.end_words())),
        Some(head) if head.minor_version == 1 => Finding::ok("HTTP/1.1"),
        Some(_) => Finding::new(Verdict::NonStrict, "HTTP/1.0"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Readings;
    use super::super::reader::capture_of;
    use super::*;

    const CHUNKED: &str = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";

    fn verdicts(reply: &[u8], end: End) -> Vec<Verdict> {
        let readings = Readings {
            main: capture_of(reply, end),
            resumed: None,
            unknown: None,
        };
        cases()
            .iter()
            .map(|c| (c.judge)(&readings).verdict)
            .collect()
    }

    fn chunked(body: &str, end: End) -> Vec<Verdict> {
        verdicts(format!("{CHUNKED}{body}").as_bytes(), end)
    }

    #[test]
    fn right_endings_pass() {
        use Verdict::Ok as O;
        assert_eq!(
            chunked("9\r\ndata: a\n\n\r\n0\r\n\r\n", End::Closed),
            [O; 6]
        );
        assert_eq!(chunked("9\r\ndata: a\n\n\r\n", End::Enough), [O; 6]);
        let close = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\ndata: a\n\n";
        assert_eq!(verdicts(close.as_bytes(), End::Closed), [O; 6]);
    }

    #[test]
    fn each_broken_rule_fails_its_case() {
        use Verdict::{Failed as F, NonStrict as N, Ok as O};
        // Framing: a chunk longer than its size, a bare LF ending the last chunk.
        assert_eq!(
            chunked("8\r\ndata: a\n\n\r\n", End::Enough),
            [F, O, O, O, O, O]
        );
        assert_eq!(
            chunked("9\r\ndata: a\n\n\r\n0\n\n", End::Enough),
            [F, O, O, O, O, O]
        );
        // Cut off: inside a chunk, and without the last chunk.
        assert_eq!(chunked("9\r\ndata:", End::Closed), [O, F, O, O, O, O]);
        assert_eq!(
            chunked("9\r\ndata: a\n\n\r\n", End::Closed),
            [O, F, O, O, O, O]
        );
        // Bytes after the last chunk; Connection: close but not closed (the harness left).
        assert_eq!(
            chunked("9\r\ndata: a\n\n\r\n0\r\n\r\ndata: b\n\n", End::Enough),
            [O, O, F, F, O, O]
        );
        let stray = format!("{CHUNKED}9\r\ndata: a\n\n\r\n0\r\n\r\ndata: b\n\n");
        let kept = closes_as_said(&capture_of(stray.as_bytes(), End::Enough));
        assert!(
            kept.observed.contains("still open 1 ms after the body"),
            "{}",
            kept.observed
        );
        // Not a clean close; HTTP/1.0.
        assert_eq!(
            chunked("9\r\ndata: a\n\n\r\n", End::Failed("reset".into())),
            [O, F, O, O, F, O]
        );
        assert_eq!(
            chunked("9\r\ndata: a\n\n\r\n0\r\n\r\n", End::ClosedWithoutNotify),
            [O, O, O, O, N, O]
        );
        let old = "HTTP/1.0 200 OK\r\ncontent-type: text/event-stream\r\n\r\ndata: a\n\nda";
        assert_eq!(verdicts(old.as_bytes(), End::Closed), [O, F, O, O, O, N]);
    }
}
