//! What every end-to-end test file needs: the binary (colour off), its output as text, the
//! repository's root and its corpus fixtures as JSON. Each file uses a different part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The harness binary this test build made, with `NO_COLOR` set.
pub fn bin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_benchmark-harness"));
    command.env("NO_COLOR", "1");
    command
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The repository's root folder.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A corpus fixture (`fixtures/RELATIVE`) as JSON, for a test to edit.
pub fn corpus_json(relative: &str) -> serde_json::Value {
    let path = repo().join("fixtures").join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
