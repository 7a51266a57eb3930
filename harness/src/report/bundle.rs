//! The `report` command's document (`report.json`): every input result document read into one
//! place. Conformance results (`run` and `matrix` documents, and earlier reports) become runner
//! blocks, the shape of the `matrix` document, so the parity grid covers them all; load results
//! (`bench`, `stream`) are kept whole, histograms included, each with a label that names it in
//! charts and tables; protocol suite documents (`protocol websocket|sse`) are kept whole too. Pure but for reading the input files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::document::{Inputs, LoadEntry, ReportDocument};
use crate::compare::document::{Document, DocumentError, DocumentProblem, kind, read_documents};
use crate::results::RunReport;
use crate::results::load::LoadResult;
use crate::results::matrix::{MatrixReport, RunnerReport, RunnerStatus, SuiteNotRun};
use crate::results::protocol::{SuiteReport, VerdictCounts};

/// Reads files, or every `*.json` in folders, in order.
pub fn read(paths: &[PathBuf]) -> Result<Inputs, DocumentError> {
    let mut inputs = Inputs::default();
    for (path, value) in read_documents(paths)? {
        add(&mut inputs, &path, value).map_err(|problem| DocumentError {
            path: path.clone(),
            problem,
        })?;
        inputs.files.push(path);
    }
    Ok(inputs)
}

/// Adds one document read from `path`.
pub fn add(inputs: &mut Inputs, path: &Path, value: Value) -> Result<(), DocumentProblem> {
    match kind(&value) {
        Some(Document::Report) => {
            let runners: Vec<RunnerReport> = typed(&value, "/runners")?;
            let load: Vec<LoadEntry> = typed(&value, "/load")?;
            for runner in runners {
                push_runner(inputs, runner);
            }
            for entry in load {
                push_load(inputs, entry.source, entry.result);
            }
            push_protocol(inputs, &value)?;
        }
        Some(Document::Suite) => {
            let suite: SuiteReport = typed(&value, "")?;
            push_suite(inputs, suite);
        }
        Some(Document::Matrix) => {
            let matrix: MatrixReport = typed(&value, "")?;
            for runner in matrix.runners {
                push_runner(inputs, runner);
            }
            push_protocol(inputs, &value)?;
        }
        Some(Document::Run) => {
            let run: RunReport = typed(&value, "")?;
            push_runner(inputs, runner_of(run));
        }
        Some(Document::Load) => {
            let result: LoadResult = typed(&value, "")?;
            push_load(inputs, path.to_path_buf(), result);
        }
        None => return Err(DocumentProblem::NotAResult),
    }
    Ok(())
}

/// A `run` document as a runner block named after its target (language and framework unknown).
pub fn runner_of(run: RunReport) -> RunnerReport {
    let protocols: BTreeSet<_> = run.fixtures.iter().map(|f| f.protocol).collect();
    RunnerReport {
        runner: run.target.name.clone(),
        language: String::new(),
        framework: String::new(),
        protocols: protocols.into_iter().collect(),
        status: RunnerStatus::Ran,
        error: None,
        transport: None,
        run,
    }
}

/// The time now, RFC 3339 in UTC to the second: a report's `generated_at`.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The suite documents of a `matrix --protocol-suites` or a report (`protocol`), and the suites
/// a matrix did not run (`protocol_not_run`), when the document has them.
fn push_protocol(inputs: &mut Inputs, value: &Value) -> Result<(), DocumentProblem> {
    if value.get("protocol").is_some() {
        let suites: Vec<SuiteReport> = typed(value, "/protocol")?;
        for suite in suites {
            push_suite(inputs, suite);
        }
    }
    if value.get("protocol_not_run").is_some() {
        let not_run: Vec<SuiteNotRun> = typed(value, "/protocol_not_run")?;
        inputs.protocol_not_run.extend(not_run);
    }
    Ok(())
}

/// The page of a `run` or `matrix` that wrote a `--report` folder: its runner blocks and, of a
/// `matrix --protocol-suites`, its suites; no load.
pub fn conformance_page(
    runners: Vec<RunnerReport>,
    protocol: Vec<SuiteReport>,
    protocol_not_run: Vec<SuiteNotRun>,
) -> String {
    let inputs = Inputs {
        runners,
        protocol,
        protocol_not_run,
        ..Inputs::default()
    };
    super::html::page(&ReportDocument::new(inputs, None, now()))
}

/// Deserializes the part of `value` at `pointer`, naming the JSON pointer of what does not fit.
fn typed<T: serde::de::DeserializeOwned>(
    value: &Value,
    pointer: &'static str,
) -> Result<T, DocumentProblem> {
    let part = value
        .pointer(pointer)
        .ok_or(DocumentProblem::MissingPart(pointer))?;
    serde_path_to_error::deserialize(part).map_err(|e| DocumentProblem::Shape {
        pointer: format!("{pointer}{}", json_pointer(e.path())),
        source: e.into_inner(),
    })
}

/// `runners[2].run.summary` as `/runners/2/run/summary`.
fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        out.push('/');
        match segment {
            Segment::Seq { index } => out.push_str(&index.to_string()),
            Segment::Map { key } => out.push_str(&key.replace('~', "~0").replace('/', "~1")),
            Segment::Enum { variant } => out.push_str(variant),
            Segment::Unknown => out.push('?'),
        }
    }
    out
}

