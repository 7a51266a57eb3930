//! Whether a target speaks HTTP/2, asked once before `run --http2` or `bench --http2` starts:
//! over TLS, the protocol the server picks by ALPN when offered `h2` and `http/1.1`; over plain
//! TCP, a PING answered after the HTTP/2 connection preface (h2c with prior knowledge). A server
//! that does not agree is told in words ([`Http2Refused`]); the command makes it exit 3.

use std::time::Duration;

use url::Url;

use super::tls::{ALPN_H2, ALPN_HTTP1, TlsSettings, alpn_name};
use super::transport::{self, ConnectError, is_tls};

/// Why a target is not spoken to over HTTP/2.
#[derive(Debug, thiserror::Error)]
pub enum Http2Refused {
    /// The URL has no host or port.
    #[error("no host or port in the URL")]
    NoAddress,
    /// No connection (TCP or TLS).
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The TLS server picked another protocol (or none).
    #[error("the server did not agree to HTTP/2 (ALPN offered h2, got {got})")]
    Alpn {
        /// What it picked: `http/1.1`, `none`.
        got: String,
    },
    /// The plain server did not answer the HTTP/2 preface and a PING.
    #[error("the server does not speak HTTP/2 with prior knowledge (h2c): {reason}")]
    NoH2c {
        /// What happened instead.
        reason: String,
    },
    /// No answer in time.
    #[error("no answer to HTTP/2 within {0:?}")]
    Timeout(Duration),
}

/// Checks within `timeout` that the server at `url` speaks HTTP/2: by ALPN for `https://`
/// (with `tls`), with prior knowledge for `http://`.
pub async fn check_http2(
    url: &Url,
    tls: &TlsSettings,
    timeout: Duration,
) -> Result<(), Http2Refused> {
    let host = url.host_str().ok_or(Http2Refused::NoAddress)?;
    let port = url.port_or_known_default().ok_or(Http2Refused::NoAddress)?;
    let asking = async {
        if is_tls(url.scheme()) {
            // Both offered, so that the server says which it prefers rather than failing the
            // handshake when it has no h2.
            let offer = tls.with_alpn(&[ALPN_H2, ALPN_HTTP1]);
            let stream = transport::connect(host, port, Some(&offer)).await?;
            match stream.alpn_protocol() {
                Some(ALPN_H2) => Ok(()),
                other => Err(Http2Refused::Alpn {
                    got: alpn_name(other),
                }),
            }
        } else {
            let stream = transport::connect(host, port, None).await?;
            ping(stream).await.map_err(|e| Http2Refused::NoH2c {
                reason: h2_words(&e),
            })
        }
    };
    tokio::time::timeout(timeout, asking)
        .await
        .unwrap_or(Err(Http2Refused::Timeout(timeout)))
}

/// Sends the preface and a PING over `stream`, and waits for the PONG.
async fn ping(stream: transport::Stream) -> Result<(), h2::Error> {
    let (_requests, mut connection) = h2::client::handshake(stream).await?;
    let Some(mut ping_pong) = connection.ping_pong() else {
        return Ok(());
    };
    let pong = ping_pong.ping(h2::Ping::opaque());
    tokio::pin!(pong);
    tokio::select! {
        answered = &mut pong => answered.map(drop),
        ended = &mut connection => match ended {
            // The connection ended without error before the PONG: no HTTP/2 server.
            Ok(()) => pong.await.map(drop),
            Err(e) => Err(e),
        },
    }
}

/// An HTTP/2 error in words: what a server that does not speak HTTP/2 makes of the preface.
pub fn h2_words(error: &h2::Error) -> String {
    if let Some(reason) = error.reason() {
        if error.is_go_away() {
            return format!("GOAWAY {reason:?}");
        }
        if error.is_reset() {
            return format!("RST_STREAM {reason:?}");
        }
        return format!("protocol error {reason:?}");
    }
    if let Some(io) = error.get_io() {
        return match io.kind() {
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset => {
                "the server closed the connection".to_string()
            }
            _ => io.to_string(),
        };
    }
    error.to_string()
}
