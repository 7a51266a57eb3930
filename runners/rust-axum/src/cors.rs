//! CORS on a REST handler's route: preflights answered, actual replies given their headers.
//!
//! A small middleware of our own rather than tower-http's `CorsLayer`: that layer answers every
//! preflight 200 and leaves the `Access-Control-*` headers out of a refused one instead of
//! refusing it with 403, and it cannot tell the handlers of one route apart (a route may serve
//! `GET` with `cors` and `POST` without). The vocabulary asks for 204 on an allowed preflight,
//! 403 without any `Access-Control-*` header on a refused one.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use harness_fixture::handler::Cors;

use crate::vary::add_vary;

/// The CORS rule of one handler, its header values rendered once.
#[derive(Debug)]
pub(crate) struct CorsRule {
    cors: Cors,
    /// `Access-Control-Allow-Methods`.
    allow_methods: Option<HeaderValue>,
    /// `Access-Control-Allow-Headers`, when the list is not empty.
    allow_headers: Option<HeaderValue>,
    /// `Access-Control-Expose-Headers`, when the list is not empty.
    expose_headers: Option<HeaderValue>,
    /// `Access-Control-Max-Age`, when set.
    max_age: Option<HeaderValue>,
}

const TRUE: HeaderValue = HeaderValue::from_static("true");

/// A list joined with `, `; `None` when empty or not a valid header value.
fn joined(items: &[String]) -> Option<HeaderValue> {
    if items.is_empty() {
        return None;
    }
    HeaderValue::from_str(&items.join(", ")).ok()
}

impl CorsRule {
    /// Renders the header values of `cors`.
    pub(crate) fn new(cors: &Cors) -> CorsRule {
        CorsRule {
            allow_methods: joined(&cors.allow_methods),
            allow_headers: joined(&cors.allow_headers),
            expose_headers: joined(&cors.expose_headers),
            max_age: cors.max_age.map(HeaderValue::from),
            cors: cors.clone(),
        }
    }

    /// The `Access-Control-Allow-Origin` value for `origin`, if it is allowed.
    fn allow_origin(&self, origin: &HeaderValue) -> Option<HeaderValue> {
        let origin = origin.to_str().ok()?;
        if !self.cors.allows_origin(origin) {
            return None;
        }
        HeaderValue::from_str(self.cors.allow_origin_value(origin)).ok()
    }

    /// Whether the preflight asks only for what the rule allows.
    fn allows_request(&self, headers: &HeaderMap) -> bool {
        let method_allowed = headers
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|method| self.cors.allow_methods.iter().any(|m| m == method));
        if !method_allowed {
            return false;
        }
        let mut asked = headers
            .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .iter()
            .map(|v| v.to_str().ok());
        asked.all(|line| {
            line.is_some_and(|line| {
                line.split(',')
                    .map(str::trim)
                    .filter(|name| !name.is_empty())
                    .all(|name| {
                        self.cors
                            .allow_headers
                            .iter()
                            .any(|h| h.eq_ignore_ascii_case(name))
                    })
            })
        })
    }

    /// The reply to a preflight: 204 with the headers when allowed, 403 without any otherwise.
    pub(crate) fn preflight(&self, headers: &HeaderMap) -> Response {
        let allow_origin = headers
            .get(header::ORIGIN)
            .and_then(|origin| self.allow_origin(origin))
            .filter(|_| self.allows_request(headers));
        let mut response = Response::new(Body::empty());
        let Some(allow_origin) = allow_origin else {
            *response.status_mut() = StatusCode::FORBIDDEN;
            return response;
        };
        *response.status_mut() = StatusCode::NO_CONTENT;
        let out = response.headers_mut();
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
        if let Some(methods) = &self.allow_methods {
            out.insert(header::ACCESS_CONTROL_ALLOW_METHODS, methods.clone());
        }
        if let Some(names) = &self.allow_headers {
            out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, names.clone());
        }
        if let Some(max_age) = &self.max_age {
            out.insert(header::ACCESS_CONTROL_MAX_AGE, max_age.clone());
        }
        if self.cors.allow_credentials {
            out.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, TRUE);
        }
        add_vary(out, "Origin");
        response
    }

    /// Adds the headers of an actual request from an allowed `origin` to its reply.
    pub(crate) fn decorate(&self, origin: &HeaderValue, response: &mut Response) {
        let Some(allow_origin) = self.allow_origin(origin) else {
            return;
        };
        let out = response.headers_mut();
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
        if self.cors.allow_credentials {
            out.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, TRUE);
        }
        if let Some(names) = &self.expose_headers {
            out.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, names.clone());
        }
        add_vary(out, "Origin");
    }
}

