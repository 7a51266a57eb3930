//! Expected headers: the one rule that `run`'s checks (REST replies, SSE replies, WebSocket
//! handshakes) and the load path (`bench`, `stream`) apply to a header's field lines.
//!
//! - A string expects the header sent **once**, with a value the string (or matcher) accepts;
//!   absent, it is checked as a missing value (`<<absent>>` and `<<any>>` pass). A header sent
//!   several times fails it ("header repeated 2 times"), unless it is `<<any>>` or `<<present>>`,
//!   which ask only whether the header is there.
//! - An array expects the header's lines **in order**, one item per line (each a text or a
//!   matcher): `["a", "b"]` passes on `X: a` then `X: b` only; `[]` on an absent header only.
//!   "One of the lines is `b`" is written with matchers for the others: `["<<any>>", "b"]`.
//! - [`HeaderWant::JsonMediaType`] is the implicit expectation of a REST fixture that checks a
//!   JSON body without naming the content type itself: one `Content-Type` line whose media type
//!   is `application/json` or `*/*+json`.
//!
//! Pure: the lines are given as text (`None` for a value that is not visible ASCII, which only
//! `<<any>>` and `<<present>>` accept).

use harness_fixture::model::{HeaderExpectation, RestExpected};
use serde_json::Value;

use super::matcher::{InvalidMatcher, TextExpect};
use crate::results::diff::{Mismatch, clip_json, token};

/// One expected header, compiled.
#[derive(Debug)]
pub enum HeaderWant {
    /// A string: sent once, with this value.
    One(TextExpect),
    /// An array: these lines, in order.
    Lines(Vec<TextExpect>),
    /// Implicit for a JSON body: one line holding a JSON media type.
    JsonMediaType,
}

/// How a header's lines fail an expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderFault {
    /// The one value, or its absence, is not as expected.
    Value,
    /// A string expectation met a header sent this many times.
    Repeated(usize),
    /// An array expected `want` lines and `got` came.
    Count {
        /// Items of the array.
        want: usize,
        /// Lines received.
        got: usize,
    },
    /// This line (0-based) differs from its item.
    Line(usize),
    /// The content type is absent or not JSON.
    NotJson,
}

