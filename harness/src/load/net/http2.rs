//! HTTP/2 on the load path (`bench --http2`): a connection opened over [`Endpoint::connect`]
//! (h2c with prior knowledge, or TLS with ALPN `h2` checked), handed to the h2 crate with
//! h2load's flow-control windows, and what an h2 error means for a load run ([`classify`]):
//! a reset stream or a GOAWAY by its reason, an I/O error as on HTTP/1.1.

use std::pin::Pin;

use bytes::Bytes;
use h2::client::{Connection, SendRequest};

use super::endpoint::Endpoint;
use crate::load::recorder::ErrorKind;
use crate::wire::tls::{ALPN_H2, alpn_name};
use crate::wire::transport::Stream;

/// The flow-control windows, of each stream and of the connection: 2^30 - 1 bytes, as h2load's
/// defaults (`-w 30 -W 30`), so that a reply is never held back by the client's window.
const WINDOW: u32 = (1 << 30) - 1;

/// Streams opened before the server's SETTINGS say how many it takes: 100, the least RFC 9113
/// asks a server to allow (and nghttp2's choice). No request goes out before those SETTINGS
/// anyway ([`open`] waits for them), so this only matters to a server that never sends them.
const STREAMS_BEFORE_SETTINGS: usize = 100;

/// An open HTTP/2 connection: the handle requests are sent on, and the connection itself,
/// which its worker polls beside its requests (one task, no hand-off between tasks).
pub(crate) type Http2 = (SendRequest<Bytes>, Pin<Box<Connection<Stream, Bytes>>>);

/// Opens an HTTP/2 connection to `endpoint` (over TLS the server must agree to `h2` by ALPN)
/// and waits for the server's SETTINGS (its first frame, so they are in when a PING sent after
/// the preface is answered): requests then go out within the server's
/// SETTINGS_MAX_CONCURRENT_STREAMS, none refused for going past it.
pub(crate) async fn open(endpoint: &Endpoint) -> Result<Http2, ErrorKind> {
    let stream = endpoint.connect().await?;
    if endpoint.is_tls() && stream.alpn_protocol() != Some(ALPN_H2) {
        return Err(ErrorKind::Other(format!(
            "the server did not agree to HTTP/2 (ALPN offered h2, got {})",
            alpn_name(stream.alpn_protocol())
        )));
    }
    let (send, connection) = h2::client::Builder::new()
        .initial_window_size(WINDOW)
        .initial_connection_window_size(WINDOW)
        .enable_push(false)
        .initial_max_send_streams(STREAMS_BEFORE_SETTINGS)
        .handshake(stream)
        .await
        .map_err(|e| classify(&e))?;
    let mut connection = Box::pin(connection);
    if let Some(mut ping_pong) = connection.ping_pong() {
        tokio::select! {
            pong = ping_pong.ping(h2::Ping::opaque()) => {
                pong.map_err(|e| classify(&e))?;
            }
            ended = connection.as_mut() => {
                return Err(ended.err().map_or(ErrorKind::Closed, |e| classify(&e)));
            }
        }
    }
    Ok((send, connection))
}

/// What an h2 error means for a load run: `RST_STREAM REFUSED_STREAM`, `GOAWAY
/// ENHANCE_YOUR_CALM` (what the peer, or the client on a protocol error, said), an I/O error
/// as [`ErrorKind::of_io`] words it, anything else in h2's words.
pub(crate) fn classify(error: &h2::Error) -> ErrorKind {
    if let Some(io) = error.get_io() {
        return ErrorKind::of_io(io);
    }
    match error.reason() {
        Some(reason) if error.is_go_away() => ErrorKind::Other(format!("GOAWAY {reason:?}")),
        Some(reason) if error.is_reset() => ErrorKind::Other(format!("RST_STREAM {reason:?}")),
        Some(reason) => ErrorKind::Other(format!("HTTP/2 protocol error {reason:?}")),
        None => ErrorKind::Other(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_without_a_frame_is_a_protocol_error_by_its_name() {
        // Resets and GOAWAYs come from the wire only (tests/integration/load_http2.rs).
        let error = h2::Error::from(h2::Reason::FLOW_CONTROL_ERROR);
        assert_eq!(
            classify(&error).to_string(),
            "HTTP/2 protocol error FLOW_CONTROL_ERROR"
        );
    }
}
