//! The structured diff: where a reply differed, what was expected, what came.

use serde::{Deserialize, Serialize};
use serde_json::Value;

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

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}",
            if self.path.is_empty() {
                "/"
            } else {
                &self.path
            },
            self.message
        )?;
        write!(f, "\n    expected: {}", short(&self.expected))?;
        write!(f, "\n    actual:   {}", short(&self.actual))
    }
}

fn short(value: &Value) -> String {
    const MAX: usize = 400;
    let text = value.to_string();
    if text.len() <= MAX {
        return text;
    }
    let mut cut = MAX;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}... ({} bytes)", &text[..cut], text.len())
}

/// Escapes one JSON pointer token.
pub fn token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}
