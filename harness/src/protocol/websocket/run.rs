//! Runs one case on its own connection: connect, upgrade, play the steps, wait for the server
//! (Autobahn's `killAfter`/`closeAfter`), close, judge. A server that hangs, resets or dies
//! fails the case; the next case starts afresh.

use std::time::Duration;

use tokio::time::Instant;

use crate::results::protocol::{CaseResult, TraceDirection};
use crate::wire::tls::TlsSettings;
use crate::wire::transport::connect;

use super::deflate::{Codec, negotiate, offer_header};
use super::frame::{self, Head};
use super::handshake::upgrade;
use super::model::{Case, DeflateRun, Event, Finish, Outcome, Step};
use super::session::Session;
use super::trace::{SharedTrace, Trace};
use super::verdict::judge;

/// Where the echo endpoint is.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Host to connect to.
    pub host: String,
    /// Port.
    pub port: u16,
    /// The `Host` header's value.
    pub authority: String,
    /// Path and query.
    pub path: String,
    /// TLS settings for `https://`/`wss://`.
    pub tls: Option<TlsSettings>,
}

/// The time rules of a run.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// The `--case-timeout`.
    pub case_timeout: Duration,
    /// How long the harness waits for the server to act (Autobahn's one second; a quarter of
    /// the case limit when that is shorter).
    pub settle: Duration,
}

impl Timing {
    /// The rules for `--case-timeout`.
    pub fn new(case_timeout: Duration) -> Timing {
        Timing {
            case_timeout,
            settle: Duration::from_secs(1).min(case_timeout / 4),
        }
    }

    /// The limit of `case`: the case timeout, and one more second per 4 MiB it moves.
    pub fn limit(&self, case: &Case) -> Duration {
        let per_4mib = Duration::from_secs(1).mul_f64(case.volume as f64 / (4 << 20) as f64);
        self.case_timeout + per_4mib
    }
}

/// Runs `case` against `endpoint`.
pub async fn run_case(case: &Case, endpoint: &Endpoint, timing: Timing) -> CaseResult {
    let started = std::time::Instant::now();
    let trace = Trace::shared();
    let limit = timing.limit(case);
    let deadline = Instant::now() + limit;
    // The session bounds every wait by the deadline; this is the backstop.
    let outcome = tokio::time::timeout(
        limit + timing.settle * 2,
        drive(case, endpoint, timing, &trace, deadline),
    )
    .await
    .unwrap_or_else(|_| Outcome {
        timed_out: true,
        ..Outcome::default()
    });
    if outcome.timed_out {
        Trace::record(&trace, TraceDirection::Event, || {
            format!("the case ran past its limit of {limit:?}")
        });
    }
    let (verdict, expected, observed) = judge(case, &outcome);
    let trace = if verdict == crate::results::protocol::Verdict::Ok {
        Vec::new()
    } else {
        Trace::take(&trace)
    };
    CaseResult {
        id: case.id.clone(),
        category: super::catalogue::category_name(&case.id).to_string(),
        description: case.description.clone(),
        verdict,
        expected,
        observed,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        trace,
        expected_failure: false,
    }
}

