//! Building the router: every fixture's handler, each (method, route) once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{RawPathParams, Request};
use axum::handler::Handler;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{from_fn_with_state, map_request};
use axum::routing::{MethodFilter, MethodRouter, get};
use harness_fixture::Fixture;
use harness_fixture::handler::{
    BroadcastHandler, RestHandler, RunnerCoding, SseHandler, WsHandler,
};
use harness_fixture::model::Spec;
use harness_fixture::route::Route;
use tower_http::decompression::RequestDecompressionLayer;
use tower_layer::Layer;

use crate::broadcast::BroadcastEndpoint;
use crate::cors::{self, RouteCors};
use crate::error::BuildError;
use crate::rest::RestEndpoint;
use crate::shutdown::Shutdown;
use crate::sse::SseEndpoint;
use crate::ws::WsEndpoint;

/// The readiness probe's path.
pub const READY_PATH: &str = "/__ready";

/// Builds the app serving every fixture that has a handler, plus `GET /__ready` (200 `ready`).
///
/// Handlers with the same method and route (WebSocket and SSE handlers: the same route) are
/// registered once, the first in `fixtures` order. Two handlers that would claim the same method
/// on the same path with different route patterns, or routes the router cannot tell apart, are a
/// [`BuildError::Conflict`].
pub fn app(fixtures: &[Fixture]) -> Result<Router, BuildError> {
    build(fixtures, Shutdown::never())
}

enum Endpoint {
    Rest(Arc<RestEndpoint>),
    Ws(Arc<WsEndpoint>),
    Sse(Arc<SseEndpoint>),
    Broadcast(Arc<BroadcastEndpoint>, Role),
}

/// The three routes of a broadcast channel.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Publish,
    Websocket,
    Sse,
}

