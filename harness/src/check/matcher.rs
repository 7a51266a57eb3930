//! Matchers: string tokens such as `<<uuid>>` that stand for a whole class of values.

use harness_fixture::capture::{self, CaptureToken};
use harness_fixture::matcher::compile_regex;
use regex::Regex;
use serde_json::Value;

/// A matcher token that does not compile: a `<<regex:P>>` whose pattern is not a regex.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct InvalidMatcher {
    /// The token, as the fixture writes it.
    pub token: String,
    /// The regex error in one line, the pattern clipped.
    pub reason: String,
}

/// A parsed matcher token.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// `<<any>>`: anything, even absence.
    Any,
    /// `<<present>>`: any value, but there must be one.
    Present,
    /// `<<absent>>`: there must be no value.
    Absent,
    /// `<<uuid>>`: a string holding a UUID.
    Uuid,
    /// `<<number>>`: a JSON number (in text: a numeric string).
    Number,
    /// `<<string>>`: a JSON string (in text: anything).
    String,
    /// `<<regex:P>>`: text the pattern matches whole (compiled as `^(?:P)$`).
    Regex(Regex),
    /// `<<starts_with:T>>`.
    StartsWith(String),
    /// `<<contains:T>>`.
    Contains(String),
    /// `<<capture:NAME>>`: any value, but there must be one; the replay binds it.
    Capture(String),
    /// `<<same_as:NAME>>`: the value bound to NAME (`None`: never bound, which nothing
    /// satisfies); written `<<same_as:NAME=JSON>>` once resolved.
    SameAs(String, Option<Value>),
}

impl Matcher {
    /// Parses `text` as a matcher token; `None` when it is a plain string. A malformed regex is
    /// an `Err` with the regex error in one line, the pattern clipped.
    pub fn parse(text: &str) -> Option<Result<Matcher, InvalidMatcher>> {
        let inner = text.strip_prefix("<<")?.strip_suffix(">>")?;
        match capture::token(text) {
            Some(CaptureToken::Capture(name)) => return Some(Ok(Matcher::Capture(name.into()))),
            Some(CaptureToken::SameAs(name, value)) => {
                return Some(Ok(Matcher::SameAs(name.into(), value)));
            }
            None => {}
        }
        let matcher =
            match inner {
                "any" => Matcher::Any,
                "present" => Matcher::Present,
                "absent" => Matcher::Absent,
                "uuid" => Matcher::Uuid,
                "number" => Matcher::Number,
                "string" => Matcher::String,
                _ => match inner.split_once(':') {
                    Some(("regex", pattern)) => {
                        // The loader compiled it the same way: a fixture that loaded has none bad.
                        return Some(compile_regex(pattern).map(Matcher::Regex).map_err(
                            |reason| InvalidMatcher {
                                token: text.to_string(),
                                reason,
                            },
                        ));
                    }
                    Some(("starts_with", t)) => Matcher::StartsWith(t.to_string()),
                    Some(("contains", t)) => Matcher::Contains(t.to_string()),
                    _ => return None,
                },
            };
        Some(Ok(matcher))
    }

    /// Whether the matcher stands for a class of values that may differ on every run (everything
    /// but the prefix and substring matchers).
    pub fn is_class(&self) -> bool {
        !matches!(self, Matcher::StartsWith(_) | Matcher::Contains(_))
    }

    /// Whether a JSON value (or its absence) satisfies the matcher.
    pub fn matches_json(&self, actual: Option<&Value>) -> bool {
        let Some(value) = actual else {
            return matches!(self, Matcher::Any | Matcher::Absent);
        };
        match self {
            Matcher::Any | Matcher::Present | Matcher::Capture(_) => true,
            Matcher::SameAs(_, bound) => bound.as_ref().is_some_and(|b| same_json(b, value)),
            Matcher::Absent => false,
            Matcher::Number => value.is_number(),
            Matcher::String => value.is_string(),
            Matcher::Uuid => value.as_str().is_some_and(is_uuid),
            Matcher::Regex(_) | Matcher::StartsWith(_) | Matcher::Contains(_) => match value {
                Value::String(s) => self.matches_text(Some(s)),
                Value::Number(_) | Value::Bool(_) => self.matches_text(Some(&value.to_string())),
                _ => false,
            },
        }
    }

