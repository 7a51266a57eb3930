//! What the engine hands each protocol: how to load ([`LoadConfig`]), one connection's state
//! ([`Worker`]), and why a fixture cannot be loaded ([`LoadError`]). The protocols
//! ([`super::proto`]) depend on this module, never on the engine that dispatches to them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::progress::LoadProgress;
use super::recorder::Recorder;
use super::schedule::{Pacer, Schedule};

/// Pause after a failed connection attempt, so that a dead target is not hammered in a loop.
pub(crate) const RECONNECT_PAUSE: Duration = Duration::from_millis(50);

/// Why a load run could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The fixture cannot be loaded this way (wrong protocol, nothing to measure, bad values).
    #[error("{0}")]
    Fixture(String),
    /// The target's address cannot be resolved.
    #[error("{0}")]
    Unreachable(String),
}

/// How to load.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Connections (SSE: subscribers), at least one.
    pub connections: usize,
    /// Closed or open loop.
    pub schedule: Schedule,
    /// Load before measurement starts.
    pub warmup: Duration,
    /// Measured load.
    pub duration: Duration,
    /// Bound on every wait: a connection, a reply, an event.
    pub timeout: Duration,
    /// The largest SSE line or event, and WebSocket message, read from the server; past it the
    /// operation fails (`event too large`, `message too large`).
    pub max_event_size: usize,
    /// Openings of connections spread over this time (WebSocket, SSE).
    pub ramp: Duration,
    /// Keep every second's histogram (for `--hlog`).
    pub keep_intervals: bool,
    /// Where the run reports its progress (the command's bar), if anywhere.
    pub progress: Option<Arc<dyn LoadProgress>>,
    /// Sample the CPU and memory of this process group (a runner's app) while measuring.
    pub sample_group: Option<i32>,
}

/// One connection's state, handed to the protocol's worker loop.
pub(crate) struct Worker {
    /// When each operation is due.
    pub(crate) pacer: Pacer,
    /// Where results go.
    pub(crate) recorder: Recorder,
    /// Bound on every wait.
    pub(crate) timeout: Duration,
    /// When this connection opens (the ramp).
    pub(crate) opens_at: Instant,
}
