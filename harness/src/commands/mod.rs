//! One module per command; each returns the exit code or a [`HarnessError`].

mod fixtures;
mod run;
mod serve;

use crate::cli::{Cli, Command};
use crate::error::HarnessError;

/// Runs the command the user asked for.
pub async fn dispatch(cli: Cli) -> Result<i32, HarnessError> {
    match &cli.command {
        Command::Run(args) => run::run(&cli, args).await,
        Command::Fixtures(command) => fixtures::fixtures(command),
        Command::Serve(args) => serve::serve(&cli, args).await,
    }
}
