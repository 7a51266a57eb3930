//! A listener that hands axum's serve loop connections whose TLS handshake is done.
//!
//! Handshakes run on their own tasks (each at most [`HANDSHAKE_TIMEOUT`]), so a slow or silent
//! client does not hold up the accepting of others. The accept task ends when the listener is
//! dropped (axum drops it when a graceful shutdown begins).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::serve::Listener;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client has to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How many handshaken connections may wait for the serve loop.
const QUEUE: usize = 64;

type Handshaken = (TlsStream<TcpStream>, SocketAddr);

/// TLS connections accepted on a TCP listener.
pub(crate) struct TlsListener {
    addr: SocketAddr,
    incoming: mpsc::Receiver<Handshaken>,
    accept_task: JoinHandle<()>,
}

impl TlsListener {
    /// Starts accepting on `tcp` (`addr` is its local address).
    pub(crate) fn new(tcp: TcpListener, addr: SocketAddr, acceptor: TlsAcceptor) -> TlsListener {
        let (sender, incoming) = mpsc::channel(QUEUE);
        let accept_task = tokio::spawn(accept_loop(tcp, acceptor, sender));
        TlsListener {
            addr,
            incoming,
            accept_task,
        }
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

async fn accept_loop(
    mut tcp: TcpListener,
    acceptor: TlsAcceptor,
    sender: mpsc::Sender<Handshaken>,
) {
    loop {
        let (stream, remote) = tokio::select! {
            accepted = Listener::accept(&mut tcp) => accepted,
            () = sender.closed() => return,
        };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let sender = sender.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = sender.send((tls, remote)).await;
                }
                Ok(Err(error)) => tracing::debug!(%remote, %error, "TLS handshake failed"),
                Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
            }
        });
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.incoming.recv().await {
            Some(connection) => connection,
            // The accept task is gone (it only ends when this listener is dropped).
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.addr)
    }
}
