//! WebSocket replay: the upgrade, then each transcript step in order.
//!
//! Every step has an absolute deadline (the timeout, or the step's `within_ms` if longer) that a
//! server flooding pings cannot starve: the wait reads the clock between frames. A message or
//! frame past the driver's limit is refused from what has been read (`message too large`). The
//! end of the connection is recorded as the server made it: a close frame with the code it sent
//! (none, or even the reserved 1005), or the end of the TCP stream without one; a transport
//! failure (a reset, in the middle of a frame or not) interrupts the replay, as it does for REST.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use harness_fixture::capture::{self, Bindings};
use harness_fixture::model::{WsConnect, WsFixture, WsMatch, WsStep};
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::upgrade::{Socket, Upgrade, upgrade};
use super::{Driver, StepError, fixture_headers, micros, step_wait};
use crate::check::ws_sets;
use crate::results::Interrupted;
use crate::results::transcript::{Direction, Frame, WsRecord, WsStepEnd, WsTranscript};
use crate::wire::Deadline;
use crate::wire::request::encode_ws_message;

/// The most messages a step of format 1.1 reads past those it expects (none for
/// `expect_none`, one for `expect_any_of`) before the replay stops: a server that floods a step
/// with messages it does not expect cannot grow the transcript without end.
pub(super) const MAX_EXTRA_MESSAGES: usize = 100;

/// How long the end of a conversation (the closing handshake) may take.
const CLOSING: Duration = Duration::from_millis(500);

pub(super) async fn replay(driver: &Driver, fixture: &WsFixture) -> WsTranscript {
    let mut transcript = WsTranscript {
        handshake: None,
        steps: Vec::new(),
        step_ends: Vec::new(),
        captures: Bindings::new(),
        interrupted: None,
    };
    let upgraded = match connect(driver, &fixture.connect).await {
        Ok(upgraded) => upgraded,
        Err(reason) => return interrupt(transcript, "/connect", reason),
    };
    transcript.handshake = Some(upgraded.handshake);
    let Some(mut socket) = upgraded.socket else {
        return transcript;
    };
    let played = play(driver, fixture, &mut socket, &mut transcript).await;
    match played {
        Ok(ended) => {
            end_conversation(socket, ended).await;
            transcript
        }
        Err((index, reason)) => interrupt(transcript, &format!("/transcript/{index}"), reason),
    }
}

/// Sends the upgrade request of `connect` (to the `ws` or `wss` URL of its path) and reads the
/// reply.
async fn connect(driver: &Driver, connect: &WsConnect) -> Result<Upgrade, StepError> {
    let mut url = driver
        .url(&connect.path, &connect.query.pairs())
        .map_err(StepError::BadUrl)?;
    let scheme = if crate::wire::transport::is_tls(url.scheme()) {
        "wss"
    } else {
        "ws"
    };
    let _ = url.set_scheme(scheme);
    let headers = fixture_headers(&connect.headers);
    upgrade(
        &url,
        &headers,
        &connect.subprotocols,
        &driver.tls,
        driver.timeout,
        driver.max_event_size,
    )
    .await
}

/// Performs the fixture's steps in order on the open `socket`, recording each frame into the
/// `transcript`, until the server ends the connection; returns whether it did. The error says
/// at which step the replay stopped, and why.
///
/// A step of format 1.1 that reads a set (`expect_unordered`...) records every frame it read
/// (none, for a silent `expect_none`) and its end in `step_ends`; messages skipped by `ignore`
/// are counted there, not recorded.
async fn play(
    driver: &Driver,
    fixture: &WsFixture,
    socket: &mut Socket,
    transcript: &mut WsTranscript,
) -> Result<bool, (usize, StepError)> {
    let opened = std::time::Instant::now();
    let mut ended = false;
    for (index, written) in fixture.transcript.iter().enumerate() {
        if matches!(written, WsStep::ExpectHandshake(_)) {
            continue;
        }
        if ended {
            break;
        }
        // Captured values go into what is sent, and `<<same_as:NAME>>` expects them.
        let step = &bound_step(written, &transcript.captures);
        let wait = match step {
            // The silence lasts exactly its window, longer or shorter than the timeout.
            WsStep::ExpectNone(none) => Duration::from_millis(none.within_ms),
            _ => step_wait(driver.timeout, step.within_ms()),
        };
        let mut reader = Reader {
            socket: &mut *socket,
            deadline: Deadline::after(wait),
            wait,
            ignore: [&fixture.ignore, step.ignore()],
            ignored: 0,
        };
        let frames = if step.is_multiplexed() {
            let frames = gather(&mut reader, step, opened).await;
            frames.map_err(|reason| (index, reason))?
        } else {
            let performed = perform(&mut reader, step).await;
            let (direction, frame) = performed.map_err(|reason| (index, reason))?;
            vec![(direction, frame, micros(opened))]
        };
        let ignored = reader.ignored;
        let received: Vec<&Frame> = frames
            .iter()
            .filter(|(direction, _, _)| *direction == Direction::Received)
            .map(|(_, frame, _)| frame)
            .collect();
        ws_sets::bind_step(step, &received, &mut transcript.captures);
        for (direction, frame, at_us) in frames {
            ended |= matches!(frame, Frame::Ended)
                || (direction == Direction::Received && matches!(frame, Frame::Close { .. }));
            transcript.steps.push(WsRecord {
                step: index,
                direction,
                frame,
                at_us,
            });
        }
        if step.is_multiplexed() || ignored > 0 {
            transcript.step_ends.push(WsStepEnd {
                step: index,
                ignored,
                at_us: micros(opened),
            });
        }
    }
    Ok(ended)
}

