//! Reading result documents of `run`, `matrix`, `bench` and `stream` into the two sides of a
//! comparison (and, through [`read_documents`], into a report). Documents are read as JSON
//! values, so a field added to a format does not break comparing it. Every histogram a load
//! result carries is decoded once on reading, within the bounds of [`crate::results::hdr`], so a
//! hostile one is refused up front, named by file and JSON pointer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;

use crate::results::hdr::decode;
use crate::results::merge::merge_runs;

/// One fixture's conformance result on one target.
#[derive(Debug, Clone, PartialEq)]
pub struct FixtureState {
    /// `passed`, `failed`, `skipped` or `errored`.
    pub outcome: String,
    /// The snapshot's status, if any (`matched`, `changed`, ...).
    pub snapshot: Option<String>,
    /// The snapshot diff, when it changed.
    pub snapshot_diff: Option<String>,
}

/// One load run's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadRun {
    /// Successful operations per second.
    pub throughput: f64,
    /// Median latency of successful operations, us; `None` when none succeeded.
    pub p50: Option<f64>,
    /// 99th percentile latency, us; `None` when none succeeded.
    pub p99: Option<f64>,
    /// Errors.
    pub errors: u64,
}

/// Everything one side holds.
#[derive(Debug, Clone, Default)]
pub struct Side {
    /// (target, fixture) -> state.
    pub fixtures: BTreeMap<(String, String), FixtureState>,
    /// (fixture, target) -> runs.
    pub load: BTreeMap<(String, String), Vec<LoadRun>>,
    /// The commands whose documents were read: `run`, `matrix`, `bench`, `stream`, `report`.
    pub documents: BTreeSet<String>,
    /// Targets of conformance results (each `run` document's, each runner of a `matrix`), also
    /// when they hold no fixture.
    pub conformance_targets: BTreeSet<String>,
    /// Targets of load results.
    pub load_targets: BTreeSet<String>,
    /// Whether any conformance result was read (a `run` or `matrix` document, a report with
    /// runners).
    pub has_conformance: bool,
    /// Whether any load result was read.
    pub has_load: bool,
    /// (suite, target, case id) -> verdict, of `protocol` documents.
    pub cases: BTreeMap<(String, String, String), crate::results::protocol::Verdict>,
    /// Targets of protocol suite results.
    pub protocol_targets: BTreeSet<String>,
    /// Whether any protocol suite result was read.
    pub has_protocol: bool,
}

/// A document that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{}: {problem}", path.display())]
pub struct DocumentError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub problem: DocumentProblem,
}

impl From<DocumentError> for crate::error::HarnessError {
    fn from(error: DocumentError) -> Self {
        crate::error::HarnessError::Document(Box::new(error))
    }
}

