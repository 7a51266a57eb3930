//! The integration tests of `benchmark-harness`, linked into one test binary (`integration`):
//! one module an area, sharing the helpers in `common`. Most run the real binary against the
//! embedded reference or small servers on loopback; `fuzz` feeds mutants to every reader of
//! untrusted input for a time budget. Everything a test reads from disk is found from
//! `CARGO_MANIFEST_DIR` (`harness/tests/outside/`, the repository's `fixtures/`, the fuzz corpus).
//!
//! `cargo test -p benchmark-harness --test integration MODULE::` runs one area.

mod common;

mod captures;
mod checks_trust;
mod cli;
mod cli_trust;
mod compare;
mod connect_phase;
mod format_trust;
mod fuzz;
mod hostile_fixtures;
mod hostile_load;
mod hostile_output;
mod hostile_streams;
mod http2;
mod import_asyncapi;
mod import_spikard;
mod load;
mod load_http2;
mod load_rpc;
mod load_tls;
mod load_trust;
mod matrix;
mod matrix_protocol;
mod netns;
mod protocol_sse;
mod protocol_websocket;
mod protocol_websocket_deflate;
mod report;
mod rest_bodies;
mod runners;
mod scenarios;
mod shards;
mod tls;
mod tls_client;
mod ws_steps;
