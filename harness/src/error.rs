//! Errors that end a command, each with its exit code (docs/contract.md, section 2).

use std::path::PathBuf;

use harness_fixture::FixtureErrors;

/// Exit codes of the contract.
pub mod exit {
    /// Everything passed.
    pub const OK: i32 = 0;
    /// A fixture failed or errored, or a snapshot changed.
    pub const FAILED: i32 = 1;
    /// Usage, fixture or configuration error.
    pub const USAGE: i32 = 2;
    /// The target could not be started or reached.
    pub const TARGET: i32 = 3;
}

/// Why a command could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// Fixtures failed to load.
    #[error("{0}")]
    Fixtures(#[from] FixtureErrors),
    /// A flag or configuration value is wrong.
    #[error("{0}")]
    Usage(String),
    /// The target could not be started or reached.
    #[error("target {address} cannot be reached: {reason}")]
    Unreachable {
        /// URL or address.
        address: String,
        /// What failed.
        reason: String,
    },
    /// A runner could not be set up or started.
    #[error("runner {runner} could not be started: {reason}")]
    RunnerStart {
        /// The runner.
        runner: String,
        /// What failed, with the app's last output.
        reason: String,
    },
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl HarnessError {
    /// The exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            HarnessError::Unreachable { .. } | HarnessError::RunnerStart { .. } => exit::TARGET,
            HarnessError::Fixtures(_) | HarnessError::Usage(_) | HarnessError::Write { .. } => {
                exit::USAGE
            }
        }
    }
}
