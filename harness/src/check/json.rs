//! Comparing JSON values with matchers, exactly or partially, collecting every difference.

use serde_json::{Map, Value};

use super::matcher::{InvalidMatcher, Matcher};
use crate::results::diff::{Mismatch, token};
use harness_fixture::model::BodyMatch;

/// Compares `actual` (absent when `None`) with `expected`, appending differences under `path`.
pub fn compare(
    expected: &Value,
    actual: Option<&Value>,
    mode: BodyMatch,
    path: &str,
    out: &mut Vec<Mismatch>,
) {
    if let Value::String(text) = expected
        && let Some(matcher) = Matcher::parse(text)
    {
        compare_matcher(expected, matcher, actual, path, out);
        return;
    }
    let Some(actual) = actual else {
        out.push(Mismatch::missing(path, expected.clone(), "missing"));
        return;
    };
    match (expected, actual) {
        (Value::Object(want), Value::Object(got)) => compare_objects(want, got, mode, path, out),
        (Value::Array(want), Value::Array(got)) => {
            if want.len() != got.len() {
                let message = format!("expected {} items, got {}", want.len(), got.len());
                out.push(Mismatch::new(
                    path,
                    expected.clone(),
                    actual.clone(),
                    message,
                ));
                return;
            }
            for (index, (w, g)) in want.iter().zip(got).enumerate() {
                compare(w, Some(g), mode, &format!("{path}/{index}"), out);
            }
        }
        (Value::Number(w), Value::Number(g)) => {
            let equal = match (w.as_i64(), g.as_i64()) {
                (Some(a), Some(b)) => a == b,
                _ => w.as_f64() == g.as_f64(),
            };
            if !equal {
                let message = "different number";
                out.push(Mismatch::new(
                    path,
                    expected.clone(),
                    actual.clone(),
                    message,
                ));
            }
        }
        _ if expected == actual => {}
        _ => {
            let message = if kind(expected) == kind(actual) {
                format!("different {}", kind(expected))
            } else {
                format!("expected {}, got {}", kind(expected), kind(actual))
            };
            out.push(Mismatch::new(
                path,
                expected.clone(),
                actual.clone(),
                message,
            ));
        }
    }
}

/// `expected` is a matcher (`<<uuid>>`, `<<regex:...>>`, ...), or a matcher that does not parse.
fn compare_matcher(
    expected: &Value,
    matcher: Result<Matcher, InvalidMatcher>,
    actual: Option<&Value>,
    path: &str,
    out: &mut Vec<Mismatch>,
) {
    match matcher {
        Err(error) => out.push(Mismatch::new(
            path,
            expected.clone(),
            or_null(actual),
            error.to_string(),
        )),
        Ok(matcher) if !matcher.matches_json(actual) => out.push(Mismatch::new(
            path,
            expected.clone(),
            or_null(actual),
            describe_failure(&matcher, actual),
        )),
        Ok(_) => {}
    }
}

/// Every expected key, then (exact mode) every key that was not expected.
fn compare_objects(
    want: &Map<String, Value>,
    got: &Map<String, Value>,
    mode: BodyMatch,
    path: &str,
    out: &mut Vec<Mismatch>,
) {
    for (key, want_value) in want {
        let at = format!("{path}/{}", token(key));
        compare(want_value, got.get(key), mode, &at, out);
    }
    if mode == BodyMatch::Exact {
        for (key, got_value) in got {
            if !want.contains_key(key) {
                out.push(Mismatch::unexpected(
                    format!("{path}/{}", token(key)),
                    got_value.clone(),
                    "unexpected key",
                ));
            }
        }
    }
}

/// Compares a text value (a header, a raw body, a message) with an expected string or matcher.
pub fn compare_text(expected: &str, actual: Option<&str>, path: &str, out: &mut Vec<Mismatch>) {
    let passed = match Matcher::parse(expected) {
        Some(Ok(matcher)) => matcher.matches_text(actual),
        Some(Err(error)) => {
            out.push(Mismatch::new(
                path,
                expected.into(),
                text_or_null(actual),
                error.to_string(),
            ));
            return;
        }
        None => actual == Some(expected),
    };
    if !passed {
        let message = if actual.is_none() {
            "missing"
        } else {
            "different text"
        };
        out.push(Mismatch::new(
            path,
            expected.into(),
            text_or_null(actual),
            message,
        ));
    }
}

fn text_or_null(actual: Option<&str>) -> Value {
    actual.map_or(Value::Null, |t| Value::String(t.to_string()))
}

fn or_null(actual: Option<&Value>) -> Value {
    actual.cloned().unwrap_or(Value::Null)
}

/// How a value that differs from a capture's begins; the captured value follows in parentheses.
pub const DIFFERS_FROM_CAPTURE: &str = "differs from the value captured as";

fn describe_failure(matcher: &Matcher, actual: Option<&Value>) -> String {
    match (matcher, actual) {
        (Matcher::Absent, Some(_)) => "expected absent, found a value".into(),
        (Matcher::Capture(name), None) => format!("missing: capture {name} binds nothing"),
        (_, None) => "missing".into(),
        (Matcher::Number, Some(v)) => format!("expected a number, got {}", kind(v)),
        (Matcher::String, Some(v)) => format!("expected a string, got {}", kind(v)),
        (Matcher::Uuid, Some(_)) => "expected a UUID".into(),
        (Matcher::SameAs(name, Some(bound)), Some(_)) => {
            format!("{DIFFERS_FROM_CAPTURE} {name} ({bound})")
        }
        (Matcher::SameAs(name, None), Some(_)) => {
            format!(
                "capture {name} was never bound (the step that captures it failed or was not reached)"
            )
        }
        _ => "does not match".into(),
    }
}

