//! REST scenario load (format 1.1): one operation is one whole run of the scenario, its steps
//! in order, replayed by the replay driver's [`ScenarioClient`] (one per connection: the same
//! substitution, captures, cookie jar and checks as `run`, so a scenario means the same under
//! load). The run's latency (from its intended start, in open loop) goes to the summary; each
//! step's own time (from building its request to its reply's last byte) to that step's
//! histogram. A run that fails names its step (`/steps/2/status: ...`) and is one error.
//!
//! This path goes through reqwest, not the raw sockets of the single-request REST load: a
//! scenario's figures compare with other scenarios', not with `bench` on one request.

use std::time::{Duration, Instant};

use harness_fixture::model::ScenarioFixture;
use url::Url;

use crate::check::json::DIFFERS_FROM_CAPTURE;
use crate::load::recorder::ErrorKind;
use crate::load::worker::{HttpVersion, LoadConfig, RECONNECT_PAUSE, Worker};
use crate::replay::driver::{Driver, ScenarioClient};
use crate::results::transcript::ScenarioTranscript;

/// A REST scenario prepared for load: the fixture and the driver its clients are made from.
#[derive(Debug)]
pub(crate) struct ScenarioLoad {
    fixture: ScenarioFixture,
    driver: Driver,
}

impl ScenarioLoad {
    /// Prepares `fixture` for the target at `base`; `None` (with why) when no HTTP client can be
    /// built with the run's TLS settings.
    pub(crate) fn prepare(
        fixture: &ScenarioFixture,
        base: &Url,
        config: &LoadConfig,
    ) -> Result<ScenarioLoad, reqwest::Error> {
        let driver = Driver::new(base.clone(), config.timeout)?
            .with_tls(config.tls.clone())?
            .with_http2(matches!(config.http, HttpVersion::Http2 { .. }))?;
        Ok(ScenarioLoad {
            fixture: fixture.clone(),
            driver,
        })
    }

    /// One connection: runs the scenario on its slots until the run ends.
    pub(crate) async fn worker(&self, worker: &mut Worker) {
        let client = match self.driver.scenario_client(&self.fixture) {
            Ok(client) => client,
            Err(error) => {
                let slot = worker.pacer.wait().await;
                worker.recorder.begin();
                let kind = ErrorKind::Other(format!("no HTTP client: {error}"));
                worker.recorder.failure(slot.intended, kind, None);
                return;
            }
        };
        let mut steps = vec![None; self.fixture.steps.len()];
        loop {
            let slot = worker.pacer.wait().await;
            worker.recorder.lag(&slot);
            worker.recorder.begin();
            steps.fill(None);
            let transcript = self.run_once(&client, &mut steps).await;
            let latency = Instant::now().saturating_duration_since(slot.measured_from());
            match failure(&self.fixture, &transcript) {
                None => {
                    let steps: Vec<Duration> = steps.iter().flatten().copied().collect();
                    worker.recorder.scenario(slot.intended, latency, &steps);
                }
                Some(kind) => {
                    let replied = transcript
                        .steps
                        .last()
                        .is_some_and(|s| s.response.is_some());
                    let pause = kind == ErrorKind::Refused;
                    worker
                        .recorder
                        .failure(slot.intended, kind, replied.then_some(latency));
                    if pause {
                        tokio::time::sleep(RECONNECT_PAUSE).await;
                    }
                }
            }
        }
    }

    async fn run_once(
        &self,
        client: &ScenarioClient,
        steps: &mut [Option<Duration>],
    ) -> ScenarioTranscript {
        client
            .run(&self.fixture, |index, elapsed| {
                if let Some(step) = steps.get_mut(index) {
                    *step = Some(elapsed);
                }
            })
            .await
    }
}

/// Why a run of the scenario failed, `None` when every step passed: the first difference `run`
/// would report, or the interruption of the step that could not go on.
fn failure(fixture: &ScenarioFixture, transcript: &ScenarioTranscript) -> Option<ErrorKind> {
    if let Some(interrupted) = transcript.steps.iter().find_map(|s| s.interrupted.as_ref()) {
        return Some(interruption(&interrupted.at, &interrupted.reason));
    }
    let mut mismatch = crate::check::scenario::check(fixture, transcript)
        .into_iter()
        .next()?;
    // The captured value differs from run to run: kept, every run would be a kind of its own.
    if mismatch.message.starts_with(DIFFERS_FROM_CAPTURE)
        && let Some(cut) = mismatch.message.find(" (")
    {
        mismatch.message.truncate(cut);
    }
    Some(ErrorKind::of_mismatch(mismatch))
}

/// The kind of a step's interruption, from the reason the driver gave: the transport failures
/// every load path counts by kind, anything else with its step's pointer and its reason, URLs
/// left out (they carry captured values: kept, every run would be a kind of its own).
fn interruption(at: &str, original: &str) -> ErrorKind {
    let lower = original.to_ascii_lowercase();
    let reason = lower.as_str();
    if reason.contains("connection refused") {
        ErrorKind::Refused
    } else if reason.contains("timed out") || reason.contains("reply within") {
        ErrorKind::Timeout
    } else if reason.contains("connection reset") || reason.contains("broken pipe") {
        ErrorKind::Reset
    } else if reason.contains("connection closed") || reason.contains("incomplete message") {
        ErrorKind::Closed
    } else if reason.contains("does not start with /") {
        ErrorKind::differs(at, "the path after substitution does not start with /")
    } else {
        ErrorKind::Other(format!("{at}: {}", without_urls(original)))
    }
}

/// `text` with every `http://...` or `https://...` (up to a space or a closing parenthesis) as
/// `URL`.
fn without_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("http://").or_else(|| rest.find("https://")) {
        out.push_str(&rest[..at]);
        out.push_str("URL");
        let end = rest[at..]
            .find(|c: char| c.is_whitespace() || c == ')')
            .map_or(rest.len(), |n| at + n);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interruptions_are_counted_by_kind_without_their_urls() {
        let refused = "error sending request for url (http://127.0.0.1:9/a/x-1): client error \
                       (Connect): tcp connect error: Connection refused (os error 111)";
        assert_eq!(
            interruption("/steps/1/request", refused),
            ErrorKind::Refused
        );
        assert_eq!(
            interruption("/steps/0/request", "no reply within 2s"),
            ErrorKind::Timeout
        );
        assert_eq!(
            interruption(
                "/steps/2/request",
                "the path after substitution, \"@x\", does not start with /: ..."
            ),
            ErrorKind::differs(
                "/steps/2/request",
                "the path after substitution does not start with /"
            )
        );
        assert_eq!(
            interruption("/steps/3/request", "Bad URL: http://h/x-77 (in the path)"),
            ErrorKind::Other("/steps/3/request: Bad URL: URL (in the path)".into())
        );
    }
}
