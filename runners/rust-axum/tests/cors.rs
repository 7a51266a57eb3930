//! CORS: preflights allowed (204) or refused (403, no `Access-Control-*`), and the headers of
//! actual requests from allowed origins, on every reply of the handler.

mod common;

use axum::http::{Method, StatusCode};
use axum_test::{TestResponse, TestServer};
use common::rest;
use reference_server::{BuildError, app};
use serde_json::{Value, json};

fn items_cors() -> Value {
    json!({"allow_origins": ["https://app.example", "https://admin.example"],
           "allow_methods": ["GET", "PUT"], "allow_headers": ["content-type", "x-token"],
           "expose_headers": ["x-total", "X-Page"], "max_age": 600, "allow_credentials": true})
}

fn server() -> TestServer {
    TestServer::new(
        app(&[
            rest(
                "items",
                json!({"method": "GET", "route": "/cors/items",
                       "response": {"headers": {"x-total": "2"}, "json": [{"id": 1}, {"id": 2}]},
                       "cors": items_cors()}),
            ),
            // Another method of the route without cors: its replies get no CORS headers.
            rest(
                "items-post",
                json!({"method": "POST", "route": "/cors/items", "response": {"status": 201}}),
            ),
            rest(
                "public",
                json!({"method": "GET", "route": "/cors/public", "response": {"json": {"public": true}},
                       "cors": {"allow_origins": ["*"], "allow_methods": ["GET"]}}),
            ),
            rest(
                "private",
                json!({"method": "GET", "route": "/cors/private/{id:int}",
                       "response": {"echo": true, "compress": {}},
                       "cors": {"allow_origins": ["*"], "allow_methods": ["GET"],
                                "allow_credentials": true}}),
            ),
            // An OPTIONS handler of its own on a route with cors.
            rest(
                "opts-get",
                json!({"method": "GET", "route": "/cors/opts", "response": {"status": 204},
                       "cors": {"allow_origins": ["https://app.example"], "allow_methods": ["GET"]}}),
            ),
            rest(
                "opts",
                json!({"method": "OPTIONS", "route": "/cors/opts", "response": {"text": "options"}}),
            ),
        ])
        .expect("app builds"),
    )
}

async fn preflight(
    s: &TestServer,
    path: &str,
    origin: &str,
    method: &str,
    headers: Option<&str>,
) -> TestResponse {
    let request = s
        .method(Method::OPTIONS, path)
        .add_header("origin", origin)
        .add_header("access-control-request-method", method);
    match headers {
        Some(headers) => {
            request
                .add_header("access-control-request-headers", headers)
                .await
        }
        None => request.await,
    }
}

/// The reply's `access-control-*` headers, by name.
fn cors_headers(r: &TestResponse) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = r
        .headers()
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("access-control-"))
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    found.sort();
    found
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = expected
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    pairs.sort();
    pairs
}

#[tokio::test]
async fn an_allowed_preflight_is_204_with_the_rule() {
    let s = server();
    for asked in [Some("x-token"), Some("X-Token, Content-Type"), None] {
        let r = preflight(&s, "/cors/items", "https://admin.example", "PUT", asked).await;
        assert_eq!(r.status_code(), StatusCode::NO_CONTENT, "{asked:?}");
        assert!(r.as_bytes().is_empty());
        assert_eq!(
            cors_headers(&r),
            pairs(&[
                ("access-control-allow-origin", "https://admin.example"),
                ("access-control-allow-methods", "GET, PUT"),
                ("access-control-allow-headers", "content-type, x-token"),
                ("access-control-max-age", "600"),
                ("access-control-allow-credentials", "true"),
            ])
        );
        assert_eq!(r.header("vary"), "Origin");
        // Answered before method routing: no `Allow` of a 405.
        assert!(r.maybe_header("allow").is_none());
    }

    // A wildcard without credentials: `*`, and only the headers the rule has.
    let r = preflight(&s, "/cors/public", "https://any.example", "GET", None).await;
    assert_eq!(r.status_code(), StatusCode::NO_CONTENT);
    assert_eq!(
        cors_headers(&r),
        pairs(&[
            ("access-control-allow-origin", "*"),
            ("access-control-allow-methods", "GET"),
        ])
    );
    // A wildcard with credentials names the origin.
    let r = preflight(&s, "/cors/private/5", "https://x.example", "GET", None).await;
    assert_eq!(
        cors_headers(&r),
        pairs(&[
            ("access-control-allow-origin", "https://x.example"),
            ("access-control-allow-methods", "GET"),
            ("access-control-allow-credentials", "true"),
        ])
    );
}