/// The step as it is performed once `bindings` are known: a message sent with its `{{NAME}}`
/// substituted, matchers with `<<same_as:NAME>>` resolved.
fn bound_step(step: &WsStep, bindings: &Bindings) -> WsStep {
    if bindings.is_empty() {
        return step.clone();
    }
    match step {
        WsStep::Send(message) => WsStep::Send(capture::substitute_message(message, bindings)),
        other => capture::resolve_step(other, bindings),
    }
}

/// What one step reads with: the socket, the step's deadline (`wait` is how long that was, for
/// the message), the `ignore` lists that apply (the transcript's, the step's) and how many
/// messages they skipped.
struct Reader<'a> {
    socket: &'a mut Socket,
    deadline: Deadline,
    wait: Duration,
    ignore: [&'a [WsMatch]; 2],
    ignored: u64,
}

/// Reads the frames of a step of format 1.1 until its set is complete, the connection ends or
/// the deadline passes (which ends the step: the check says what was missing); each frame with
/// when it came.
async fn gather(
    reader: &mut Reader<'_>,
    step: &WsStep,
    opened: std::time::Instant,
) -> Result<Vec<(Direction, Frame, u64)>, StepError> {
    let mut got: Vec<(Direction, Frame, u64)> = Vec::new();
    // Counted as they come: a long subscription is not matched again and again.
    let mut counted = 0;
    let expected = match step {
        WsStep::ExpectUnordered(set) => set.messages.len(),
        WsStep::ExpectAnyOf(_) => 1,
        WsStep::ExpectCount(count) => count.count,
        _ => 0,
    };
    loop {
        if got.len() > expected + MAX_EXTRA_MESSAGES {
            return Err(StepError::TooManyMessages);
        }
        let complete = match step {
            WsStep::ExpectCount(count) => counted >= count.count,
            _ => {
                let frames: Vec<&Frame> = got.iter().map(|(_, f, _)| f).collect();
                ws_sets::set_complete(step, &frames)
            }
        };
        if complete {
            return Ok(got);
        }
        let frame = match receive(reader, false).await {
            Ok((_, frame)) => frame,
            Err(StepError::NothingReceived(_)) => return Ok(got),
            Err(error) => return Err(error),
        };
        if let WsStep::ExpectCount(count) = step
            && ws_sets::message_matches(&count.message, &frame)
        {
            counted += 1;
        }
        let end = matches!(frame, Frame::Close { .. } | Frame::Ended);
        got.push((Direction::Received, frame, micros(opened)));
        if end {
            return Ok(got);
        }
    }
}

/// Performs one step (not `expect_handshake`, which the upgrade answered, nor a step of format
/// 1.1, which [`gather`] reads) before the reader's deadline.
async fn perform(reader: &mut Reader<'_>, step: &WsStep) -> Result<(Direction, Frame), StepError> {
    let (socket, deadline, wait) = (&mut *reader.socket, reader.deadline, reader.wait);
    match step {
        WsStep::Send(message) => match encode_ws_message(message) {
            Ok(message) => send(socket, message, deadline, wait).await,
            Err(error) => Err(error.into()),
        },
        WsStep::Ping(payload) => {
            let ping = Message::Ping(payload.clone().into_bytes().into());
            send(socket, ping, deadline, wait).await
        }
        WsStep::Close(close) => {
            let frame = CloseFrame {
                code: CloseCode::from(close.code.unwrap_or(1000)),
                reason: close.reason.clone().into(),
            };
            send(socket, Message::Close(Some(frame)), deadline, wait).await
        }
        WsStep::Expect(_) | WsStep::ExpectClose(_) => receive(reader, false).await,
        WsStep::ExpectPong(_) => receive(reader, true).await,
        WsStep::ExpectHandshake(_)
        | WsStep::ExpectUnordered(_)
        | WsStep::ExpectAnyOf(_)
        | WsStep::ExpectCount(_)
        | WsStep::ExpectNone(_) => unreachable!("play skips these steps or gathers them"),
    }
}

