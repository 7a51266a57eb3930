//! REST handlers: parameters, body, the order of checks and the reply.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{RawPathParams, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header, request::Parts};
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use harness_fixture::handler::{BodySpec, Media, ParamSchemas, RestHandler};
use harness_fixture::route::{CaptureType, Route};
use serde_json::{Map, Value, json};

use crate::error::BuildError;
use crate::params::{ParamSet, Property, Types, decode_capture, validate_into};
use crate::problem::{self, FieldError, Location};

/// Bodies of handlers without `max_bytes` are still bounded: larger ones are answered 413.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

const JSON: HeaderValue = HeaderValue::from_static("application/json");
const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");

/// One REST handler, ready to serve.
pub(crate) struct RestEndpoint {
    /// Present when the route has captures or `params.path` is declared.
    path: Option<ParamSet>,
    /// Whether the echo document has a `path` key (the route has captures).
    echo_path: bool,
    query: Option<ParamSet>,
    headers: Option<ParamSet>,
    cookies: Option<ParamSet>,
    body: Option<BodyRule>,
    reply: Reply,
}

struct BodyRule {
    media: Media,
    required: bool,
    max_bytes: usize,
    validator: Option<jsonschema::Validator>,
    /// For `form`: how fields are coerced.
    form: Option<ParamSet>,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    /// A fixed body; `None` with `echo`.
    body: Option<Bytes>,
    echo: bool,
}

fn compile(
    file: &Path,
    pointer: &str,
    schema: &Value,
) -> Result<jsonschema::Validator, BuildError> {
    harness_fixture::schema::compile(schema)
        .map_err(|e| BuildError::handler(file, pointer, format!("invalid JSON Schema: {e}")))
}

fn param_set(
    file: &Path,
    location: Location,
    name: &str,
    schema: Option<&Value>,
) -> Result<Option<ParamSet>, BuildError> {
    let Some(schema) = schema else {
        return Ok(None);
    };
    let pointer = format!("/handler/params/{name}");
    let mut properties = ParamSet::properties_of(schema);
    if location == Location::Headers {
        for property in &mut properties {
            property.header = HeaderName::from_bytes(property.name.as_bytes()).ok();
        }
    }
    Ok(Some(ParamSet {
        location,
        properties,
        validator: Some(compile(file, &pointer, schema)?),
        keep_all: false,
    }))
}

/// The path location: captures typed by the route, constrained further by `params.path`.
fn path_set(
    file: &Path,
    route: &Route,
    params: &ParamSchemas,
) -> Result<Option<ParamSet>, BuildError> {
    let declared = params.path.as_ref();
    let declared_props = declared
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object);
    if route.captures().next().is_none() && declared.is_none() {
        return Ok(None);
    }
    let mut properties = Vec::new();
    let mut type_schemas = Map::new();
    let mut required = Vec::new();
    for (name, ty) in route.captures() {
        let declared_prop = declared_props.and_then(|p| p.get(name));
        let property = match (ty, declared_prop) {
            // An untyped capture takes the type `params.path` declares, if any.
            (CaptureType::Str, Some(schema)) => {
                type_schemas.insert(name.to_owned(), json!({}));
                Property::from_schema(name, schema)
            }
            _ => {
                type_schemas.insert(name.to_owned(), ty.json_schema());
                let types = match ty {
                    CaptureType::Int => Types::integer(),
                    CaptureType::Float => Types::number(),
                    CaptureType::Bool => Types::boolean(),
                    CaptureType::Str | CaptureType::Uuid => Types::default(),
                };
                Property {
                    name: name.to_owned(),
                    array: false,
                    types,
                    default: None,
                    header: None,
                }
            }
        };
        properties.push(property);
        required.push(Value::String(name.to_owned()));
    }
    let mut schema = json!({"type": "object", "properties": type_schemas, "required": required});
    if let Some(declared) = declared {
        schema["allOf"] = json!([declared]);
    }
    Ok(Some(ParamSet {
        location: Location::Path,
        properties,
        validator: Some(compile(file, "/handler/params/path", &schema)?),
        keep_all: false,
    }))
}