async fn drive(
    case: &Case,
    endpoint: &Endpoint,
    timing: Timing,
    trace: &SharedTrace,
    deadline: Instant,
) -> Outcome {
    let failed = |words: String| Outcome {
        handshake_error: Some(words),
        ..Outcome::default()
    };
    let offer = (!case.deflate.is_empty()).then(|| offer_header(&case.deflate));
    let opened = tokio::time::timeout_at(deadline, async {
        let stream = connect(&endpoint.host, endpoint.port, endpoint.tls.as_ref())
            .await
            .map_err(|e| e.to_string())?;
        upgrade(
            stream,
            &endpoint.authority,
            &endpoint.path,
            offer.as_deref(),
        )
        .await
        .map_err(|e| e.to_string())
    })
    .await;
    let upgraded = match opened {
        Ok(Ok(upgraded)) => upgraded,
        Ok(Err(words)) => return failed(words),
        Err(_) => return failed(format!("no handshake within {:?}", deadline.elapsed())),
    };
    Trace::record(trace, TraceDirection::Event, || {
        match &upgraded.extensions {
            Some(agreed) => format!("connection upgraded (101), extensions: {agreed}"),
            None => "connection upgraded (101)".into(),
        }
    });
    let agreed = match negotiate(&case.deflate, upgraded.extensions.as_deref()) {
        Ok(agreed) => agreed,
        Err(reason) => return fail_negotiation(upgraded.stream, reason, trace, timing).await,
    };
    let mut session = Session::start(
        upgraded.stream,
        upgraded.leftover,
        trace.clone(),
        deadline,
        timing.settle,
    );
    let declined = !case.deflate.is_empty() && agreed.is_none();
    if let Some(agreed) = agreed {
        session.use_deflate(Codec::new(agreed), largest_message(case));
    }
    if declined {
        // A server that accepts no extension: nothing to test, the harness closes (as Autobahn).
        session.outcome.declined = true;
        session.send_close(1000).await;
        session.pump(Instant::now() + timing.settle, case).await;
        return session.finish().await;
    }
    for step in &case.steps {
        if !play(&mut session, step, case).await {
            break;
        }
        session.drain(case).await;
    }
    wait_and_close(&mut session, case).await;
    session.finish().await
}

/// The extension reply breaks the rules: the client fails the connection (RFC 6455 9.1,
/// RFC 7692 5).
async fn fail_negotiation(
    mut stream: crate::wire::transport::Stream,
    reason: String,
    trace: &SharedTrace,
    timing: Timing,
) -> Outcome {
    Trace::record(trace, TraceDirection::Event, || {
        format!("the extension reply breaks the rules: {reason}; the harness fails the connection")
    });
    let _ = tokio::time::timeout(timing.settle, async {
        use tokio::io::AsyncWriteExt;
        stream.shutdown().await
    })
    .await;
    Outcome {
        negotiation_error: Some(reason),
        ended: Some("the harness failed the connection".into()),
        ..Outcome::default()
    }
}

