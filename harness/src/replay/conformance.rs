//! The conformance engine shared by `run` and `matrix`: replay, check and snapshot fixtures
//! against one target, several at once, results in fixture order.

use std::time::Instant;

use futures_util::{Stream, StreamExt};
use harness_fixture::{Fixture, Spec};

use crate::check::check;
use crate::replay::driver::Driver;
use crate::results::Interrupted;
use crate::results::transcript::Transcript;
use crate::results::{BodyArrivals, FixtureResult, Outcome};
use crate::snapshot::{SnapshotMode, SnapshotStore};

/// How to replay.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Snapshot mode.
    pub snapshots: SnapshotMode,
    /// Fixtures replayed at once.
    pub jobs: usize,
}

/// Replays `fixtures`, `settings.jobs` at a time; the stream yields results in fixture order.
pub fn replay_all<'a>(
    driver: &'a Driver,
    store: &'a SnapshotStore,
    fixtures: impl IntoIterator<Item = &'a Fixture> + 'a,
    settings: Settings,
) -> impl Stream<Item = FixtureResult> + 'a {
    futures_util::stream::iter(fixtures)
        .map(move |fixture| replay_one(driver, store, fixture, settings.snapshots))
        .buffered(settings.jobs.max(1))
}

/// When the reply body arrived, for a REST fixture that checks how it streams (`chunks`,
/// `first_byte_within_ms`) and got a reply.
fn body_arrivals(fixture: &Fixture, transcript: &Transcript) -> Option<BodyArrivals> {
    let (Spec::Rest(rest), Transcript::Rest(t)) = (&fixture.spec, transcript) else {
        return None;
    };
    let expected = &rest.expected;
    if expected.chunks.is_none() && expected.first_byte_within_ms.is_none() {
        return None;
    }
    t.response.as_ref().map(|response| BodyArrivals {
        first_byte_ms: response.first_byte_ms,
        arrivals: response.arrivals.clone(),
    })
}

/// Replays, checks and snapshots one fixture.
pub async fn replay_one(
    driver: &Driver,
    store: &SnapshotStore,
    fixture: &Fixture,
    mode: SnapshotMode,
) -> FixtureResult {
    let mut result = FixtureResult {
        name: fixture.name.clone(),
        protocol: fixture.protocol(),
        file: fixture.file.clone(),
        outcome: Outcome::Skipped,
        diff: Vec::new(),
        error: None,
        snapshot: None,
        body_arrivals: None,
        expected_failure: false,
        duration_ms: 0.0,
    };
    if let Some(reason) = &fixture.skip {
        result.error = Some(Interrupted {
            at: String::new(),
            reason: format!("skipped: {reason}"),
        });
        return result;
    }
    let started = Instant::now();
    let transcript = driver.replay(fixture).await;
    result.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    result.diff = check(fixture, &transcript);
    result.body_arrivals = body_arrivals(fixture, &transcript);
    if let Some(interrupted) = transcript.interrupted() {
        result.outcome = Outcome::Errored;
        result.error = Some(interrupted.clone());
        return result;
    }
    result.outcome = if result.diff.is_empty() {
        Outcome::Passed
    } else {
        Outcome::Failed
    };
    match store.apply(fixture, &transcript, mode) {
        Ok(snapshot) => result.snapshot = snapshot,
        Err(e) => {
            result.outcome = Outcome::Errored;
            let path = store.path_for(fixture);
            result.error = Some(Interrupted {
                at: "/snapshot".into(),
                reason: format!("cannot write {}: {e}", path.display()),
            });
        }
    }
    result
}
