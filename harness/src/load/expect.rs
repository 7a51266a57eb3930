//! Expectations compiled once per run, so that every reply is checked at full speed: matchers
//! parsed, headers named, JSON Schemas compiled, and an expected JSON body without matchers
//! serialized once so that a byte comparison settles the usual case before any parsing.
//! A reply that fails is reported as `run` reports its first difference (the same pointer, the
//! same words: [`ErrorKind::Differs`]); the full diff is `run`'s job.

use harness_fixture::model::{BodyMatch, HeaderExpectation, RestExpected};
use hyper::header::HeaderName;
use serde_json::Value;

use super::recorder::ErrorKind;
use super::worker::Unloadable;
use crate::check::header::{self, HeaderWant};
use crate::check::json::compare;
use crate::check::matcher::Matcher;

pub(crate) use crate::check::matcher::TextExpect;

/// What `run` says of a text (a header line, a raw body, a message, an SSE field) that differs.
pub(crate) const DIFFERENT_TEXT: &str = "different text";

/// An expected header, checked by the rule of [`crate::check::header`] (the one `run` applies).
#[derive(Debug)]
pub(crate) struct HeaderExpect {
    /// Its name.
    pub(crate) name: HeaderName,
    want: HeaderWant,
    /// Its pointer, as `run` reports it (`/headers/content-type`).
    path: String,
    /// The fixture's expectation, for the words of a difference.
    expected: Value,
}