/// Plays one step; `false` when the case cannot go on (the connection ended).
async fn play(session: &mut Session, step: &Step, case: &Case) -> bool {
    match step {
        Step::Frame {
            head,
            payload,
            chop,
        } => session.send_frame(head, &payload.bytes(), *chop).await,
        Step::Message {
            text,
            payload,
            fragment,
        } => send_message(session, *text, &payload.bytes(), *fragment).await,
        Step::Batch(frames) => {
            let owned: Vec<(Head, std::borrow::Cow<'_, [u8]>)> = frames
                .iter()
                .map(|(head, payload)| (head.clone(), payload.bytes()))
                .collect();
            let frames: Vec<(Head, &[u8])> =
                owned.iter().map(|(h, p)| (h.clone(), &p[..])).collect();
            session.send_batch(&frames).await
        }
        Step::Raw(bytes) => {
            Trace::record(&session.trace(), TraceDirection::Sent, || {
                format!("raw bytes {}", frame::preview(bytes))
            });
            session.write(bytes, None).await
        }
        Step::Wait | Step::Pause(_) => {
            let until = Instant::now() + session.settle();
            session.pump(until, case).await;
            if session.over() || session.outcome.remote_close.is_some() {
                return false;
            }
            if let Step::Pause(label) = step {
                session.push_event(Event::Timeout(label), case).await;
            }
            true
        }
        Step::RoundTrips { count, len, binary } => {
            round_trips(session, case, *count, *len, *binary).await
        }
        Step::DeflateRoundTrips(run) => deflate_round_trips(session, case, run).await,
    }
}

/// The largest message a case sends: what the server's compressed echoes may inflate to.
fn largest_message(case: &Case) -> usize {
    case.steps
        .iter()
        .map(|step| match step {
            Step::DeflateRoundTrips(run) => run.len,
            Step::Message { payload, .. } | Step::Frame { payload, .. } => payload.len(),
            _ => 0,
        })
        .max()
        .unwrap_or(0)
}

/// Sends `payload` as one message in frames of `fragment` bytes, written at once.
async fn send_message(
    session: &mut Session,
    text: bool,
    payload: &[u8],
    fragment: Option<usize>,
) -> bool {
    let frames = frame::message_frames(text, payload, fragment, 0);
    session.send_batch(&frames).await
}

/// Autobahn 9.7/9.8: `count` echoes one after the other; one message event when all were right.
async fn round_trips(
    session: &mut Session,
    case: &Case,
    count: usize,
    len: usize,
    binary: bool,
) -> bool {
    let payload = vec![if binary { 0xfe } else { b'*' }; len];
    let opcode = if binary { frame::BINARY } else { frame::TEXT };
    for _ in 0..count {
        if !session.send_frame(&Head::new(opcode), &payload, None).await {
            return false;
        }
        match session.next_message(case).await {
            Some(Event::Message { text, payload: p }) if text != binary && p == payload => {}
            Some(other) => {
                session.push_event(other, case).await;
                return false;
            }
            None => return false,
        }
    }
    session.push_event(Event::RoundTrips(count), case).await;
    true
}

/// Autobahn 12/13: `run.count` compressed messages one after the other, each checked when its
/// echo comes back (type, length, bytes); one message event when all were right.
async fn deflate_round_trips(session: &mut Session, case: &Case, run: &DeflateRun) -> bool {
    let mut at = 0;
    for index in 1..=run.count {
        let (payload, next) = run.data.slice(at, run.len);
        at = next;
        if !session
            .send_compressed(!run.binary, &payload, run.fragment)
            .await
        {
            return false;
        }
        let fresh = session
            .agreed()
            .is_some_and(|agreed| agreed.server_no_context_takeover);
        let wrong = match session.next_message(case).await {
            Some(Event::Message {
                text,
                payload: echo,
            }) => echo_differs(text == run.binary, &payload, &echo).map(|words| {
                let hint = if fresh {
                    " (server_no_context_takeover was agreed: a server that keeps its context \
                     anyway refers to bytes a fresh inflater does not have)"
                } else {
                    ""
                };
                Event::Unexpected(format!("echo {index} of {}: {words}{hint}", run.count))
            }),
            Some(other) => Some(other),
            None => return false,
        };
        if let Some(event) = wrong {
            session.push_event(event, case).await;
            return false;
        }
    }
    session.push_event(Event::RoundTrips(run.count), case).await;
    true
}

/// How an echo differs from the message sent, in Autobahn's order of checks.
fn echo_differs(wrong_type: bool, sent: &[u8], echo: &[u8]) -> Option<String> {
    if wrong_type {
        return Some("the echo's type (text/binary) differs from the message sent".into());
    }
    if echo.len() != sent.len() {
        return Some(format!("{} bytes echoed, {} sent", echo.len(), sent.len()));
    }
    let first = sent.iter().zip(echo).position(|(a, b)| a != b)?;
    Some(format!(
        "the echo differs from the message sent from byte {first} on"
    ))
}

/// After the steps: waits for the server, then closes if it did not.
async fn wait_and_close(session: &mut Session, case: &Case) {
    let settle = session.settle();
    let until = match case.finish {
        Finish::Settle => Instant::now() + settle,
        Finish::Limit => session
            .deadline()
            .checked_sub(settle * 2)
            .unwrap_or_else(Instant::now),
    };
    session.pump(until, case).await;
    if session.over() {
        return;
    }
    if !session.outcome.sent_close {
        let code = if case.close.closed_by_me {
            case.close.codes.first().copied().unwrap_or(1000)
        } else {
            1000
        };
        session.send_close(code).await;
    }
    session.pump(Instant::now() + settle, case).await;
}
