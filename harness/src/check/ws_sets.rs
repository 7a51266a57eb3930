//! The WebSocket steps of format 1.1 that read a set of messages: `expect_unordered`,
//! `expect_any_of`, `expect_count` and `expect_none`, and the `ignore` lists that skip messages.
//!
//! The replay asks [`set_complete`] after every message whether to stop reading; the check
//! pairs the messages of a step with its expectations the same way ([`pair`]: a maximum
//! matching, so the order in which messages arrived never matters) and lists every expectation
//! never matched and every message that arrived unexpected.

use harness_fixture::capture::{self, Bindings};
use harness_fixture::model::{WsMatch, WsStep};
use serde_json::{Value, json};

use super::Mismatch;
use super::ws::{check_message, json_expectation};
use crate::results::transcript::Frame;

/// Whether `frame` satisfies `want` (no difference at all).
pub(crate) fn message_matches(want: &WsMatch, frame: &Frame) -> bool {
    let mut out = Vec::new();
    check_message(want, frame, "", &mut out);
    out.is_empty()
}

/// Whether `frame` is a data message that one of the `lists` of `ignore` matchers skips.
pub(crate) fn is_ignored(lists: &[&[WsMatch]], frame: &Frame) -> bool {
    matches!(frame, Frame::Text(_) | Frame::Binary(_))
        && lists
            .iter()
            .any(|list| list.iter().any(|want| message_matches(want, frame)))
}

/// Whether the `frames` a multiplexed `step` has read so far complete it (`expect_none` is never
/// complete: it reads until its window ends).
pub(crate) fn set_complete(step: &WsStep, frames: &[&Frame]) -> bool {
    match step {
        WsStep::ExpectUnordered(set) => {
            let paired = pair(&set.messages, frames);
            paired.iter().flatten().count() == set.messages.len()
        }
        WsStep::ExpectAnyOf(set) => frames
            .iter()
            .any(|f| set.messages.iter().any(|w| message_matches(w, f))),
        WsStep::ExpectCount(count) => {
            let matched = frames
                .iter()
                .filter(|f| message_matches(&count.message, f))
                .count();
            matched >= count.count
        }
        _ => false,
    }
}

/// Binds the captures (`<<capture:NAME>>`) of a receiving `step` from the text `frames` it
/// read: an `expect` from its message; a list step from the message paired with each matcher
/// (`expect_any_of`: the one that matched); `expect_count` from the first message that matched.
pub(crate) fn bind_step(step: &WsStep, frames: &[&Frame], out: &mut Bindings) {
    let text = |frame: &Frame| match frame {
        Frame::Text(text) => Some(text.clone()),
        _ => None,
    };
    match step {
        WsStep::Expect(expect) => {
            if let Some(text) = frames.first().and_then(|f| text(f)) {
                capture::bind_message(&expect.matches, &text, out);
            }
        }
        WsStep::ExpectUnordered(set) => {
            for (frame, want) in frames.iter().zip(pair(&set.messages, frames)) {
                if let (Some(want), Some(text)) = (want, text(frame)) {
                    capture::bind_message(&set.messages[want], &text, out);
                }
            }
        }
        WsStep::ExpectAnyOf(set) => {
            let matched = frames.iter().find_map(|f| {
                let want = set.messages.iter().find(|w| message_matches(w, f))?;
                Some((want, text(f)?))
            });
            if let Some((want, text)) = matched {
                capture::bind_message(want, &text, out);
            }
        }
        WsStep::ExpectCount(count) => {
            let first = frames.iter().find(|f| message_matches(&count.message, f));
            if let Some(text) = first.and_then(|f| text(f)) {
                capture::bind_message(&count.message, &text, out);
            }
        }
        _ => {}
    }
}

/// Pairs `frames` with `wants`, each at most once, as many as can be (augmenting paths: a
/// message that could match two expectations leaves the other to a later message). Entry `f`
/// is the index of the expectation frame `f` matched, if any.
pub(crate) fn pair(wants: &[WsMatch], frames: &[&Frame]) -> Vec<Option<usize>> {
    let fits: Vec<Vec<usize>> = frames
        .iter()
        .map(|f| {
            (0..wants.len())
                .filter(|&w| message_matches(&wants[w], f))
                .collect()
        })
        .collect();
    let mut owner: Vec<Option<usize>> = vec![None; wants.len()];
    for frame in 0..frames.len() {
        let mut seen = vec![false; wants.len()];
        augment(frame, &fits, &mut owner, &mut seen);
    }
    let mut paired = vec![None; frames.len()];
    for (want, frame) in owner.iter().enumerate() {
        if let Some(frame) = frame {
            paired[*frame] = Some(want);
        }
    }
    paired
}

/// One step of Kuhn's algorithm: finds `frame` an expectation, moving earlier pairs if need be.
fn augment(
    frame: usize,
    fits: &[Vec<usize>],
    owner: &mut [Option<usize>],
    seen: &mut [bool],
) -> bool {
    for &want in &fits[frame] {
        if seen[want] {
            continue;
        }
        seen[want] = true;
        let free = match owner[want] {
            None => true,
            Some(other) => augment(other, fits, owner, seen),
        };
        if free {
            owner[want] = Some(frame);
            return true;
        }
    }
    false
}

