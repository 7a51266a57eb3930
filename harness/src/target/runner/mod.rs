//! Runners: apps under test in `runners/NAME/`, described by `runner.toml`; their setup; one
//! started ([`App`]).

mod app;
pub mod manifest;
pub mod setup;

pub use app::{App, StartError};
pub use manifest::{Runner, discover};