impl HeaderWant {
    /// Compiles a fixture's expectation; a malformed matcher is an error.
    pub fn new(expectation: &HeaderExpectation) -> Result<HeaderWant, InvalidMatcher> {
        Ok(match expectation {
            HeaderExpectation::One(text) => HeaderWant::One(TextExpect::new(text)?),
            HeaderExpectation::Lines(items) => HeaderWant::Lines(
                items
                    .iter()
                    .map(|item| TextExpect::new(item))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    /// `None` when the header's `lines` (in order; `None` for a value that is not text) are as
    /// expected, else how they are not.
    pub fn fault<'a>(
        &self,
        mut lines: impl Iterator<Item = Option<&'a str>>,
    ) -> Option<HeaderFault> {
        match self {
            HeaderWant::One(want) => match lines.next() {
                None => (!want.matches(None)).then_some(HeaderFault::Value),
                Some(line) => {
                    let more = lines.count();
                    if want.asks_presence_only() {
                        None
                    } else if more > 0 {
                        Some(HeaderFault::Repeated(more + 1))
                    } else {
                        (!line_matches(want, line)).then_some(HeaderFault::Value)
                    }
                }
            },
            HeaderWant::Lines(items) => {
                let mut got = 0;
                let mut first_bad = None;
                for (index, line) in lines.enumerate() {
                    got += 1;
                    if first_bad.is_none()
                        && items
                            .get(index)
                            .is_some_and(|want| !line_matches(want, line))
                    {
                        first_bad = Some(index);
                    }
                }
                if got != items.len() {
                    Some(HeaderFault::Count {
                        want: items.len(),
                        got,
                    })
                } else {
                    first_bad.map(HeaderFault::Line)
                }
            }
            HeaderWant::JsonMediaType => match (lines.next(), lines.count()) {
                (Some(Some(value)), 0) if is_json_media_type(value) => None,
                (Some(_), more) if more > 0 => Some(HeaderFault::Repeated(more + 1)),
                _ => Some(HeaderFault::NotJson),
            },
        }
    }
}

/// Whether one received line (`None`: not text) satisfies an item.
fn line_matches(want: &TextExpect, line: Option<&str>) -> bool {
    match line {
        Some(text) => want.matches(Some(text)),
        None => want.asks_presence_only(),
    }
}

/// Whether a `Content-Type` value names JSON: `application/json` or a `+json` subtype
/// (RFC 6839), parameters aside, case-insensitive.
pub fn is_json_media_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    let subtype = subtype.to_ascii_lowercase();
    !kind.is_empty()
        && !kind.contains(char::is_whitespace)
        && ((kind.eq_ignore_ascii_case("application") && subtype == "json")
            || (subtype.len() > "+json".len() && subtype.ends_with("+json")))
}

/// Whether a REST fixture expects a JSON content type without saying so: it checks the body as
/// JSON (`body` or `body_schema`) and names no `content-type` in `expected.headers` (naming one,
/// `<<any>>` included, replaces this check).
pub fn implies_json_content_type(expected: &RestExpected) -> bool {
    (expected.body.is_some() || expected.body_schema.is_some())
        && !expected
            .headers
            .keys()
            .any(|name| name.eq_ignore_ascii_case("content-type"))
}

/// What [`HeaderWant::JsonMediaType`] shows as expected in a diff.
pub const JSON_MEDIA_TYPE: &str = "application/json or */*+json";

/// The diff of one header: `path` is its pointer (`/headers/x-multi`), `expected` the fixture's
/// expectation as JSON, `lines` what came.
pub fn mismatch(fault: HeaderFault, path: &str, expected: &Value, lines: &[&str]) -> Mismatch {
    let actual = match lines {
        [] => Value::Null,
        [one] => (*one).into(),
        many => many.iter().map(|v| Value::from(*v)).collect(),
    };
    match fault {
        HeaderFault::Value if lines.is_empty() => {
            Mismatch::missing(path, expected.clone(), "missing")
        }
        HeaderFault::Value => {
            // A header that is there (its absence is handled above).
            let message = match expected.as_str() {
                Some("<<absent>>") => "expected absent, found a value",
                _ => "different text",
            };
            Mismatch::new(path, expected.clone(), actual, message)
        }
        HeaderFault::Repeated(times) => {
            let message = format!(
                "header repeated {times} times: {}; a string expects it sent once, an array \
                 expects each line in order",
                clip_json(&actual)
            );
            Mismatch::new(path, expected.clone(), actual, message)
        }
        HeaderFault::Count { want, got } => Mismatch::new(
            path,
            expected.clone(),
            actual,
            format!(
                "expected {want} line{}, got {got}",
                if want == 1 { "" } else { "s" }
            ),
        ),
        HeaderFault::Line(index) => Mismatch::new(
            format!("{path}/{index}"),
            expected.get(index).cloned().unwrap_or(Value::Null),
            lines.get(index).map_or(Value::Null, |v| Value::from(*v)),
            "different text",
        ),
        HeaderFault::NotJson => Mismatch::new(
            path,
            JSON_MEDIA_TYPE.into(),
            actual,
            "the fixture expects a JSON body but the reply's content type is not JSON; set \
             expected.headers.content-type to accept another",
        ),
    }
}

/// The pointer of header `name` under `base`.
pub fn pointer(base: &str, name: &str) -> String {
    format!("{base}/{}", token(&name.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn want(expectation: Value) -> HeaderWant {
        HeaderWant::new(&serde_json::from_value(expectation).unwrap()).unwrap()
    }

    fn fault(expectation: Value, lines: &[&str]) -> Option<HeaderFault> {
        want(expectation).fault(lines.iter().map(|l| Some(*l)))
    }

    #[test]
    fn a_string_expects_the_header_sent_once() {
        assert_eq!(fault(json!("a"), &["a"]), None);
        assert_eq!(fault(json!("a"), &["b"]), Some(HeaderFault::Value));
        assert_eq!(fault(json!("a"), &[]), Some(HeaderFault::Value));
        assert_eq!(
            fault(json!("a"), &["a", "b"]),
            Some(HeaderFault::Repeated(2))
        );
        assert_eq!(
            fault(json!("b"), &["a", "b"]),
            Some(HeaderFault::Repeated(2))
        );
        assert_eq!(
            fault(json!("a, b"), &["a", "b"]),
            Some(HeaderFault::Repeated(2))
        );
        assert_eq!(
            fault(json!("<<contains:b>>"), &["a", "b"]),
            Some(HeaderFault::Repeated(2))
        );
        assert_eq!(fault(json!("<<any>>"), &["a", "b"]), None);
        assert_eq!(fault(json!("<<any>>"), &[]), None);
        assert_eq!(fault(json!("<<present>>"), &["a", "b"]), None);
        assert_eq!(fault(json!("<<present>>"), &[]), Some(HeaderFault::Value));
        assert_eq!(fault(json!("<<absent>>"), &[]), None);
        assert_eq!(
            fault(json!("<<absent>>"), &["a", "b"]),
            Some(HeaderFault::Repeated(2))
        );
    }

    #[test]
    fn an_array_expects_each_line_in_order() {
        assert_eq!(fault(json!(["a", "b"]), &["a", "b"]), None);
        assert_eq!(
            fault(json!(["b", "a"]), &["a", "b"]),
            Some(HeaderFault::Line(0))
        );
        assert_eq!(
            fault(json!(["a"]), &["a", "b"]),
            Some(HeaderFault::Count { want: 1, got: 2 })
        );
        assert_eq!(fault(json!(["a"]), &["a"]), None);
        assert_eq!(fault(json!([]), &[]), None);
        assert_eq!(
            fault(json!([]), &["a"]),
            Some(HeaderFault::Count { want: 0, got: 1 })
        );
        // "One of the lines": matchers for the others.
        assert_eq!(fault(json!(["<<any>>", "b"]), &["a", "b"]), None);
        assert_eq!(
            fault(
                json!(["<<any>>", "<<starts_with:session=>>"]),
                &["a=1", "session=x; Path=/"]
            ),
            None
        );
    }

    #[test]
    fn a_value_that_is_not_text_passes_only_presence() {
        let lines = [None::<&str>];
        assert_eq!(want(json!("<<present>>")).fault(lines.into_iter()), None);
        assert_eq!(
            want(json!("<<absent>>")).fault(lines.into_iter()),
            Some(HeaderFault::Value)
        );
        assert_eq!(
            want(json!("<<string>>")).fault(lines.into_iter()),
            Some(HeaderFault::Value)
        );
    }

    #[test]
    fn json_media_types() {
        for yes in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/problem+json",
            "application/vnd.api+json;v=1",
        ] {
            assert!(is_json_media_type(yes), "{yes}");
        }
        for no in [
            "text/html",
            "text/plain",
            "application/jsonx",
            "json",
            "+json",
            "a/+json",
            "",
        ] {
            assert!(!is_json_media_type(no), "{no}");
        }
        let json = HeaderWant::JsonMediaType;
        assert_eq!(json.fault([Some("application/json")].into_iter()), None);
        assert_eq!(
            json.fault([Some("text/html")].into_iter()),
            Some(HeaderFault::NotJson)
        );
        assert_eq!(json.fault(std::iter::empty()), Some(HeaderFault::NotJson));
    }

    #[test]
    fn diffs_say_where_and_what() {
        let expected = json!("a");
        assert_eq!(
            mismatch(
                HeaderFault::Repeated(2),
                "/headers/x-multi",
                &expected,
                &["a", "b"]
            ),
            Mismatch::new(
                "/headers/x-multi",
                json!("a"),
                json!(["a", "b"]),
                "header repeated 2 times: [\"a\",\"b\"]; a string expects it sent once, an \
                 array expects each line in order"
            )
        );
        let expected = json!(["a", "c"]);
        assert_eq!(
            mismatch(
                HeaderFault::Line(1),
                "/headers/x-multi",
                &expected,
                &["a", "b"]
            ),
            Mismatch::new(
                "/headers/x-multi/1",
                json!("c"),
                json!("b"),
                "different text"
            )
        );
        assert_eq!(
            mismatch(
                HeaderFault::Count { want: 2, got: 3 },
                "/headers/x-multi",
                &expected,
                &["a", "b", "c"]
            ),
            Mismatch::new(
                "/headers/x-multi",
                json!(["a", "c"]),
                json!(["a", "b", "c"]),
                "expected 2 lines, got 3"
            )
        );
    }
}
