//! A REST fixture as both REST load clients take it: the request built once ([`RestRequest`]:
//! method, target, headers as `run` sends them, body, encoded as the fixture asks) and the
//! expectations compiled once ([`RestExpect`]), whose [`RestExpect::check`] is the one check of
//! a (decoded) reply, whether it came over HTTP/1.1 (`rest.rs`) or HTTP/2 (`rest_h2.rs`).

use std::borrow::Cow;

use bytes::Bytes;
use harness_fixture::matcher::BinaryMatch;
use harness_fixture::model::{RequestBody, RestExpected, RestRequest as FixtureRequest};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, COOKIE, HOST, HeaderValue, USER_AGENT};
use hyper::{HeaderMap, Method, Uri};

use super::rest_body::{self, ChunksExpect};
use crate::check::binary::{base64_difference, length_difference};
use crate::load::expect::{DIFFERENT_TEXT, HeaderExpect, JsonExpect, SchemaExpect, TextExpect};
use crate::load::net::endpoint::{Endpoint, header_name, header_value};
use crate::load::recorder::ErrorKind;
use crate::load::worker::{LoadError, Unloadable};
use crate::wire::request::{Base64Error, MAX_BODY};

/// A fixture's request, built once.
#[derive(Debug)]
pub(crate) struct RestRequest {
    pub(crate) method: Method,
    /// Path and query.
    pub(crate) target: Uri,
    /// `Host` first, then the fixture's headers, cookies, user agent, content type and length.
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl RestRequest {
    /// The request of `request` on `endpoint`, with the headers `run` sends.
    pub(crate) fn build(
        request: &FixtureRequest,
        endpoint: &Endpoint,
    ) -> Result<RestRequest, LoadError> {
        let method =
            Method::from_bytes(request.method.as_bytes()).map_err(|source| Unloadable::Method {
                method: request.method.clone(),
                source,
            })?;
        let target = endpoint.target(&request.path, &request.query.pairs())?;
        let mut headers = HeaderMap::new();
        headers.insert(HOST, endpoint.host.clone());
        for (name, value) in &request.headers {
            headers.append(header_name(name)?, header_value(name, value)?);
        }
        if !request.cookies.is_empty() {
            let cookie = request
                .cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            headers.insert(COOKIE, header_value("cookie", &cookie)?);
        }
        if !headers.contains_key(USER_AGENT) {
            let agent = HeaderValue::from_static(crate::wire::request::USER_AGENT);
            headers.insert(USER_AGENT, agent);
        }
        let (body, default_type) =
            encode_body(request.body(), request.multipart_boundary.as_deref())
                .map_err(Unloadable::from)?;
        let body = rest_body::encode_request(request.content_encoding, body, &mut headers)?;
        if let Some(content_type) = default_type
            && !headers.contains_key(CONTENT_TYPE)
        {
            let value = HeaderValue::try_from(content_type)
                .expect("a default content type is a valid header value");
            headers.insert(CONTENT_TYPE, value);
        }
        // As hyper frames a request: a body (or a method that expects one) gets its length.
        let wants_body = matches!(method, Method::POST | Method::PUT | Method::PATCH);
        if (!body.is_empty() || wants_body) && !headers.contains_key(CONTENT_LENGTH) {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        Ok(RestRequest {
            method,
            target,
            headers,
            body,
        })
    }

    /// The request's bytes on HTTP/1.1: request line, headers, body.
    pub(crate) fn http1_bytes(&self) -> Vec<u8> {
        let mut bytes = format!("{} {} HTTP/1.1\r\n", self.method, self.target).into_bytes();
        for (name, value) in &self.headers {
            bytes.extend_from_slice(name.as_str().as_bytes());
            bytes.extend_from_slice(b": ");
            bytes.extend_from_slice(value.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// What a reply must be, compiled once.
#[derive(Debug)]
pub(crate) struct RestExpect {
    status: u16,
    /// The expected headers (checked where the reply's head is read).
    pub(crate) headers: Vec<HeaderExpect>,
    json: Option<JsonExpect>,
    text: Option<TextExpect>,
    bytes: Option<BinaryMatch>,
    length: Option<u64>,
    schema: Option<SchemaExpect>,
    /// The expected records of a streamed body; their presence asks for body timing.
    pub(crate) chunks: ChunksExpect,
}

impl RestExpect {
    /// Compiles `expected`.
    pub(crate) fn new(expected: &RestExpected) -> Result<RestExpect, LoadError> {
        Ok(RestExpect {
            status: expected.status,
            headers: HeaderExpect::rest(expected)?,
            json: expected
                .body
                .as_ref()
                .map(|v| JsonExpect::new(v, expected.body_match)),
            text: expected
                .body_text
                .as_deref()
                .map(TextExpect::new)
                .transpose()
                .map_err(Unloadable::from)?,
            bytes: expected
                .body_base64
                .as_deref()
                .map(BinaryMatch::parse)
                .transpose()
                .map_err(|reason| Unloadable::BodyBase64 { reason })?,
            length: expected.body_length,
            schema: expected
                .body_schema
                .as_ref()
                .map(SchemaExpect::new)
                .transpose()?,
            chunks: ChunksExpect::new(expected),
        })
    }

    /// Checks a reply against the fixture: status, headers, then the body (decoded, or why it
    /// does not decode), cheapest first; a difference is the first one `run` reports of the
    /// same reply.
    pub(crate) fn check(
        &self,
        status: u16,
        header_difference: Option<ErrorKind>,
        body: Result<Cow<'_, [u8]>, ErrorKind>,
    ) -> Result<(), ErrorKind> {
        if status != self.status {
            return Err(ErrorKind::status("/status", status));
        }
        if let Some(difference) = header_difference {
            return Err(difference);
        }
        let body = &*body?;
        if let Some(json) = &self.json
            && let Some(difference) = json.check(body, "/body", "reply body is not JSON")
        {
            return Err(difference);
        }
        if let Some(text) = &self.text {
            match std::str::from_utf8(body) {
                Err(_) => {
                    return Err(ErrorKind::differs("/body_text", "reply body is not UTF-8"));
                }
                Ok(got) if !text.matches(Some(got)) => {
                    return Err(ErrorKind::differs("/body_text", DIFFERENT_TEXT));
                }
                Ok(_) => {}
            }
        }
        if let Some(message) = self.bytes.as_ref().and_then(|b| base64_difference(b, body)) {
            return Err(ErrorKind::differs("/body_base64", message));
        }
        if let Some(message) = self.length.and_then(|want| length_difference(want, body)) {
            return Err(ErrorKind::differs("/body_length", message));
        }
        if let Some(schema) = &self.schema
            && let Some(difference) = schema.check(body, "/body", "reply body is not JSON")
        {
            return Err(difference);
        }
        if let Some(difference) = self.chunks.check(body) {
            return Err(difference);
        }
        Ok(())
    }
}

/// A reply body larger than [`MAX_BODY`].
pub(crate) fn too_large() -> ErrorKind {
    ErrorKind::Other(format!("reply body larger than {MAX_BODY} bytes"))
}

/// The bytes of a request body (as replay sends them) and their default content type.
fn encode_body(
    body: RequestBody<'_>,
    boundary: Option<&str>,
) -> Result<(Bytes, Option<String>), Base64Error> {
    let (bytes, default_type) = crate::wire::request::encode_body(body, boundary)?;
    Ok((
        bytes.map_or_else(Bytes::new, |body| Bytes::from(body.0)),
        default_type,
    ))
}
