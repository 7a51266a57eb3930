//! REST replay with reqwest: one request, or with `follow_redirects` a chain of up to
//! [`MAX_REDIRECTS`] redirects, all under one deadline (`--timeout`, or the fixture's longer
//! `within_ms` or `first_byte_within_ms`). A `content_encoding` encodes the body sent (the
//! transcript keeps it before encoding); the reply is read and decoded by [`super::reply`].

use std::time::Duration;

use harness_fixture::model::{MAX_REDIRECTS, RestFixture, RestRequest};
use reqwest::Method;
use reqwest::header::{
    AUTHORIZATION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, LOCATION,
};
use url::Url;

use super::{
    Driver, StepError, fixture_headers, send_and_read_by, set_body, step_wait, target_of,
    with_headers,
};
use crate::results::Interrupted;
use crate::results::transcript::{
    Body, Headers, ReceivedResponse, Redirect, RestTranscript, SentRequest, header_values,
};
use crate::wire::Deadline;

pub(super) async fn replay(driver: &Driver, fixture: &RestFixture) -> RestTranscript {
    let request = &fixture.request;
    let mut sent = SentRequest {
        method: request.method.clone(),
        target: request.path.clone(),
        headers: fixture_headers(&request.headers),
        body: None,
        content_encoding: None,
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
    let mut hop = Hop::first(driver, &fixture.request, sent)?;
    let expected = &fixture.expected;
    let wait = step_wait(
        driver.timeout,
        expected.within_ms.max(expected.first_byte_within_ms),
    );
    let deadline = Deadline::after(wait);
    let started = std::time::Instant::now();
    loop {
        let response = hop.send(driver, deadline, wait, started).await?;
        let Some(location) = fixture
            .request
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
        redirects.push(hop.follow(status, location)?);
    }
}

/// One request of a redirect chain: the fixture's, then the one each redirect asks for.
struct Hop {
    method: Method,
    url: Url,
    headers: Headers,
    body: Option<Body>,
}

impl Hop {
    /// The fixture's request, written into `sent` as it goes (cookies, body, target).
    fn first(
        driver: &Driver,
        request: &RestRequest,
        sent: &mut SentRequest,
    ) -> Result<Hop, StepError> {
        if !request.cookies.is_empty() {
            let cookie: Vec<String> = request
                .cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            sent.headers
                .push((COOKIE.as_str().to_string(), cookie.join("; ")));
        }
        set_body(sent, request.body(), request.multipart_boundary.as_deref())?;
        let body = match (&sent.body, request.content_encoding) {
            (Some(body), Some(coding)) => {
                let encoded = crate::wire::coding::encode(coding, &body.0)?;
                sent.content_encoding = Some(coding);
                if !sent
                    .headers
                    .iter()
                    .any(|(n, _)| n == CONTENT_ENCODING.as_str())
                {
                    sent.headers
                        .push((CONTENT_ENCODING.as_str().to_string(), coding.token().into()));
                }
                Some(Body(encoded))
            }
            (body, _) => body.clone(),
        };
        let url = driver
            .url(&request.path, &request.query.pairs())
            .map_err(StepError::BadUrl)?;
        sent.target = target_of(&url);
        let method =
            Method::from_bytes(sent.method.as_bytes()).map_err(|source| StepError::Method {
                method: sent.method.clone(),
                source,
            })?;
        Ok(Hop {
            method,
            url,
            headers: sent.headers.clone(),
            body,
        })
    }

    /// Sends this request and reads its whole reply before `deadline`.
    async fn send(
        &self,
        driver: &Driver,
        deadline: Deadline,
        wait: Duration,
        started: std::time::Instant,
    ) -> Result<ReceivedResponse, StepError> {
        let mut builder = with_headers(
            driver.client.request(self.method.clone(), self.url.clone()),
            &self.headers,
        )?;
        if let Some(body) = &self.body {
            builder = builder.body(body.0.clone());
        }
        send_and_read_by(builder, deadline, wait, started).await
    }

    /// Turns this request into the one a `status` reply with `location` asks for, and returns
    /// the redirect as recorded.
    fn follow(&mut self, status: u16, location: String) -> Result<Redirect, StepError> {
        let next = match self.url.join(&location) {
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
        // and curl do), dropping the body and the headers that describe it; 307 and 308 keep
        // the method and the body.
        if (status == 303 && self.method != Method::HEAD)
            || (matches!(status, 301 | 302) && self.method == Method::POST)
        {
            self.method = Method::GET;
            self.body = None;
            without(
                &mut self.headers,
                &[
                    CONTENT_TYPE.as_str(),
                    CONTENT_LENGTH.as_str(),
                    CONTENT_ENCODING.as_str(),
                ],
            );
        }
        // Credentials go to the origin they were written for only.
        if next.origin() != self.url.origin() {
            without(
                &mut self.headers,
                &[AUTHORIZATION.as_str(), COOKIE.as_str()],
            );
        }
        self.url = next;
        Ok(Redirect {
            status,
            location,
            method: self.method.to_string(),
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(method: Method) -> Hop {
        Hop {
            method,
            url: Url::parse("http://127.0.0.1:9/a").unwrap(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("content-encoding".into(), "gzip".into()),
                ("x-keep".into(), "1".into()),
            ],
            body: Some(Body(vec![0x1f, 0x8b])),
        }
    }

    #[test]
    fn a_redirect_that_drops_the_body_drops_its_coding_and_one_that_keeps_it_keeps_it() {
        let mut dropped = hop(Method::POST);
        dropped.follow(303, "/b".into()).unwrap();
        assert_eq!(dropped.method, Method::GET);
        assert_eq!(dropped.body, None);
        assert_eq!(dropped.headers, vec![("x-keep".into(), "1".into())]);
        let mut kept = hop(Method::POST);
        kept.follow(307, "/b".into()).unwrap();
        assert_eq!(kept.method, Method::POST);
        assert_eq!(kept.body, Some(Body(vec![0x1f, 0x8b])));
        assert_eq!(kept.headers, hop(Method::POST).headers);
    }
}