/// A matcher as the fixture wrote it (`{"json": ...}`).
fn matcher_view(want: &WsMatch) -> Value {
    let (key, value) = json_expectation(want);
    json!({ key: value })
}

/// Why a frame that matched nothing is out of place.
fn unexpected_message(frame: &Frame) -> &'static str {
    match frame {
        Frame::Close { .. } | Frame::Ended => "the connection ended during the step",
        _ => "arrived unexpected: matches no expected message (nor ignore)",
    }
}

/// Checks a multiplexed `step` (at `path`, `/transcript/N/expect_unordered`...) against the
/// `frames` it read; `waited_ms` is how long it took, checked against `within_ms` when complete.
pub(super) fn check_set(
    step: &WsStep,
    frames: &[&Frame],
    waited_ms: u64,
    path: &str,
    out: &mut Vec<Mismatch>,
) {
    match step {
        WsStep::ExpectUnordered(set) => unordered(&set.messages, frames, path, out),
        WsStep::ExpectAnyOf(set) => any_of(&set.messages, frames, path, out),
        WsStep::ExpectCount(count) => {
            let paired: Vec<bool> = frames
                .iter()
                .map(|f| message_matches(&count.message, f))
                .collect();
            let matched = paired.iter().filter(|m| **m).count();
            if matched < count.count {
                out.push(Mismatch::new(
                    format!("{path}/count"),
                    count.count.into(),
                    matched.into(),
                    format!("{matched} of {} messages arrived", count.count),
                ));
            }
            let want = matcher_view(&count.message);
            for (frame, _) in frames.iter().zip(&paired).filter(|(_, m)| !**m) {
                let message = unexpected_message(frame);
                out.push(Mismatch::new(
                    format!("{path}/message"),
                    want.clone(),
                    json!(frame),
                    message,
                ));
            }
        }
        WsStep::ExpectNone(_) => {
            for frame in frames {
                out.push(Mismatch::new(
                    path,
                    Value::Null,
                    json!(frame),
                    "arrived during the silence",
                ));
            }
        }
        _ => {}
    }
    let complete = set_complete(step, frames);
    if complete
        && let Some(within) = step.within_ms()
        && !matches!(step, WsStep::ExpectNone(_))
        && waited_ms > within
    {
        out.push(Mismatch::new(
            format!("{path}/within_ms"),
            within.into(),
            waited_ms.into(),
            format!("complete after {waited_ms} ms"),
        ));
    }
}

/// `expect_unordered`: every expectation never matched, every message that matched nothing.
fn unordered(wants: &[WsMatch], frames: &[&Frame], path: &str, out: &mut Vec<Mismatch>) {
    let paired = pair(wants, frames);
    let unexpected: Vec<Value> = frames
        .iter()
        .zip(&paired)
        .filter(|(_, p)| p.is_none())
        .map(|(f, _)| json!(f))
        .collect();
    let mut unmatched = Vec::new();
    for (index, want) in wants.iter().enumerate() {
        if !paired.contains(&Some(index)) {
            let view = matcher_view(want);
            out.push(Mismatch::new(
                format!("{path}/{index}"),
                view.clone(),
                Value::Array(unexpected.clone()),
                "never matched (actual: the messages that arrived unexpected)",
            ));
            unmatched.push(view);
        }
    }
    for (frame, _) in frames.iter().zip(&paired).filter(|(_, p)| p.is_none()) {
        out.push(Mismatch::new(
            path,
            Value::Array(unmatched.clone()),
            json!(frame),
            format!(
                "{} (expected: the messages never matched)",
                unexpected_message(frame)
            ),
        ));
    }
}

/// `expect_any_of`: a message matched one alternative; messages before it that matched none.
fn any_of(wants: &[WsMatch], frames: &[&Frame], path: &str, out: &mut Vec<Mismatch>) {
    let alternatives: Vec<Value> = wants.iter().map(matcher_view).collect();
    let fits = |f: &&Frame| wants.iter().any(|w| message_matches(w, f));
    if !frames.iter().any(fits) {
        let got: Vec<Value> = frames.iter().map(|f| json!(f)).collect();
        out.push(Mismatch::new(
            path,
            Value::Array(alternatives),
            Value::Array(got),
            "no message matched any of the alternatives",
        ));
        return;
    }
    for frame in frames.iter().filter(|f| !fits(f)) {
        out.push(Mismatch::new(
            path,
            Value::Array(alternatives.clone()),
            json!(frame),
            unexpected_message(frame),
        ));
    }
}

#[cfg(test)]
mod tests {
    use harness_fixture::model::{ExpectCount, ExpectNone, ExpectSet};

    use super::*;

    fn rpc(id: u64) -> WsMatch {
        WsMatch::JsonPartial(json!({"id": id}))
    }

    fn reply(id: u64) -> Frame {
        Frame::Text(json!({"id": id, "result": "ok"}).to_string())
    }

