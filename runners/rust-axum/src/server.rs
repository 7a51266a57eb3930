//! A running server: bind, serve, shut down gracefully.

use std::net::SocketAddr;
use std::time::Duration;

use axum::serve::ListenerExt;
use harness_fixture::Fixture;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::build;
use crate::error::ServeError;
use crate::shutdown::Shutdown;

/// How long [`Server::shutdown`] waits for open connections before it aborts them.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// The reference server, serving on a background task.
///
/// Dropping it without [`Server::shutdown`] starts a graceful shutdown without waiting for it.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// Builds the app from `fixtures`, binds `addr` (port 0: any free port) and serves.
    pub async fn start(fixtures: &[Fixture], addr: SocketAddr) -> Result<Server, ServeError> {
        let (stop, shutdown) = Shutdown::channel();
        let app = build(fixtures, shutdown.clone())?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| ServeError::Bind { addr, source })?;
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let serve = axum::serve(listener, app).with_graceful_shutdown(shutdown.wait());
        let task = tokio::spawn(async move { serve.await });
        tracing::info!(%addr, "serving");
        Ok(Server {
            addr,
            stop,
            task: Some(task),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
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
