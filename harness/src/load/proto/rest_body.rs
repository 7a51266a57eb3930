//! What a REST load run does with bodies besides framing them, apart from the connection code
//! of [`super::rest`]: the request body encoded as the fixture's `content_encoding` asks, the
//! reply body decoded as its `Content-Encoding` says and its `chunks` checked (the code `run`
//! uses: [`crate::wire::coding`], [`crate::check::chunks`]), and for a fixture with `chunks`,
//! when the body's first and last bytes came.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use bytes::Bytes;
use harness_fixture::model::{ChunkExpectation, Coding, RestExpected};
use hyper::HeaderMap;
use hyper::header::{CONTENT_ENCODING, HeaderValue};

use crate::load::recorder::ErrorKind;
use crate::load::worker::Unloadable;
use crate::wire::coding::{self, DecodeError};
use crate::wire::request::MAX_BODY;

/// A request body in `coding` (when the fixture asks for one and there is a body), with a
/// `Content-Encoding` header unless the fixture's headers name one, as `run` sends it.
pub(super) fn encode_request(
    coding: Option<Coding>,
    body: Bytes,
    headers: &mut HeaderMap,
) -> Result<Bytes, Unloadable> {
    let Some(coding) = coding.filter(|_| !body.is_empty()) else {
        return Ok(body);
    };
    let encoded = coding::encode(coding, &body)?;
    if !headers.contains_key(CONTENT_ENCODING) {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static(coding.token()));
    }
    Ok(Bytes::from(encoded))
}

/// The codings a reply head names in `Content-Encoding` (none: nothing to undo).
pub(super) fn reply_codings(headers: &[httparse::Header<'_>]) -> Vec<String> {
    coding::codings(
        headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("content-encoding"))
            .map(|h| std::str::from_utf8(h.value).unwrap_or("(not text)")),
    )
}

/// The body with `codings` undone (the body itself when there are none), or the difference as
/// `run` reports it: a body that does not decode at `/body`, one past the cap as `run`'s reason.
pub(super) fn decode<'b>(codings: &[String], body: &'b [u8]) -> Result<Cow<'b, [u8]>, ErrorKind> {
    if codings.is_empty() || body.is_empty() {
        return Ok(Cow::Borrowed(body));
    }
    let content_encoding = codings.join(", ");
    match coding::decode(codings, body, MAX_BODY) {
        Ok(decoded) => Ok(Cow::Owned(decoded)),
        Err(error @ DecodeError::TooLarge { .. }) => Err(ErrorKind::Other(format!(
            "reply body with content-encoding {content_encoding}: {error}"
        ))),
        Err(error) => Err(ErrorKind::differs(
            "/body",
            crate::check::undecodable_message(&content_encoding, &error.to_string()),
        )),
    }
}

/// A fixture's `chunks`, checked on every (decoded) reply; their presence asks for body timing.
#[derive(Debug, Default)]
pub(super) struct ChunksExpect(Option<Vec<ChunkExpectation>>);

impl ChunksExpect {
    /// The `chunks` of `expected`, if any.
    pub(super) fn new(expected: &RestExpected) -> ChunksExpect {
        ChunksExpect(expected.chunks.clone())
    }

    /// Whether the times of the body's first and last bytes are recorded.
    pub(super) fn timed(&self) -> bool {
        self.0.is_some()
    }

    /// `None` when `body` holds the expected records, else the first difference `run` reports.
    pub(super) fn check(&self, body: &[u8]) -> Option<ErrorKind> {
        let chunks = self.0.as_deref()?;
        crate::check::chunks::first_difference(chunks, body).map(ErrorKind::of_mismatch)
    }
}

/// When a reply's body came, counted from writing the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BodyTimes {
    /// To the first byte of the body (the end of the head, for an empty body).
    pub(crate) first_byte: Duration,
    /// To the last byte.
    pub(crate) last_byte: Duration,
}

impl BodyTimes {
    /// The times of a body whose first byte came at `first` and last at `last`, for a request
    /// written at `sent`.
    pub(super) fn new(sent: Instant, first: Instant, last: Instant) -> BodyTimes {
        BodyTimes {
            first_byte: first.saturating_duration_since(sent),
            last_byte: last.saturating_duration_since(sent),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bodies_are_encoded_with_their_header_unless_named() {
        let mut headers = HeaderMap::new();
        let body = Bytes::from_static(br#"{"n":1}"#);
        let sent = encode_request(Some(Coding::Gzip), body.clone(), &mut headers).unwrap();
        assert_eq!(headers[CONTENT_ENCODING], "gzip");
        let back = coding::decode(&["gzip".to_string()], &sent, MAX_BODY).unwrap();
        assert_eq!(back, body.to_vec());
        let mut named = HeaderMap::new();
        named.insert(CONTENT_ENCODING, HeaderValue::from_static("x-custom"));
        encode_request(Some(Coding::Br), body.clone(), &mut named).unwrap();
        assert_eq!(named[CONTENT_ENCODING], "x-custom");
        // No body, or no coding: nothing to encode, no header.
        let mut none = HeaderMap::new();
        assert!(
            encode_request(Some(Coding::Zstd), Bytes::new(), &mut none)
                .unwrap()
                .is_empty()
        );
        assert_eq!(encode_request(None, body.clone(), &mut none).unwrap(), body);
        assert!(none.is_empty());
    }

    #[test]
    fn replies_are_decoded_or_differ_as_run_says() {
        let head = [httparse::Header {
            name: "Content-Encoding",
            value: b"gzip",
        }];
        let codings = reply_codings(&head);
        let gzipped = coding::encode(Coding::Gzip, b"{}").unwrap();
        assert_eq!(decode(&codings, &gzipped).unwrap().as_ref(), b"{}");
        assert_eq!(decode(&[], b"{}").unwrap().as_ref(), b"{}");
        let lie = decode(&codings, b"{}").unwrap_err().to_string();
        assert!(
            lie.starts_with("/body: content-encoding gzip claimed, but the body does not decode: "),
            "{lie}"
        );
        let bomb = coding::encode(Coding::Gzip, &vec![0; MAX_BODY + 1]).unwrap();
        assert_eq!(
            decode(&codings, &bomb).unwrap_err().to_string(),
            format!(
                "reply body with content-encoding gzip: undoing gzip gives more than {MAX_BODY} \
                 bytes, the reply body cap"
            )
        );
    }
}
