//! The structured diff: where a reply differed, what was expected, what came.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Quoting values in messages: the shared helpers (`clip`: the first [`CLIP_CHARS`] characters
/// and `… (N bytes)`).
pub use harness_fixture::text::{CLIP_CHARS, clip, clip_json};

/// One difference between the expectation and what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mismatch {
    /// JSON pointer into the fixture's expectation: `/status`, `/headers/content-type`,
    /// `/body/items/0`, `/transcript/3`, `/events/1/data`.
    pub path: String,
    /// What the fixture expected (a matcher shows as its token).
    pub expected: Value,
    /// What the server sent (`null` where nothing came).
    pub actual: Value,
    /// A short explanation.
    pub message: String,
    /// The side that had nothing at all (a key, header or event not there, rather than a
    /// JSON `null`): shown as `(absent)`; its value field is `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absent: Option<Side>,
}

/// One side of a [`Mismatch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The fixture's expectation.
    Expected,
    /// What the server sent.
    Actual,
}

impl Mismatch {
    /// A mismatch at `path`.
    pub fn new(
        path: impl Into<String>,
        expected: Value,
        actual: Value,
        message: impl Into<String>,
    ) -> Self {
        Mismatch {
            path: path.into(),
            expected,
            actual,
            message: message.into(),
            absent: None,
        }
    }

    /// Expected `expected` where the reply had nothing (a missing key, header or event).
    pub fn missing(path: impl Into<String>, expected: Value, message: impl Into<String>) -> Self {
        Mismatch {
            absent: Some(Side::Actual),
            ..Mismatch::new(path, expected, Value::Null, message)
        }
    }

    /// The reply had `actual` where the fixture expects nothing (an unexpected key or event).
    pub fn unexpected(path: impl Into<String>, actual: Value, message: impl Into<String>) -> Self {
        Mismatch {
            absent: Some(Side::Expected),
            ..Mismatch::new(path, Value::Null, actual, message)
        }
    }

    /// A side's value as shown: clipped JSON, or `(absent)`.
    fn shown(&self, side: Side) -> String {
        if self.absent == Some(side) {
            return "(absent)".into();
        }
        match side {
            Side::Expected => clip_json(&self.expected),
            Side::Actual => clip_json(&self.actual),
        }
        .to_string()
    }
}

/// Lines meant to be read: the path, the message and both values clipped to [`CLIP_CHARS`]
/// characters with their length (the fields themselves stay whole, for JSON output).
impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}",
            if self.path.is_empty() {
                "/".into()
            } else {
                clip(&self.path, CLIP_CHARS)
            },
            clip(&self.message, CLIP_CHARS)
        )?;
        write!(f, "\n    expected: {}", self.shown(Side::Expected))?;
        write!(f, "\n    actual:   {}", self.shown(Side::Actual))
    }
}

/// Escapes one JSON pointer token.
pub fn token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_clips_long_values_and_keeps_the_fields_whole() {
        let big = "A".repeat(5 * 1024 * 1024);
        let mismatch = Mismatch::new(
            "/body_text",
            Value::from(big.as_str()),
            Value::from("B"),
            format!("different text: {big}"),
        );
        let shown = mismatch.to_string();
        assert!(shown.len() < 1000, "{} bytes shown", shown.len());
        assert!(shown.contains("… (5242880 bytes)"), "{shown}");
        assert!(shown.contains("… (5242896 bytes)"), "{shown}");
        assert!(shown.ends_with("actual:   \"B\""), "{shown}");
        assert_eq!(mismatch.expected.as_str().map(str::len), Some(big.len()));
    }

    #[test]
    fn an_absent_side_reads_absent_not_null() {
        let shown =
            Mismatch::unexpected("/body/extra", Value::from(1), "unexpected key").to_string();
        assert!(shown.contains("expected: (absent)"), "{shown}");
        let shown = Mismatch::missing("/body/id", Value::from(1), "missing").to_string();
        assert!(shown.ends_with("actual:   (absent)"), "{shown}");
        let shown = Mismatch::new("/body/id", Value::Null, Value::from(1), "differs").to_string();
        assert!(shown.contains("expected: null"), "{shown}");
    }
}
