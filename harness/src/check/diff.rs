//! The structured diff: where a reply differed, what was expected, what came.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Quoting values in messages: the shared helpers (`clip`: the first [`CLIP_CHARS`] characters
/// and `… (N bytes)`).
pub use harness_fixture::text::{CLIP_CHARS, clip, clip_json, quote};

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
        }
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
        write!(f, "\n    expected: {}", clip_json(&self.expected))?;
        write!(f, "\n    actual:   {}", clip_json(&self.actual))
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
}
