//! The load path's network layer, shared by every protocol ([`super::proto`]) and importing
//! none of them: where a target is and how a connection to it opens ([`endpoint`]), HTTP/1.1
//! reply heads and bodies read in place ([`http1`], [`chunked`]), HTTP/2 connections and
//! frames ([`http2`], [`h2_frame`]), an SSE subscription opened on
//! a raw socket ([`sse`]), and WebSocket connections ([`ws`]). The transport (plain TCP, or TLS
//! over it: [`crate::wire::transport::Stream`]) is one seam here: [`endpoint::Endpoint::connect`].

pub(crate) mod chunked;
pub(crate) mod endpoint;
pub(crate) mod h2_frame;
pub(crate) mod http1;
pub(crate) mod http2;
pub(crate) mod sse;
pub(crate) mod ws;

/// Aborts a spawned task when dropped: a connection's driver never outlives its worker.
pub(crate) struct AbortOnDrop(pub(crate) tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
