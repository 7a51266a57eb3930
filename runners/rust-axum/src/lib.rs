//! The reference server of benchmark-harness.
//!
//! An axum app that serves every fixture's `handler` generically, as described in
//! `fixtures/README.md` (the handler vocabulary): REST handlers with typed parameters, bodies
//! (JSON, form, text, multipart; compressed uploads decoded), the canonical error replies, the
//! echo document, compressed and streamed replies and CORS; WebSocket handlers (echo, validate,
//! silent, greeting, subprotocols, auth, close, drop; rpc: JSON-RPC 2.0 with subscriptions); SSE
//! handlers (listed events, counter, interval, resume, close or hold). It is the oracle other
//! runners are compared against, and the performance baseline: all JSON Schemas are compiled and
//! all static replies rendered once, when the app is built.
//!
//! [`Server`] speaks HTTP/1.1 and HTTP/2 on one listener: h2c with prior knowledge beside
//! HTTP/1.1 over plain TCP, ALPN `h2` or `http/1.1` over TLS ([`Server::start_tls`] with a
//! [`TlsConfig`] from PEM files or self-signed; rustls with the ring provider).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let corpus = harness_fixture::load_dir(std::path::Path::new("fixtures"))?;
//! let server = reference_server::Server::start(&corpus.fixtures, "127.0.0.1:0".parse()?).await?;
//! println!("listening on {}", server.addr());
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod app;
mod body;
mod broadcast;
mod compress;
mod cors;
mod error;
mod multipart;
mod params;
mod problem;
mod rest;
mod rpc;
mod server;
mod shutdown;
mod sse;
mod stream;
mod tls;
mod tls_listener;
mod vary;
mod ws;

pub use app::{READY_PATH, app};
pub use body::DEFAULT_MAX_BODY_BYTES;
pub use error::{BuildError, ServeError};
pub use server::{SHUTDOWN_TIMEOUT, Server};
pub use tls::{CA_FILE, SelfSignedFiles, TlsConfig, TlsError, write_self_signed};
