//! The shutdown signal that long-lived streams (SSE, WebSocket) watch, so a graceful shutdown
//! does not wait on them.

use tokio::sync::watch;

/// A cheap, cloneable view of the server's shutdown flag.
#[derive(Clone, Debug)]
pub(crate) struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// A signal and its trigger.
    pub(crate) fn channel() -> (watch::Sender<bool>, Shutdown) {
        let (sender, receiver) = watch::channel(false);
        (sender, Shutdown(receiver))
    }

    /// A signal that never fires (the app built without a [`crate::Server`]).
    pub(crate) fn never() -> Shutdown {
        Shutdown::channel().1
    }

    /// Resolves once shutdown has begun; never, if the trigger is gone without firing.
    pub(crate) async fn wait(mut self) {
        if self.0.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
