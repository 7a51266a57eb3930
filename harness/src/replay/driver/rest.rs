//! REST replay with reqwest: one request, or with `follow_redirects` a chain of up to
//! [`MAX_REDIRECTS`] redirects, all under one deadline (`--timeout`, or the fixture's longer
//! `within_ms`).

use harness_fixture::model::{MAX_REDIRECTS, RestFixture};
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, LOCATION};

use super::{
    Driver, StepError, fixture_headers, send_and_read_by, set_body, step_wait, target_of,
    with_headers,
};
use crate::results::Interrupted;
use crate::results::transcript::{
    Headers, ReceivedResponse, Redirect, RestTranscript, SentRequest, header_values,
};
use crate::wire::Deadline;

pub(super) async fn replay(driver: &Driver, fixture: &RestFixture) -> RestTranscript {
    let request = &fixture.request;
    let mut sent = SentRequest {
        method: request.method.clone(),
        target: request.path.clone(),
        headers: fixture_headers(&request.headers),
        body: None,
    };
    let mut redirects = Vec::new();
    let response = exchange(driver, fixture, &mut sent, &mut redirects).await;
    match response {
        Ok(response) => RestTranscript {
            request: sent,
            redirects,
            response: Some(response),
            interrupted: None,
        },
        Err(error) => RestTranscript {
            request: sent,
            redirects,
            response: None,
            interrupted: Some(Interrupted {
                at: "/request".into(),
                reason: error.to_string(),
            }),
        },
    }
}

/// Builds the request into `sent` (so the transcript shows it even when sending fails), sends
/// it and reads the whole reply within the step timeout (or the fixture's longer `within_ms`);
/// with `follow_redirects`, follows redirects into `redirects` and returns the final reply.
async fn exchange(
    driver: &Driver,
    fixture: &RestFixture,
    sent: &mut SentRequest,
    redirects: &mut Vec<Redirect>,
) -> Result<ReceivedResponse, StepError> {
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
    let mut url = driver
        .url(&request.path, &request.query.pairs())
        .map_err(StepError::BadUrl)?;
    sent.target = target_of(&url);
    let mut method =
        Method::from_bytes(sent.method.as_bytes()).map_err(|source| StepError::Method {
            method: sent.method.clone(),
            source,
        })?;
    let mut headers = sent.headers.clone();
    let mut body = sent.body.clone();

    let wait = step_wait(driver.timeout, fixture.expected.within_ms);
    let deadline = Deadline::after(wait);
    let started = std::time::Instant::now();
    loop {
        let mut builder =
            with_headers(driver.client.request(method.clone(), url.clone()), &headers)?;
        if let Some(body) = &body {
            builder = builder.body(body.0.clone());
        }
        let response = send_and_read_by(builder, deadline, wait, started).await?;
        let Some(location) = request
            .follow_redirects
            .then(|| redirect_location(&response))
            .flatten()
        else {
            return Ok(response);
        };
        let status = response.status;
        if redirects.len() == MAX_REDIRECTS {
            return Err(StepError::TooManyRedirects { status, location });
        }
        let next = match url.join(&location) {
            Ok(next) => next,
            Err(source) => {
                return Err(StepError::BadRedirect {
                    status,
                    location,
                    source,
                });
            }
        };
        if !matches!(next.scheme(), "http" | "https") {
            return Err(StepError::RedirectScheme { status, location });
        }
        // 303 turns any method but HEAD into GET; 301 and 302 turn POST into GET (as browsers
        // and curl do); 307 and 308 keep the method and the body.
        if (status == 303 && method != Method::HEAD)
            || (matches!(status, 301 | 302) && method == Method::POST)
        {
            method = Method::GET;
            body = None;
            without(
                &mut headers,
                &[CONTENT_TYPE.as_str(), CONTENT_LENGTH.as_str()],
            );
        }
        // Credentials go to the origin they were written for only.
        if next.origin() != url.origin() {
            without(&mut headers, &[AUTHORIZATION.as_str(), COOKIE.as_str()]);
        }
        redirects.push(Redirect {
            status,
            location,
            method: method.to_string(),
        });
        url = next;
    }
}

/// The `Location` of a reply that redirects (301, 302, 303, 307, 308 with one `Location`).
fn redirect_location(response: &ReceivedResponse) -> Option<String> {
    if !matches!(response.status, 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    match header_values(&response.headers, LOCATION.as_str()).as_slice() {
        [one] => Some((*one).to_string()),
        _ => None,
    }
}

/// Drops the headers named in `names` (lower case).
fn without(headers: &mut Headers, names: &[&str]) {
    headers.retain(|(name, _)| !names.contains(&name.as_str()));
}
