//! REST handlers: parameters, bodies, the canonical errors and their order, replies.

mod common;

use axum::http::StatusCode;
use axum_test::TestServer;
use bytes::Bytes;
use common::{rest, validation_error, without_messages};
use reference_server::{BuildError, app};
use serde_json::{Value, json};

fn server(fixtures: &[harness_fixture::Fixture]) -> TestServer {
    TestServer::new(app(fixtures).expect("app builds"))
}

const PROBLEM: &str = "application/problem+json";

#[tokio::test]
async fn typed_path_param_is_coerced() {
    let s = server(&[rest(
        "item",
        json!({"method": "GET", "route": "/items/{item_id:int}/tags/{tag}",
               "response": {"echo": true}}),
    )]);
    let r = s.get("/items/42/tags/a%20b").await;
    r.assert_status_ok();
    assert_eq!(r.content_type(), "application/json");
    assert_eq!(
        r.json::<Value>(),
        json!({"path": {"item_id": 42, "tag": "a b"}})
    );
}

#[tokio::test]
async fn path_param_of_the_wrong_type_is_422_not_404() {
    let s = server(&[rest(
        "item",
        json!({"method": "GET", "route": "/items/{item_id:int}", "response": {"echo": true}}),
    )]);
    let r = s.get("/items/abc").await;
    assert_eq!(r.status_code(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.content_type(), PROBLEM);
    assert_eq!(
        without_messages(r.json()),
        validation_error(&[("path", "/item_id")])
    );
    // The exact wire text: keys in the README's order.
    let text = r.text();
    assert!(
        text.starts_with(
            r#"{"type":"urn:benchmark-harness:validation-error","title":"Request validation failed","status":422,"errors":[{"in":"path","pointer":"/item_id","message":""#
        ),
        "{text}"
    );
}

#[tokio::test]
async fn path_constraints_and_other_capture_types() {
    let s = server(&[rest(
        "typed",
        json!({"method": "GET", "route": "/t/{n:int}/{x:float}/{b:bool}/{u:uuid}",
               "params": {"path": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}}},
               "response": {"echo": true}}),
    )]);
    let uuid = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
    let r = s.get(&format!("/t/5/-1.5e1/true/{uuid}")).await;
    r.assert_status_ok();
    assert_eq!(
        r.json::<Value>(),
        json!({"path": {"n": 5, "x": -15.0, "b": true, "u": uuid}})
    );
    let r = s.get(&format!("/t/0/1/false/{uuid}")).await;
    assert_eq!(
        without_messages(r.json()),
        validation_error(&[("path", "/n")])
    );
    let r = s.get("/t/1/x/yes/not-a-uuid").await;
    assert_eq!(
        without_messages(r.json()),
        validation_error(&[("path", "/b"), ("path", "/u"), ("path", "/x")])
    );
}

fn search() -> harness_fixture::Fixture {
    rest(
        "search",
        json!({"method": "GET", "route": "/search",
               "params": {"query": {"type": "object", "required": ["q"], "properties": {
                   "q": {"type": "string"},
                   "limit": {"type": "integer", "minimum": 1, "default": 10},
                   "tags": {"type": "array", "items": {"type": "integer"}, "maxItems": 3},
                   "exact": {"type": "boolean"},
                   "ratio": {"type": "number"}
               }}},
               "response": {"echo": true}}),
    )
}

#[tokio::test]
async fn query_coercion_defaults_arrays_and_first_occurrence() {
    let s = server(&[search()]);
    let r = s
        .get("/search?tags=1&q=a+b%21&tags=2&q=second&exact=true&ratio=0.5&other=x")
        .await;
    r.assert_status_ok();
    // Declared order, defaults applied, undeclared keys ignored.
    assert_eq!(
        r.text(),
        r#"{"query":{"q":"a b!","limit":10,"tags":[1,2],"exact":true,"ratio":0.5}}"#
    );
}

