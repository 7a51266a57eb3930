//! One module per protocol: a fixture prepared once (request bytes, compiled expectations),
//! then one worker loop per connection, every reply checked. Each takes its connections from
//! [`super::net`] and its state from [`super::worker`]; none imports another.

pub(crate) mod broadcast;
mod rest;
mod rest_body;
mod sse;
mod ws;

pub(crate) use rest::RestLoad;
pub(crate) use rest_body::BodyTimes;
pub(crate) use sse::SseLoad;
pub(crate) use ws::WsLoad;