    fn unordered_step(wants: Vec<WsMatch>) -> WsStep {
        WsStep::ExpectUnordered(ExpectSet {
            messages: wants,
            within_ms: None,
            ignore: Vec::new(),
        })
    }

    fn run(step: &WsStep, frames: &[Frame]) -> Vec<Mismatch> {
        let refs: Vec<&Frame> = frames.iter().collect();
        let mut out = Vec::new();
        check_set(step, &refs, 0, "/transcript/2/x", &mut out);
        out
    }

    #[test]
    fn unordered_passes_in_any_order_and_pairs_past_a_greedy_choice() {
        let step = unordered_step(vec![rpc(1), rpc(2), rpc(3)]);
        assert!(run(&step, &[reply(3), reply(1), reply(2)]).is_empty());
        // The first message fits both; greedy pairing with the first would leave {"id":1} unmet.
        let step = unordered_step(vec![WsMatch::JsonPartial(json!({})), rpc(1)]);
        let frames = [reply(1), reply(7)];
        assert!(run(&step, &frames).is_empty());
        assert!(set_complete(&step, &frames.iter().collect::<Vec<_>>()));
    }

    #[test]
    fn unordered_names_the_expectation_never_matched_and_the_message_unexpected() {
        let step = unordered_step(vec![rpc(1), rpc(2)]);
        let out = run(&step, &[reply(2), reply(9)]);
        assert_eq!(out.len(), 2, "{out:#?}");
        assert_eq!(out[0].path, "/transcript/2/x/0");
        assert_eq!(out[0].expected, json!({"json_partial": {"id": 1}}));
        assert_eq!(
            out[0].actual,
            json!([{"text": "{\"id\":9,\"result\":\"ok\"}"}])
        );
        assert!(out[0].message.contains("never matched"));
        assert_eq!(out[1].path, "/transcript/2/x");
        assert_eq!(out[1].expected, json!([{"json_partial": {"id": 1}}]));
        assert!(out[1].message.contains("arrived unexpected"));
        assert!(!set_complete(&step, &[&reply(2), &reply(9)]));
    }

    #[test]
    fn any_of_passes_on_one_alternative_and_fails_on_none() {
        let step = WsStep::ExpectAnyOf(ExpectSet {
            messages: vec![rpc(1), WsMatch::Text("busy".into())],
            within_ms: None,
            ignore: Vec::new(),
        });
        assert!(run(&step, &[Frame::Text("busy".into())]).is_empty());
        let out = run(&step, &[reply(4)]);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].expected,
            json!([{"json_partial": {"id": 1}}, {"text": "busy"}])
        );
        assert!(out[0].message.contains("no message matched"));
        let out = run(&step, &[reply(4), reply(1)]);
        assert_eq!(out.len(), 1);
        assert!(out[0].message.contains("arrived unexpected"));
    }

    #[test]
    fn count_says_how_many_came_and_which_did_not_fit() {
        let step = WsStep::ExpectCount(ExpectCount {
            count: 3,
            message: WsMatch::JsonPartial(json!({"item": "<<number>>"})),
            within_ms: Some(10),
            ignore: Vec::new(),
        });
        let item = |n: u64| Frame::Text(json!({"item": n}).to_string());
        assert!(run(&step, &[item(1), item(2), item(3)]).is_empty());
        let out = run(&step, &[item(1), Frame::Text("x".into()), item(2)]);
        assert_eq!(out.len(), 2, "{out:#?}");
        assert_eq!(out[0].path, "/transcript/2/x/count");
        assert_eq!(
            (out[0].expected.clone(), out[0].actual.clone()),
            (json!(3), json!(2))
        );
        assert_eq!(out[1].path, "/transcript/2/x/message");
        assert_eq!(out[1].actual, json!({"text": "x"}));
        // Complete, but later than within_ms.
        let refs = [item(1), item(2), item(3)];
        let mut out = Vec::new();
        check_set(&step, &refs.iter().collect::<Vec<_>>(), 25, "/p", &mut out);
        assert_eq!(out[0].path, "/p/within_ms");
    }

    #[test]
    fn none_fails_on_every_message_in_the_window() {
        let step = WsStep::ExpectNone(ExpectNone {
            within_ms: 50,
            ignore: Vec::new(),
        });
        assert!(run(&step, &[]).is_empty());
        let out = run(&step, &[reply(5)]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].expected, Value::Null);
        assert_eq!(out[0].message, "arrived during the silence");
    }

    #[test]
    fn ignore_skips_data_messages_only() {
        let beat = [WsMatch::JsonPartial(json!({"type": "heartbeat"}))];
        let lists: [&[WsMatch]; 2] = [&[], &beat];
        let heartbeat = Frame::Text(r#"{"type":"heartbeat","n":4}"#.into());
        assert!(is_ignored(&lists, &heartbeat));
        assert!(!is_ignored(&lists, &reply(1)));
        let any_text = [WsMatch::Text("<<any>>".into())];
        assert!(!is_ignored(&[&any_text], &Frame::Ended));
    }
}
