//! Category 1, the response head: status, `Content-Type` (and its charset), no
//! `Content-Length`, `Cache-Control`, no content coding, the transfer framing.
//! (web-platform-tests `eventsource/format-mime-*`, `eventsource-request-cancellation`.)

use super::reader::{Capture, Framing, Head};
use super::{Case, Finding};
use crate::results::protocol::Verdict;

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "1.1",
            description: "The stream is answered with status 200",
            expected: "HTTP status 200 (any other status makes an EventSource fail the connection)",
            judge: |r| with_head(&r.main, status),
        },
        Case {
            id: "1.2",
            description: "Content-Type is text/event-stream, given once",
            expected: "one Content-Type field whose media type is text/event-stream (parameters allowed)",
            judge: |r| with_head(&r.main, content_type),
        },
        Case {
            id: "1.3",
            description: "The charset, when given, is utf-8",
            expected: "no charset parameter, or charset=utf-8 (the stream is always UTF-8)",
            judge: |r| with_head(&r.main, charset),
        },
        Case {
            id: "1.4",
            description: "No Content-Length on an event stream",
            expected: "no Content-Length field (a stream has no length known in advance)",
            judge: |r| with_head(&r.main, no_content_length),
        },
        Case {
            id: "1.5",
            description: "Cache-Control forbids caching the stream",
            expected: "Cache-Control: no-cache (or no-store), so that no cache or proxy holds events back",
            judge: |r| with_head(&r.main, cache_control),
        },
        Case {
            id: "1.6",
            description: "No content coding the client did not ask for",
            expected: "no Content-Encoding other than identity (the request sent no Accept-Encoding)",
            judge: |r| with_head(&r.main, content_encoding),
        },
        Case {
            id: "1.7",
            description: "Transfer-Encoding is chunked alone, never with Content-Length",
            expected: "Transfer-Encoding absent or exactly `chunked`, and not together with Content-Length",
            judge: |r| with_head(&r.main, transfer_encoding),
        },
    ]
}

/// Runs `check` on the head of `capture`; `failed` when there is none.
fn with_head(capture: &Capture, check: fn(&Head) -> Finding) -> Finding {
    match &capture.head {
        Some(head) => check(head),
        None => Finding::new(
            Verdict::Failed,
            format!("no reply head: {}", capture.end_words()),
        ),
    }
}

fn status(head: &Head) -> Finding {
    if head.status == 200 {
        Finding::ok("status 200")
    } else {
        Finding::new(Verdict::Failed, format!("status {}", head.status))
    }
}

/// The media type (lower case) and the parameters (name lower case, value unquoted) of a
/// `Content-Type` value.
pub(super) fn media_type(value: &str) -> (String, Vec<(String, String)>) {
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let params = parts
        .filter_map(|p| {
            let (name, value) = p.split_once('=')?;
            Some((
                name.trim().to_ascii_lowercase(),
                value.trim().trim_matches('"').to_string(),
            ))
        })
        .collect();
    (essence, params)
}

fn content_type(head: &Head) -> Finding {
    let values = head.values("content-type");
    match values.as_slice() {
        [] => Finding::new(Verdict::Failed, "no Content-Type"),
        [one] => {
            let text = String::from_utf8_lossy(one);
            let (essence, _) = media_type(&text);
            if essence == "text/event-stream" {
                Finding::ok(format!("Content-Type: {text}"))
            } else {
                Finding::new(Verdict::Failed, format!("Content-Type: {text}"))
            }
        }
        many => Finding::new(
            Verdict::Failed,
            format!("{} Content-Type fields", many.len()),
        ),
    }
}

fn charset(head: &Head) -> Finding {
    let Some(text) = head.text("content-type") else {
        return Finding::new(Verdict::Failed, "no Content-Type");
    };
    let (_, params) = media_type(&text);
    match params.iter().find(|(name, _)| name == "charset") {
        None => Finding::ok(format!("Content-Type: {text} (no charset)")),
        Some((_, value)) if value.eq_ignore_ascii_case("utf-8") => {
            Finding::ok(format!("Content-Type: {text}"))
        }
        Some((_, value)) => Finding::new(
            Verdict::Failed,
            format!("charset={value} (Content-Type: {text})"),
        ),
    }
}

fn no_content_length(head: &Head) -> Finding {
    match head.text("content-length") {
        None => Finding::ok("no Content-Length"),
        Some(length) => Finding::new(Verdict::Failed, format!("Content-Length: {length}")),
    }
}

