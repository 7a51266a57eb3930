//! `completions` and `man`: the command line described for shells and for `man`.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::error::{HarnessError, exit};

/// The binary's name, as shells and `man` know it.
const BIN: &str = "benchmark-harness";

/// Prints the completion script for one shell on stdout.
pub(super) fn completions(args: &CompletionsArgs) -> Result<i32, HarnessError> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, BIN, &mut script);
    write_stdout(&script)?;
    Ok(exit::OK)
}

/// Prints the main man page on stdout, or writes a page per command into `--out DIR`.
pub(super) fn man(args: &ManArgs) -> Result<i32, HarnessError> {
    let command = Cli::command();
    let Some(dir) = &args.out else {
        let mut page = Vec::new();
        clap_mangen::Man::new(command)
            .render(&mut page)
            .map_err(HarnessError::ManPage)?;
        write_stdout(&page)?;
        return Ok(exit::OK);
    };
    let failed = |source| HarnessError::Write {
        path: dir.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    clap_mangen::generate_to(command, dir).map_err(failed)?;
    eprintln!("man pages written in {}", dir.display());
    Ok(exit::OK)
}

fn write_stdout(bytes: &[u8]) -> Result<(), HarnessError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(HarnessError::Stdout)
}
