//! REST scenarios (format 1.1): each step's reply checked as a REST fixture's, with
//! `<<same_as:NAME>>` resolved from the values the replay captured, differences under
//! `/steps/N`; and the binding of a step's captures from its reply (which the replay does after
//! each step, to substitute them into later requests).

use harness_fixture::capture::{self, Bindings, CaptureToken};
use harness_fixture::model::{HeaderExpectation, RestExpected, ScenarioFixture, ScenarioStep};
use serde_json::Value;

use super::rest;
use crate::results::Mismatch;
use crate::results::transcript::{
    ReceivedResponse, RestTranscript, ScenarioTranscript, header_values,
};

/// Every difference of a scenario: those of each step reached, under `/steps/N`. A scenario
/// stops at its first failing step, so only the last step reached may differ, unless the
/// transcript ends early without a failure ("not reached").
pub(crate) fn check(fixture: &ScenarioFixture, transcript: &ScenarioTranscript) -> Vec<Mismatch> {
    let mut out = Vec::new();
    for (index, (step, reached)) in fixture.steps.iter().zip(&transcript.steps).enumerate() {
        out.extend(step_differences(step, reached, &transcript.captures, index));
    }
    let reached = transcript.steps.len();
    let stopped = transcript
        .steps
        .last()
        .is_some_and(|s| s.interrupted.is_some());
    if out.is_empty() && !stopped && reached < fixture.steps.len() {
        out.push(Mismatch::missing(
            format!("/steps/{reached}"),
            Value::from(step_label(&fixture.steps[reached], reached)),
            "not reached",
        ));
    }
    out
}

/// The differences of one step's exchange, `<<same_as:NAME>>` resolved with `bindings`, under
/// `/steps/INDEX`.
pub(crate) fn step_differences(
    step: &ScenarioStep,
    reached: &RestTranscript,
    bindings: &Bindings,
    index: usize,
) -> Vec<Mismatch> {
    let mut fixture = step.as_fixture();
    fixture.expected = step.expected.resolved(bindings);
    rest::check(&fixture, reached)
        .into_iter()
        .map(|mut mismatch| {
            mismatch.path = format!("/steps/{index}{}", mismatch.path);
            mismatch
        })
        .collect()
}

/// How a step is named in messages: its `name`, or its index.
pub(crate) fn step_label(step: &ScenarioStep, index: usize) -> String {
    match &step.name {
        Some(name) => format!("step {index} ({name})"),
        None => format!("step {index}"),
    }
}

/// Binds the captures of a step's expectation from its reply: `<<capture:NAME>>` in the
/// expected body (the reply parsed as JSON) and as an expected header's value (the header's
/// first value).
pub(crate) fn bind_reply(expected: &RestExpected, response: &ReceivedResponse, out: &mut Bindings) {
    if let (Some(want), Some(got)) = (&expected.body, response.body.json()) {
        capture::bind_json(want, &got, out);
    }
    for (name, want) in &expected.headers {
        let HeaderExpectation::One(text) = want else {
            continue;
        };
        if let Some(CaptureToken::Capture(capture_name)) = capture::token(text)
            && let Some(value) = header_values(&response.headers, name).first()
        {
            out.entry(capture_name.to_string())
                .or_insert_with(|| Value::from(*value));
        }
    }
}
