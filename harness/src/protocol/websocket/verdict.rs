//! A case's verdict from what it saw, after Autobahn|Testsuite's `Case.onConnectionLost`: the
//! events decide the behaviour (`OK`, `NON-STRICT` or `FAILED`), the close the closing behaviour
//! (`OK`, `WRONG CODE`, `UNCLEAN`, `FAILED BY CLIENT`, `FAILED`), and the two make one verdict:
//!
//! - `informational` cases are `informational` whatever happened;
//! - events that match neither list, a connection failed by the wrong endpoint, or an unclean
//!   close where the RFC asks for a clean one: `failed`;
//! - a close code outside the expected ones: `non_strict` (`failed` in the close-handling cases,
//!   as Autobahn's category 7 rules);
//! - the harness having to close TCP after the close handshake (the server SHOULD close first,
//!   RFC 6455 7.1.1): `non_strict`;
//! - events matching the `NON-STRICT` list: `non_strict`.

use crate::results::protocol::Verdict;

use super::model::{Case, Event, Expected, Outcome, same_events};

/// How the connection ended, judged (Autobahn's `behaviorClose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseBehaviour {
    /// As expected.
    Ok,
    /// The wrong endpoint started the close (or the server never closed).
    WrongEndpoint,
    /// A clean close was required and the connection just ended.
    Unclean,
    /// The server's close code is not one of the expected.
    WrongCode,
    /// The harness had to close TCP after the handshake.
    DroppedByClient,
}

/// The verdict of `case` given `outcome`, with the expected and observed behaviour in words.
pub fn judge(case: &Case, outcome: &Outcome) -> (Verdict, String, String) {
    let expected = expected_words(case);
    let observed = observed_words(outcome);
    if case.informational {
        return (Verdict::Informational, expected, observed);
    }
    if outcome.declined {
        return (Verdict::Unimplemented, expected, observed);
    }
    if outcome.handshake_error.is_some() || outcome.negotiation_error.is_some() || outcome.timed_out
    {
        return (Verdict::Failed, expected, observed);
    }
    let mut behaviour = if same_events(&outcome.received, &case.ok) {
        Verdict::Ok
    } else if case
        .non_strict
        .as_ref()
        .is_some_and(|list| same_events(&outcome.received, list))
    {
        Verdict::NonStrict
    } else {
        Verdict::Failed
    };
    let close = close_behaviour(case, outcome);
    if close == CloseBehaviour::WrongEndpoint && case.close.wrong_endpoint_fatal {
        behaviour = Verdict::Failed;
    }
    let verdict = match (behaviour, close) {
        (Verdict::Failed, _) => Verdict::Failed,
        (_, CloseBehaviour::WrongEndpoint | CloseBehaviour::Unclean) => Verdict::Failed,
        (_, CloseBehaviour::WrongCode) if case.close.wrong_code_fatal => Verdict::Failed,
        (_, CloseBehaviour::WrongCode | CloseBehaviour::DroppedByClient) => Verdict::NonStrict,
        (other, CloseBehaviour::Ok) => other,
    };
    (verdict, expected, observed)
}

/// The closing behaviour, in Autobahn's order of checks.
pub fn close_behaviour(case: &Case, outcome: &Outcome) -> CloseBehaviour {
    let expect = &case.close;
    if expect.closed_by_me != outcome.closed_by_me {
        CloseBehaviour::WrongEndpoint
    } else if expect.require_clean && !outcome.was_clean() {
        CloseBehaviour::Unclean
    } else if let Some(Some(code)) = outcome.remote_close
        && !expect.codes.contains(&code)
    {
        CloseBehaviour::WrongCode
    } else if outcome.dropped_by_me {
        CloseBehaviour::DroppedByClient
    } else {
        CloseBehaviour::Ok
    }
}

fn list(events: &[Expected]) -> String {
    if events.is_empty() {
        return "nothing".into();
    }
    events
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn codes(codes: &[u16]) -> String {
    codes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" or ")
}