/// A runner whose name is taken already gets a numbered name (`rust-axum #2`).
/// Adds a runner's block; its counts are made again from its fixtures, so that a document's
/// own summary (which may have been edited, or be absurd) is never trusted.
fn push_runner(inputs: &mut Inputs, mut runner: RunnerReport) {
    let fixtures = std::mem::take(&mut runner.run.fixtures);
    runner.run = RunReport::new(
        runner.run.target.clone(),
        fixtures,
        runner.run.summary.duration_ms,
    );
    let taken: Vec<&str> = inputs.runners.iter().map(|r| r.runner.as_str()).collect();
    runner.runner = unique(&taken, &runner.runner);
    inputs.runners.push(runner);
}

/// Adds a protocol suite document; its counts are made again from its cases, and a target whose
/// name is taken in the same suite gets a numbered name.
fn push_suite(inputs: &mut Inputs, mut suite: SuiteReport) {
    suite.summary = VerdictCounts::of(&suite.cases);
    let taken: Vec<&str> = inputs
        .protocol
        .iter()
        .filter(|s| s.suite == suite.suite)
        .map(|s| s.target.name.as_str())
        .collect();
    suite.target.name = unique(&taken, &suite.target.name);
    inputs.protocol.push(suite);
}

fn push_load(inputs: &mut Inputs, source: PathBuf, result: LoadResult) {
    let mut label = format!("{} · {}", result.target.name, result.fixture);
    if let Some(rate) = result.rate {
        label.push_str(&format!(" @ {rate}/s"));
    }
    let taken: Vec<&str> = inputs.load.iter().map(|l| l.label.as_str()).collect();
    let label = unique(&taken, &label);
    inputs.load.push(LoadEntry {
        label,
        source,
        result,
    });
}

/// `name`, or `name #2`, `name #3`, ... whichever is not in `taken`.
fn unique(taken: &[&str], name: &str) -> String {
    if !taken.contains(&name) {
        return name.to_string();
    }
    (2..)
        .map(|n| format!("{name} #{n}"))
        .find(|candidate| !taken.contains(&candidate.as_str()))
        .unwrap_or_else(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_names_that_repeat() {
        assert_eq!(unique(&[], "a"), "a");
        assert_eq!(unique(&["a"], "a"), "a #2");
        assert_eq!(unique(&["a", "a #2"], "a"), "a #3");
    }

    #[test]
    fn a_field_that_does_not_fit_is_named_by_its_pointer() {
        let doc = json!({"target": {"name": "t", "kind": "url", "url": ""},
                         "summary": {"passed": 0, "failed": 0, "skipped": 0, "errored": 0,
                                     "snapshots_changed": 0, "snapshots_new": 0, "duration_ms": 1.0},
                         "fixtures": [{"name": "a", "protocol": "rest", "file": "a.json",
                                       "outcome": "sideways", "diff": [], "duration_ms": 1.0}]});
        let mut inputs = Inputs::default();
        let error = add(&mut inputs, Path::new("x.json"), doc).unwrap_err();
        assert!(
            matches!(&error, DocumentProblem::Shape { pointer, .. } if pointer == "/fixtures/0/outcome"),
            "{error:?}"
        );
        let error = error.to_string();
        assert!(
            error.starts_with("#/fixtures/0/outcome: unknown variant"),
            "{error}"
        );
    }

    #[test]
    fn a_run_document_becomes_a_runner_block_named_after_its_target() {
        let doc = json!({"target": {"name": "t", "kind": "url", "url": ""},
                         "summary": {"passed": 1, "failed": 0, "skipped": 0, "errored": 0,
                                     "snapshots_changed": 0, "snapshots_new": 0, "duration_ms": 1.0},
                         "fixtures": [{"name": "a", "protocol": "sse", "file": "a.json",
                                       "outcome": "passed", "diff": [], "duration_ms": 1.0}]});
        let mut inputs = Inputs::default();
        add(&mut inputs, Path::new("x.json"), doc.clone()).unwrap();
        add(&mut inputs, Path::new("y.json"), doc).unwrap();
        let names: Vec<_> = inputs.runners.iter().map(|r| r.runner.as_str()).collect();
        assert_eq!(names, ["t", "t #2"]);
        assert_eq!(
            inputs.runners[0].protocols,
            [harness_fixture::Protocol::Sse]
        );
    }

    #[test]
    fn counts_come_from_the_fixtures_not_from_the_documents_summary() {
        // Found by fuzzing: a summary of u64::MAX failures overflowed the report's sums.
        let doc = json!({"target": {"name": "t", "kind": "url", "url": ""},
                         "summary": {"passed": 7, "failed": u64::MAX, "skipped": 0, "errored": 0,
                                     "snapshots_changed": 0, "snapshots_new": 0, "duration_ms": 1.0},
                         "fixtures": [{"name": "a", "protocol": "rest", "file": "a.json",
                                       "outcome": "failed", "diff": [], "duration_ms": 1.0}]});
        let mut inputs = Inputs::default();
        add(&mut inputs, Path::new("x.json"), doc).unwrap();
        let summary = &inputs.runners[0].run.summary;
        assert_eq!((summary.passed, summary.failed), (0, 1));
        let document = ReportDocument::new(inputs, None, now());
        assert!(super::super::junit::report(&document).contains("failures=\"1\""));
    }
}
