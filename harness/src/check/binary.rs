//! Checks of a REST reply's raw bytes: `body_base64` (the whole body in base64, or a matcher of
//! its bytes: `<<any>>`, `<<starts_with:BASE64>>`, `<<contains:BASE64>>`) and `body_length`.

use harness_fixture::matcher::BinaryMatch;
use harness_fixture::model::RestExpected;

use super::Mismatch;
use crate::results::transcript::Body;

/// The raw-byte expectations of `expected` against `body`.
pub(super) fn check_body(expected: &RestExpected, body: &Body, out: &mut Vec<Mismatch>) {
    if let Some(want) = &expected.body_base64 {
        let message = match BinaryMatch::parse(want) {
            // The loader parsed it the same way: a fixture that loaded has none bad.
            Err(message) => Some(message),
            Ok(matcher) => base64_difference(&matcher, &body.0),
        };
        if let Some(message) = message {
            out.push(Mismatch::new(
                "/body_base64",
                want.as_str().into(),
                body.base64().into(),
                message,
            ));
        }
    }
    if let Some(want) = expected.body_length {
        let got = body.0.len() as u64;
        if let Some(message) = length_difference(want, &body.0) {
            out.push(Mismatch::new(
                "/body_length",
                want.into(),
                got.into(),
                message,
            ));
        }
    }
}

/// `None` when `bytes` satisfy `matcher` (`body_base64`), else what differs.
pub fn base64_difference(matcher: &BinaryMatch, bytes: &[u8]) -> Option<String> {
    match matcher {
        _ if matcher.matches(bytes) => None,
        BinaryMatch::Exact(_) => Some("different bytes".to_string()),
        BinaryMatch::StartsWith(prefix) => Some(format!(
            "the body does not start with these {} bytes",
            prefix.len()
        )),
        BinaryMatch::Contains(part) => Some(format!(
            "the body does not contain these {} bytes",
            part.len()
        )),
        BinaryMatch::Any => None,
    }
}

/// `None` when `bytes` are `want` long (`body_length`), else what differs.
pub fn length_difference(want: u64, bytes: &[u8]) -> Option<String> {
    let got = bytes.len() as u64;
    (got != want).then(|| format!("the body has {got} bytes"))
}