/// The JSON type name of a value.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn diff(expected: Value, actual: Value, mode: BodyMatch) -> Vec<Mismatch> {
        let mut out = Vec::new();
        compare(&expected, Some(&actual), mode, "/body", &mut out);
        out
    }

    #[test]
    fn equal_values_pass() {
        let v = json!({"a": [1, {"b": "x"}], "c": null, "d": 1.5});
        assert!(diff(v.clone(), v, BodyMatch::Exact).is_empty());
        assert!(diff(json!(1), json!(1.0), BodyMatch::Exact).is_empty());
    }

    #[test]
    fn nested_difference_has_its_pointer() {
        let out = diff(
            json!({"a": [1, {"b": "x"}]}),
            json!({"a": [1, {"b": "y"}]}),
            BodyMatch::Exact,
        );
        assert_eq!(
            out,
            vec![Mismatch::new(
                "/body/a/1/b",
                json!("x"),
                json!("y"),
                "different string"
            )]
        );
    }

    #[test]
    fn exact_reports_missing_and_unexpected_keys() {
        let out = diff(
            json!({"a": 1, "b": 2}),
            json!({"a": 1, "c": 3}),
            BodyMatch::Exact,
        );
        assert_eq!(
            out,
            vec![
                Mismatch::missing("/body/b", json!(2), "missing"),
                Mismatch::unexpected("/body/c", json!(3), "unexpected key"),
            ]
        );
    }

    #[test]
    fn partial_allows_extra_keys_but_checks_given_ones() {
        assert!(diff(json!({"a": 1}), json!({"a": 1, "c": 3}), BodyMatch::Partial).is_empty());
        let out = diff(
            json!({"a": {"x": 1}}),
            json!({"a": {"x": 2, "y": 0}}),
            BodyMatch::Partial,
        );
        assert_eq!(
            out,
            vec![Mismatch::new(
                "/body/a/x",
                json!(1),
                json!(2),
                "different number"
            )]
        );
    }

    #[test]
    fn array_length_and_type_changes() {
        let out = diff(json!([1, 2]), json!([1]), BodyMatch::Exact);
        assert_eq!(out[0].message, "expected 2 items, got 1");
        let out = diff(json!({"a": "1"}), json!({"a": 1}), BodyMatch::Exact);
        assert_eq!(
            out,
            vec![Mismatch::new(
                "/body/a",
                json!("1"),
                json!(1),
                "expected string, got number"
            )]
        );
    }

    #[test]
    fn matchers_inside_documents() {
        let expected =
            json!({"id": "<<uuid>>", "n": "<<number>>", "gone": "<<absent>>", "maybe": "<<any>>"});
        let good = json!({"id": "67e55044-10b1-426f-9247-bb680e5fe0c8", "n": 3});
        assert!(diff(expected.clone(), good, BodyMatch::Exact).is_empty());
        let bad = json!({"id": "nope", "n": "3", "gone": 1});
        let out = diff(expected, bad, BodyMatch::Exact);
        let paths: Vec<_> = out.iter().map(|m| m.path.as_str()).collect();
        assert_eq!(paths, vec!["/body/id", "/body/n", "/body/gone"]);
        assert_eq!(out[1].message, "expected a number, got string");
    }

    #[test]
    fn a_regex_matches_whole_values_only() {
        let mut out = Vec::new();
        compare_text(
            "<<regex:unicorn>>",
            Some("gunicorn"),
            "/headers/server",
            &mut out,
        );
        compare_text(
            "<<regex:unicorn>>",
            Some("unicorn"),
            "/headers/server",
            &mut out,
        );
        assert_eq!(
            out,
            vec![Mismatch::new(
                "/headers/server",
                json!("<<regex:unicorn>>"),
                json!("gunicorn"),
                "different text"
            )]
        );
        let out = diff(
            json!({"created": "<<regex:\\d{4}-\\d{2}-\\d{2}T>>"}),
            json!({"created": "2024-03-15T10:30:00Z"}),
            BodyMatch::Exact,
        );
        assert_eq!(
            out,
            vec![Mismatch::new(
                "/body/created",
                json!("<<regex:\\d{4}-\\d{2}-\\d{2}T>>"),
                json!("2024-03-15T10:30:00Z"),
                "does not match"
            )]
        );
    }

    #[test]
    fn text_comparison() {
        let mut out = Vec::new();
        compare_text(
            "<<starts_with:text/event-stream>>",
            Some("text/event-stream"),
            "/h",
            &mut out,
        );
        compare_text("abc", Some("abc"), "/h", &mut out);
        assert!(out.is_empty());
        compare_text("abc", Some("abd"), "/h", &mut out);
        compare_text("abc", None, "/h", &mut out);
        assert_eq!(out[0].message, "different text");
        assert_eq!(out[1].message, "missing");
    }
}
