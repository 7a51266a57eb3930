//! The result document of `matrix`: one run block per runner (docs/contract.md, section 5.2).

use harness_fixture::Protocol;
use serde::{Deserialize, Serialize};

use super::protocol::SuiteReport;
use super::run::{FixtureResult, Outcome, RunReport, Summary};
use super::target::{TargetInfo, TargetKind};
use crate::error::HarnessError;

/// Whether a runner could be run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunnerStatus {
    /// Its fixtures were replayed.
    Ran,
    /// It could not be set up or started.
    Unavailable,
    /// Not run: it does not declare a transport the run asks for (`matrix --tls`, `--http2`);
    /// `error` says which. Not a failure.
    NotDeclared,
}

/// How a matrix column was spoken to: HTTP/1.1 or HTTP/2, over plain TCP or TLS. WebSocket
/// fixtures keep the HTTP/1.1 upgrade under HTTP/2 (RFC 8441 is not used).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Transport {
    /// HTTP/1.1 over plain TCP.
    #[serde(rename = "http/1.1")]
    Http1,
    /// HTTP/1.1 over TLS (`matrix --tls`, an `https://` `--url`).
    #[serde(rename = "https")]
    Https,
    /// HTTP/2 with prior knowledge over plain TCP (`matrix --http2`).
    #[serde(rename = "h2c")]
    H2c,
    /// HTTP/2 over TLS, agreed by ALPN `h2` (`matrix --tls --http2`).
    #[serde(rename = "h2")]
    H2,
    /// Several of the above: a merge of documents made with different transports.
    #[serde(rename = "mixed")]
    Mixed,
}

impl Transport {
    /// The transport of a TLS or plain connection speaking HTTP/2 or HTTP/1.1.
    pub fn of(tls: bool, http2: bool) -> Transport {
        match (tls, http2) {
            (false, false) => Transport::Http1,
            (true, false) => Transport::Https,
            (false, true) => Transport::H2c,
            (true, true) => Transport::H2,
        }
    }

    /// The name in documents (`http/1.1`, `https`, `h2c`, `h2`, `mixed`).
    pub fn name(self) -> &'static str {
        match self {
            Transport::Http1 => "http/1.1",
            Transport::Https => "https",
            Transport::H2c => "h2c",
            Transport::H2 => "h2",
            Transport::Mixed => "mixed",
        }
    }

    /// What it means, for people.
    pub fn describe(self) -> &'static str {
        match self {
            Transport::Http1 => "HTTP/1.1 over plain TCP",
            Transport::Https => "HTTP/1.1 over TLS",
            Transport::H2c => {
                "HTTP/2 with prior knowledge (h2c) over plain TCP; WebSocket fixtures over HTTP/1.1"
            }
            Transport::H2 => "HTTP/2 over TLS (ALPN h2); WebSocket fixtures over HTTP/1.1 (wss)",
            Transport::Mixed => "several (merged documents made with different transports)",
        }
    }
}

/// Why a protocol suite of `matrix --protocol-suites` has no document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuiteSkip {
    /// Not run, not a failure: the runner declares the protocol but names no endpoint
    /// (`[protocol_paths]`), the `--url` column was given no path, or `--protocol-cases`
    /// selects none of the suite's cases.
    Skipped,
    /// The endpoint could not be reached at all while the runner was up (exit 3).
    Unavailable,
}

/// A protocol suite that `matrix --protocol-suites` did not run on a column, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuiteNotRun {
    /// `websocket` or `sse`.
    pub suite: String,
    /// The column (runner name, or the `--url` column's name).
    pub runner: String,
    /// Skipped or unavailable.
    pub status: SuiteSkip,
    /// Why, in words.
    pub reason: String,
}

/// One runner's block.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunnerReport {
    /// Runner name.
    pub runner: String,
    /// Language.
    pub language: String,
    /// Framework.
    pub framework: String,
    /// Declared protocols.
    pub protocols: Vec<Protocol>,
    /// Whether it ran.
    pub status: RunnerStatus,
    /// Why it is unavailable, with the app's last output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How its fixtures were replayed (absent when it did not run, and in documents made before
    /// this field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
    /// The run: target, summary, fixtures.
    #[serde(flatten)]
    pub run: RunReport,
}

/// The matrix document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MatrixReport {
    /// `{"name": "matrix", ...}`.
    pub target: TargetInfo,
    /// How the runners were spoken to (`--tls`, `--http2`); a `--url` column says its own in
    /// its block. Absent in documents made before this field and in `report`'s grid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
    /// Totals over every runner.
    pub summary: Summary,
    /// Every runner's fixture results in one list, each tagged with its runner (the `run`
    /// document's shape, docs/contract.md, section 5.1).
    #[serde(default)]
    pub fixtures: Vec<MatrixFixture>,
    /// One block per runner, sorted by name.
    pub runners: Vec<RunnerReport>,
    /// `--protocol-suites`: every suite document (the `protocol websocket|sse` document, its
    /// `target.name` the runner's), sorted by runner then suite; absent without it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protocol: Vec<SuiteReport>,
    /// `--protocol-suites`: the suites of declared protocols that did not run, and why; absent
    /// when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protocol_not_run: Vec<SuiteNotRun>,
}

