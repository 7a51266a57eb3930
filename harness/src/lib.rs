//! benchmark-harness: replays REST, WebSocket and SSE fixtures against web framework apps,
//! checks every reply, and records what happened as insta snapshots.
//!
//! The data flow, one module per stage: fixtures (`harness-fixture`) -> `replay` (plan,
//! driver) -> transcript (`results`) -> `check` (and `snapshot`) -> `report`; `load` measures
//! instead of replaying. `commands` wires the stages for each command; `target` owns the server
//! under test. The README's "Layout and data flow" walks the tree file by file.
//!
//! The public surface is the command line: [`run`] and the clap types of [`cli`]. Everything
//! else is the binary's own.
#![warn(missing_docs)]

pub(crate) mod check;
pub mod cli;
pub(crate) mod commands;
pub(crate) mod compare;
pub(crate) mod config;
pub(crate) mod error;
pub(crate) mod fsutil;
#[doc(hidden)]
pub mod fuzz;
pub(crate) mod humanize;
pub(crate) mod load;
pub(crate) mod protocol;
pub(crate) mod replay;
pub(crate) mod report;
pub(crate) mod results;
pub(crate) mod snapshot;
pub(crate) mod target;
pub(crate) mod wire;

use std::time::Duration;

pub use cli::Cli;
use error::exit;

/// Runs a parsed command line to its exit code.
pub fn run(cli: Cli) -> i32 {
    init_logging();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = worker_threads(&cli) {
        builder.worker_threads(threads);
    }
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::USAGE;
        }
    };
    let code = match runtime.block_on(commands::dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            // Some messages (a list of fixture errors) end their last line themselves.
            let message = e.to_string();
            let end = if message.ends_with('\n') { "" } else { "\n" };
            eprint!("error: {message}{end}");
            e.exit_code()
        }
    };
    runtime.shutdown_timeout(Duration::from_secs(2));
    code
}

/// The worker threads `bench --threads` and `stream --threads` ask for (tokio's default, one
/// per core, otherwise).
fn worker_threads(cli: &Cli) -> Option<usize> {
    let load = match &cli.command {
        cli::Command::Bench(args) => &args.load,
        cli::Command::Stream(args) => &args.load,
        _ => return None,
    };
    load.threads.map(usize::from)
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BENCHMARK_HARNESS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(!no_color && std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn threads_of(args: &[&str]) -> Option<usize> {
        let cli = Cli::try_parse_from(args).unwrap();
        worker_threads(&cli)
    }

    #[test]
    fn load_commands_choose_their_worker_threads() {
        let fixture = ["--fixture", "f.json"];
        let bench = [&["benchmark-harness", "bench"][..], &fixture].concat();
        assert_eq!(threads_of(&bench), None);
        let one = [&bench[..], &["--threads", "1"]].concat();
        assert_eq!(threads_of(&one), Some(1));
        let stream = [
            &["benchmark-harness", "stream"][..],
            &fixture,
            &["--threads", "3"],
        ]
        .concat();
        assert_eq!(threads_of(&stream), Some(3));
        assert_eq!(threads_of(&["benchmark-harness", "run"]), None);
        let zero = [&bench[..], &["--threads", "0"]].concat();
        assert!(Cli::try_parse_from(zero).is_err());
    }
}