    /// Whether a text value (a header, a raw body, a message) or its absence satisfies it.
    pub fn matches_text(&self, actual: Option<&str>) -> bool {
        let Some(text) = actual else {
            return matches!(self, Matcher::Any | Matcher::Absent);
        };
        match self {
            Matcher::Any | Matcher::Present | Matcher::String | Matcher::Capture(_) => true,
            Matcher::SameAs(_, bound) => {
                bound.as_ref().is_some_and(|b| capture::text_of(b) == text)
            }
            Matcher::Absent => false,
            Matcher::Number => text.trim().parse::<f64>().is_ok_and(f64::is_finite),
            Matcher::Uuid => is_uuid(text),
            Matcher::Regex(re) => re.is_match(text),
            Matcher::StartsWith(prefix) => text.starts_with(prefix.as_str()),
            Matcher::Contains(part) => text.contains(part.as_str()),
        }
    }
}

/// An expected text (header value, message, event field), compiled: exact or a matcher.
#[derive(Debug)]
pub enum TextExpect {
    /// Equal to this.
    Exact(String),
    /// Satisfies this matcher.
    Matcher(Matcher),
}

impl TextExpect {
    /// Compiles an expected text; a malformed matcher is an error.
    pub fn new(text: &str) -> Result<TextExpect, InvalidMatcher> {
        match Matcher::parse(text) {
            None => Ok(TextExpect::Exact(text.to_string())),
            Some(matcher) => matcher.map(TextExpect::Matcher),
        }
    }

    /// Whether `actual` (or its absence) is as expected.
    pub fn matches(&self, actual: Option<&str>) -> bool {
        match self {
            TextExpect::Exact(want) => actual == Some(want.as_str()),
            TextExpect::Matcher(matcher) => matcher.matches_text(actual),
        }
    }

    /// Whether it asks only that a value be there, or not even that (`<<any>>`, `<<present>>`):
    /// then a value that is not text, or a header sent several times, satisfies it too.
    pub fn asks_presence_only(&self) -> bool {
        matches!(self, TextExpect::Matcher(Matcher::Any | Matcher::Present))
    }
}

/// JSON equality, numbers compared by value (`1` equals `1.0`), as the body comparison does.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

fn is_uuid(text: &str) -> bool {
    text.len() == 36 && uuid::Uuid::try_parse(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(token: &str) -> Matcher {
        Matcher::parse(token).expect("a matcher").expect("valid")
    }

    #[test]
    fn plain_strings_are_not_matchers() {
        assert!(Matcher::parse("hello").is_none());
        assert!(Matcher::parse("<<nope>>").is_none());
        assert!(Matcher::parse("<<regex:(>>").unwrap().is_err());
    }

    #[test]
    fn json_classes() {
        assert!(m("<<number>>").matches_json(Some(&json!(1.5))));
        assert!(!m("<<number>>").matches_json(Some(&json!("1.5"))));
        assert!(m("<<string>>").matches_json(Some(&json!("x"))));
        assert!(!m("<<string>>").matches_json(Some(&json!(1))));
        assert!(m("<<uuid>>").matches_json(Some(&json!("67e55044-10b1-426f-9247-bb680e5fe0c8"))));
        assert!(!m("<<uuid>>").matches_json(Some(&json!("67e55044"))));
        assert!(m("<<present>>").matches_json(Some(&Value::Null)));
        assert!(!m("<<present>>").matches_json(None));
        assert!(m("<<absent>>").matches_json(None));
        assert!(!m("<<absent>>").matches_json(Some(&Value::Null)));
        assert!(m("<<any>>").matches_json(None));
    }

    #[test]
    fn regex_matches_the_whole_value() {
        assert!(m("<<regex:unicorn>>").matches_text(Some("unicorn")));
        assert!(!m("<<regex:unicorn>>").matches_text(Some("gunicorn")));
        assert!(!m("<<regex:unicorn>>").matches_json(Some(&json!("gunicorn/23.0"))));
        assert!(m("<<regex:.*unicorn.*>>").matches_text(Some("gunicorn/23.0")));
        assert!(m("<<contains:unicorn>>").matches_text(Some("gunicorn/23.0")));
    }

    #[test]
    fn text_matchers() {
        assert!(
            m("<<starts_with:application/json>>")
                .matches_text(Some("application/json; charset=utf-8"))
        );
        assert!(!m("<<starts_with:application/json>>").matches_text(Some("text/plain")));
        assert!(m("<<contains:session=abc>>").matches_text(Some("a=1; session=abc; Path=/")));
        assert!(m("<<regex:^4\\d\\d$>>").matches_json(Some(&json!(404))));
        assert!(!m("<<regex:^4\\d\\d$>>").matches_json(Some(&json!(500))));
        assert!(m("<<number>>").matches_text(Some("12")));
        assert!(m("<<regex:4\\d\\d>>").matches_json(Some(&json!(404))));
        assert!(!m("<<regex:4\\d\\d>>").matches_json(Some(&json!(1404))));
        assert!(!m("<<number>>").matches_text(Some("twelve")));
    }
}
