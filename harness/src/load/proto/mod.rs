//! One module per protocol: a fixture prepared once (request bytes, compiled expectations),
//! then one worker loop per connection, every reply checked. Each takes its connections from
//! [`super::net`] and its state from [`super::worker`]; none imports another, except that
//! REST's two clients (`rest`: HTTP/1.1 on a raw socket; `rest_h2`: HTTP/2 on the load path's
//! own client, `net::http2`) share the fixture as they both take it (`rest_fixture`: the
//! request, the one reply check). A REST scenario (`scenario`) is replayed by the replay
//! driver's scenario client, run after run.

pub(crate) mod broadcast;
mod rest;
mod rest_body;
mod rest_fixture;
mod rest_h2;
mod scenario;
mod sse;
mod ws;
mod ws_expect;
mod ws_rpc;

pub(crate) use rest::RestLoad;
pub(crate) use rest_body::BodyTimes;
pub(crate) use rest_h2::{Http2, RestH2Load};
pub(crate) use scenario::ScenarioLoad;
pub(crate) use sse::{SseLoad, Subscribed};
pub(crate) use ws::{Socket, WsLoad};
