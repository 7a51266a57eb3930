//! Load: put one fixture under load and measure latency with HDR histograms (`bench` for REST,
//! `stream` for WebSocket and SSE).
//!
//! The stages, one module each:
//! - [`schedule`]: the load as data, closed or open loop ([`Schedule`]), the run's phases
//!   ([`Window`]) and each connection's [`Pacer`] (intended start times, lag). Pure.
//! - `rest`, `ws`, `sse`: a fixture prepared once (request parts, compiled expectations), then
//!   one worker loop per connection over real sockets, every reply checked (`expect`).
//! - [`recorder`]: per-connection histograms and error counts ([`Recorder`]), merged as
//!   [`Tally`]s; error kinds ([`ErrorKind`]).
//! - [`engine`]: runs the workers for warmup plus duration, progress on stderr, merge.
//! - [`result`]: the result document (SPEC section 4) and its human summary. Pure.
//! - [`hlog`]: per-second histograms and the HdrHistogram interval log.
//!
//! Seams for later slices: a broadcast fixture is another `Load` variant in `engine`; CPU and
//! memory sampling of a runner would be another task beside the monitor, adding a block to
//! [`LoadResult`]; very many connections would group several connections per worker so that
//! histograms stay per worker rather than per connection.

pub mod engine;
mod expect;
pub mod hlog;
pub mod recorder;
mod rest;
pub mod result;
pub mod schedule;
mod sse;
mod ws;

pub use engine::{LoadConfig, LoadError, Outcome, raise_open_files_limit, run};
pub use recorder::{ErrorKind, Recorder, Tally};
pub use result::{LoadResult, RunInfo};
pub use schedule::{Pacer, Schedule, Window};