/// The CORS rules of one route: the one answering preflights, and each method's.
#[derive(Debug, Default)]
pub(crate) struct RouteCors {
    preflight: Option<Arc<CorsRule>>,
    by_method: Vec<(Method, Arc<CorsRule>)>,
}

impl RouteCors {
    /// Adds the rule of the handler of `method`; the first rule answers preflights. The caller
    /// makes sure the rules of one route are equal (`harness_fixture::clash` refuses others).
    pub(crate) fn add(&mut self, method: Method, cors: &Cors) {
        let rule = match &self.preflight {
            Some(rule) if rule.cors == *cors => rule.clone(),
            _ => Arc::new(CorsRule::new(cors)),
        };
        self.preflight.get_or_insert_with(|| rule.clone());
        self.by_method.push((method, rule));
    }

    /// The rule of the preflight answer, if any handler of the route has one.
    pub(crate) fn preflight_rule(&self) -> Option<&Cors> {
        self.preflight.as_ref().map(|rule| &rule.cors)
    }

    /// Whether no handler of the route has `cors`.
    pub(crate) fn is_empty(&self) -> bool {
        self.preflight.is_none()
    }

    /// The rule for an actual request: its method's, `HEAD` served by `GET`'s.
    fn rule_for(&self, method: &Method) -> Option<&CorsRule> {
        let find = |wanted: &Method| {
            self.by_method
                .iter()
                .find(|(m, _)| m == wanted)
                .map(|(_, rule)| rule.as_ref())
        };
        match find(method) {
            None if method == Method::HEAD => find(&Method::GET),
            found => found,
        }
    }
}

/// Whether a request is a CORS preflight: `OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`.
fn is_preflight(request: &Request) -> bool {
    request.method() == Method::OPTIONS
        && request.headers().contains_key(header::ORIGIN)
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// The middleware of a route with `cors`: answers preflights itself (whatever methods the route
/// serves), passes anything else on and decorates its reply, errors included.
pub(crate) async fn middleware(
    State(route): State<Arc<RouteCors>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(rule) = &route.preflight
        && is_preflight(&request)
    {
        return rule.preflight(request.headers());
    }
    let origin = request.headers().get(header::ORIGIN).cloned();
    let rule = route.rule_for(request.method());
    let mut response = next.run(request).await;
    if let (Some(rule), Some(origin)) = (rule, origin) {
        rule.decorate(&origin, &mut response);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors(value: serde_json::Value) -> Cors {
        serde_json::from_value(value).unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn requested_headers_are_matched_case_insensitively_over_several_lines() {
        let rule = CorsRule::new(&cors(serde_json::json!({
            "allow_origins": ["*"], "allow_methods": ["PUT"], "allow_headers": ["x-a", "x-b"]
        })));
        let ok = headers(&[
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "X-A, ,x-b"),
            ("access-control-request-headers", "x-a"),
        ]);
        assert!(rule.allows_request(&ok));
        let bad = headers(&[
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "x-a"),
            ("access-control-request-headers", "x-c"),
        ]);
        assert!(!rule.allows_request(&bad));
        let lower_method = headers(&[("access-control-request-method", "put")]);
        assert!(!rule.allows_request(&lower_method));
    }

    #[test]
    fn head_takes_the_rule_of_get() {
        let mut route = RouteCors::default();
        route.add(
            Method::GET,
            &cors(serde_json::json!({"allow_origins": ["*"]})),
        );
        assert!(route.rule_for(&Method::HEAD).is_some());
        assert!(route.rule_for(&Method::POST).is_none());
    }
}
