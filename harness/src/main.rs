//! The `benchmark-harness` binary: parse, run, exit with the contract's code.

use clap::Parser;

fn main() {
    std::process::exit(benchmark_harness::run(benchmark_harness::Cli::parse()));
}
