//! WebSocket connections on the load path: the handshake over [`Endpoint::connect`], small
//! buffers (10,000 sockets must fit), data messages read with control frames skipped, sends
//! bounded by a deadline, and what a tungstenite error means ([`classify`]).

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::endpoint::Endpoint;
use crate::load::recorder::ErrorKind;
use crate::wire::transport::Stream;
use crate::wire::{DEFAULT_MAX_EVENT_SIZE, Deadline};

/// An open WebSocket connection.
pub(crate) type Socket = WebSocketStream<Stream>;

/// Opens a WebSocket connection to `endpoint` with `request` (its URL and headers): a refused
/// upgrade (status `got`) is the error `refused` makes of it.
pub(crate) async fn connect(
    endpoint: &Endpoint,
    request: Request,
    config: WebSocketConfig,
    refused: impl Fn(u16) -> ErrorKind,
) -> Result<Socket, ErrorKind> {
    let stream = endpoint.connect().await?;
    match tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await {
        Ok((socket, _)) => Ok(socket),
        Err(WsError::Http(response)) => Err(refused(response.status().as_u16())),
        Err(e) => Err(classify(e)),
    }
}

/// The next data message; control frames are skipped (the library answers pings), giving the
/// scheduler a turn whenever the task's budget is spent. Callers bound it with a timeout.
pub(crate) async fn next_data(socket: &mut Socket) -> Result<Message, ErrorKind> {
    loop {
        tokio::task::coop::consume_budget().await;
        if let Some(outcome) = data_or_skip(socket.next().await) {
            return outcome;
        }
    }
}

/// The next data message before `deadline` (a timeout error after it), however many control
/// frames the server sends in between.
pub(crate) async fn next_data_until(
    socket: &mut Socket,
    deadline: Deadline,
) -> Result<Message, ErrorKind> {
    loop {
        let next = deadline
            .run(socket.next())
            .await
            .map_err(|_| ErrorKind::Timeout)?;
        if let Some(outcome) = data_or_skip(next) {
            return outcome;
        }
    }
}

/// What the next item of a socket means for a reader of data messages: `None` to skip it (a
/// control frame).
fn data_or_skip(next: Option<Result<Message, WsError>>) -> Option<Result<Message, ErrorKind>> {
    match next {
        None | Some(Ok(Message::Close(_))) => Some(Err(ErrorKind::Closed)),
        Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => Some(Ok(message)),
        Some(Ok(_)) => None,
        Some(Err(e)) => Some(Err(classify(e))),
    }
}

/// Sends `message` before `deadline` (a server that does not read cannot hold the sender).
pub(crate) async fn send_until(
    socket: &mut Socket,
    message: Message,
    deadline: Deadline,
) -> Result<(), ErrorKind> {
    match deadline.run(socket.send(message)).await {
        Ok(sent) => sent.map_err(classify),
        Err(_) => Err(ErrorKind::Timeout),
    }
}

/// The default configuration: messages and frames up to 16 MiB.
pub(crate) fn ws_config() -> WebSocketConfig {
    ws_config_with(DEFAULT_MAX_EVENT_SIZE)
}

/// Small socket buffers: tungstenite reads 128 KiB at a time by default, which 10,000
/// connections would turn into more than a gigabyte; the buffers still grow for larger messages,
/// up to `max_message_size` (a message, and a frame: a larger one is refused from its header).
pub(crate) fn ws_config_with(max_message_size: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_message_size(Some(max_message_size))
        .max_frame_size(Some(max_message_size))
}

/// Bytes read from a WebSocket at once: 4 KiB, for every connection has one (at 10,000
/// connections 8 KiB cost 19 KB of peak RSS a connection, 4 KiB 15.5 KB, and 7.9 KB once the
/// tasks' states were boxed: `scripts/scale-connections`); a larger message grows it. Less
/// would save nothing: tungstenite keeps its handshake's 4 KiB buffer as the read buffer.
const READ_BUFFER: usize = 4 * 1024;

/// What a WebSocket error means for a load run.
pub(crate) fn classify(error: WsError) -> ErrorKind {
    match error {
        WsError::ConnectionClosed | WsError::AlreadyClosed => ErrorKind::Closed,
        WsError::Io(e) => ErrorKind::of_io(&e),
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => ErrorKind::Closed,
        WsError::Protocol(_) | WsError::Utf8(_) => ErrorKind::Garbage,
        WsError::Capacity(CapacityError::MessageTooLong { .. }) => ErrorKind::TooLarge("message"),
        other => ErrorKind::Other(other.to_string()),
    }
}