/// A fixture result and the runner it is of.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MatrixFixture {
    /// Runner name.
    pub runner: String,
    /// The result.
    #[serde(flatten)]
    pub result: FixtureResult,
}

impl MatrixReport {
    /// Builds the document and its totals.
    pub fn new(mut runners: Vec<RunnerReport>, duration_ms: f64) -> MatrixReport {
        runners.sort_by(|a, b| a.runner.cmp(&b.runner));
        let mut summary = Summary {
            duration_ms,
            ..Summary::default()
        };
        for r in &runners {
            let s = &r.run.summary;
            summary.passed += s.passed;
            summary.failed += s.failed;
            summary.skipped += s.skipped;
            summary.errored += s.errored;
            summary.snapshots_changed += s.snapshots_changed;
            summary.snapshots_new += s.snapshots_new;
            summary.expected_failures += s.expected_failures;
        }
        let target = TargetInfo {
            name: "matrix".into(),
            kind: TargetKind::Matrix,
            url: String::new(),
        };
        let fixtures = runners
            .iter()
            .flat_map(|r| {
                r.run.fixtures.iter().map(|f| MatrixFixture {
                    runner: r.runner.clone(),
                    result: f.clone(),
                })
            })
            .collect();
        MatrixReport {
            target,
            transport: None,
            summary,
            fixtures,
            runners,
            protocol: Vec::new(),
            protocol_not_run: Vec::new(),
        }
    }

    /// The document with the protocol suites' documents and those that did not run, each
    /// sorted by runner, then suite.
    pub fn with_protocol(
        mut self,
        mut suites: Vec<SuiteReport>,
        mut not_run: Vec<SuiteNotRun>,
    ) -> MatrixReport {
        suites.sort_by(|a, b| (&a.target.name, &a.suite).cmp(&(&b.target.name, &b.suite)));
        not_run.sort_by(|a, b| (&a.runner, &a.suite).cmp(&(&b.runner, &b.suite)));
        self.protocol = suites;
        self.protocol_not_run = not_run;
        self
    }

    /// The document saying how its runners were spoken to.
    pub fn with_transport(mut self, transport: Transport) -> MatrixReport {
        self.transport = Some(transport);
        self
    }

    /// Joins documents made on several machines; a runner present twice is an error. The
    /// transport is the documents' when they all say the same, else `mixed`.
    pub fn merge(documents: Vec<MatrixReport>) -> Result<MatrixReport, HarnessError> {
        let mut runners: Vec<RunnerReport> = Vec::new();
        let mut suites = Vec::new();
        let mut not_run = Vec::new();
        let mut duration_ms: f64 = 0.0;
        let mut transports: Vec<Option<Transport>> =
            documents.iter().map(|d| d.transport).collect();
        transports.dedup();
        let transport = match transports.as_slice() {
            [] => None,
            [only] => *only,
            _ => Some(Transport::Mixed),
        };
        for document in documents {
            duration_ms = duration_ms.max(document.summary.duration_ms);
            suites.extend(document.protocol);
            not_run.extend(document.protocol_not_run);
            for runner in document.runners {
                if runners.iter().any(|r| r.runner == runner.runner) {
                    return Err(HarnessError::RunnerTwice {
                        runner: runner.runner,
                    });
                }
                runners.push(runner);
            }
        }
        let mut merged = MatrixReport::new(runners, duration_ms).with_protocol(suites, not_run);
        merged.transport = transport;
        Ok(merged)
    }

    /// The exit code: 3 when a runner (or a protocol suite's endpoint) was unavailable, 1 on an
    /// unexpected failure, a changed snapshot or a protocol case `failed` and not listed as a
    /// known failure, else 0.
    pub fn exit_code(&self) -> i32 {
        let unavailable = self
            .runners
            .iter()
            .any(|r| r.status == RunnerStatus::Unavailable)
            || self
                .protocol_not_run
                .iter()
                .any(|s| s.status == SuiteSkip::Unavailable);
        if unavailable {
            crate::error::exit::TARGET
        } else if self.runners.iter().all(|r| r.run.passed())
            && self.protocol.iter().all(|s| s.exit_code() == 0)
        {
            crate::error::exit::OK
        } else {
            crate::error::exit::FAILED
        }
    }
}

