//! Checks of the `within_ms` deadlines of REST replies (and their `first_byte_within_ms`) and
//! SSE events and streams (WebSocket steps have theirs in `ws.rs`): something that came, but later than the fixture allows, fails
//! the fixture. Something that never came within the wait is not judged here: the replay is
//! interrupted and the fixture errored.

use harness_fixture::model::{RestFixture, SseEnd, SseFixture};

use super::Mismatch;
use crate::results::transcript::{RestTranscript, SseTranscript};

/// A REST reply's `expected.within_ms`: the whole reply (after redirects) within it; and its
/// `first_byte_within_ms`: the first byte of the body (the end of the head, for an empty body)
/// within that, both counted from sending the (first) request.
pub(super) fn check_rest(
    fixture: &RestFixture,
    transcript: &RestTranscript,
    out: &mut Vec<Mismatch>,
) {
    let Some(response) = &transcript.response else {
        return;
    };
    if let Some(within) = fixture.expected.within_ms {
        late(
            within,
            response.elapsed_us,
            "the whole reply arrived",
            "/within_ms",
            out,
        );
    }
    if let Some(within) = fixture.expected.first_byte_within_ms {
        let took_ms = response.first_byte_ms;
        if took_ms > within {
            out.push(Mismatch::new(
                "/first_byte_within_ms",
                within.into(),
                took_ms.into(),
                format!(
                    "the first byte of the body arrived after {took_ms} ms, later than \
                     first_byte_within_ms {within}"
                ),
            ));
        }
    }
}

/// An SSE fixture's deadlines: each expected event's `within_ms` after the previous event (after
/// the request, for the first), and the stream's `within_ms` to its expected end.
pub(super) fn check_sse(fixture: &SseFixture, transcript: &SseTranscript, out: &mut Vec<Mismatch>) {
    let mut previous_us = 0;
    for (index, (want, got)) in fixture
        .expected
        .events
        .iter()
        .zip(&transcript.events)
        .enumerate()
    {
        if let Some(within) = want.within_ms {
            let what = if index == 0 {
                "arrived (counted from the request)"
            } else {
                "arrived (counted from the previous event)"
            };
            let path = format!("/events/{index}/within_ms");
            late(
                within,
                got.at_us.saturating_sub(previous_us),
                what,
                &path,
                out,
            );
        }
        previous_us = got.at_us;
    }
    if let (Some(within), Some(ended_us), None) = (
        fixture.expected.within_ms,
        transcript.ended_us,
        &transcript.interrupted,
    ) {
        let what = match fixture.expected.end {
            SseEnd::Open => "the expected events were read",
            SseEnd::Closed => "the stream closed",
        };
        late(within, ended_us, what, "/within_ms", out);
    }
}

/// A mismatch at `path` when `took_us` is past `within` ms.
fn late(within: u64, took_us: u64, what: &str, path: &str, out: &mut Vec<Mismatch>) {
    let took_ms = took_us / 1000;
    if took_ms > within {
        out.push(Mismatch::new(
            path,
            within.into(),
            took_ms.into(),
            format!("{what} after {took_ms} ms, later than within_ms {within}"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_is_past_the_deadline_only() {
        let mut out = Vec::new();
        late(100, 100_999, "came", "/within_ms", &mut out);
        assert!(out.is_empty());
        late(100, 101_000, "came", "/within_ms", &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].path, "/within_ms");
        assert_eq!(
            out[0].message,
            "came after 101 ms, later than within_ms 100"
        );
    }
}
