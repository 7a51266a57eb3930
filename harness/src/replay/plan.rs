//! From a fixture selection (a folder, files, a filter) to the fixtures to serve and to replay.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher};
use harness_fixture::{Fixture, load_paths};

use crate::error::HarnessError;

/// Which fixtures a command works on.
#[derive(Debug, Clone)]
pub struct Selection {
    /// A fixtures directory (`--fixtures`).
    pub dir: Option<PathBuf>,
    /// Fixture files given one by one (`--fixture`), instead of a directory.
    pub files: Vec<PathBuf>,
    /// A glob on names or paths (`--filter`).
    pub filter: Option<String>,
    /// The fixtures directory when none is given.
    pub default_dir: PathBuf,
}

/// The fixtures of one command.
#[derive(Debug)]
pub struct Plan {
    /// The fixtures directory, when the fixtures came from one.
    pub dir: Option<PathBuf>,
    /// The fixtures directory when none is given (snapshots go beside it).
    pub default_dir: PathBuf,
    /// Every fixture loaded: what the embedded reference serves.
    pub loaded: Vec<Fixture>,
    /// Indexes into `loaded` of the fixtures selected by `--filter`.
    pub selected: Vec<usize>,
    /// Documents converted in memory from Spikard's format, with the paths an import would
    /// write them to: an app is served these (see `config::fixtures_dir_for_app`).
    pub imported: Vec<(PathBuf, serde_json::Value)>,
}

impl Plan {
    /// The selected fixtures, in file order.
    pub fn selected(&self) -> impl Iterator<Item = &Fixture> {
        self.selected.iter().map(|&i| &self.loaded[i])
    }

    /// Where snapshots live by default, one rule: `snapshots/` beside the fixtures directory,
    /// which is `--fixtures DIR`, else the default one (`./fixtures`, else the repository's),
    /// also when the fixtures are given one by one with `--fixture FILE` (wherever they are).
    pub fn default_snapshots_dir(&self) -> PathBuf {
        let dir = self.dir.as_ref().unwrap_or(&self.default_dir);
        match dir.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.join("snapshots"),
            _ => PathBuf::from("snapshots"),
        }
    }
}

/// Loads and selects fixtures.
pub fn plan(selection: &Selection) -> Result<Plan, HarnessError> {
    let (dir, paths) = if selection.files.is_empty() {
        let dir = selection
            .dir
            .clone()
            .unwrap_or_else(|| selection.default_dir.clone());
        check_fixtures_dir(&dir)?;
        (Some(dir.clone()), vec![dir])
    } else {
        (selection.dir.clone(), selection.files.clone())
    };
    let corpus = load_paths(&paths)?;
    for note in &corpus.notes {
        eprintln!("note: {note}");
    }
    let filter = match &selection.filter {
        Some(glob) => Some(
            Glob::new(glob)
                .map_err(|e| HarnessError::Usage(format!("--filter {glob:?}: {e}")))?
                .compile_matcher(),
        ),
        None => None,
    };
    let selected: Vec<usize> = corpus
        .fixtures
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            filter
                .as_ref()
                .is_none_or(|m| matches(m, f, dir.as_deref()))
        })
        .map(|(i, _)| i)
        .collect();
    if selected.is_empty() {
        let what = selection
            .filter
            .as_deref()
            .map_or(String::new(), |g| format!(" matching {g:?}"));
        let place = match (&dir, selection.files.as_slice()) {
            (Some(dir), []) => format!(" in {} (fixtures are *.json files)", dir.display()),
            (_, files) => format!(
                " among {}",
                files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        return Err(HarnessError::Usage(format!("no fixtures{what}{place}")));
    }
    Ok(Plan {
        dir,
        default_dir: selection.default_dir.clone(),
        loaded: corpus.fixtures,
        selected,
        imported: corpus.imported,
    })
}

/// A `--fixtures DIR` that is not a folder: missing, or a file (then `--fixture` is meant).
fn check_fixtures_dir(dir: &Path) -> Result<(), HarnessError> {
    if dir.is_dir() {
        return Ok(());
    }
    Err(HarnessError::Usage(if dir.exists() {
        format!(
            "--fixtures {0}: not a directory (for one fixture file use --fixture {0})",
            dir.display()
        )
    } else {
        format!("fixtures directory {} does not exist", dir.display())
    }))
}

fn matches(matcher: &GlobMatcher, fixture: &Fixture, dir: Option<&Path>) -> bool {
    if matcher.is_match(&fixture.name) {
        return true;
    }
    let relative = dir
        .and_then(|d| fixture.file.strip_prefix(d).ok())
        .unwrap_or(&fixture.file);
    matcher.is_match(relative)
}