/// Passed and total fixtures of one protocol in one runner's run; `None` when it declared none.
pub fn cell(report: &RunnerReport, protocol: Protocol) -> Option<(usize, usize)> {
    if !report.protocols.contains(&protocol) {
        return None;
    }
    let fixtures = report
        .run
        .fixtures
        .iter()
        .filter(|f| f.protocol == protocol);
    let (mut passed, mut total) = (0, 0);
    for f in fixtures {
        if f.outcome == Outcome::Skipped {
            continue;
        }
        total += 1;
        if f.outcome == Outcome::Passed {
            passed += 1;
        }
    }
    Some((passed, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(runner: &str, transport: Option<Transport>) -> MatrixReport {
        let block = RunnerReport {
            runner: runner.into(),
            language: "rust".into(),
            framework: "axum".into(),
            protocols: vec![Protocol::Rest],
            status: RunnerStatus::Ran,
            error: None,
            transport,
            run: RunReport::new(
                TargetInfo {
                    name: runner.into(),
                    kind: TargetKind::Runner,
                    url: String::new(),
                },
                Vec::new(),
                1.0,
            ),
        };
        let report = MatrixReport::new(vec![block], 1.0);
        match transport {
            Some(transport) => report.with_transport(transport),
            None => report,
        }
    }

    #[test]
    fn the_transport_is_written_by_name_and_absent_from_older_documents() {
        let json = serde_json::to_value(document("a", Some(Transport::H2c))).unwrap();
        assert_eq!(json["transport"], "h2c");
        assert_eq!(json["runners"][0]["transport"], "h2c");
        let json = serde_json::to_value(document("a", None)).unwrap();
        assert!(json.get("transport").is_none(), "{json}");
        assert!(json["runners"][0].get("transport").is_none(), "{json}");
        // A document made before the field reads back without it.
        let read: MatrixReport = serde_json::from_value(json).unwrap();
        assert_eq!(read.transport, None);
        for (tls, http2, name) in [
            (false, false, "http/1.1"),
            (true, false, "https"),
            (false, true, "h2c"),
            (true, true, "h2"),
        ] {
            let transport = Transport::of(tls, http2);
            assert_eq!(transport.name(), name);
            assert_eq!(serde_json::to_value(transport).unwrap(), name);
        }
    }

    #[test]
    fn a_merge_keeps_one_transport_and_says_mixed_for_several() {
        let same = MatrixReport::merge(vec![
            document("a", Some(Transport::H2)),
            document("b", Some(Transport::H2)),
        ])
        .unwrap();
        assert_eq!(same.transport, Some(Transport::H2));
        let mixed = MatrixReport::merge(vec![
            document("a", Some(Transport::H2)),
            document("b", Some(Transport::Http1)),
            document("c", Some(Transport::H2)),
        ])
        .unwrap();
        assert_eq!(mixed.transport, Some(Transport::Mixed));
        let older = MatrixReport::merge(vec![document("a", None), document("b", None)]).unwrap();
        assert_eq!(older.transport, None);
    }

    fn suite(runner: &str, failed: bool, known: bool) -> SuiteReport {
        use crate::results::protocol::{CaseResult, Verdict};
        let case = CaseResult {
            id: "5.9".into(),
            category: "Fragmentation".into(),
            description: "d".into(),
            verdict: if failed { Verdict::Failed } else { Verdict::Ok },
            expected: "e".into(),
            observed: "o".into(),
            duration_ms: 1.0,
            trace: Vec::new(),
            expected_failure: known,
        };
        let target = TargetInfo {
            name: runner.into(),
            kind: TargetKind::Runner,
            url: String::new(),
        };
        SuiteReport::new("websocket", target, "/ws", vec![case], 1.0)
    }

    fn not_run(runner: &str, status: SuiteSkip) -> SuiteNotRun {
        SuiteNotRun {
            suite: "sse".into(),
            runner: runner.into(),
            status,
            reason: "r".into(),
        }
    }

    #[test]
    fn a_protocol_case_failed_unlisted_exits_1_listed_0_and_an_unreachable_suite_3() {
        let with = |suites, skipped| document("a", None).with_protocol(suites, skipped);
        assert_eq!(with(vec![suite("a", false, false)], vec![]).exit_code(), 0);
        assert_eq!(with(vec![suite("a", true, false)], vec![]).exit_code(), 1);
        assert_eq!(with(vec![suite("a", true, true)], vec![]).exit_code(), 0);
        let skipped = vec![not_run("a", SuiteSkip::Skipped)];
        assert_eq!(with(vec![], skipped).exit_code(), 0);
        let unreachable = vec![not_run("a", SuiteSkip::Unavailable)];
        assert_eq!(
            with(vec![suite("a", true, false)], unreachable).exit_code(),
            3
        );
    }

    #[test]
    fn a_merge_keeps_the_suites_sorted_by_runner() {
        let a = document("a", None).with_protocol(
            vec![suite("a", true, true)],
            vec![not_run("a", SuiteSkip::Skipped)],
        );
        let b = document("b", None).with_protocol(vec![suite("b", false, false)], vec![]);
        let merged = MatrixReport::merge(vec![b, a]).unwrap();
        let names: Vec<&str> = merged
            .protocol
            .iter()
            .map(|s| s.target.name.as_str())
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(merged.protocol_not_run.len(), 1);
        assert_eq!(merged.exit_code(), 0);
        // Without suites, the document has neither array (older readers see nothing new).
        let json = serde_json::to_value(document("c", None)).unwrap();
        assert!(json.get("protocol").is_none() && json.get("protocol_not_run").is_none());
        let json = serde_json::to_value(&merged).unwrap();
        let back: MatrixReport = serde_json::from_value(json).unwrap();
        assert_eq!(back.protocol, merged.protocol);
        assert_eq!(back.protocol_not_run, merged.protocol_not_run);
    }
}