/// What is wrong with a result document (or the folder of them).
#[derive(Debug, thiserror::Error)]
pub enum DocumentProblem {
    /// The folder cannot be listed.
    #[error("cannot list: {0}")]
    List(std::io::Error),
    /// Neither files nor folders holding `*.json` were given.
    #[error("no result documents (*.json) here")]
    NoDocuments,
    /// The file cannot be read.
    #[error("cannot read: {0}")]
    Read(std::io::Error),
    /// The file is not JSON.
    #[error("not JSON: {0}")]
    NotJson(serde_json::Error),
    /// A histogram of a load result does not decode within bounds.
    #[error("#{pointer}: histogram refused: {source}")]
    Histogram {
        /// Its JSON pointer.
        pointer: String,
        /// Why.
        source: crate::results::hdr::HistogramError,
    },
    /// JSON of none of the kinds a result document has.
    #[error("not a result document of run, matrix, bench, stream, protocol or report")]
    NotAResult,
    /// Shards of a run that cannot be merged into one.
    #[error("cannot merge the shards of a run: {0}")]
    Shards(Box<crate::results::merge::MergeError>),
    /// A load result without a figure that comparing needs.
    #[error("no {0}")]
    MissingFigure(&'static str),
    /// A part that a report needs is missing.
    #[error("#{0}: missing")]
    MissingPart(&'static str),
    /// A part that does not have the document format's shape.
    #[error("#{pointer}: {source}")]
    Shape {
        /// Its JSON pointer.
        pointer: String,
        /// What does not fit there.
        source: serde_json::Error,
    },
}

/// What kind of result a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// `run --format json`.
    Run,
    /// `matrix --format json`.
    Matrix,
    /// `bench`/`stream` result.
    Load,
    /// `report.json`: a matrix document plus load results.
    Report,
    /// `protocol websocket|sse --format json`: one verdict per case.
    Suite,
}

/// Which kind `value` is, if any.
pub fn kind(value: &Value) -> Option<Document> {
    if value.get("report").is_some_and(Value::is_object)
        && value.get("load").is_some_and(Value::is_array)
    {
        Some(Document::Report)
    } else if value.get("runners").is_some_and(Value::is_array) {
        Some(Document::Matrix)
    } else if value.get("fixtures").is_some_and(Value::is_array) {
        Some(Document::Run)
    } else if value.pointer("/summary/throughput_per_s").is_some() {
        Some(Document::Load)
    } else if value.get("suite").is_some_and(Value::is_string)
        && value.get("cases").is_some_and(Value::is_array)
    {
        Some(Document::Suite)
    } else {
        None
    }
}

/// Reads files, or every `*.json` in folders, into one side.
pub fn read_side(paths: &[PathBuf]) -> Result<Side, DocumentError> {
    let mut side = Side::default();
    for (path, value) in read_documents(paths)? {
        add(&mut side, &value).map_err(|problem| DocumentError { path, problem })?;
    }
    Ok(side)
}

/// Every document in files, or in the `*.json` of folders, in order, parsed as JSON, with the
/// shards of one run (`--shard`) merged into one document ([`crate::results::merge`]); none at
/// all is an error.
pub fn read_documents(paths: &[PathBuf]) -> Result<Vec<(PathBuf, Value)>, DocumentError> {
    merge_runs(read_files(paths)?).map_err(|(path, problem)| DocumentError {
        path,
        problem: DocumentProblem::Shards(problem),
    })
}

/// Every document in files, or in the `*.json` of folders, in order, parsed as JSON, as they
/// are; none at all is an error.
pub fn read_files(paths: &[PathBuf]) -> Result<Vec<(PathBuf, Value)>, DocumentError> {
    let files = expand(paths)?;
    if files.is_empty() {
        return Err(DocumentError {
            path: paths.first().cloned().unwrap_or_default(),
            problem: DocumentProblem::NoDocuments,
        });
    }
    files
        .into_iter()
        .map(|path| {
            let error = |problem: DocumentProblem| DocumentError {
                path: path.clone(),
                problem,
            };
            let text =
                std::fs::read_to_string(&path).map_err(|e| error(DocumentProblem::Read(e)))?;
            let value =
                serde_json::from_str(&text).map_err(|e| error(DocumentProblem::NotJson(e)))?;
            check_histograms(&value).map_err(error)?;
            Ok((path, value))
        })
        .collect()
}

/// Where a load result keeps its histograms.
const HISTOGRAMS: [&str; 7] = [
    "/histogram",
    "/failed_latency/histogram",
    "/timer_lateness/histogram",
    "/connect/histogram",
    "/first_event/histogram",
    "/event_gap/histogram",
    "/subscription_items/histogram",
];

/// Decodes every histogram of a load result (or of a report's load runs) within bounds; the
/// error names the first that does not decode by its JSON pointer (`#/load/0/histogram: ...`).
/// An empty text is no histogram.
pub fn check_histograms(value: &Value) -> Result<(), DocumentProblem> {
    let results: Vec<(String, &Value)> = match kind(value) {
        Some(Document::Load) => vec![(String::new(), value)],
        Some(Document::Report) => value["load"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(index, result)| (format!("/load/{index}"), result))
            .collect(),
        _ => Vec::new(),
    };
    for (prefix, result) in results {
        let steps = result["steps"].as_array().map_or(0, Vec::len);
        let step_fields = (0..steps).map(|index| format!("/steps/{index}/histogram"));
        let fields = HISTOGRAMS.iter().map(|f| f.to_string()).chain(step_fields);
        for field in fields {
            if let Some(Value::String(text)) = result.pointer(&field)
                && !text.is_empty()
            {
                decode(text).map_err(|source| DocumentProblem::Histogram {
                    pointer: format!("{prefix}{field}"),
                    source,
                })?;
            }
        }
    }
    Ok(())
}

fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, DocumentError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|e| DocumentError {
                path: path.clone(),
                problem: DocumentProblem::List(e),
            })?;
            let mut found: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

