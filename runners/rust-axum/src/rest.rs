//! REST handlers: parameters, body, the order of checks and the reply (fixed, echoed or
//! streamed; compressed per `Accept-Encoding` when the handler asks).

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{RawPathParams, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header, request::Parts};
use axum::response::Response;
use bytes::Bytes;
use harness_fixture::handler::{ParamSchemas, RestHandler};
use harness_fixture::route::{CaptureType, Route};
use serde_json::{Map, Value, json};

use crate::body::BodyRule;
use crate::compress::{CompressRule, Encoded};
use crate::error::BuildError;
use crate::params::{ParamSet, Property, Types, compile, decode_capture};
use crate::problem::{self, FieldError, Location};
use crate::shutdown::Shutdown;
use crate::stream::Streamed;
use crate::vary::add_vary;

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
    /// Ends streamed replies early on a graceful shutdown.
    shutdown: Shutdown,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    content: Content,
    compress: Option<CompressRule>,
}

/// What a valid request is answered with.
enum Content {
    /// A body rendered once (and encoded once with each coding offered).
    Fixed(Encoded),
    /// The echo document, made per request.
    Echo,
    /// Items sent one by one.
    Stream(Streamed),
}

/// The inputs of a request, coerced: path, query, headers, cookies.
type Inputs = [Option<Value>; 4];

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

/// The body of a valid request's reply, with its content type.
fn content(
    file: &Path,
    handler: &RestHandler,
) -> Result<(Content, Option<HeaderValue>), BuildError> {
    let spec = &handler.response;
    Ok(if let Some(stream) = &spec.stream {
        let streamed = Streamed::new(file, stream)?;
        let content_type = streamed.content_type();
        (Content::Stream(streamed), Some(content_type))
    } else if let Some(json) = &spec.json {
        let bytes = serde_json::to_vec(json)
            .map_err(|e| BuildError::handler(file, "/handler/response/json", e.to_string()))?;
        (
            Content::Fixed(Encoded::identity(Bytes::from(bytes))),
            Some(JSON),
        )
    } else if let Some(text) = &spec.text {
        let bytes = Bytes::from(text.clone());
        (Content::Fixed(Encoded::identity(bytes)), Some(TEXT))
    } else if spec.echo {
        (Content::Echo, Some(JSON))
    } else {
        (Content::Fixed(Encoded::identity(Bytes::new())), None)
    })
}

fn reply(file: &Path, handler: &RestHandler) -> Result<Reply, BuildError> {
    let spec = &handler.response;
    let status = StatusCode::from_u16(spec.status)
        .map_err(|e| BuildError::handler(file, "/handler/response/status", e.to_string()))?;
    let mut headers = HeaderMap::new();
    let (mut content, content_type) = content(file, handler)?;
    if let Some(content_type) = content_type {
        headers.insert(header::CONTENT_TYPE, content_type);
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
    let compress = spec.compress.as_ref().map(CompressRule::new);
    if let (Some(rule), Content::Fixed(body)) = (&compress, &mut content) {
        *body = rule.prepare(status, body.plain());
    }
    Ok(Reply {
        status,
        headers,
        content,
        compress,
    })
}

impl RestEndpoint {
    /// Prepares a handler: schemas compiled, the reply pre-rendered (and pre-encoded).
    pub(crate) fn new(
        file: &Path,
        handler: &RestHandler,
        route: &Route,
        shutdown: Shutdown,
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
                .map(|b| BodyRule::new(file, b))
                .transpose()?,
            reply: reply(file, handler)?,
            shutdown,
        })
    }

    /// Serves one request. Every reply of a handler with `compress` carries
    /// `Vary: Accept-Encoding`, errors included.
    pub(crate) async fn handle(
        self: Arc<Self>,
        captures: Result<RawPathParams, RawPathParamsRejection>,
        request: Request,
    ) -> Response {
        let (parts, body) = request.into_parts();
        let mut response = self.respond(captures, &parts, body).await;
        if self.reply.compress.is_some() {
            add_vary(response.headers_mut(), "Accept-Encoding");
        }
        response
    }

    /// The checks in order (the body's 413, 415 and 400 first, then every 422 entry), then the
    /// reply.
    async fn respond(
        &self,
        captures: Result<RawPathParams, RawPathParamsRejection>,
        parts: &Parts,
        body: Body,
    ) -> Response {
        let mut errors = Vec::new();
        let body_value = match &self.body {
            None => None,
            Some(rule) => match rule.read(parts, body, &mut errors).await {
                Ok(value) => Some(value),
                Err(response) => return response,
            },
        };
        let inputs = self.inputs(&captures, parts, &mut errors);
        if !errors.is_empty() {
            return problem::validation_failed(errors);
        }
        self.answer(&parts.headers, inputs, body_value)
    }

    /// Coerces and validates the path, query, header and cookie parameters.
    fn inputs(
        &self,
        captures: &Result<RawPathParams, RawPathParamsRejection>,
        parts: &Parts,
        errors: &mut Vec<FieldError>,
    ) -> Inputs {
        let path = self.path.as_ref().map(|set| {
            let object = match captures {
                Ok(captures) => set.collect_pairs(
                    captures
                        .iter()
                        .map(|(name, raw)| (name, decode_capture(raw))),
                ),
                Err(_) => Value::Object(Map::new()),
            };
            set.validate(&object, errors);
            object
        });
        let query = self.query.as_ref().map(|set| {
            let raw = parts.uri.query().unwrap_or("");
            let object = set.collect_pairs(form_urlencoded::parse(raw.as_bytes()));
            set.validate(&object, errors);
            object
        });
        let headers = self.headers.as_ref().map(|set| {
            let object = set.collect_headers(&parts.headers);
            set.validate(&object, errors);
            object
        });
        let cookies = self.cookies.as_ref().map(|set| {
            let object = set.collect_cookies(&parts.headers);
            set.validate(&object, errors);
            object
        });
        [path, query, headers, cookies]
    }

    /// The echo document: one key per declared location.
    fn echo(&self, inputs: Inputs, body: Option<Value>) -> Bytes {
        let [path, query, headers, cookies] = inputs;
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
        if let Some(body) = body {
            doc.insert("body".into(), body);
        }
        // A map of JSON values always serializes.
        Bytes::from(serde_json::to_vec(&Value::Object(doc)).unwrap_or_default())
    }

    /// The reply to a valid request, encoded when the handler and the request agree on a coding.
    fn answer(&self, request: &HeaderMap, inputs: Inputs, body: Option<Value>) -> Response {
        let reply = &self.reply;
        let (body, coding) = match (&reply.content, &reply.compress) {
            (Content::Stream(streamed), _) => (streamed.body(&self.shutdown), None),
            (Content::Fixed(encoded), Some(rule)) => {
                let (bytes, coding) = rule.pick(request, encoded);
                (Body::from(bytes), coding)
            }
            (Content::Fixed(encoded), None) => (Body::from(encoded.plain()), None),
            (Content::Echo, Some(rule)) => {
                let (bytes, coding) =
                    rule.encode_for(request, reply.status, self.echo(inputs, body));
                (Body::from(bytes), coding)
            }
            (Content::Echo, None) => (Body::from(self.echo(inputs, body)), None),
        };
        let mut response = Response::new(body);
        *response.status_mut() = reply.status;
        *response.headers_mut() = reply.headers.clone();
        if let Some(coding) = coding {
            response
                .headers_mut()
                .insert(header::CONTENT_ENCODING, coding);
        }
        response
    }
}