/// What a conforming server does, in words.
pub fn expected_words(case: &Case) -> String {
    let mut words = format!("{} Events: {}", case.expectation, list(&case.ok));
    if let Some(non_strict) = &case.non_strict {
        words.push_str(&format!(" (non-strict: {})", list(non_strict)));
    }
    let close = &case.close;
    let close_words = if close.closed_by_me {
        format!(
            "the harness closes, the server answers close {}{}",
            codes(&close.codes),
            if close.require_clean {
                ""
            } else {
                " (or drops TCP)"
            }
        )
    } else {
        format!(
            "the server fails the connection: close {} or a TCP drop",
            codes(&close.codes)
        )
    };
    words.push_str(&format!("; close: {close_words}."));
    words
}

fn received_words(events: &[Event]) -> String {
    if events.is_empty() {
        return "nothing".into();
    }
    events
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the server did, in words.
pub fn observed_words(outcome: &Outcome) -> String {
    if let Some(error) = &outcome.handshake_error {
        return format!("no WebSocket connection: {error}");
    }
    if let Some(error) = &outcome.negotiation_error {
        return format!(
            "the extension reply of the 101 breaks RFC 7692: {error}; the harness failed the \
             connection."
        );
    }
    if outcome.declined {
        return "the server accepted no extension (no Sec-WebSocket-Extensions in its 101): \
                permessage-deflate is not implemented there."
            .into();
    }
    let mut words = format!("Events: {}", received_words(&outcome.received));
    let started = match (outcome.closed_by_me, outcome.remote_close.is_some()) {
        (true, _) => "the harness closed first",
        (false, true) => "the server closed first",
        (false, false) => "no close frame either way",
    };
    words.push_str(&format!("; close: {started}"));
    match outcome.remote_close {
        Some(Some(code)) => words.push_str(&format!(", server's code {code}")),
        Some(None) => words.push_str(", server's close without a code"),
        None if outcome.sent_close => words.push_str(", no close frame from the server"),
        None => {}
    }
    if outcome.dropped_by_me {
        words.push_str(", the harness closed TCP (the server did not)");
    }
    if let Some(ended) = &outcome.ended {
        words.push_str(&format!("; {ended}"));
    }
    if outcome.timed_out {
        words.push_str("; the case ran past its time limit");
    }
    words.push('.');
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::websocket::model::{CloseExpect, Finish, Payload};

    fn echo_case() -> Case {
        Case {
            id: "1.1.1".into(),
            description: "d".into(),
            expectation: "Echo.".into(),
            steps: Vec::new(),
            ok: vec![Expected::Message {
                text: true,
                payload: Payload::from("hi"),
            }],
            non_strict: None,
            close: CloseExpect {
                closed_by_me: true,
                codes: vec![1000],
                require_clean: true,
                wrong_endpoint_fatal: false,
                wrong_code_fatal: false,
            },
            suppress_close: false,
            informational: false,
            finish: Finish::Settle,
            volume: 0,
            deflate: Vec::new(),
        }
    }

    fn fail_case() -> Case {
        let mut case = echo_case();
        case.ok.clear();
        case.close = CloseExpect {
            closed_by_me: false,
            codes: vec![1002],
            require_clean: false,
            wrong_endpoint_fatal: false,
            wrong_code_fatal: false,
        };
        case
    }

    fn clean_echo() -> Outcome {
        Outcome {
            received: vec![Event::Message {
                text: true,
                payload: b"hi".to_vec(),
            }],
            closed_by_me: true,
            sent_close: true,
            remote_close: Some(Some(1000)),
            ended: Some("closed by the server".into()),
            ..Outcome::default()
        }
    }

    #[test]
    fn an_echo_and_a_clean_close_pass() {
        let (verdict, expected, observed) = judge(&echo_case(), &clean_echo());
        assert_eq!(verdict, Verdict::Ok);
        assert!(
            expected.contains("text message of 2 bytes \"hi\""),
            "{expected}"
        );
        assert!(observed.contains("server's code 1000"), "{observed}");
    }

    #[test]
    fn a_wrong_echo_an_unclean_close_and_a_wrong_code_are_told_apart() {
        let mut wrong = clean_echo();
        wrong.received = vec![Event::Message {
            text: false,
            payload: b"hi".to_vec(),
        }];
        assert_eq!(judge(&echo_case(), &wrong).0, Verdict::Failed);
        let mut unclean = clean_echo();
        unclean.remote_close = None;
        assert_eq!(judge(&echo_case(), &unclean).0, Verdict::Failed);
        let mut code = clean_echo();
        code.remote_close = Some(Some(1001));
        assert_eq!(judge(&echo_case(), &code).0, Verdict::NonStrict);
        let mut strict = echo_case();
        strict.close.wrong_code_fatal = true;
        assert_eq!(judge(&strict, &code).0, Verdict::Failed);
        let mut dropped = clean_echo();
        dropped.dropped_by_me = true;
        assert_eq!(judge(&echo_case(), &dropped).0, Verdict::NonStrict);
    }

    #[test]
    fn a_server_that_must_fail_the_connection() {
        let by_drop = Outcome {
            ended: Some("closed by the server".into()),
            ..Outcome::default()
        };
        assert_eq!(judge(&fail_case(), &by_drop).0, Verdict::Ok);
        let by_close = Outcome {
            remote_close: Some(Some(1002)),
            sent_close: true,
            ..Outcome::default()
        };
        assert_eq!(judge(&fail_case(), &by_close).0, Verdict::Ok);
        // It ignored the bad frame: the harness had to close.
        let ignored = Outcome {
            closed_by_me: true,
            sent_close: true,
            remote_close: Some(Some(1000)),
            ..Outcome::default()
        };
        let (verdict, _, observed) = judge(&fail_case(), &ignored);
        assert_eq!(verdict, Verdict::Failed);
        assert!(observed.contains("the harness closed first"), "{observed}");
        // It echoed what it should have refused.
        let echoed = Outcome {
            received: vec![Event::Message {
                text: true,
                payload: b"x".to_vec(),
            }],
            ..by_drop
        };
        assert_eq!(judge(&fail_case(), &echoed).0, Verdict::Failed);
    }

    #[test]
    fn a_declined_extension_is_unimplemented_and_a_bad_reply_fails() {
        let declined = Outcome {
            declined: true,
            ..clean_echo()
        };
        let (verdict, _, observed) = judge(&echo_case(), &declined);
        assert_eq!(verdict, Verdict::Unimplemented);
        assert!(observed.contains("accepted no extension"), "{observed}");
        let bad = Outcome {
            negotiation_error: Some("the reply repeats the parameter x".into()),
            ended: Some("the harness failed the connection".into()),
            ..Outcome::default()
        };
        let (verdict, _, observed) = judge(&echo_case(), &bad);
        assert_eq!(verdict, Verdict::Failed);
        assert!(
            observed.contains("breaks RFC 7692: the reply repeats the parameter x"),
            "{observed}"
        );
    }

    #[test]
    fn non_strict_events_informational_and_timeouts() {
        let mut case = fail_case();
        case.ok = vec![Expected::Timeout("A")];
        case.non_strict = Some(vec![Expected::Timeout("A"), Expected::Timeout("B")]);
        let late = Outcome {
            received: vec![Event::Timeout("A"), Event::Timeout("B")],
            ..Outcome::default()
        };
        assert_eq!(judge(&case, &late).0, Verdict::NonStrict);
        let timed_out = Outcome {
            timed_out: true,
            ..Outcome::default()
        };
        assert_eq!(judge(&case, &timed_out).0, Verdict::Failed);
        case.informational = true;
        assert_eq!(judge(&case, &timed_out).0, Verdict::Informational);
        let no_upgrade = Outcome {
            handshake_error: Some("the server answered 404 instead of 101".into()),
            ..Outcome::default()
        };
        let (verdict, _, observed) = judge(&fail_case(), &no_upgrade);
        assert_eq!(verdict, Verdict::Failed);
        assert!(observed.contains("404"), "{observed}");
    }
}
