//! REST replay with reqwest.

use harness_fixture::model::RestFixture;
use reqwest::header::COOKIE;

use super::{
    Driver, fixture_headers, send_and_read_by, set_body, step_wait, target_of, with_headers,
};
use crate::transcript::{Interrupted, ReceivedResponse, RestTranscript, SentRequest};
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
    set_body(sent, request.body())?;
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
