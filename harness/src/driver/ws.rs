//! WebSocket replay: the upgrade, then each transcript step in order.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::{SinkExt, StreamExt};
use harness_fixture::model::{WsFixture, WsMessage, WsStep};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::upgrade::upgrade;
use super::{Driver, fixture_headers, micros};
use crate::transcript::{Direction, Frame, Interrupted, WsRecord, WsTranscript};

type Socket = WebSocketStream<TcpStream>;

pub(super) async fn replay(driver: &Driver, fixture: &WsFixture) -> WsTranscript {
    let connect = &fixture.connect;
    let mut transcript = WsTranscript {
        handshake: None,
        steps: Vec::new(),
        interrupted: None,
    };
    let mut url = match driver.url(&connect.path, &connect.query.pairs()) {
        Ok(url) => url,
        Err(e) => return interrupt(transcript, "/connect", format!("bad URL: {e}")),
    };
    let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
    let _ = url.set_scheme(scheme);
    let headers = fixture_headers(&connect.headers);

    let upgraded = match upgrade(&url, &headers, &connect.subprotocols, driver.timeout).await {
        Ok(upgraded) => upgraded,
        Err(reason) => return interrupt(transcript, "/connect", reason),
    };
    transcript.handshake = Some(upgraded.handshake);
    let Some(mut socket) = upgraded.socket else {
        return transcript;
    };

    let opened = Instant::now();
    let mut ended = false;
    for (index, step) in fixture.transcript.iter().enumerate() {
        if matches!(step, WsStep::ExpectHandshake(_)) {
            continue;
        }
        if ended {
            break;
        }
        let outcome = match step {
            WsStep::Send(message) => match encode(message) {
                Ok(message) => send(&mut socket, message).await,
                Err(reason) => Err(reason),
            },
            WsStep::Ping(payload) => {
                send(
                    &mut socket,
                    Message::Ping(payload.clone().into_bytes().into()),
                )
                .await
            }
            WsStep::Close(close) => {
                let frame = CloseFrame {
                    code: CloseCode::from(close.code.unwrap_or(1000)),
                    reason: close.reason.clone().into(),
                };
                send(&mut socket, Message::Close(Some(frame))).await
            }
            WsStep::Expect(expect) => {
                let wait = expect.within_ms.map_or(driver.timeout, |ms| {
                    driver.timeout.max(Duration::from_millis(ms))
                });
                receive(&mut socket, wait, false).await
            }
            WsStep::ExpectPong(_) => receive(&mut socket, driver.timeout, true).await,
            WsStep::ExpectClose(expect) => {
                let wait = expect.within_ms.map_or(driver.timeout, |ms| {
                    driver.timeout.max(Duration::from_millis(ms))
                });
                receive(&mut socket, wait, false).await
            }
            WsStep::ExpectHandshake(_) => unreachable!("skipped above"),
        };
        match outcome {
            Ok((direction, frame)) => {
                ended |= matches!(frame, Frame::Ended)
                    || (direction == Direction::Received && matches!(frame, Frame::Close { .. }));
                transcript.steps.push(WsRecord {
                    step: index,
                    direction,
                    frame,
                    at_us: micros(opened),
                });
            }
            Err(reason) => return interrupt(transcript, &format!("/transcript/{index}"), reason),
        }
    }
    if ended {
        // Let the library answer the server's close and see the connection end.
        let _ = tokio::time::timeout(Duration::from_millis(500), async {
            while socket.next().await.is_some() {}
        })
        .await;
    } else {
        let _ = tokio::time::timeout(Duration::from_millis(500), socket.close(None)).await;
    }
    transcript
}

fn interrupt(mut transcript: WsTranscript, at: &str, reason: String) -> WsTranscript {
    transcript.interrupted = Some(Interrupted {
        at: at.to_string(),
        reason,
    });
    transcript
}

/// A fixture's message as a WebSocket message (JSON as compact text, base64 decoded).
pub(crate) fn encode(message: &WsMessage) -> Result<Message, String> {
    Ok(match message {
        WsMessage::Text(text) => Message::Text(text.clone().into()),
        WsMessage::Json(value) => Message::Text(value.to_string().into()),
        WsMessage::BinaryBase64(b64) => Message::Binary(
            BASE64
                .decode(b64)
                .map_err(|e| format!("binary_base64 is not base64: {e}"))?
                .into(),
        ),
    })
}

async fn send(socket: &mut Socket, message: Message) -> Result<(Direction, Frame), String> {
    let frame = frame_of(&message);
    match socket.send(message).await {
        Ok(()) => Ok((Direction::Sent, frame)),
        // The server went away before this step: what it did is recorded as the connection's end.
        Err(WsError::ConnectionClosed | WsError::AlreadyClosed | WsError::Io(_)) => {
            Ok((Direction::Received, Frame::Ended))
        }
        Err(e) => Err(format!("cannot send: {e}")),
    }
}

/// Waits for the next frame that matters: data, close or the end; with `pong`, pongs too.
/// Pings are answered by the library and skipped.
async fn receive(
    socket: &mut Socket,
    wait: Duration,
    pong: bool,
) -> Result<(Direction, Frame), String> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let next = tokio::time::timeout_at(deadline, socket.next())
            .await
            .map_err(|_| format!("nothing received within {wait:?}"))?;
        let frame = match next {
            None => Frame::Ended,
            Some(Ok(message)) => frame_of(&message),
            Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => Frame::Ended,
            Some(Err(WsError::Protocol(e)))
                if e.to_string().contains("without closing handshake") =>
            {
                Frame::Ended
            }
            Some(Err(WsError::Io(_))) => Frame::Ended,
            Some(Err(e)) => return Err(format!("garbage from the server: {e}")),
        };
        match frame {
            Frame::Ping(_) => continue,
            Frame::Pong(_) if !pong => continue,
            frame => return Ok((Direction::Received, frame)),
        }
    }
}

fn frame_of(message: &Message) -> Frame {
    match message {
        Message::Text(text) => Frame::Text(text.to_string()),
        Message::Binary(bytes) => Frame::Binary(bytes.to_vec()),
        Message::Ping(bytes) => Frame::Ping(String::from_utf8_lossy(bytes).into_owned()),
        Message::Pong(bytes) => Frame::Pong(String::from_utf8_lossy(bytes).into_owned()),
        Message::Close(Some(frame)) => Frame::Close {
            code: u16::from(frame.code),
            reason: frame.reason.to_string(),
        },
        Message::Close(None) => Frame::Close {
            code: 1005,
            reason: String::new(),
        },
        Message::Frame(_) => Frame::Ended,
    }
}
