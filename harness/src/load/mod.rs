//! Load: put one fixture under load and measure latency with HDR histograms (`bench` for REST,
//! `stream` for WebSocket, SSE and broadcast).
//!
//! The stages, one module each, each importing only those below it:
//! - [`schedule`]: the load as data, closed or open loop ([`Schedule`]), the run's phases
//!   ([`Window`]) and each connection's [`Pacer`] (intended start times, lag). Pure, apart
//!   from the pacer's sleep on its [`timer`] (a timerfd per connection: sub-millisecond).
//! - [`worker`]: what the engine hands a protocol: the configuration, one connection's state.
//! - `net`: the network layer every protocol shares (endpoint and connection, HTTP/1.1 heads
//!   and body framing, SSE subscriptions, WebSocket connections); the SSE event parser is
//!   [`crate::wire::sse_parser`], shared with the replay driver.
//! - `proto`: `rest`, `ws`, `sse`, `broadcast`: a fixture prepared once (request bytes,
//!   compiled expectations: `expect`), then one worker loop per connection, every reply checked.
//!   A broadcast fixture has an engine of its own: subscribers connect first, then one publisher
//!   publishes on an open-loop schedule and every delivery's latency is measured from its
//!   message's intended publish instant.
//! - [`recorder`]: histograms and error counts per shard of connections ([`Shard`], a
//!   connection's handle is a [`Recorder`]), merged as [`Tally`]s; error kinds ([`ErrorKind`]).
//! - [`progress`]: what a run reports its progress to ([`LoadProgress`]); the command draws it.
//! - [`measurement`]: the clock, the shards, the progress (reported to a [`LoadProgress`]), the
//!   interval log and the runner sampler a run shares, merged into an [`Outcome`].
//! - [`connect`]: the connection phase: every connection opened (paced, a bounded number at
//!   once) before warm-up and measurement start.
//! - [`engine`]: prepares the fixture, opens the connections (the connection phase), then runs
//!   the workers for warmup plus duration.
//! - [`open_files`]: the open-file limit, raised (or found too low) before a run.
//! - [`resources`]: the harness's peak RSS, a runner's CPU and RSS sampled from `/proc`.
//! - [`document`]: the result document ([`crate::results::load`]) of a run's merged tally.
//! - [`hlog`]: per-second histograms and the HdrHistogram interval log.

pub(crate) mod connect;
pub mod document;
pub mod engine;
mod expect;
pub mod hlog;
pub mod measurement;
pub(crate) mod net;
pub mod open_files;
pub mod progress;
pub(crate) mod proto;
pub mod recorder;
pub mod resources;
pub mod schedule;
pub mod source;
pub mod timer;
pub mod worker;

pub use crate::results::load::LoadResult;
pub use document::RunInfo;
pub use engine::run;
pub use measurement::Outcome;
pub use open_files::raise_open_files_limit;
pub use progress::{LiveFigures, LoadProgress};
pub use proto::broadcast::DEFAULT_RATE as BROADCAST_DEFAULT_RATE;
pub use schedule::Schedule;
pub use worker::{HttpVersion, LoadConfig, LoadError};