#[tokio::test]
async fn query_errors() {
    let s = server(&[search()]);
    let r = s.get("/search?q=x&limit=ten").await;
    assert_eq!(r.status_code(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        without_messages(r.json()),
        validation_error(&[("query", "/limit")])
    );

    let r = s.get("/search?limit=0").await;
    assert_eq!(
        without_messages(r.json()),
        validation_error(&[("query", "/limit"), ("query", "/q")])
    );

    let r = s.get("/search?q=x&tags=1&tags=x").await;
    assert_eq!(
        without_messages(r.json()),
        validation_error(&[("query", "/tags/1")])
    );

    let r = s.get("/search?q=x&exact=1").await;
    assert_eq!(
        without_messages(r.json()),
        validation_error(&[("query", "/exact")])
    );
}

#[tokio::test]
async fn headers_required_and_coerced() {
    let s = server(&[rest(
        "headers",
        json!({"method": "GET", "route": "/h",
               "params": {"headers": {"type": "object", "required": ["x-request-id"], "properties": {
                   "x-request-id": {"type": "string", "format": "uuid"},
                   "x-count": {"type": "integer"}
               }}},
               "response": {"echo": true}}),
    )]);
    let r = s.get("/h").add_header("x-count", "3").await;
    assert_eq!(r.status_code(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.content_type(), PROBLEM);
    assert_eq!(
        without_messages(r.json()),
        validation_error(&[("headers", "/x-request-id")])
    );

    let id = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
    let r = s
        .get("/h")
        .add_header("X-Request-Id", id)
        .add_header("x-count", "3")
        .await;
    r.assert_status_ok();
    assert_eq!(
        r.json::<Value>(),
        json!({"headers": {"x-request-id": id, "x-count": 3}})
    );

    let r = s.get("/h").add_header("x-request-id", "nope").await;
    assert_eq!(
        without_messages(r.json()),
        validation_error(&[("headers", "/x-request-id")])
    );
}

#[tokio::test]
async fn cookies() {
    let s = server(&[rest(
        "cookies",
        json!({"method": "GET", "route": "/c",
               "params": {"cookies": {"type": "object", "required": ["session"], "properties": {
                   "session": {"type": "string", "minLength": 8},
                   "n": {"type": "integer"}
               }}},
               "response": {"echo": true}}),
    )]);
    let r = s
        .get("/c")
        .add_header("cookie", "a=1; session=abcdefgh;n=7")
        .await;
    r.assert_status_ok();
    assert_eq!(
        r.json::<Value>(),
        json!({"cookies": {"session": "abcdefgh", "n": 7}})
    );
    let r = s.get("/c").add_header("cookie", "session=short").await;
    assert_eq!(
        without_messages(r.json()),
        validation_error(&[("cookies", "/session")])
    );
    let r = s.get("/c").await;
    assert_eq!(
        without_messages(r.json()),
        validation_error(&[("cookies", "/session")])
    );
}

fn create_item() -> harness_fixture::Fixture {
    rest(
        "create",
        json!({"method": "POST", "route": "/items",
               "params": {"query": {"type": "object", "properties": {"dry": {"type": "boolean"}}}},
               "body": {"media": "json", "max_bytes": 64, "schema": {
                   "type": "object", "required": ["name"],
                   "properties": {"name": {"type": "string"}, "qty": {"type": "integer", "minimum": 0}}
               }},
               "response": {"status": 201, "echo": true}}),
    )
}

fn json_body(text: &str) -> Bytes {
    Bytes::from(text.to_owned())
}

#[tokio::test]
async fn json_body_ok() {
    let s = server(&[create_item()]);
    let r = s
        .post("/items")
        .bytes(json_body(r#"{"name":"x","qty":2}"#))
        .content_type("application/json")
        .await;
    assert_eq!(r.status_code(), StatusCode::CREATED);
    assert_eq!(r.text(), r#"{"query":{},"body":{"name":"x","qty":2}}"#);

    let r = s
        .post("/items")
        .bytes(json_body(r#"{"name":"y"}"#))
        .content_type("application/vnd.item+json; charset=utf-8")
        .await;
    assert_eq!(r.status_code(), StatusCode::CREATED);
}

#[tokio::test]
async fn json_body_errors_are_canonical() {
    let s = server(&[create_item()]);

    let r = s
        .post("/items")
        .bytes(json_body(r#"{"name":"#))
        .content_type("application/json")
        .await;
    assert_eq!(r.status_code(), StatusCode::BAD_REQUEST);
    assert_eq!(r.content_type(), PROBLEM);
    assert_eq!(
        r.text(),
        r#"{"type":"urn:benchmark-harness:malformed-body","title":"Malformed request body","status":400}"#
    );

    let r = s
        .post("/items")
        .bytes(json_body(r#"{"qty":-1}"#))
        .content_type("application/json")
        .await;
    assert_eq!(r.status_code(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        without_messages(r.json()),
        validation_error(&[("body", "/name"), ("body", "/qty")])
    );

    let r = s
        .post("/items")
        .bytes(json_body("[1]"))
        .content_type("application/json")
        .await;
    assert_eq!(
        without_messages(r.json()),
        validation_error(&[("body", "")])
    );

    let r = s.post("/items").await;
    assert_eq!(r.status_code(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        without_messages(r.json()),
        validation_error(&[("body", "")])
    );

    let r = s
        .post("/items")
        .bytes(json_body(r#"{"name":"x"}"#))
        .content_type("text/plain")
        .await;
    assert_eq!(r.status_code(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.content_type(), PROBLEM);
    assert_eq!(
        r.text(),
        r#"{"type":"urn:benchmark-harness:unsupported-media-type","title":"Unsupported media type","status":415}"#
    );

    let r = s.post("/items").bytes(json_body(r#"{"name":"x"}"#)).await;
    assert_eq!(r.status_code(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let big = format!(r#"{{"name":"{}"}}"#, "x".repeat(100));
    let r = s
        .post("/items")
        .bytes(json_body(&big))
        .content_type("application/json")
        .await;
    assert_eq!(r.status_code(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.content_type(), PROBLEM);
    assert_eq!(
        r.text(),
        r#"{"type":"urn:benchmark-harness:payload-too-large","title":"Payload too large","status":413}"#
    );
}

#[tokio::test]
async fn order_of_checks() {
    let s = server(&[create_item()]);
    // 413 before 415.
    let r = s
        .post("/items?dry=maybe")
        .bytes(json_body(&"x".repeat(65)))
        .content_type("text/plain")
        .await;
    assert_eq!(r.status_code(), StatusCode::PAYLOAD_TOO_LARGE);
    // 415 before 400 and before a bad parameter.
    let r = s
        .post("/items?dry=maybe")
        .bytes(json_body("{"))
        .content_type("text/plain")
        .await;
    assert_eq!(r.status_code(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // 400 before a bad parameter.
    let r = s
        .post("/items?dry=maybe")
        .bytes(json_body("{"))
        .content_type("application/json")
        .await;
    assert_eq!(r.status_code(), StatusCode::BAD_REQUEST);
    // Parameter and body errors together, query before body.
    let r = s
        .post("/items?dry=maybe")
        .bytes(json_body("{}"))
        .content_type("application/json")
        .await;
    assert_eq!(
        without_messages(r.json()),
        validation_error(&[("query", "/dry"), ("body", "/name")])
    );
    // Wrong method on a known route: 405; unknown route: 404.
    assert_eq!(
        s.get("/items").await.status_code(),
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(s.post("/nope").await.status_code(), StatusCode::NOT_FOUND);
    assert_eq!(s.post("/items/").await.status_code(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn optional_body_absent_is_null() {
    let s = server(&[rest(
        "optional",
        json!({"method": "PUT", "route": "/opt",
               "body": {"media": "json", "required": false},
               "response": {"echo": true}}),
    )]);
    let r = s.put("/opt").await;
    r.assert_status_ok();
    assert_eq!(r.text(), r#"{"body":null}"#);
}

#[tokio::test]
async fn form_body_is_coerced() {
    let s = server(&[rest(
        "form",
        json!({"method": "POST", "route": "/form",
               "body": {"media": "form", "schema": {"type": "object", "required": ["n"], "properties": {
                   "n": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}},
                   "ok": {"type": "boolean", "default": false}
               }}},
               "response": {"echo": true}}),
    )]);
    let r = s
        .post("/form")
        .bytes(json_body("tags=a+b&n=5&tags=c%26d&extra=1"))
        .content_type("application/x-www-form-urlencoded")
        .await;
    r.assert_status_ok();
    assert_eq!(
        r.text(),
        r#"{"body":{"n":5,"tags":["a b","c&d"],"ok":false}}"#
    );

    let r = s
        .post("/form")
        .bytes(json_body("n=x"))
        .content_type("application/x-www-form-urlencoded")
        .await;
    assert_eq!(
        without_messages(r.json()),
        validation_error(&[("body", "/n")])
    );

    let r = s
        .post("/form")
        .bytes(json_body(r#"{"n":1}"#))
        .content_type("application/json")
        .await;
    assert_eq!(r.status_code(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let r = s
        .post("/form")
        .bytes(Bytes::from_static(b"n=\xff"))
        .content_type("application/x-www-form-urlencoded")
        .await;
    assert_eq!(r.status_code(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn text_body() {
    let s = server(&[rest(
        "text",
        json!({"method": "POST", "route": "/text",
               "body": {"media": "text", "schema": {"type": "string", "maxLength": 5}},
               "response": {"echo": true}}),
    )]);
    let r = s.post("/text").text("héllo").await;
    r.assert_status_ok();
    assert_eq!(r.json::<Value>(), json!({"body": "héllo"}));
    let r = s.post("/text").text("too long").await;
    assert_eq!(
        without_messages(r.json()),
        validation_error(&[("body", "")])
    );
    let r = s
        .post("/text")
        .bytes(Bytes::from_static(b"\xff\xfe"))
        .content_type("text/csv")
        .await;
    assert_eq!(r.status_code(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn echo_document_has_one_key_per_declared_location() {
    let s = server(&[rest(
        "everything",
        json!({"method": "PATCH", "route": "/e/{id:int}",
               "params": {
                   "query": {"type": "object", "properties": {"a": {"type": "integer"}}},
                   "headers": {"type": "object", "properties": {"x-b": {"type": "string"}}},
                   "cookies": {"type": "object", "properties": {"c": {"type": "string"}}}
               },
               "body": {"media": "json"},
               "response": {"echo": true}}),
    )]);
    let r = s
        .patch("/e/7?a=1&z=2")
        .add_header("x-b", "bee")
        .add_header("x-other", "no")
        .add_header("cookie", "c=sea; d=no")
        .bytes(json_body(r#"{"k":[1,2]}"#))
        .content_type("application/json")
        .await;
    r.assert_status_ok();
    assert_eq!(
        r.text(),
        r#"{"path":{"id":7},"query":{"a":1},"headers":{"x-b":"bee"},"cookies":{"c":"sea"},"body":{"k":[1,2]}}"#
    );
    // Absent properties are left out.
    let r = s
        .patch("/e/7")
        .bytes(json_body("1"))
        .content_type("application/json")
        .await;
    assert_eq!(
        r.text(),
        r#"{"path":{"id":7},"query":{},"headers":{},"cookies":{},"body":1}"#
    );
}

#[tokio::test]
async fn static_replies_headers_and_cookies() {
    let s = server(&[
        rest(
            "json",
            json!({"method": "GET", "route": "/json",
            "response": {"status": 202, "json": {"b": 1, "a": [true, null]},
                         "headers": {"x-kind": "item"},
                         "cookies": [
                             {"name": "seen", "value": "1", "path": "/", "http_only": true},
                             {"name": "s2", "value": "v", "domain": "example.com", "max_age": 60,
                              "secure": true, "same_site": "Lax"}
                         ]}}),
        ),
        rest(
            "text",
            json!({"method": "GET", "route": "/text", "response": {"text": "hello\n"}}),
        ),
        rest(
            "empty",
            json!({"method": "DELETE", "route": "/text", "response": {"status": 204}}),
        ),
        rest(
            "null",
            json!({"method": "GET", "route": "/null", "response": {"json": null}}),
        ),
    ]);
    let r = s.get("/json").await;
    assert_eq!(r.status_code(), StatusCode::ACCEPTED);
    assert_eq!(r.content_type(), "application/json");
    assert_eq!(r.text(), r#"{"b":1,"a":[true,null]}"#);
    assert_eq!(r.header("x-kind"), "item");
    let cookies: Vec<_> = r
        .iter_headers_by_name("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        cookies,
        vec![
            "seen=1; Path=/; HttpOnly",
            "s2=v; Domain=example.com; Max-Age=60; Secure; SameSite=Lax"
        ]
    );

    let r = s.get("/text").await;
    r.assert_status_ok();
    assert_eq!(r.content_type(), "text/plain; charset=utf-8");
    assert_eq!(r.text(), "hello\n");

    let r = s.delete("/text").await;
    assert_eq!(r.status_code(), StatusCode::NO_CONTENT);
    assert!(r.as_bytes().is_empty());
    assert!(r.maybe_header("content-type").is_none());

    let r = s.get("/null").await;
    assert_eq!(r.text(), "null");
}

#[tokio::test]
async fn ready_probe() {
    let s = server(&[]);
    let r = s.get("/__ready").await;
    r.assert_status_ok();
    assert_eq!(r.text(), "ready");
}

#[tokio::test]
async fn shared_handlers_are_registered_once() {
    let handler = json!({"method": "GET", "route": "/items/{id:int}", "response": {"echo": true}});
    let s = server(&[
        rest("one", handler.clone()),
        rest("two", handler),
        rest(
            "post",
            json!({"method": "POST", "route": "/items/{id}", "response": {"status": 204}}),
        ),
    ]);
    assert_eq!(s.get("/items/3").await.text(), r#"{"path":{"id":3}}"#);
    assert_eq!(
        s.post("/items/x").await.status_code(),
        StatusCode::NO_CONTENT
    );
}

#[test]
fn conflicting_routes_are_an_error_not_a_panic() {
    let a = rest(
        "a",
        json!({"method": "GET", "route": "/items/{id:int}", "response": {"echo": true}}),
    );
    let b = rest(
        "b",
        json!({"method": "GET", "route": "/items/{id}", "response": {"echo": true}}),
    );
    let error = app(&[a.clone(), b]).unwrap_err();
    assert!(matches!(error, BuildError::Conflict { .. }), "{error}");
    assert!(error.to_string().contains("b.json"), "{error}");

    let c = rest(
        "c",
        json!({"method": "POST", "route": "/items/{item}", "response": {"echo": true}}),
    );
    let error = app(&[a, c]).unwrap_err();
    assert!(error.to_string().contains("conflict"), "{error}");

    // The loader refuses these routes; the app still does for fixtures built in code.
    let with_route = |name: &str, route: &str| {
        let mut fixture = rest(name, json!({"method": "GET", "route": "/placeholder"}));
        if let harness_fixture::Spec::Rest(rest) = &mut fixture.spec {
            rest.handler.as_mut().unwrap().route = route.to_string();
        }
        fixture
    };
    assert!(app(&[with_route("r", "/__ready")]).is_err());
    let error = app(&[with_route("colon", "/a/:b")]).unwrap_err();
    assert!(error.to_string().contains("colon.json"), "{error}");
}
