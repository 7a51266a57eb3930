//! The connection under a hand-written exchange (the WebSocket upgrade, the attach check): plain
//! TCP, or TLS over it for `https://` and `wss://` URLs. One seam, so that what later speaks
//! another protocol over a socket (HTTP/2, a frame-level client) opens it the same way.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::tls::{TlsSettings, tls_failure};

/// An open connection: plain, or TLS.
#[derive(Debug)]
pub enum Stream {
    /// `http://`, `ws://`.
    Plain(TcpStream),
    /// `https://`, `wss://`.
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// No TCP connection.
    #[error("cannot connect to {host}:{port}: {source}")]
    Tcp {
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// Why.
        source: io::Error,
    },
    /// The TLS handshake failed; `reason` says why in words.
    #[error("TLS with {host}:{port} failed: {reason}")]
    Tls {
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// Why (a certificate problem in words).
        reason: String,
    },
}

/// Whether a URL's scheme means TLS.
pub fn is_tls(scheme: &str) -> bool {
    matches!(scheme, "https" | "wss")
}

/// Opens a connection to `host:port` without Nagle's delay, with TLS when `tls` is given (the
/// certificate is checked against `host`).
pub async fn connect(
    host: &str,
    port: u16,
    tls: Option<&TlsSettings>,
) -> Result<Stream, ConnectError> {
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(|source| ConnectError::Tcp {
            host: host.to_string(),
            port,
            source,
        })?;
    tcp.set_nodelay(true).ok();
    match tls {
        None => Ok(Stream::Plain(tcp)),
        Some(tls) => secure(tcp, host, port, tls).await,
    }
}

/// Runs the TLS handshake over `tcp`, for the server called `host`.
pub async fn secure(
    tcp: TcpStream,
    host: &str,
    port: u16,
    tls: &TlsSettings,
) -> Result<Stream, ConnectError> {
    let failed = |reason: String| ConnectError::Tls {
        host: host.to_string(),
        port,
        reason,
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(bare.to_string())
        .map_err(|_| failed(format!("{host} is not a host name TLS can check")))?;
    tls.connector()
        .connect(name, tcp)
        .await
        .map(|stream| Stream::Tls(Box::new(stream)))
        .map_err(|e| failed(tls_failure(&e).unwrap_or_else(|| e.to_string())))
}

impl Stream {
    /// The protocol agreed by ALPN in the TLS handshake (`h2`, `http/1.1`); `None` for a plain
    /// connection or when none was agreed.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        match self {
            Stream::Plain(_) => None,
            Stream::Tls(tls) => tls.get_ref().1.alpn_protocol(),
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// A TLS server that refused the harness as a client after the handshake, in words.
#[derive(Debug, thiserror::Error)]
#[error("{words}")]
pub struct Refused {
    /// Why, as [`crate::wire::tls::tls_failure`] words it.
    pub words: String,
}

/// After a TLS handshake: closes the connection cleanly and reads to its end within `wait`, so
/// that a server refusing the client (TLS 1.3 says so only after the handshake: no or a bad
/// client certificate) is heard. `Err` is the refusal in words; silence until `wait` is consent.
pub async fn confirm_accepted(
    mut stream: Stream,
    wait: std::time::Duration,
) -> Result<(), Refused> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let heard = async {
        stream.shutdown().await?;
        let mut sink = [0u8; 1024];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<(), io::Error>(())
    };
    match tokio::time::timeout(wait, heard).await {
        Ok(Err(e)) => match tls_failure(&e) {
            Some(words) => Err(Refused { words }),
            None => Ok(()),
        },
        Ok(Ok(())) | Err(_) => Ok(()),
    }
}
