//! The snapshot files of one target: read and compared with insta's own parser and comparison,
//! written atomically (a new or changed transcript as `<fixture>.snap.new` beside the stored one,
//! for `cargo insta review`), credentials redacted by the store's [`Redactor`].

use std::path::{Path, PathBuf};

use harness_fixture::Fixture;
use insta::TextSnapshotKind;
use insta::internals::TextSnapshotContents;
use serde::Serialize;
use serde_json::Value;

use super::normalize::normalize;
use super::redact::Redactor;
use crate::fsutil::write_atomically;
use crate::results::transcript::Transcript;
use crate::results::{SnapshotOutcome, SnapshotStatus};

/// What `--snapshots` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotMode {
    /// Compare; write `.snap.new` for new or changed transcripts.
    Check,
    /// Accept every transcript as the new snapshot.
    Update,
    /// Neither compare nor write.
    Off,
}

/// The snapshots of one target.
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    dir: PathBuf,
    target: String,
    redactor: Redactor,
}

impl SnapshotStore {
    /// Snapshots of `target` under `root` (the `snapshots/` folder), credentials redacted by
    /// default.
    pub fn new(root: &Path, target: &str) -> SnapshotStore {
        SnapshotStore {
            dir: root.join(target),
            target: target.to_string(),
            redactor: Redactor::default(),
        }
    }

    /// The same store, redacting credentials with `redactor`.
    pub fn with_redactor(mut self, redactor: Redactor) -> SnapshotStore {
        self.redactor = redactor;
        self
    }

    /// The `.snap` file of a fixture.
    pub fn path_for(&self, fixture: &Fixture) -> PathBuf {
        self.dir
            .join(fixture.protocol().as_str())
            .join(format!("{}.snap", fixture.name))
    }

    /// Compares (check) or stores (update) the normalized transcript of `fixture`.
    pub fn apply(
        &self,
        fixture: &Fixture,
        transcript: &Transcript,
        mode: SnapshotMode,
    ) -> std::io::Result<Option<SnapshotOutcome>> {
        if mode == SnapshotMode::Off {
            return Ok(None);
        }
        let path = self.path_for(fixture);
        let pending = path.with_extension("snap.new");
        let mut value = normalize(fixture, transcript);
        self.redactor.value(&mut value);
        let content = render(&value);
        let stored = read_stored(&path);
        let new_contents = TextSnapshotContents::new(content.clone(), TextSnapshotKind::File);
        if let Some(old) = &stored
            && old.matches_latest(&new_contents)
        {
            remove_if_present(&pending)?;
            return Ok(Some(SnapshotOutcome {
                status: SnapshotStatus::Matched,
                path,
                diff: None,
            }));
        }
        let file = self.file_text(fixture, &content);
        match mode {
            SnapshotMode::Update => {
                write_atomically(&path, &file)?;
                remove_if_present(&pending)?;
                Ok(Some(SnapshotOutcome {
                    status: SnapshotStatus::Updated,
                    path,
                    diff: None,
                }))
            }
            _ => {
                write_atomically(&pending, &file)?;
                let (status, diff) = match &stored {
                    None => (SnapshotStatus::New, None),
                    Some(old) => (SnapshotStatus::Changed, Some(self.diff(old, &content))),
                };
                Ok(Some(SnapshotOutcome { status, path, diff }))
            }
        }
    }

    /// The diff from the stored snapshot to `content`, the stored one redacted as this run's is
    /// (a snapshot recorded without redaction shows no credential either).
    fn diff(&self, stored: &TextSnapshotContents, content: &str) -> String {
        let stored = stored.to_string();
        let shown = match serde_json::from_str::<Value>(&stored) {
            Ok(mut value) if self.redactor.is_enabled() => {
                self.redactor.value(&mut value);
                render(&value)
            }
            _ => self.redactor.diff_text(&stored),
        };
        if shown.trim_end() == content.trim_end() {
            return "the stored snapshot holds credentials in plain text, this run's has their \
                    fingerprints: accept it (--snapshots update) to drop them"
                .to_string();
        }
        unified_diff(&shown, content)
    }

    fn file_text(&self, fixture: &Fixture, content: &str) -> String {
        let input = self.relative(&fixture.file);
        let mut header = String::from("---\n");
        header.push_str(&format!("source: {}\n", yaml_string(&input)));
        if let Some(description) = &fixture.description {
            header.push_str(&format!("description: {}\n", yaml_string(description)));
        }
        header.push_str(&format!(
            "expression: {}\n",
            yaml_string(&format!("{} against {}", fixture.name, self.target))
        ));
        header.push_str(&format!("input_file: {}\n", yaml_string(&input)));
        header.push_str("---\n");
        header.push_str(content);
        header.push('\n');
        header
    }
}

impl SnapshotStore {
    /// `file` relative to the folder holding the snapshots folder (the repository), when inside it.
    fn relative(&self, file: &Path) -> String {
        let base = self
            .dir
            .parent()
            .and_then(Path::parent)
            .and_then(|p| p.canonicalize().ok());
        let file_abs = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
        match base.as_deref().and_then(|b| file_abs.strip_prefix(b).ok()) {
            Some(rel) => rel.to_string_lossy().replace('\\', "/"),
            None => file.display().to_string(),
        }
    }
}

/// A YAML scalar as insta writes it: plain when that is unambiguous, else double-quoted (a JSON
/// string is a valid YAML double-quoted scalar).
fn yaml_string(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " _./-".contains(c))
        && !text.starts_with([' ', '-', '.'])
        && !text.ends_with(' ');
    if plain {
        text.to_string()
    } else {
        Value::from(text).to_string()
    }
}

fn read_stored(path: &Path) -> Option<TextSnapshotContents> {
    if !path.is_file() {
        return None;
    }
    let snapshot = insta::Snapshot::from_file(path).ok()?;
    snapshot.contents().as_text().cloned()
}

fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn unified_diff(old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old.trim_end(), new.trim_end())
        .unified_diff()
        .context_radius(2)
        .header("stored", "this run")
        .to_string()
}

/// Pretty JSON, the snapshot's content.
pub fn render(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn written_files_read_back_through_insta() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.snap");
        let content = render(&json!({"a": 1, "text": "quote \" and \u{e9}"}));
        let file = format!(
            "---\nsource: {}\nexpression: {}\n---\n{content}\n",
            yaml_string("f.json"),
            yaml_string("a: b")
        );
        write_atomically(&path, &file).unwrap();
        let stored = read_stored(&path).expect("insta reads it");
        assert!(stored.matches_latest(&TextSnapshotContents::new(content, TextSnapshotKind::File)));
        let snapshot = insta::Snapshot::from_file(&path).unwrap();
        assert_eq!(snapshot.metadata().expression(), Some("a: b"));
    }
}
