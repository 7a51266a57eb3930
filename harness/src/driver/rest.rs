//! REST replay with reqwest.

use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use harness_fixture::model::{RequestBody, RestFixture};
use reqwest::header::{CONTENT_TYPE, COOKIE, HeaderName, HeaderValue};

use super::{Driver, micros, reason};
use crate::transcript::{
    Body, Headers, Interrupted, ReceivedResponse, RestTranscript, SentRequest,
};

/// Replies larger than this are cut off and the replay interrupted.
pub(crate) const MAX_BODY: usize = 16 * 1024 * 1024;

pub(super) async fn replay(driver: &Driver, fixture: &RestFixture) -> RestTranscript {
    let request = &fixture.request;
    let mut headers: Headers = request
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .collect();
    if !request.cookies.is_empty() {
        let cookie = request
            .cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        headers.push((COOKIE.as_str().to_string(), cookie));
    }
    let (body, default_type) = match encode_body(request.body()) {
        Ok(encoded) => encoded,
        Err(e) => {
            return interrupted(
                request.method.clone(),
                request.path.clone(),
                headers,
                None,
                e,
            );
        }
    };
    if let Some(content_type) = default_type
        && !headers.iter().any(|(n, _)| n == CONTENT_TYPE.as_str())
    {
        headers.push((CONTENT_TYPE.as_str().to_string(), content_type.to_string()));
    }
    let url = match driver.url(&request.path, &request.query.pairs()) {
        Ok(url) => url,
        Err(e) => {
            return interrupted(
                request.method.clone(),
                request.path.clone(),
                headers,
                body,
                format!("bad URL: {e}"),
            );
        }
    };
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let sent = SentRequest {
        method: request.method.clone(),
        target,
        headers,
        body,
    };

    let method = match reqwest::Method::from_bytes(sent.method.as_bytes()) {
        Ok(method) => method,
        Err(e) => {
            return RestTranscript {
                request: sent,
                response: None,
                interrupted: Some(at_request(e.to_string())),
            };
        }
    };
    let mut builder = driver.client.request(method, url);
    for (name, value) in &sent.headers {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(value)) => builder = builder.header(name, value),
            _ => {
                let reason = format!("header {name:?} cannot be sent");
                return RestTranscript {
                    request: sent,
                    response: None,
                    interrupted: Some(at_request(reason)),
                };
            }
        }
    }
    if let Some(body) = &sent.body {
        builder = builder.body(body.0.clone());
    }

    let started = Instant::now();
    let exchange = async {
        let mut response = builder.send().await.map_err(|e| reason(&e))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| reason(&e))? {
            if bytes.len() + chunk.len() > MAX_BODY {
                return Err(format!("reply body larger than {MAX_BODY} bytes"));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(ReceivedResponse {
            status,
            headers,
            body: Body(bytes),
            elapsed_us: micros(started),
        })
    };
    match tokio::time::timeout(driver.timeout, exchange).await {
        Ok(Ok(response)) => RestTranscript {
            request: sent,
            response: Some(response),
            interrupted: None,
        },
        Ok(Err(reason)) => RestTranscript {
            request: sent,
            response: None,
            interrupted: Some(at_request(reason)),
        },
        Err(_) => {
            let reason = format!("no complete reply within {:?}", driver.timeout);
            RestTranscript {
                request: sent,
                response: None,
                interrupted: Some(at_request(reason)),
            }
        }
    }
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

fn at_request(reason: String) -> Interrupted {
    Interrupted {
        at: "/request".to_string(),
        reason,
    }
}

fn interrupted(
    method: String,
    target: String,
    headers: Headers,
    body: Option<Body>,
    reason: String,
) -> RestTranscript {
    RestTranscript {
        request: SentRequest {
            method,
            target,
            headers,
            body,
        },
        response: None,
        interrupted: Some(at_request(reason)),
    }
}