impl HeaderExpect {
    /// Compiles the expected headers of a fixture, found under `base` (`/headers`).
    pub(crate) fn all<'a>(
        headers: impl IntoIterator<Item = (&'a String, &'a HeaderExpectation)>,
        base: &str,
    ) -> Result<Vec<HeaderExpect>, Unloadable> {
        headers
            .into_iter()
            .map(|(name, want)| {
                Ok(HeaderExpect {
                    name: HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).map_err(
                        |source| Unloadable::HeaderName {
                            name: name.clone(),
                            source,
                        },
                    )?,
                    want: HeaderWant::new(want)?,
                    path: header::pointer(base, name),
                    expected: serde_json::to_value(want).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// The expected headers of a REST fixture: its own, plus a JSON `content-type` when it
    /// checks a JSON body without naming one ([`header::implies_json_content_type`]).
    pub(crate) fn rest(expected: &RestExpected) -> Result<Vec<HeaderExpect>, Unloadable> {
        let mut all = HeaderExpect::all(&expected.headers, "/headers")?;
        if header::implies_json_content_type(expected) {
            all.push(HeaderExpect {
                name: hyper::header::CONTENT_TYPE,
                want: HeaderWant::JsonMediaType,
                path: "/headers/content-type".into(),
                expected: header::JSON_MEDIA_TYPE.into(),
            });
        }
        Ok(all)
    }

    /// `None` when the header's lines (each as text, `None` for one that is not visible ASCII,
    /// and as bytes), as `lines` gives them, are as expected, else the difference as `run`
    /// reports it.
    fn check<'a, I>(&self, lines: impl Fn() -> I) -> Option<ErrorKind>
    where
        I: Iterator<Item = (Option<&'a str>, &'a [u8])>,
    {
        let fault = self.want.fault(lines().map(|(text, _)| text))?;
        let shown: Vec<String> = lines()
            .map(|(_, bytes)| String::from_utf8_lossy(bytes).into_owned())
            .collect();
        let shown: Vec<&str> = shown.iter().map(String::as_str).collect();
        Some(ErrorKind::of_mismatch(header::mismatch(
            fault,
            &self.path,
            &self.expected,
            &shown,
        )))
    }

    /// Checks the header in a response head parsed in place.
    pub(crate) fn check_raw(&self, headers: &[httparse::Header<'_>]) -> Option<ErrorKind> {
        let name = self.name.as_str();
        self.check(|| {
            headers
                .iter()
                .filter(move |h| h.name.eq_ignore_ascii_case(name))
                .map(|h| (visible_ascii(h.value), h.value))
        })
    }
}

/// A header value as text when it is visible ASCII (as `HeaderValue::to_str` accepts it).
fn visible_ascii(value: &[u8]) -> Option<&str> {
    if value.iter().all(|&b| b == b'\t' || (32..127).contains(&b)) {
        std::str::from_utf8(value).ok()
    } else {
        None
    }
}

/// The first difference of a response head parsed in place from the expected headers.
pub(crate) fn raw_header_difference(
    expected: &[HeaderExpect],
    headers: &[httparse::Header<'_>],
) -> Option<ErrorKind> {
    expected.iter().find_map(|h| h.check_raw(headers))
}

/// An expected JSON document.
#[derive(Debug)]
pub(crate) struct JsonExpect {
    value: Value,
    mode: BodyMatch,
    /// The compact serialization, when the document has no matchers and is compared exactly:
    /// a reply with these very bytes passes without being parsed.
    exact: Option<Vec<u8>>,
}

impl JsonExpect {
    /// Compiles an expected document.
    pub(crate) fn new(value: &Value, mode: BodyMatch) -> JsonExpect {
        let exact = (mode == BodyMatch::Exact && !has_matcher(value))
            .then(|| value.to_string().into_bytes());
        JsonExpect {
            value: value.clone(),
            mode,
            exact,
        }
    }

    /// `None` when `bytes` hold the expected document, else the first difference under `base`
    /// (the pointer of the expectation: `/body`, `/events/0/json`); `not_json` is what `run`
    /// says of bytes that are not JSON there (`reply body is not JSON`).
    pub(crate) fn check(&self, bytes: &[u8], base: &str, not_json: &str) -> Option<ErrorKind> {
        if self.exact.as_deref() == Some(bytes) {
            return None;
        }
        let Ok(actual) = serde_json::from_slice::<Value>(bytes) else {
            return Some(ErrorKind::differs(base, not_json));
        };
        self.check_value(&actual, base)
    }

    /// Like [`JsonExpect::check`] for a parsed value.
    pub(crate) fn check_value(&self, actual: &Value, base: &str) -> Option<ErrorKind> {
        let mut out = Vec::new();
        compare(&self.value, Some(actual), self.mode, base, &mut out);
        out.into_iter().next().map(ErrorKind::of_mismatch)
    }
}

/// A JSON Schema, compiled.
pub(crate) struct SchemaExpect(jsonschema::Validator);

impl std::fmt::Debug for SchemaExpect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SchemaExpect")
    }
}

impl SchemaExpect {
    /// Compiles a schema found in a fixture.
    pub(crate) fn new(schema: &Value) -> Result<SchemaExpect, Unloadable> {
        harness_fixture::schema::compile(schema)
            .map(SchemaExpect)
            .map_err(|reason| Unloadable::Schema { reason })
    }

    /// `None` when `bytes` are JSON valid against the schema, else its first error under `base`,
    /// worded as `run` words it; `not_json` as for [`JsonExpect::check`].
    pub(crate) fn check(&self, bytes: &[u8], base: &str, not_json: &str) -> Option<ErrorKind> {
        let Ok(actual) = serde_json::from_slice::<Value>(bytes) else {
            return Some(ErrorKind::differs(base, not_json));
        };
        self.0.iter_errors(&actual).next().map(|error| {
            ErrorKind::differs(
                format!("{base}{}", error.instance_path().as_str()),
                format!("schema: {}", harness_fixture::schema::describe(&error)),
            )
        })
    }
}

/// Whether a JSON value holds a matcher token anywhere.
fn has_matcher(value: &Value) -> bool {
    match value {
        Value::String(text) => Matcher::parse(text).is_some(),
        Value::Array(items) => items.iter().any(has_matcher),
        Value::Object(map) => map.values().any(has_matcher),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::HeaderMap;
    use serde_json::json;

    #[test]
    fn exact_bytes_pass_without_parsing_and_others_are_compared() {
        let want = JsonExpect::new(&json!({"message": "Hello, World!"}), BodyMatch::Exact);
        assert!(want.exact.is_some());
        let check = |bytes: &[u8]| {
            want.check(bytes, "/body", "reply body is not JSON")
                .map(|kind| kind.to_string())
        };
        assert_eq!(check(br#"{"message":"Hello, World!"}"#), None);
        assert_eq!(check(br#"{ "message" : "Hello, World!" }"#), None);
        assert_eq!(
            check(br#"{"message":"Hello, Moon!"}"#).as_deref(),
            Some("/body/message: different string")
        );
        assert_eq!(
            check(b"not json").as_deref(),
            Some("/body: reply body is not JSON")
        );
    }

    #[test]
    fn matchers_disable_the_byte_shortcut() {
        let want = JsonExpect::new(&json!({"n": 1, "ts": "<<number>>"}), BodyMatch::Exact);
        assert!(want.exact.is_none());
        assert_eq!(want.check(br#"{"n":1,"ts":123}"#, "", ""), None);
        assert_eq!(
            want.check(br#"{"n":1,"ts":"x"}"#, "/body", "")
                .map(|kind| kind.to_string())
                .as_deref(),
            Some("/body/ts: expected a number, got string")
        );
    }

    /// What the load path says of `headers` (parsed in place, over HTTP/1.1 and HTTP/2): the
    /// first difference, as text.
    fn said(expected: &[HeaderExpect], headers: &HeaderMap) -> Option<String> {
        let raw: Vec<httparse::Header<'_>> = headers
            .iter()
            .map(|(name, value)| httparse::Header {
                name: name.as_str(),
                value: value.as_bytes(),
            })
            .collect();
        raw_header_difference(expected, &raw).map(|kind| kind.to_string())
    }

    #[test]
    fn headers_are_worded_as_run_words_them() {
        let expected = HeaderExpect::all(
            [(
                &"Content-Type".to_string(),
                &HeaderExpectation::One("<<starts_with:application/json>>".to_string()),
            )],
            "/headers",
        )
        .unwrap();
        let mut headers = HeaderMap::new();
        assert_eq!(
            said(&expected, &headers).as_deref(),
            Some("/headers/content-type: missing")
        );
        headers.insert("content-type", "text/html".parse().unwrap());
        assert_eq!(
            said(&expected, &headers).as_deref(),
            Some("/headers/content-type: different text")
        );
        headers.insert("content-type", "application/json".parse().unwrap());
        assert_eq!(said(&expected, &headers), None);
        headers.append("x-multi", "a".parse().unwrap());
        headers.append("x-multi", "b".parse().unwrap());
        let one = |want: HeaderExpectation| {
            HeaderExpect::all([(&"X-Multi".to_string(), &want)], "/headers").unwrap()
        };
        let string = one(HeaderExpectation::One("a".into()));
        let repeated = said(&string, &headers).unwrap_or_default();
        assert!(
            repeated.starts_with("/headers/x-multi: header repeated 2 times: [\"a\",\"b\"]"),
            "{repeated}"
        );
        let lines = one(HeaderExpectation::Lines(vec!["a".into(), "b".into()]));
        assert_eq!(said(&lines, &headers), None);
        let reversed = one(HeaderExpectation::Lines(vec!["b".into(), "a".into()]));
        assert_eq!(
            said(&reversed, &headers).as_deref(),
            Some("/headers/x-multi/0: different text")
        );
        // The same words on a head parsed in place.
        let raw = [httparse::Header {
            name: "X-Multi",
            value: b"a",
        }];
        assert_eq!(
            raw_header_difference(&reversed, &raw)
                .map(|kind| kind.to_string())
                .as_deref(),
            Some("/headers/x-multi: expected 2 lines, got 1")
        );
        assert!(TextExpect::new("<<regex:(>>").is_err());
        assert!(TextExpect::new("hi").unwrap().matches(Some("hi")));
        assert!(!TextExpect::new("hi").unwrap().matches(None));
    }

    #[test]
    fn a_json_body_implies_a_json_content_type_on_the_load_path_too() {
        let expected: RestExpected =
            serde_json::from_value(json!({"status": 200, "body": {"a": 1}})).unwrap();
        let want = HeaderExpect::rest(&expected).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "text/html".parse().unwrap());
        let not_json = said(&want, &headers).unwrap_or_default();
        assert!(
            not_json.starts_with("/headers/content-type: the fixture expects a JSON body"),
            "{not_json}"
        );
        headers.insert("content-type", "application/json".parse().unwrap());
        assert_eq!(said(&want, &headers), None);
        let named: RestExpected = serde_json::from_value(
            json!({"status": 200, "headers": {"content-type": "<<any>>"}, "body": {"a": 1}}),
        )
        .unwrap();
        assert_eq!(HeaderExpect::rest(&named).unwrap().len(), 1);
    }

    #[test]
    fn schemas_point_at_the_first_error() {
        let schema = SchemaExpect::new(&json!({
            "type": "object",
            "properties": {"id": {"type": "integer"}}
        }))
        .unwrap();
        assert_eq!(schema.check(br#"{"id": 3}"#, "/body", ""), None);
        let said = schema
            .check(br#"{"id": "x"}"#, "/body", "")
            .map(|kind| kind.to_string())
            .unwrap_or_default();
        assert!(said.starts_with("/body/id: schema: "), "{said}");
    }
}
