//! REST replay with reqwest.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use harness_fixture::model::{RequestBody, RestFixture};
use reqwest::header::{CONTENT_TYPE, COOKIE};

use super::{Driver, fixture_headers, send_and_read_by, step_wait, target_of, with_headers};
use crate::transcript::{Body, Interrupted, ReceivedResponse, RestTranscript, SentRequest};
use crate::wire::Deadline;

pub(super) async fn replay(driver: &Driver, fixture: &RestFixture) -> RestTranscript {
    let request = &fixture.request;
    let mut sent = SentRequest {
        method: request.method.clone(),
        target: request.path.clone(),
        headers: fixture_headers(&request.headers),
        body: None,
    };
    let response = exchange(driver, fixture, &mut sent).await;
    match response {
        Ok(response) => RestTranscript {
            request: sent,
            response: Some(response),
            interrupted: None,
        },
        Err(reason) => RestTranscript {
            request: sent,
            response: None,
            interrupted: Some(Interrupted {
                at: "/request".into(),
                reason,
            }),
        },
    }
}

/// Builds the request into `sent` (so the transcript shows it even when sending fails), sends
/// it and reads the whole reply within the step timeout (or the fixture's longer `within_ms`).
async fn exchange(
    driver: &Driver,
    fixture: &RestFixture,
    sent: &mut SentRequest,
) -> Result<ReceivedResponse, String> {
    let request = &fixture.request;
    if !request.cookies.is_empty() {
        let cookie: Vec<String> = request
            .cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        sent.headers
            .push((COOKIE.as_str().to_string(), cookie.join("; ")));
    }
    let (body, default_type) = encode_body(request.body())?;
    sent.body = body;
    if let Some(content_type) = default_type
        && !sent.headers.iter().any(|(n, _)| n == CONTENT_TYPE.as_str())
    {
        sent.headers
            .push((CONTENT_TYPE.as_str().to_string(), content_type.to_string()));
    }
    let url = driver
        .url(&request.path, &request.query.pairs())
        .map_err(|e| format!("bad URL: {e}"))?;
    sent.target = target_of(&url);
    let method = reqwest::Method::from_bytes(sent.method.as_bytes()).map_err(|e| e.to_string())?;
    let mut builder = with_headers(driver.client.request(method, url), &sent.headers)?;
    if let Some(body) = &sent.body {
        builder = builder.body(body.0.clone());
    }

    let wait = step_wait(driver.timeout, fixture.expected.within_ms);
    let started = std::time::Instant::now();
    send_and_read_by(builder, Deadline::after(wait), wait, started).await
}

/// The bytes of a body and the content type it goes with by default.
fn encode_body(body: RequestBody<'_>) -> Result<(Option<Body>, Option<&'static str>), String> {
    Ok(match body {
        RequestBody::None => (None, None),
        RequestBody::Json(value) => (
            Some(Body(value.to_string().into_bytes())),
            Some("application/json"),
        ),
        RequestBody::Text(text) => (
            Some(Body(text.as_bytes().to_vec())),
            Some("text/plain; charset=utf-8"),
        ),
        RequestBody::Base64(b64) => {
            let bytes = BASE64
                .decode(b64)
                .map_err(|e| format!("body_base64 is not base64: {e}"))?;
            (Some(Body(bytes)), Some("application/octet-stream"))
        }
        RequestBody::Form(form) => {
            let encoded = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form.pairs())
                .finish();
            (
                Some(Body(encoded.into_bytes())),
                Some("application/x-www-form-urlencoded"),
            )
        }
    })
}
