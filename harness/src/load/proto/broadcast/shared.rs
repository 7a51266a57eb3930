//! What the subscribers and the publisher of one broadcast run share.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use super::prepared::BroadcastLoad;
use super::seq::PublishLog;
use crate::load::schedule::Window;

/// Counters shared by the subscribers.
#[derive(Default)]
pub(super) struct Counts {
    pub(super) deliveries: AtomicU64,
    pub(super) expected: AtomicU64,
    pub(super) not_delivered: AtomicU64,
}

/// Everything a subscriber task needs.
pub(super) struct Shared {
    pub(super) load: BroadcastLoad,
    pub(super) log: PublishLog,
    pub(super) counts: Counts,
    pub(super) window: Window,
    pub(super) timeout: Duration,
}
