//! Load: put one fixture under load and measure latency with HDR histograms (`bench` for REST,
//! `stream` for WebSocket and SSE).
//!
//! The stages, one module each:
//! - [`schedule`]: the load as data, closed or open loop ([`Schedule`]), the run's phases
//!   ([`Window`]) and each connection's [`Pacer`] (intended start times, lag). Pure.
//! - `rest`, `ws`, `sse`: a fixture prepared once (request parts, compiled expectations), then
//!   one worker loop per connection over real sockets, every reply checked (`expect`).
//! - `chunked` and [`crate::wire::sse_parser`] (shared with the replay driver): the SSE path reads
//!   its socket itself, decoding the HTTP body framing and the event stream incrementally, with no
//!   allocation per event.
//! - [`recorder`]: histograms and error counts per shard of connections ([`Shard`], a
//!   connection's handle is a [`Recorder`]), merged as [`Tally`]s; error kinds ([`ErrorKind`]).
//! - [`open_files`]: the open-file limit, raised (or found too low) before a run.
//! - [`resources`]: the harness's peak RSS, a runner's CPU and RSS sampled from `/proc`.
//! - [`engine`]: runs the workers for warmup plus duration, progress on stderr, merge.
//! - [`result`]: the result document (SPEC section 4) and its human summary. Pure.
//! - [`hlog`]: per-second histograms and the HdrHistogram interval log.
//! - [`hdr`]: reading histograms from documents with bounded memory (capped by their parameters).
//!
//! - [`broadcast`]: a broadcast fixture has an engine of its own: subscribers connect first, then
//!   one publisher publishes on an open-loop schedule and every delivery's latency is measured
//!   from its message's intended publish instant.

pub mod broadcast;
pub(crate) mod chunked;
pub mod engine;
mod expect;
pub mod hdr;
pub mod hlog;
pub mod open_files;
pub mod recorder;
pub mod resources;
mod rest;
pub mod result;
pub mod schedule;
mod sse;
mod ws;

/// The SSE parser, shared with the replay driver (its home is [`crate::wire`]).
use crate::wire::sse_parser;

pub use engine::{LoadConfig, LoadError, Outcome, run};
pub use open_files::{OpenFiles, raise_open_files_limit};
pub use recorder::{ErrorKind, Recorder, Shard, Tally};
pub use result::{LoadResult, RunInfo};
pub use schedule::{Pacer, Schedule, Window};