fn cache_control(head: &Head) -> Finding {
    match head.text("cache-control") {
        None => Finding::new(Verdict::NonStrict, "no Cache-Control"),
        Some(value) => {
            let forbids = value.split(',').any(|d| {
                let d = d.trim().to_ascii_lowercase();
                d == "no-cache" || d == "no-store"
            });
            if forbids {
                Finding::ok(format!("Cache-Control: {value}"))
            } else {
                Finding::new(Verdict::NonStrict, format!("Cache-Control: {value}"))
            }
        }
    }
}

fn content_encoding(head: &Head) -> Finding {
    match head.text("content-encoding") {
        None => Finding::ok("no Content-Encoding"),
        Some(value) if value.trim().eq_ignore_ascii_case("identity") => {
            Finding::ok(format!("Content-Encoding: {value}"))
        }
        Some(value) => Finding::new(Verdict::Failed, format!("Content-Encoding: {value}")),
    }
}

fn transfer_encoding(head: &Head) -> Finding {
    let framing = super::reader::framing_of(head);
    match head.text("transfer-encoding") {
        None => Finding::ok(match framing {
            Framing::Length(n) => format!("no Transfer-Encoding (Content-Length {n})"),
            _ => "no Transfer-Encoding: the body ends with the connection".into(),
        }),
        Some(value) if !value.trim().eq_ignore_ascii_case("chunked") => {
            Finding::new(Verdict::Failed, format!("Transfer-Encoding: {value}"))
        }
        Some(value) if head.text("content-length").is_some() => Finding::new(
            Verdict::Failed,
            format!("Transfer-Encoding: {value} with a Content-Length"),
        ),
        Some(value) => Finding::ok(format!("Transfer-Encoding: {value}")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Readings;
    use super::super::reader::{End, capture_of};
    use super::*;

    const RIGHT: &str = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n";

    fn verdicts(head: &str) -> Vec<Verdict> {
        let readings = Readings {
            main: capture_of(head.as_bytes(), End::Enough),
            resumed: None,
            unknown: None,
        };
        cases()
            .iter()
            .map(|c| (c.judge)(&readings).verdict)
            .collect()
    }

    fn broken(from: &str, to: &str) -> Vec<Verdict> {
        assert!(RIGHT.contains(from), "{from}");
        verdicts(&RIGHT.replacen(from, to, 1))
    }

    #[test]
    fn a_right_head_passes_every_case() {
        assert!(verdicts(RIGHT).iter().all(|v| *v == Verdict::Ok));
        let bare = "HTTP/1.1 200 OK\r\ncontent-type: TEXT/Event-Stream;\r\ncache-control: no-store\r\n\r\n";
        assert!(
            verdicts(bare).iter().all(|v| *v == Verdict::Ok),
            "format-mime-trailing-semicolon"
        );
    }

    #[test]
    fn each_broken_rule_fails_its_own_case_only() {
        use Verdict::{Failed as F, NonStrict as N, Ok as O};
        let cases: [(&str, &str, [Verdict; 7]); 8] = [
            ("200 OK", "204 No Content", [F, O, O, O, O, O, O]),
            ("text/event-stream", "text/plain", [O, F, O, O, O, O, O]),
            ("charset=utf-8", "charset=iso-8859-1", [O, O, F, O, O, O, O]),
            (
                "cache-control: no-cache\r\n",
                "content-length: 10\r\n",
                [O, O, O, F, N, O, F],
            ),
            (
                "cache-control: no-cache",
                "cache-control: max-age=60",
                [O, O, O, O, N, O, O],
            ),
            (
                "cache-control: no-cache",
                "content-encoding: gzip",
                [O, O, O, O, N, F, O],
            ),
            ("chunked", "gzip, chunked", [O, O, O, O, O, O, F]),
            (
                "content-type: text/event-stream; charset=utf-8\r\n",
                "content-type: text/event-stream\r\ncontent-type: text/html\r\n",
                [O, F, O, O, O, O, O],
            ),
        ];
        for (from, to, want) in cases {
            assert_eq!(broken(from, to), want, "{from} -> {to}");
        }
        let none = Readings {
            main: capture_of(b"", End::Closed),
            resumed: None,
            unknown: None,
        };
        let finding = (cases_of("1.1").judge)(&none);
        assert_eq!(finding.verdict, F);
        assert!(
            finding.observed.contains("no reply head"),
            "{}",
            finding.observed
        );
    }

    fn cases_of(id: &str) -> Case {
        cases().into_iter().find(|c| c.id == id).unwrap()
    }
}
