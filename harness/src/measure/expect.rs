//! Expectations compiled once per run, so that every reply is checked at full speed: matchers
//! parsed, headers named, JSON Schemas compiled, and an expected JSON body without matchers
//! serialized once so that a byte comparison settles the usual case before any parsing.
//! A difference is reported by the JSON pointer of the first mismatch; the full diff is `run`'s job.

use harness_fixture::model::{BodyMatch, HeaderExpectation, RestExpected};
use hyper::HeaderMap;
use hyper::header::HeaderName;
use serde_json::Value;

use crate::check::header::{self, HeaderWant};
use crate::check::json::compare;
use crate::check::matcher::Matcher;

pub(crate) use crate::check::matcher::TextExpect;

/// An expected header, checked by the rule of [`crate::check::header`] (the one `run` applies).
#[derive(Debug)]
pub(crate) struct HeaderExpect {
    /// Its name.
    pub(crate) name: HeaderName,
    want: HeaderWant,
}

impl HeaderExpect {
    /// Compiles the expected headers of a fixture.
    pub(crate) fn all<'a>(
        headers: impl IntoIterator<Item = (&'a String, &'a HeaderExpectation)>,
    ) -> Result<Vec<HeaderExpect>, String> {
        headers
            .into_iter()
            .map(|(name, want)| {
                Ok(HeaderExpect {
                    name: HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
                        .map_err(|e| format!("header name {name:?}: {e}"))?,
                    want: HeaderWant::new(want)?,
                })
            })
            .collect()
    }

    /// The expected headers of a REST fixture: its own, plus a JSON `content-type` when it
    /// checks a JSON body without naming one ([`header::implies_json_content_type`]).
    pub(crate) fn rest(expected: &RestExpected) -> Result<Vec<HeaderExpect>, String> {
        let mut all = HeaderExpect::all(&expected.headers)?;
        if header::implies_json_content_type(expected) {
            all.push(HeaderExpect {
                name: hyper::header::CONTENT_TYPE,
                want: HeaderWant::JsonMediaType,
            });
        }
        Ok(all)
    }

    /// Whether the header's lines (or its absence) are as expected.
    pub(crate) fn matches(&self, headers: &HeaderMap) -> bool {
        let lines = headers.get_all(&self.name).iter().map(|v| v.to_str().ok());
        self.want.fault(lines).is_none()
    }
}

impl HeaderExpect {
    /// Like [`HeaderExpect::matches`], on the headers of a response head parsed in place.
    pub(crate) fn matches_raw(&self, headers: &[httparse::Header<'_>]) -> bool {
        let name = self.name.as_str();
        let lines = headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| visible_ascii(h.value));
        self.want.fault(lines).is_none()
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

/// The first expected header that a response head parsed in place does not satisfy.
pub(crate) fn first_raw_header_mismatch<'a>(
    expected: &'a [HeaderExpect],
    headers: &[httparse::Header<'_>],
) -> Option<&'a HeaderName> {
    expected
        .iter()
        .find(|h| !h.matches_raw(headers))
        .map(|h| &h.name)
}

/// The first expected header that the reply does not satisfy.
pub(crate) fn first_header_mismatch<'a>(
    expected: &'a [HeaderExpect],
    headers: &HeaderMap,
) -> Option<&'a HeaderName> {
    expected
        .iter()
        .find(|h| !h.matches(headers))
        .map(|h| &h.name)
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

    /// `None` when `bytes` hold the expected document, else the JSON pointer of the first
    /// difference (`""` for the whole document, as when it is not JSON).
    pub(crate) fn check(&self, bytes: &[u8]) -> Option<String> {
        if self.exact.as_deref() == Some(bytes) {
            return None;
        }
        let Ok(actual) = serde_json::from_slice::<Value>(bytes) else {
            return Some(String::new());
        };
        self.check_value(&actual)
    }

    /// Like [`JsonExpect::check`] for a parsed value.
    pub(crate) fn check_value(&self, actual: &Value) -> Option<String> {
        let mut out = Vec::new();
        compare(&self.value, Some(actual), self.mode, "", &mut out);
        out.into_iter().next().map(|m| m.path)
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
    pub(crate) fn new(schema: &Value) -> Result<SchemaExpect, String> {
        harness_fixture::schema::compile(schema).map(SchemaExpect)
    }

    /// `None` when `bytes` are JSON valid against the schema, else the pointer of the first error.
    pub(crate) fn check(&self, bytes: &[u8]) -> Option<String> {
        let Ok(actual) = serde_json::from_slice::<Value>(bytes) else {
            return Some(String::new());
        };
        self.0
            .iter_errors(&actual)
            .next()
            .map(|e| e.instance_path().as_str().to_string())
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
    use serde_json::json;

    #[test]
    fn exact_bytes_pass_without_parsing_and_others_are_compared() {
        let want = JsonExpect::new(&json!({"message": "Hello, World!"}), BodyMatch::Exact);
        assert!(want.exact.is_some());
        assert_eq!(want.check(br#"{"message":"Hello, World!"}"#), None);
        assert_eq!(want.check(br#"{ "message" : "Hello, World!" }"#), None);
        assert_eq!(
            want.check(br#"{"message":"Hello, Moon!"}"#).as_deref(),
            Some("/message")
        );
        assert_eq!(want.check(b"not json").as_deref(), Some(""));
    }

    #[test]
    fn matchers_disable_the_byte_shortcut() {
        let want = JsonExpect::new(&json!({"n": 1, "ts": "<<number>>"}), BodyMatch::Exact);
        assert!(want.exact.is_none());
        assert_eq!(want.check(br#"{"n":1,"ts":123}"#), None);
        assert_eq!(want.check(br#"{"n":1,"ts":"x"}"#).as_deref(), Some("/ts"));
    }

    #[test]
    fn headers_and_text() {
        let expected = HeaderExpect::all([(
            &"Content-Type".to_string(),
            &HeaderExpectation::One("<<starts_with:application/json>>".to_string()),
        )])
        .unwrap();
        let mut headers = HeaderMap::new();
        assert_eq!(
            first_header_mismatch(&expected, &headers).map(|n| n.as_str()),
            Some("content-type")
        );
        headers.insert("content-type", "application/json".parse().unwrap());
        assert!(first_header_mismatch(&expected, &headers).is_none());
        headers.append("x-multi", "a".parse().unwrap());
        headers.append("x-multi", "b".parse().unwrap());
        let one =
            |want: HeaderExpectation| HeaderExpect::all([(&"x-multi".to_string(), &want)]).unwrap();
        let string = one(HeaderExpectation::One("a".into()));
        assert_eq!(
            first_header_mismatch(&string, &headers).map(|n| n.as_str()),
            Some("x-multi")
        );
        let lines = one(HeaderExpectation::Lines(vec!["a".into(), "b".into()]));
        assert!(first_header_mismatch(&lines, &headers).is_none());
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
        assert_eq!(
            first_header_mismatch(&want, &headers).map(|n| n.as_str()),
            Some("content-type")
        );
        headers.insert("content-type", "application/json".parse().unwrap());
        assert!(first_header_mismatch(&want, &headers).is_none());
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
        assert_eq!(schema.check(br#"{"id": 3}"#), None);
        assert_eq!(schema.check(br#"{"id": "x"}"#).as_deref(), Some("/id"));
    }
}
