//! Runners: apps under test in `runners/NAME/`, described by `runner.toml`; their setup.

pub mod manifest;
pub mod setup;

pub use manifest::{Manifest, ManifestError, Runner, discover, load};
