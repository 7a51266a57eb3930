//! REST scenario replay (format 1.1): the steps in order, each as a REST exchange
//! ([`super::rest`]) with the values captured so far substituted into its request; on one
//! kept-alive connection (a client of the scenario's own, so no other fixture shares it) or a
//! fresh connection per step; with a cookie jar (RFC 6265, reqwest's) when the scenario asks.
//! A step that is interrupted or whose reply differs from its expectation ends the scenario.
//!
//! `bench` runs a scenario many times through a [`ScenarioClient`] per connection: the same
//! replay, each step timed, the client (and so a kept-alive connection) reused from one run to
//! the next, a fresh cookie jar and fresh captures every run.

use std::time::{Duration, Instant};

use harness_fixture::capture::Bindings;
use harness_fixture::model::{RestFixture, RestRequest, ScenarioConnection, ScenarioFixture};
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::HeaderValue;

use super::Driver;
use crate::check::scenario::{bind_reply, step_differences};
use crate::results::Interrupted;
use crate::results::transcript::{RestTranscript, ScenarioTranscript, header_values};

pub(super) async fn replay(driver: &Driver, fixture: &ScenarioFixture) -> ScenarioTranscript {
    match driver.scenario_client(fixture) {
        Ok(client) => client.run(fixture, |_, _| {}).await,
        Err(error) => ScenarioTranscript {
            steps: fixture
                .steps
                .first()
                .map(|first| unsent(&first.request, 0, &error.to_string()))
                .into_iter()
                .collect(),
            captures: Bindings::new(),
        },
    }
}

/// A client for the runs of one scenario: connections kept alive from step to step (and from
/// run to run) or a fresh one per step, as the scenario says.
#[derive(Debug, Clone)]
pub struct ScenarioClient {
    driver: Driver,
}

impl Driver {
    /// A client of its own for the runs of `fixture`.
    pub fn scenario_client(
        &self,
        fixture: &ScenarioFixture,
    ) -> Result<ScenarioClient, reqwest::Error> {
        let reuse = fixture.connection == ScenarioConnection::Keep;
        Ok(ScenarioClient {
            driver: self.with_connection_reuse(reuse)?,
        })
    }
}

impl ScenarioClient {
    /// One run of `fixture`, up to its first failing step; `timed(index, elapsed)` is told how
    /// long each step that got a reply took, from building its request to its reply's last byte.
    pub async fn run(
        &self,
        fixture: &ScenarioFixture,
        mut timed: impl FnMut(usize, Duration),
    ) -> ScenarioTranscript {
        let driver = &self.driver;
        let mut transcript = ScenarioTranscript {
            steps: Vec::new(),
            captures: Bindings::new(),
        };
        let jar = fixture.cookies.map(|_| Jar::default());
        for (index, step) in fixture.steps.iter().enumerate() {
            let started = Instant::now();
            let mut request = step.request.substituted(&transcript.captures);
            // A value the server sent must not move the request off the target (`@host/...`
            // after the base URL would name another host).
            if !request.path.starts_with('/') {
                let reason = format!(
                    "the path after substitution, {}, does not start with /: a captured value \
                     may not take the request off the target",
                    harness_fixture::text::quote(&request.path)
                );
                transcript.steps.push(unsent(&request, index, &reason));
                break;
            }
            let url = driver.url(&request.path, &request.query.pairs()).ok();
            if let (Some(jar), Some(url)) = (&jar, &url) {
                add_jar_cookies(jar, url, &mut request.cookies);
            }
            let exchange = RestFixture {
                handler: None,
                request,
                expected: step.expected.resolved(&transcript.captures),
            };
            let mut reached = super::rest::replay(driver, &exchange).await;
            if let Some(interrupted) = &mut reached.interrupted {
                interrupted.at = format!("/steps/{index}{}", interrupted.at);
            }
            if let Some(response) = &reached.response {
                timed(index, started.elapsed());
                bind_reply(&step.expected, response, &mut transcript.captures);
                if let (Some(jar), Some(url)) = (&jar, &url) {
                    let set: Vec<HeaderValue> = header_values(&response.headers, "set-cookie")
                        .into_iter()
                        .filter_map(|v| HeaderValue::from_str(v).ok())
                        .collect();
                    jar.set_cookies(&mut set.iter(), url);
                }
            }
            let failed = reached.interrupted.is_some()
                || !step_differences(step, &reached, &transcript.captures, index).is_empty();
            transcript.steps.push(reached);
            if failed {
                break;
            }
        }
        transcript
    }
}

/// Adds the jar's cookies for `url` to a step's own, which win over a jar cookie of the same
/// name.
fn add_jar_cookies(jar: &Jar, url: &url::Url, cookies: &mut harness_fixture::model::StringMap) {
    let Some(header) = jar.cookies(url) else {
        return;
    };
    let Ok(header) = header.to_str() else {
        return;
    };
    for pair in header.split(';') {
        if let Some((name, value)) = pair.trim().split_once('=')
            && !cookies.contains_key(name)
        {
            cookies.insert(name.to_string(), value.to_string());
        }
    }
}

/// The record of step `index`, interrupted before its request was sent.
fn unsent(request: &RestRequest, index: usize, reason: &str) -> RestTranscript {
    RestTranscript {
        request: crate::results::transcript::SentRequest {
            method: request.method.clone(),
            target: request.path.clone(),
            headers: Vec::new(),
            body: None,
            content_encoding: None,
        },
        redirects: Vec::new(),
        response: None,
        interrupted: Some(Interrupted {
            at: format!("/steps/{index}/request"),
            reason: reason.to_string(),
        }),
    }
}
