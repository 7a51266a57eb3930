//! One module per command; each returns the exit code or a [`HarnessError`]. What the flags
//! resolve to (folders, runners, the target) is [`crate::config`]'s work.

mod bench;
mod compare;
mod docs;
mod fixtures;
mod import;
mod matrix;
mod merge;
mod protocol;
mod report;
mod run;
mod runners;
mod serve;

use crate::cli::{Cli, Command};
use crate::config::refuse_unused_target_flags;
use crate::error::HarnessError;

/// Runs the command the user asked for.
pub async fn dispatch(cli: Cli) -> Result<i32, HarnessError> {
    refuse_unused_target_flags(&cli)?;
    match &cli.command {
        Command::Run(args) => run::run(&cli, args).await,
        Command::Fixtures(command) => fixtures::fixtures(command),
        Command::Serve(args) => serve::serve(args).await,
        Command::Matrix(args) => matrix::matrix(&cli, args).await,
        Command::Runners(command) => runners::runners(&cli, command).await,
        Command::Compare(args) => compare::compare(args),
        Command::Report(args) => report::report(args),
        Command::Merge(args) => merge::merge(args),
        Command::Bench(args) => bench::bench(&cli, args).await,
        Command::Stream(args) => bench::stream(&cli, args).await,
        Command::Protocol(args) => protocol::protocol(&cli, args).await,
        Command::Completions(args) => docs::completions(args),
        Command::Man(args) => docs::man(args),
    }
}
