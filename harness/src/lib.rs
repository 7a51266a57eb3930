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
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
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