/// Adds one document to a side.
pub fn add(side: &mut Side, value: &Value) -> Result<(), DocumentProblem> {
    match kind(value) {
        Some(Document::Report) => {
            side.documents.insert("report".into());
            for runner in value["runners"].as_array().into_iter().flatten() {
                let target = runner["runner"].as_str().unwrap_or("?").to_string();
                add_fixtures(side, &target, runner);
            }
            for load in value["load"].as_array().into_iter().flatten() {
                add(side, load)?;
            }
            for suite in value["protocol"].as_array().into_iter().flatten() {
                add(side, suite)?;
            }
        }
        Some(Document::Suite) => {
            let suite: crate::results::protocol::SuiteReport =
                serde_json::from_value(value.clone()).map_err(|source| DocumentProblem::Shape {
                    pointer: String::new(),
                    source,
                })?;
            side.documents.insert("protocol".into());
            side.has_protocol = true;
            side.protocol_targets.insert(suite.target.name.clone());
            for case in suite.cases {
                side.cases.insert(
                    (suite.suite.clone(), suite.target.name.clone(), case.id),
                    case.verdict,
                );
            }
        }
        Some(Document::Matrix) => {
            side.documents.insert("matrix".into());
            side.has_conformance = true;
            for runner in value["runners"].as_array().into_iter().flatten() {
                let target = runner["runner"].as_str().unwrap_or("?").to_string();
                add_fixtures(side, &target, runner);
            }
            // `matrix --protocol-suites`: its suite documents, compared case by case.
            for suite in value["protocol"].as_array().into_iter().flatten() {
                add(side, suite)?;
            }
        }
        Some(Document::Run) => {
            side.documents.insert("run".into());
            side.has_conformance = true;
            let target = value
                .pointer("/target/name")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string();
            add_fixtures(side, &target, value);
        }
        Some(Document::Load) => {
            let fixture = load_name(value);
            let target = value
                .pointer("/target/name")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string();
            let number = |pointer: &str| value.pointer(pointer).and_then(Value::as_f64);
            let missing = DocumentProblem::MissingFigure;
            // `latency_us: null`: no operation succeeded, no latency. Otherwise both figures.
            let (p50, p99) = match value.pointer("/summary/latency_us") {
                Some(Value::Null) => (None, None),
                _ => (
                    Some(
                        number("/summary/latency_us/p50")
                            .ok_or(missing("summary.latency_us.p50"))?,
                    ),
                    Some(
                        number("/summary/latency_us/p99")
                            .ok_or(missing("summary.latency_us.p99"))?,
                    ),
                ),
            };
            let command = match value["command"].as_str() {
                Some("stream") => "stream",
                _ => "bench",
            };
            side.documents.insert(command.to_string());
            side.has_load = true;
            side.load_targets.insert(target.clone());
            let run = LoadRun {
                throughput: number("/summary/throughput_per_s")
                    .ok_or(missing("summary.throughput_per_s"))?,
                p50,
                p99,
                errors: value
                    .pointer("/summary/errors")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
            };
            side.load.entry((fixture, target)).or_default().push(run);
        }
        None => return Err(DocumentProblem::NotAResult),
    }
    Ok(())
}

/// The name a load run is compared under: its fixture's, with the HTTP version and streams when
/// it ran over HTTP/2 (`bench-hello (HTTP/2, 10 streams)`), so that runs over HTTP/1.1 and
/// HTTP/2 are never taken for repeats of one another.
fn load_name(value: &Value) -> String {
    let fixture = value["fixture"].as_str().unwrap_or("?");
    match value["http_version"].as_str() {
        Some("2") => {
            let streams = value["streams"].as_u64().unwrap_or(1);
            format!("{fixture} (HTTP/2, {streams} streams)")
        }
        _ => fixture.to_string(),
    }
}

fn add_fixtures(side: &mut Side, target: &str, run: &Value) {
    side.has_conformance = true;
    side.conformance_targets.insert(target.to_string());
    for fixture in run["fixtures"].as_array().into_iter().flatten() {
        let name = fixture["name"].as_str().unwrap_or("?").to_string();
        let text = |pointer: &str| {
            fixture
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let state = FixtureState {
            outcome: text("/outcome").unwrap_or_else(|| "?".into()),
            snapshot: text("/snapshot/status"),
            snapshot_diff: text("/snapshot/diff"),
        };
        side.fixtures.insert((target.to_string(), name), state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recognises_the_three_kinds() {
        assert_eq!(
            kind(&json!({"runners": [], "summary": {}})),
            Some(Document::Matrix)
        );
        assert_eq!(
            kind(&json!({"fixtures": [], "target": {}})),
            Some(Document::Run)
        );
        assert_eq!(
            kind(&json!({"summary": {"throughput_per_s": 1.0}})),
            Some(Document::Load)
        );
        assert_eq!(
            kind(&json!({"report": {"version": 1}, "runners": [], "load": []})),
            Some(Document::Report)
        );
        assert_eq!(kind(&json!({"hello": 1})), None);
    }

    #[test]
    fn http2_runs_are_compared_apart_from_http1_runs() {
        let mut side = Side::default();
        let run = |http: Option<(&str, u64)>| {
            let mut doc = json!({"fixture": "bench-hello", "target": {"name": "t"},
                "summary": {"throughput_per_s": 10.0, "latency_us": null, "errors": 0}});
            if let Some((version, streams)) = http {
                doc["http_version"] = version.into();
                doc["streams"] = streams.into();
            }
            doc
        };
        for http in [None, Some(("1.1", 1)), Some(("2", 10)), Some(("2", 10))] {
            add(&mut side, &run(http)).unwrap();
        }
        let key = |name: &str| (name.to_string(), "t".to_string());
        assert_eq!(side.load[&key("bench-hello")].len(), 2);
        assert_eq!(side.load[&key("bench-hello (HTTP/2, 10 streams)")].len(), 2);
    }

    #[test]
    fn reads_matrix_blocks_per_runner() {
        let mut side = Side::default();
        let doc = json!({"runners": [{"runner": "go", "fixtures": [{"name": "a", "outcome": "passed",
                          "snapshot": {"status": "matched"}}]}]});
        add(&mut side, &doc).unwrap();
        let state = &side.fixtures[&("go".to_string(), "a".to_string())];
        assert_eq!(state.outcome, "passed");
        assert_eq!(state.snapshot.as_deref(), Some("matched"));
    }
}
