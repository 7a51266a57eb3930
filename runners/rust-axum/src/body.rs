//! Request bodies: the coding, the size, the media type and the parse, in the order of checks
//! of `fixtures/README.md` (413, 415, 400; 422 entries for the schema).
//!
//! A body whose `Content-Encoding` the handler lists arrives decoded: the handler is wrapped in
//! tower-http's `RequestDecompression` (see `app.rs`), which removes the header and its
//! `Content-Length`. Any coding still named here is one the handler does not decode.

use std::path::Path;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, header, request::Parts};
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use harness_fixture::handler::{BodySpec, Media};
use serde_json::{Map, Value};

use crate::compress::token;
use crate::error::BuildError;
use crate::multipart::MultipartRule;
use crate::params::{ParamSet, compile, validate_into};
use crate::problem::{self, FieldError, Location};

/// Bodies of handlers without `max_bytes` are still bounded: larger ones are answered 413.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// What a handler accepts as its body.
pub(crate) struct BodyRule {
    media: Media,
    required: bool,
    /// Of the decoded body.
    max_bytes: usize,
    validator: Option<jsonschema::Validator>,
    /// For `form` and `multipart` fields: how they are coerced.
    fields: Option<ParamSet>,
    /// For `multipart`: the file rules.
    multipart: Option<MultipartRule>,
    /// `Accept-Encoding` of the 415 for a coding not listed: the listed ones, or `identity`.
    accept_encoding: HeaderValue,
}

impl BodyRule {
    /// Prepares the rule of `spec`: the schema compiled, field coercion and file rules.
    pub(crate) fn new(file: &Path, spec: &BodySpec) -> Result<BodyRule, BuildError> {
        let validator = spec
            .schema
            .as_ref()
            .map(|s| compile(file, "/handler/body/schema", s))
            .transpose()?;
        let fields = matches!(spec.media, Media::Form | Media::Multipart).then(|| {
            let properties = spec
                .schema
                .as_ref()
                .map(ParamSet::properties_of)
                .unwrap_or_default();
            let keep_all = spec
                .schema
                .as_ref()
                .and_then(|s| s.get("properties"))
                .is_none();
            ParamSet {
                location: Location::Body,
                properties,
                validator: None,
                keep_all,
            }
        });
        let codings: Vec<&str> = spec.content_encodings.iter().map(|c| token(*c)).collect();
        let accept_encoding = if codings.is_empty() {
            HeaderValue::from_static("identity")
        } else {
            HeaderValue::from_str(&codings.join(", ")).map_err(|e| {
                BuildError::handler(file, "/handler/body/content_encodings", e.to_string())
            })?
        };
        Ok(BodyRule {
            media: spec.media,
            required: spec.required,
            max_bytes: spec.max_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
            validator,
            fields,
            multipart: (spec.media == Media::Multipart).then(|| MultipartRule::new(&spec.files)),
            accept_encoding,
        })
    }

    /// Reads, checks and decodes the body. `Ok` holds the decoded body (`null` when absent; for
    /// multipart, the echo document of fields and files); a missing required body, a schema
    /// violation or a file at fault is added to `errors`.
    pub(crate) async fn read(
        &self,
        parts: &Parts,
        body: Body,
        errors: &mut Vec<FieldError>,
    ) -> Result<Value, Response> {
        if has_unlisted_coding(&parts.headers) {
            return Err(problem::unsupported_coding(self.accept_encoding.clone()));
        }
        let declared_len = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared_len.is_some_and(|len| len > self.max_bytes as u64) {
            return Err(problem::payload_too_large());
        }
        let bytes = collect(body, self.max_bytes).await?;
        if bytes.is_empty() {
            if self.required {
                errors.push(FieldError {
                    location: Location::Body,
                    pointer: String::new(),
                    message: "a request body is required".into(),
                });
            }
            return Ok(Value::Null);
        }
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !accepts(self.media, content_type) {
            return Err(problem::unsupported_media_type());
        }
        let (checked, echoed) = match self.media {
            Media::Json => {
                let value = serde_json::from_slice::<Value>(&bytes)
                    .map_err(|_| problem::malformed_body())?;
                (value, None)
            }
            Media::Text => {
                let text = std::str::from_utf8(&bytes).map_err(|_| problem::malformed_body())?;
                (Value::String(text.to_owned()), None)
            }
            Media::Form => {
                std::str::from_utf8(&bytes).map_err(|_| problem::malformed_body())?;
                (self.coerce_fields(form_urlencoded::parse(&bytes)), None)
            }
            Media::Multipart => {
                let Some(rule) = &self.multipart else {
                    return Err(problem::unsupported_media_type());
                };
                let parsed = rule.parse(content_type, bytes).await?;
                let fields = self.coerce_fields(parsed.fields.iter().map(|(k, v)| (k, v)));
                let files = rule.check(&parsed.files, errors);
                let echoed = Value::Object(Map::from_iter([
                    ("fields".to_owned(), fields.clone()),
                    ("files".to_owned(), files),
                ]));
                (fields, Some(echoed))
            }
        };
        if let Some(validator) = &self.validator {
            validate_into(validator, Location::Body, &checked, errors);
        }
        Ok(echoed.unwrap_or(checked))
    }

