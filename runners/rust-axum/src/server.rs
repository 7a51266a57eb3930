//! A running server: bind, serve (HTTP/1.1 and HTTP/2, plain or TLS), shut down gracefully.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::serve::{Listener, ListenerExt};
use harness_fixture::Fixture;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::build;
use crate::error::ServeError;
use crate::shutdown::Shutdown;
use crate::tls::TlsConfig;
use crate::tls_listener::TlsListener;

/// How long [`Server::shutdown`] waits for open connections before it aborts them.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// The reference server, serving on a background task.
///
/// Dropping it without [`Server::shutdown`] starts a graceful shutdown without waiting for it.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    is_tls: bool,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// Builds the app from `fixtures`, binds `addr` (port 0: any free port) and serves
    /// HTTP/1.1 and HTTP/2 with prior knowledge (h2c), told apart by the connection preface.
    pub async fn start(fixtures: &[Fixture], addr: SocketAddr) -> Result<Server, ServeError> {
        Server::start_with(fixtures, addr, None).await
    }

    /// Like [`Server::start`], over TLS: ALPN `h2` or `http/1.1`.
    pub async fn start_tls(
        fixtures: &[Fixture],
        addr: SocketAddr,
        tls: TlsConfig,
    ) -> Result<Server, ServeError> {
        Server::start_with(fixtures, addr, Some(tls)).await
    }

    async fn start_with(
        fixtures: &[Fixture],
        addr: SocketAddr,
        tls: Option<TlsConfig>,
    ) -> Result<Server, ServeError> {
        let (stop, shutdown) = Shutdown::channel();
        let app = build(fixtures, shutdown.clone())?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| ServeError::Bind { addr, source })?;
        let is_tls = tls.is_some();
        let task = match tls {
            None => {
                let listener = listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                spawn_serve(listener, app, shutdown)
            }
            Some(tls) => spawn_serve(
                TlsListener::new(listener, addr, tls.acceptor()),
                app,
                shutdown,
            ),
        };
        tracing::info!(%addr, tls = is_tls, "serving");
        Ok(Server {
            addr,
            is_tls,
            stop,
            task: Some(task),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL scheme of the server: `https` when started with TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.is_tls { "https" } else { "http" }
    }

    /// Stops accepting, ends open streams and waits (at most [`SHUTDOWN_TIMEOUT`]) for
    /// connections to finish; the rest are aborted.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let Some(mut task) = self.task.take() else {
            return;
        };
        match tokio::time::timeout(SHUTDOWN_TIMEOUT, &mut task).await {
            Ok(Ok(Ok(()))) => tracing::info!("shut down"),
            Ok(Ok(Err(error))) => tracing::error!(%error, "server failed"),
            Ok(Err(error)) => tracing::error!(%error, "server task failed"),
            Err(_) => {
                tracing::warn!("graceful shutdown timed out; aborting open connections");
                task.abort();
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Serves `app` on `listener` on a background task until `shutdown` fires; then stops accepting
/// and waits for open connections.
fn spawn_serve<L>(listener: L, app: Router, shutdown: Shutdown) -> JoinHandle<std::io::Result<()>>
where
    L: Listener,
    L::Addr: std::fmt::Debug,
{
    let serve = axum::serve(listener, app).with_graceful_shutdown(shutdown.wait());
    tokio::spawn(async move { serve.await })
}