#[tokio::test]
async fn a_refused_preflight_is_403_without_cors_headers() {
    let s = server();
    let refused = [
        ("https://evil.example", "GET", None),
        ("https://app.example", "DELETE", None),
        ("https://app.example", "put", None),
        ("https://app.example", "GET", Some("x-other")),
        ("https://app.example", "GET", Some("x-token, x-other")),
    ];
    for (origin, method, headers) in refused {
        let r = preflight(&s, "/cors/items", origin, method, headers).await;
        assert_eq!(r.status_code(), StatusCode::FORBIDDEN, "{origin} {method}");
        assert!(cors_headers(&r).is_empty(), "{:?}", cors_headers(&r));
        assert!(r.as_bytes().is_empty());
    }
}

#[tokio::test]
async fn actual_requests_from_allowed_origins_get_the_headers() {
    let s = server();
    let r = s
        .get("/cors/items")
        .add_header("origin", "https://app.example")
        .await;
    r.assert_status_ok();
    assert_eq!(r.json::<Value>(), json!([{"id": 1}, {"id": 2}]));
    assert_eq!(r.header("x-total"), "2");
    assert_eq!(
        cors_headers(&r),
        pairs(&[
            ("access-control-allow-origin", "https://app.example"),
            ("access-control-allow-credentials", "true"),
            ("access-control-expose-headers", "x-total, X-Page"),
        ])
    );
    assert_eq!(r.header("vary"), "Origin");

    let r = s
        .get("/cors/public")
        .add_header("origin", "https://any.example")
        .await;
    assert_eq!(
        cors_headers(&r),
        pairs(&[("access-control-allow-origin", "*")])
    );

    // An error reply of the handler too; with compress, one Vary line for both.
    let r = s
        .get("/cors/private/five")
        .add_header("origin", "https://x.example")
        .await;
    assert_eq!(r.status_code(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        cors_headers(&r),
        pairs(&[
            ("access-control-allow-origin", "https://x.example"),
            ("access-control-allow-credentials", "true"),
        ])
    );
    let vary: Vec<_> = r.iter_headers_by_name("vary").collect();
    assert_eq!(vary, ["Accept-Encoding, Origin"]);
}

#[tokio::test]
async fn no_headers_without_an_allowed_origin_or_a_rule() {
    let s = server();
    let r = s.get("/cors/items").await;
    r.assert_status_ok();
    assert!(cors_headers(&r).is_empty());
    assert!(r.maybe_header("vary").is_none());

    let r = s
        .get("/cors/items")
        .add_header("origin", "https://evil.example")
        .await;
    r.assert_status_ok();
    assert!(cors_headers(&r).is_empty());

    // The route's POST handler has no cors.
    let r = s
        .post("/cors/items")
        .add_header("origin", "https://app.example")
        .await;
    assert_eq!(r.status_code(), StatusCode::CREATED);
    assert!(cors_headers(&r).is_empty());
}

#[tokio::test]
async fn other_options_requests_are_served_as_before() {
    let s = server();
    // Not a preflight (no Access-Control-Request-Method): 405 on a route without OPTIONS.
    let r = s
        .method(Method::OPTIONS, "/cors/items")
        .add_header("origin", "https://app.example")
        .await;
    assert_eq!(r.status_code(), StatusCode::METHOD_NOT_ALLOWED);
    // ...and the OPTIONS handler where the route has one, with the preflights still answered
    // by cors.
    let r = s.method(Method::OPTIONS, "/cors/opts").await;
    r.assert_status_ok();
    assert_eq!(r.text(), "options");
    let r = preflight(&s, "/cors/opts", "https://app.example", "GET", None).await;
    assert_eq!(r.status_code(), StatusCode::NO_CONTENT);
    assert!(r.as_bytes().is_empty());
}

#[test]
fn two_rules_on_one_route_are_a_build_error() {
    let a = rest(
        "a",
        json!({"method": "GET", "route": "/r", "cors": {"allow_origins": ["https://a.example"]}}),
    );
    let b = rest(
        "b",
        json!({"method": "PUT", "route": "/r", "cors": {"allow_origins": ["https://b.example"]}}),
    );
    let error = app(&[a.clone(), b]).unwrap_err();
    assert!(matches!(error, BuildError::Conflict { .. }), "{error}");
    assert!(error.to_string().contains("b.json"), "{error}");
    // The same rule repeated is one rule.
    let c = rest(
        "c",
        json!({"method": "PUT", "route": "/r", "cors": {"allow_origins": ["https://a.example"]}}),
    );
    assert!(app(&[a, c]).is_ok());
}
