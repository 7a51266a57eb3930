//! Runners: apps under test in `runners/NAME/`, described by `runner.toml`; their setup; one
//! started ([`App`]).

mod app;
pub mod manifest;
pub mod setup;
pub mod tls;

pub use app::{App, StartError};
pub use manifest::{Capability, Runner, discover};
pub use tls::RunnerTls;