/// What a handler asks to serve on one route.
enum Kind<'a> {
    Rest(&'a RestHandler),
    Ws(&'a WsHandler),
    Sse(&'a SseHandler),
    Broadcast(&'a BroadcastHandler, Role),
}

impl Kind<'_> {
    /// Whether an endpoint already registered serves this kind (the same handler again).
    fn served_by(&self, endpoint: &Endpoint) -> bool {
        match (self, endpoint) {
            (Kind::Rest(_), Endpoint::Rest(_))
            | (Kind::Ws(_), Endpoint::Ws(_))
            | (Kind::Sse(_), Endpoint::Sse(_)) => true,
            (Kind::Broadcast(_, role), Endpoint::Broadcast(_, other)) => role == other,
            _ => false,
        }
    }
}

/// The routes a fixture's handler claims: pattern, method and what serves it.
fn claims_of(
    fixture: &Fixture,
) -> Result<Vec<(&str, &'static str, MethodFilter, Kind<'_>)>, BuildError> {
    let file = fixture.file.as_path();
    Ok(match &fixture.spec {
        Spec::Rest(rest) => match &rest.handler {
            Some(h) => {
                let (method, filter) = method_filter(file, &h.method)?;
                vec![(h.route.as_str(), method, filter, Kind::Rest(h))]
            }
            None => vec![],
        },
        // A scenario's steps carry the handlers of the routes they hit.
        Spec::Scenario(scenario) => {
            let mut claims = Vec::new();
            for h in scenario.steps.iter().filter_map(|s| s.handler.as_ref()) {
                let (method, filter) = method_filter(file, &h.method)?;
                claims.push((h.route.as_str(), method, filter, Kind::Rest(h)));
            }
            claims
        }
        Spec::WebSocket(ws) => ws
            .handler
            .iter()
            .map(|h| (h.route.as_str(), "GET", MethodFilter::GET, Kind::Ws(h)))
            .collect(),
        Spec::Sse(sse) => sse
            .handler
            .iter()
            .map(|h| (h.route.as_str(), "GET", MethodFilter::GET, Kind::Sse(h)))
            .collect(),
        Spec::Broadcast(broadcast) => {
            let Some(h) = &broadcast.handler else {
                return Ok(vec![]);
            };
            let mut claims = Vec::new();
            if let Some(route) = &h.websocket {
                claims.push((
                    route.as_str(),
                    "GET",
                    MethodFilter::GET,
                    Kind::Broadcast(h, Role::Websocket),
                ));
            }
            if let Some(route) = &h.sse {
                claims.push((
                    route.as_str(),
                    "GET",
                    MethodFilter::GET,
                    Kind::Broadcast(h, Role::Sse),
                ));
            }
            if let Some(route) = &h.publish {
                claims.push((
                    route.as_str(),
                    "POST",
                    MethodFilter::POST,
                    Kind::Broadcast(h, Role::Publish),
                ));
            }
            claims
        }
    })
}

struct Claim<'a> {
    method: &'static str,
    filter: MethodFilter,
    pattern: &'a str,
    file: &'a Path,
    endpoint: Endpoint,
    /// The REST handler, for its `cors` and the codings its body decodes.
    rest: Option<&'a RestHandler>,
}

fn method_filter(file: &Path, method: &str) -> Result<(&'static str, MethodFilter), BuildError> {
    Ok(match method.to_ascii_uppercase().as_str() {
        "GET" => ("GET", MethodFilter::GET),
        "POST" => ("POST", MethodFilter::POST),
        "PUT" => ("PUT", MethodFilter::PUT),
        "PATCH" => ("PATCH", MethodFilter::PATCH),
        "DELETE" => ("DELETE", MethodFilter::DELETE),
        "HEAD" => ("HEAD", MethodFilter::HEAD),
        "OPTIONS" => ("OPTIONS", MethodFilter::OPTIONS),
        "TRACE" => ("TRACE", MethodFilter::TRACE),
        other => {
            return Err(BuildError::handler(
                file,
                "/handler/method",
                format!("unsupported method {other:?}"),
            ));
        }
    })
}

/// Parses a route and renders it for axum, refusing what axum would panic on.
fn axum_path(file: &Path, pattern: &str) -> Result<(Route, String), BuildError> {
    let route =
        Route::parse(pattern).map_err(|e| BuildError::handler(file, "/handler/route", e))?;
    let path = route.to_string();
    if path
        .split('/')
        .any(|s| s.starts_with(':') || s.starts_with('*'))
    {
        return Err(BuildError::handler(
            file,
            "/handler/route",
            format!("route {pattern:?}: a segment may not start with ':' or '*'"),
        ));
    }
    Ok((route, path))
}

pub(crate) fn build(fixtures: &[Fixture], shutdown: Shutdown) -> Result<Router, BuildError> {
    // axum path -> the claims on it, one per method.
    let mut paths: BTreeMap<String, Vec<Claim<'_>>> = BTreeMap::new();
    // Broadcast channels by name: their routes share one endpoint.
    let mut channels: BTreeMap<String, Arc<BroadcastEndpoint>> = BTreeMap::new();
    for fixture in fixtures {
        let file = fixture.file.as_path();
        for (pattern, method, filter, kind) in claims_of(fixture)? {
            let (route, path) = axum_path(file, pattern)?;
            let claims = paths.entry(path.clone()).or_default();
            if let Some(first) = claims.iter().find(|c| c.method == method) {
                if kind.served_by(&first.endpoint) && first.pattern == pattern {
                    continue; // The same handler, registered once.
                }
                return Err(BuildError::Conflict {
                    file: file.to_path_buf(),
                    route: pattern.to_owned(),
                    other_file: first.file.to_path_buf(),
                    other_route: first.pattern.to_owned(),
                    message: format!("both handle {method} {path}"),
                });
            }
            let rest = match kind {
                Kind::Rest(h) => Some(h),
                _ => None,
            };
            let endpoint = match kind {
                Kind::Rest(h) => Endpoint::Rest(Arc::new(RestEndpoint::new(
                    file,
                    h,
                    &route,
                    shutdown.clone(),
                )?)),
                Kind::Ws(h) => Endpoint::Ws(Arc::new(WsEndpoint::new(file, h, shutdown.clone())?)),
                Kind::Sse(h) => {
                    Endpoint::Sse(Arc::new(SseEndpoint::new(file, h, shutdown.clone())?))
                }
                Kind::Broadcast(h, role) => {
                    let channel = channels.entry(h.channel.clone()).or_insert_with(|| {
                        Arc::new(BroadcastEndpoint::new(&h.channel, shutdown.clone()))
                    });
                    Endpoint::Broadcast(channel.clone(), role)
                }
            };
            claims.push(Claim {
                method,
                filter,
                pattern,
                file,
                endpoint,
                rest,
            });
        }
    }

    check_conflicts(&paths)?;

    let mut router = Router::new().route(READY_PATH, get(|| async { "ready" }));
    for (path, claims) in paths {
        let route_cors = route_cors(&claims)?;
        let mut methods = MethodRouter::new();
        for claim in claims {
            methods = register(methods, claim);
        }
        router = if route_cors.is_empty() {
            router.route(&path, methods)
        } else {
            // Around the method router rather than inside it (`MethodRouter::layer`): a
            // preflight is answered before method routing, so the reply carries no `Allow`.
            let cors = from_fn_with_state(Arc::new(route_cors), cors::middleware);
            router.route_service(&path, cors.layer(methods))
        };
    }
    Ok(router)
}

/// Adds one claim's endpoint to the method router of its path.
fn register(methods: MethodRouter, claim: Claim<'_>) -> MethodRouter {
    match claim.endpoint {
        Endpoint::Rest(endpoint) => {
            let handler = move |captures: Result<RawPathParams, RawPathParamsRejection>,
                                request: Request| {
                endpoint.clone().handle(captures, request)
            };
            let decodes = claim
                .rest
                .and_then(|h| h.body.as_ref())
                .map(|b| b.content_encodings.as_slice())
                .unwrap_or_default();
            if decodes.is_empty() {
                methods.on(claim.filter, handler)
            } else {
                let layered = handler
                    .layer(decompression(decodes))
                    .layer(map_request(normalize_coding));
                methods.on(claim.filter, layered)
            }
        }
        Endpoint::Ws(endpoint) => methods.on(claim.filter, move |request: Request| {
            endpoint.clone().handle(request)
        }),
        Endpoint::Sse(endpoint) => methods.on(claim.filter, move |request: Request| {
            endpoint.clone().handle(request)
        }),
        Endpoint::Broadcast(endpoint, role) => methods.on(claim.filter, move |request: Request| {
            let endpoint = endpoint.clone();
            async move {
                match role {
                    Role::Publish => endpoint.handle_publish(request).await,
                    Role::Websocket => endpoint.handle_websocket(request).await,
                    Role::Sse => endpoint.handle_sse(request).await,
                }
            }
        }),
    }
}

/// tower-http's request decompression for the codings a handler lists. A body in another
/// coding passes through with its `Content-Encoding`, for the handler to answer the canonical
/// 415 (the layer's own 415 has no body).
fn decompression(codings: &[RunnerCoding]) -> RequestDecompressionLayer {
    let has = |coding| codings.contains(&coding);
    RequestDecompressionLayer::new()
        .gzip(has(RunnerCoding::Gzip))
        .deflate(has(RunnerCoding::Deflate))
        .br(has(RunnerCoding::Br))
        .no_zstd()
        .pass_through_unaccepted(true)
}

/// Writes a single `Content-Encoding` the way tower-http matches it (lower-case, trimmed,
/// `x-gzip` as `gzip`): content codings are case-insensitive (RFC 9110 section 8.4.1).
async fn normalize_coding(mut request: Request) -> Request {
    let Some(text) = request
        .headers()
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
    else {
        return request;
    };
    let mut coding = text.trim().to_ascii_lowercase();
    if coding == "x-gzip" {
        coding = "gzip".to_owned();
    }
    if coding != text
        && let Ok(value) = HeaderValue::from_str(&coding)
    {
        request
            .headers_mut()
            .insert(header::CONTENT_ENCODING, value);
    }
    request
}

/// The CORS rules of a path's REST handlers. Handlers of one route with different `cors` are a
/// [`BuildError::Conflict`]: a preflight would not know which to answer.
fn route_cors(claims: &[Claim<'_>]) -> Result<RouteCors, BuildError> {
    let mut route = RouteCors::default();
    let mut first: Option<&Claim<'_>> = None;
    for claim in claims {
        let Some(cors) = claim.rest.and_then(|h| h.cors.as_ref()) else {
            continue;
        };
        if let (Some(first), Some(existing)) = (first, route.preflight_rule())
            && existing != cors
        {
            return Err(BuildError::Conflict {
                file: claim.file.to_path_buf(),
                route: claim.pattern.to_owned(),
                other_file: first.file.to_path_buf(),
                other_route: first.pattern.to_owned(),
                message: "handlers of one route declare different cors".into(),
            });
        }
        first.get_or_insert(claim);
        let method = Method::from_bytes(claim.method.as_bytes()).unwrap_or(Method::GET);
        route.add(method, cors);
    }
    Ok(route)
}

/// Inserts every path into the router axum uses, so that a conflict is an error, not a panic.
fn check_conflicts(paths: &BTreeMap<String, Vec<Claim<'_>>>) -> Result<(), BuildError> {
    let mut trial: matchit::Router<(PathBuf, String)> = matchit::Router::new();
    let ready = (PathBuf::from("(built-in)"), READY_PATH.to_owned());
    trial
        .insert(READY_PATH, ready)
        .map_err(|e| BuildError::handler("(built-in)", "", e.to_string()))?;
    let mut owners: BTreeMap<String, (PathBuf, String)> = BTreeMap::new();
    owners.insert(
        READY_PATH.to_owned(),
        (PathBuf::from("(built-in)"), READY_PATH.to_owned()),
    );
    for (path, claims) in paths {
        let Some(first) = claims.first() else {
            continue;
        };
        let owner = (first.file.to_path_buf(), first.pattern.to_owned());
        if let Err(error) = trial.insert(path.as_str(), owner.clone()) {
            let (other_file, other_route) = match &error {
                matchit::InsertError::Conflict { with } => owners
                    .get(with)
                    .cloned()
                    .unwrap_or_else(|| (PathBuf::from("(unknown)"), with.clone())),
                _ => (PathBuf::from("(none)"), String::new()),
            };
            return Err(BuildError::Conflict {
                file: owner.0,
                route: owner.1,
                other_file,
                other_route,
                message: error.to_string(),
            });
        }
        owners.insert(path.clone(), owner);
    }
    Ok(())
}