fn body_rule(file: &Path, spec: &BodySpec) -> Result<BodyRule, BuildError> {
    let validator = spec
        .schema
        .as_ref()
        .map(|s| compile(file, "/handler/body/schema", s))
        .transpose()?;
    let form = (spec.media == Media::Form).then(|| {
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
    Ok(BodyRule {
        media: spec.media,
        required: spec.required,
        max_bytes: spec.max_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
        validator,
        form,
    })
}

fn reply(file: &Path, handler: &RestHandler) -> Result<Reply, BuildError> {
    let spec = &handler.response;
    let status = StatusCode::from_u16(spec.status)
        .map_err(|e| BuildError::handler(file, "/handler/response/status", e.to_string()))?;
    let mut headers = HeaderMap::new();
    let mut body = None;
    if let Some(json) = &spec.json {
        headers.insert(header::CONTENT_TYPE, JSON);
        body = Some(Bytes::from(serde_json::to_vec(json).map_err(|e| {
            BuildError::handler(file, "/handler/response/json", e.to_string())
        })?));
    } else if let Some(text) = &spec.text {
        headers.insert(header::CONTENT_TYPE, TEXT);
        body = Some(Bytes::from(text.clone()));
    } else if spec.echo {
        headers.insert(header::CONTENT_TYPE, JSON);
    } else {
        body = Some(Bytes::new());
    }
    for (name, value) in &spec.headers {
        let pointer = format!("/handler/response/headers/{name}");
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| BuildError::handler(file, &pointer, e.to_string()))?;
        let value = HeaderValue::from_str(value)
            .map_err(|e| BuildError::handler(file, &pointer, e.to_string()))?;
        headers.insert(name, value);
    }
    for (index, cookie) in spec.cookies.iter().enumerate() {
        let value = HeaderValue::from_str(&cookie.header_value()).map_err(|e| {
            BuildError::handler(
                file,
                format!("/handler/response/cookies/{index}"),
                e.to_string(),
            )
        })?;
        headers.append(header::SET_COOKIE, value);
    }
    Ok(Reply {
        status,
        headers,
        body,
        echo: spec.echo && spec.json.is_none() && spec.text.is_none(),
    })
}

impl RestEndpoint {
    /// Prepares a handler: schemas compiled, the reply pre-rendered.
    pub(crate) fn new(
        file: &Path,
        handler: &RestHandler,
        route: &Route,
    ) -> Result<Self, BuildError> {
        let params = &handler.params;
        Ok(RestEndpoint {
            path: path_set(file, route, params)?,
            echo_path: route.captures().next().is_some(),
            query: param_set(file, Location::Query, "query", params.query.as_ref())?,
            headers: param_set(file, Location::Headers, "headers", params.headers.as_ref())?,
            cookies: param_set(file, Location::Cookies, "cookies", params.cookies.as_ref())?,
            body: handler
                .body
                .as_ref()
                .map(|b| body_rule(file, b))
                .transpose()?,
            reply: reply(file, handler)?,
        })
    }

    /// Serves one request.
    pub(crate) async fn handle(
        self: Arc<Self>,
        captures: Result<RawPathParams, RawPathParamsRejection>,
        request: Request,
    ) -> Response {
        let (parts, body) = request.into_parts();
        let mut errors = Vec::new();

        // 413, 415, 400: the body is checked before any parameter.
        let body_value = match &self.body {
            None => None,
            Some(rule) => match read_body(rule, &parts, body, &mut errors).await {
                Ok(value) => Some(value),
                Err(response) => return response,
            },
        };

        let path = self.path.as_ref().map(|set| {
            let object = match &captures {
                Ok(captures) => set.collect_pairs(
                    captures
                        .iter()
                        .map(|(name, raw)| (name, decode_capture(raw))),
                ),
                Err(_) => Value::Object(Map::new()),
            };
            set.validate(&object, &mut errors);
            object
        });
        let query = self.query.as_ref().map(|set| {
            let raw = parts.uri.query().unwrap_or("");
            let object = set.collect_pairs(form_urlencoded::parse(raw.as_bytes()));
            set.validate(&object, &mut errors);
            object
        });
        let headers = self.headers.as_ref().map(|set| {
            let object = set.collect_headers(&parts.headers);
            set.validate(&object, &mut errors);
            object
        });
        let cookies = self.cookies.as_ref().map(|set| {
            let object = set.collect_cookies(&parts.headers);
            set.validate(&object, &mut errors);
            object
        });

        if !errors.is_empty() {
            return problem::validation_failed(errors);
        }

        let body = if self.reply.echo {
            let mut doc = Map::new();
            if self.echo_path
                && let Some(path) = path
            {
                doc.insert("path".into(), path);
            }
            for (key, value) in [("query", query), ("headers", headers), ("cookies", cookies)] {
                if let Some(value) = value {
                    doc.insert(key.into(), value);
                }
            }
            if let Some(body) = body_value {
                doc.insert("body".into(), body);
            }
            Body::from(serde_json::to_vec(&Value::Object(doc)).unwrap_or_default())
        } else {
            match &self.reply.body {
                Some(bytes) => Body::from(bytes.clone()),
                None => Body::empty(),
            }
        };
        let mut response = Response::new(body);
        *response.status_mut() = self.reply.status;
        *response.headers_mut() = self.reply.headers.clone();
        response
    }
}

/// Reads, checks and decodes the body. `Ok` holds the decoded body (`null` when absent);
/// a missing required body or a schema violation is added to `errors`.
async fn read_body(
    rule: &BodyRule,
    parts: &Parts,
    body: Body,
    errors: &mut Vec<FieldError>,
) -> Result<Value, Response> {
    let declared_len = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_len.is_some_and(|len| len > rule.max_bytes as u64) {
        return Err(problem::payload_too_large());
    }
    let bytes = collect(body, rule.max_bytes).await?;
    if bytes.is_empty() {
        if rule.required {
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
    if !accepts(rule.media, content_type) {
        return Err(problem::unsupported_media_type());
    }
    let value = match rule.media {
        Media::Json => {
            serde_json::from_slice::<Value>(&bytes).map_err(|_| problem::malformed_body())?
        }
        Media::Text => {
            let text = std::str::from_utf8(&bytes).map_err(|_| problem::malformed_body())?;
            Value::String(text.to_owned())
        }
        Media::Form => {
            std::str::from_utf8(&bytes).map_err(|_| problem::malformed_body())?;
            match &rule.form {
                Some(set) => set.collect_pairs(form_urlencoded::parse(&bytes)),
                None => Value::Object(Map::new()),
            }
        }
        // Multipart bodies are parsed by the next change (issue 12); until then refused.
        Media::Multipart => return Err(problem::unsupported_media_type()),
    };
    if let Some(validator) = &rule.validator {
        validate_into(validator, Location::Body, &value, errors);
    }
    Ok(value)
}

/// Collects the body, answering 413 as soon as it exceeds `limit`.
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
/// type, or any `text/*`. Parameters (`; charset=...`) are ignored; names are case-insensitive.
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
    }
}
