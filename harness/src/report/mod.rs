//! The output layer: the report document and every rendering of results (docs/contract.md, section 5).

pub mod bundle;
pub mod charts;
pub mod document;
pub mod folder;
pub mod html;
pub mod human;
pub mod human_load;
pub mod junit;
pub mod markdown;

use serde::Serialize;

/// Writes `value` as pretty JSON and a newline: the `--format json` output of every command.
pub fn write_json(out: &mut dyn std::io::Write, value: &impl Serialize) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    writeln!(out, "{text}")
}

pub use folder::{check_replaceable, write_folder};
