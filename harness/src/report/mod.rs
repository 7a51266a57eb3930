//! The output layer: everything a user reads, from results handed in by the commands
//! (docs/contract.md, section 5). Commands compute; they print only through here.
//!
//! - [`human`]: each command's results as text on a terminal (stdout).
//! - [`progress`]: bars and notes on stderr while a command goes on.
//! - [`terminal`]: whether a stream is a terminal, `NO_COLOR`, the ANSI [`Style`](terminal::Style).
//! - [`document`], [`bundle`], [`folder`], [`markdown`], [`junit`], [`html`], [`charts`]: the
//!   report document and the files of a report folder; [`write_json`] for `--format json`.

pub mod bundle;
pub mod charts;
pub mod document;
pub mod folder;
pub mod html;
pub mod human;
pub mod junit;
pub mod markdown;
pub mod progress;
pub mod terminal;

use serde::Serialize;

/// Writes `value` as pretty JSON and a newline: the `--format json` output of every command.
pub fn write_json(out: &mut dyn std::io::Write, value: &impl Serialize) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    writeln!(out, "{text}")
}

pub use folder::{check_replaceable, write_folder};