/// Ends the conversation within [`CLOSING`]: when the server `ended` it, lets the library
/// answer its close and see the connection end; else closes it.
async fn end_conversation(mut socket: Socket, ended: bool) {
    let closing = Deadline::after(CLOSING);
    if ended {
        while let Ok(Some(_)) = closing.run(socket.next()).await {}
    } else {
        let _ = closing.run(socket.close(None)).await;
    }
}

fn interrupt(mut transcript: WsTranscript, at: &str, error: StepError) -> WsTranscript {
    transcript.interrupted = Some(Interrupted {
        at: at.to_string(),
        reason: error.to_string(),
    });
    transcript
}

/// Sends `message` before `deadline` (a server that does not read cannot hold the step).
async fn send(
    socket: &mut Socket,
    message: Message,
    deadline: Deadline,
    wait: Duration,
) -> Result<(Direction, Frame), StepError> {
    let frame = frame_of(&message);
    match deadline.run(socket.send(message)).await {
        Err(_) => Err(StepError::SendTimeout(wait)),
        Ok(Ok(())) => Ok((Direction::Sent, frame)),
        // The server closed before this step: what it did is recorded as the connection's end.
        Ok(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => {
            Ok((Direction::Received, Frame::Ended))
        }
        Ok(Err(WsError::Io(e))) => Err(StepError::SendTransport(e)),
        Ok(Err(e)) => Err(StepError::Send(Box::new(e))),
    }
}

/// Waits, until the reader's deadline, for the next frame that matters: data (not skipped by
/// `ignore`, which counts it), close or the end; with `pong`, pongs too. Pings are answered by
/// the library and skipped, however many come, and so are pongs when not expected.
async fn receive(reader: &mut Reader<'_>, pong: bool) -> Result<(Direction, Frame), StepError> {
    let (socket, deadline, wait) = (&mut *reader.socket, reader.deadline, reader.wait);
    loop {
        let next = deadline
            .run(socket.next())
            .await
            .map_err(|_| StepError::NothingReceived(wait))?;
        let frame = match next {
            None => Frame::Ended,
            Some(Ok(Message::Close(close))) => close_as_sent(socket, close),
            Some(Ok(message)) => frame_of(&message),
            Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => Frame::Ended,
            // The TCP stream ended without a close frame.
            Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => {
                Frame::Ended
            }
            // Over TLS the same end reads as a stream cut short (no close_notify): 1006 too.
            Some(Err(WsError::Io(e))) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                Frame::Ended
            }
            Some(Err(WsError::Io(e))) => return Err(StepError::Transport(e)),
            Some(Err(WsError::Capacity(CapacityError::MessageTooLong { size, max_size }))) => {
                return Err(StepError::MessageTooLarge { size, max_size });
            }
            Some(Err(e)) => return Err(StepError::Garbage(Box::new(e))),
        };
        match frame {
            Frame::Ping(_) => continue,
            Frame::Pong(_) if !pong => continue,
            frame if ws_sets::is_ignored(&reader.ignore, &frame) => reader.ignored += 1,
            frame => return Ok((Direction::Received, frame)),
        }
    }
}

/// The server's close frame as it sent it (tungstenite hands on its own `1002` reply to a code
/// that may not be sent, such as 1005), else as tungstenite read it.
fn close_as_sent(socket: &Socket, close: Option<CloseFrame>) -> Frame {
    let (code, reason) = socket.get_ref().close().unwrap_or_else(|| match close {
        Some(frame) => (Some(u16::from(frame.code)), frame.reason.to_string()),
        None => (None, String::new()),
    });
    Frame::Close { code, reason }
}

/// A message as recorded.
fn frame_of(message: &Message) -> Frame {
    match message {
        Message::Text(text) => Frame::Text(text.to_string()),
        Message::Binary(bytes) => Frame::Binary(bytes.to_vec()),
        Message::Ping(bytes) => Frame::Ping(String::from_utf8_lossy(bytes).into_owned()),
        Message::Pong(bytes) => Frame::Pong(String::from_utf8_lossy(bytes).into_owned()),
        Message::Close(Some(frame)) => Frame::Close {
            code: Some(u16::from(frame.code)),
            reason: frame.reason.to_string(),
        },
        Message::Close(None) => Frame::Close {
            code: None,
            reason: String::new(),
        },
        Message::Frame(_) => Frame::Ended,
    }
}