    /// Form or multipart fields coerced by the schema's properties.
    fn coerce_fields<K, V>(&self, pairs: impl IntoIterator<Item = (K, V)>) -> Value
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        match &self.fields {
            Some(set) => set.collect_pairs(pairs),
            None => Value::Object(Map::new()),
        }
    }
}

/// Whether the request names a content coding other than `identity` (its listed codings were
/// decoded and their header removed already).
fn has_unlisted_coding(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::CONTENT_ENCODING)
        .iter()
        .any(|value| match value.to_str() {
            Ok(line) => line
                .split(',')
                .map(str::trim)
                .any(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case("identity")),
            Err(_) => true,
        })
}

/// Collects the body, answering 413 as soon as it exceeds `limit` and 400 when it cannot be
/// read (a compressed body that does not decode).
async fn collect(body: Body, limit: usize) -> Result<Bytes, Response> {
    let mut stream = body.into_data_stream();
    let mut first: Option<Bytes> = None;
    let mut more: Option<BytesMut> = None;
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| problem::malformed_body())?;
        total += chunk.len();
        if total > limit {
            return Err(problem::payload_too_large());
        }
        match (&mut first, &mut more) {
            (None, _) => first = Some(chunk),
            (Some(head), None) => {
                let mut buffer = BytesMut::with_capacity(total);
                buffer.extend_from_slice(head);
                buffer.extend_from_slice(&chunk);
                more = Some(buffer);
            }
            (Some(_), Some(buffer)) => buffer.extend_from_slice(&chunk),
        }
    }
    Ok(match (first, more) {
        (_, Some(buffer)) => buffer.freeze(),
        (Some(head), None) => head,
        (None, None) => Bytes::new(),
    })
}

/// Whether a content type fits a media: `application/json` or `*/*+json`, the urlencoded form
/// type, any `text/*`, or `multipart/form-data`. Parameters (`; charset=...`) are ignored; names
/// are case-insensitive.
pub(crate) fn accepts(media: Media, content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    if kind.is_empty() || subtype.is_empty() {
        return false;
    }
    match media {
        Media::Json => {
            (kind.eq_ignore_ascii_case("application") && subtype.eq_ignore_ascii_case("json"))
                || (subtype.len() > 5
                    && subtype.as_bytes()[subtype.len() - 5..].eq_ignore_ascii_case(b"+json"))
        }
        Media::Form => {
            kind.eq_ignore_ascii_case("application")
                && subtype.eq_ignore_ascii_case("x-www-form-urlencoded")
        }
        Media::Text => kind.eq_ignore_ascii_case("text"),
        Media::Multipart => {
            kind.eq_ignore_ascii_case("multipart") && subtype.eq_ignore_ascii_case("form-data")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert!(accepts(Media::Json, "application/json"));
        assert!(accepts(Media::Json, "Application/JSON; charset=utf-8"));
        assert!(accepts(Media::Json, "application/problem+json"));
        assert!(!accepts(Media::Json, "application/+json"));
        assert!(!accepts(Media::Json, "text/plain"));
        assert!(!accepts(Media::Json, ""));
        assert!(accepts(Media::Form, "application/x-www-form-urlencoded"));
        assert!(!accepts(Media::Form, "multipart/form-data"));
        assert!(accepts(Media::Text, "text/csv"));
        assert!(!accepts(Media::Text, "application/json"));
        assert!(accepts(Media::Multipart, "Multipart/Form-Data; boundary=x"));
        assert!(!accepts(Media::Multipart, "multipart/mixed; boundary=x"));
    }

    #[test]
    fn codings_other_than_identity_are_unlisted() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::CONTENT_ENCODING,
                HeaderValue::from_str(value).unwrap(),
            );
            has_unlisted_coding(&headers)
        };
        assert!(!has_unlisted_coding(&HeaderMap::new()));
        assert!(!with("identity"));
        assert!(!with("Identity, "));
        assert!(with("gzip"));
        assert!(with("identity, br"));
    }
}
