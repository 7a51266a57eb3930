//! The result document of the protocol suites (`protocol websocket|sse`): one verdict per case,
//! with what was expected, what was seen and, for every case that is not `ok`, the wire trace.
//! Shape: docs/contract.md, "Protocol suites"; schema: reports/schema/protocol.schema.json.

use serde::{Deserialize, Serialize};

use super::TargetInfo;

/// What a case found, after Autobahn|Testsuite's verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The server did what the RFC asks.
    Ok,
    /// Allowed, but not the best behaviour (a close code right in class but not the exact one).
    NonStrict,
    /// The server broke the RFC (or hung, or died) in this case.
    Failed,
    /// Recorded for information (timings, close codes the RFC leaves open): never a failure.
    Informational,
    /// The server does not offer what the case tests (an extension it did not accept).
    Unimplemented,
}

/// Who wrote a line of a case's trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceDirection {
    /// Bytes or a frame the harness sent.
    Sent,
    /// Bytes or a frame the server sent.
    Received,
    /// What happened to the connection (opened, closed, reset, timed out).
    Event,
}

/// One line of a wire trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceEntry {
    /// Milliseconds since the case started.
    pub t_ms: f64,
    /// Who.
    pub direction: TraceDirection,
    /// What, in words: `text fin=1 rsv=000 mask=1 len=5 "hello"`, `connection reset`,
    /// `data: tick\n` (control characters escaped, long payloads clipped).
    pub what: String,
}

/// One case and its verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    /// Dotted id (`6.4.1` for WebSocket, after Autobahn's numbering; `sse.3.2` style for SSE),
    /// its first component the category.
    pub id: String,
    /// The category's name (`UTF-8 Handling`).
    pub category: String,
    /// What the case does.
    pub description: String,
    /// What it found.
    pub verdict: Verdict,
    /// What a conforming server does.
    pub expected: String,
    /// What this one did.
    pub observed: String,
    /// Wall time of the case.
    pub duration_ms: f64,
    /// The wire trace; empty for cases that are `ok`.
    #[serde(default)]
    pub trace: Vec<TraceEntry>,
    /// The runner's manifest lists this case as a known failure of its framework
    /// (`[expected_protocol_failures]`): a `failed` verdict then does not fail the run. Absent
    /// when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expected_failure: bool,
}

/// How many cases had each verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictCounts {
    /// Cases `ok`.
    pub ok: usize,
    /// Cases `non_strict`.
    pub non_strict: usize,
    /// Cases `failed`.
    pub failed: usize,
    /// Cases `informational`.
    pub informational: usize,
    /// Cases `unimplemented`.
    pub unimplemented: usize,
    /// Of the `failed` cases, those listed as known failures (`expected_failure`); absent in
    /// documents made before this field.
    #[serde(default)]
    pub expected_failures: usize,
}

impl VerdictCounts {
    /// The counts of `cases`.
    pub fn of(cases: &[CaseResult]) -> VerdictCounts {
        let mut counts = VerdictCounts::default();
        for case in cases {
            *match case.verdict {
                Verdict::Ok => &mut counts.ok,
                Verdict::NonStrict => &mut counts.non_strict,
                Verdict::Failed => &mut counts.failed,
                Verdict::Informational => &mut counts.informational,
                Verdict::Unimplemented => &mut counts.unimplemented,
            } += 1;
            if case.verdict == Verdict::Failed && case.expected_failure {
                counts.expected_failures += 1;
            }
        }
        counts
    }
}

/// The document `protocol websocket|sse --format json` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteReport {
    /// `websocket` or `sse`.
    pub suite: String,
    /// What was tested.
    pub target: TargetInfo,
    /// The endpoint's path (`/ws/echo`).
    #[serde(default)]
    pub path: String,
    /// Every case run, in catalogue order.
    pub cases: Vec<CaseResult>,
    /// Counts per verdict.
    pub summary: VerdictCounts,
    /// Wall time of the whole suite.
    #[serde(default)]
    pub duration_ms: f64,
}

impl SuiteReport {
    /// The report of `cases` (the summary counted from them).
    pub fn new(
        suite: &str,
        target: TargetInfo,
        path: &str,
        cases: Vec<CaseResult>,
        duration_ms: f64,
    ) -> SuiteReport {
        SuiteReport {
            suite: suite.to_string(),
            target,
            path: path.to_string(),
            summary: VerdictCounts::of(&cases),
            cases,
            duration_ms,
        }
    }

    /// 1 when any case failed that is not a listed known failure, else 0 (`non_strict`,
    /// `informational` and `unimplemented` pass).
    pub fn exit_code(&self) -> i32 {
        i32::from(self.unexpected_failures() > 0)
    }

    /// The `failed` cases not listed as known failures.
    pub fn unexpected_failures(&self) -> usize {
        self.summary
            .failed
            .saturating_sub(self.summary.expected_failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::TargetKind;

    fn case(id: &str, verdict: Verdict) -> CaseResult {
        CaseResult {
            id: id.into(),
            category: "Framing".into(),
            description: "d".into(),
            verdict,
            expected: "e".into(),
            observed: "o".into(),
            duration_ms: 1.0,
            trace: Vec::new(),
            expected_failure: false,
        }
    }

    fn target() -> TargetInfo {
        TargetInfo {
            name: "t".into(),
            kind: TargetKind::Url,
            url: "http://127.0.0.1:1/".into(),
        }
    }

    #[test]
    fn only_a_failed_case_fails_the_suite() {
        let passing = [
            Verdict::Ok,
            Verdict::NonStrict,
            Verdict::Informational,
            Verdict::Unimplemented,
        ];
        let cases: Vec<_> = passing.iter().map(|v| case("1.1.1", *v)).collect();
        let report = SuiteReport::new("websocket", target(), "/ws", cases.clone(), 1.0);
        assert_eq!(report.exit_code(), 0);
        assert_eq!(
            report.summary,
            VerdictCounts {
                ok: 1,
                non_strict: 1,
                failed: 0,
                informational: 1,
                unimplemented: 1,
                expected_failures: 0,
            }
        );
        let mut failing = cases;
        failing.push(case("1.1.2", Verdict::Failed));
        let report = SuiteReport::new("websocket", target(), "/ws", failing.clone(), 1.0);
        assert_eq!((report.exit_code(), report.summary.failed), (1, 1));
        let json = serde_json::to_value(&report).unwrap();
        assert!(json["cases"][4].get("expected_failure").is_none(), "{json}");
        // Listed as a known failure: still counted failed, but it does not fail the suite; a
        // listed case that passed counts nothing.
        for case in &mut failing {
            case.expected_failure = true;
        }
        let report = SuiteReport::new("websocket", target(), "/ws", failing, 1.0);
        assert_eq!(
            (
                report.exit_code(),
                report.summary.failed,
                report.summary.expected_failures
            ),
            (0, 1, 1)
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["cases"][4]["expected_failure"], true);
        assert_eq!(json["summary"]["expected_failures"], 1);
    }

    #[test]
    fn the_document_has_the_contract_field_names() {
        let report = SuiteReport::new(
            "sse",
            target(),
            "/sse",
            vec![case("1.1", Verdict::NonStrict)],
            2.0,
        );
        let json = serde_json::to_value(&report).unwrap();
        for field in ["suite", "target", "cases", "summary"] {
            assert!(json.get(field).is_some(), "{field}");
        }
        let case = &json["cases"][0];
        for field in [
            "id",
            "category",
            "description",
            "verdict",
            "expected",
            "observed",
            "duration_ms",
            "trace",
        ] {
            assert!(case.get(field).is_some(), "{field}");
        }
        assert_eq!(case["verdict"], "non_strict");
        assert_eq!(json["summary"]["non_strict"], 1);
        let back: SuiteReport = serde_json::from_value(json).unwrap();
        assert_eq!(back, report);
    }

    #[test]
    fn the_document_is_valid_against_the_published_schema_and_a_wrong_one_is_not() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../reports/schema/protocol.v1.schema.json"
        );
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let mut failed = case("6.4.1", Verdict::Failed);
        failed.trace.push(TraceEntry {
            t_ms: 0.25,
            direction: TraceDirection::Received,
            what: "close code=1000".into(),
        });
        let report = SuiteReport::new("websocket", target(), "/ws", vec![failed], 2.0);
        let json = serde_json::to_value(&report).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
        let mut wrong = json.clone();
        wrong["cases"][0]["verdict"] = "passed".into();
        assert!(!validator.is_valid(&wrong));
        let mut wrong = json;
        wrong["summary"]
            .as_object_mut()
            .unwrap()
            .remove("non_strict");
        assert!(!validator.is_valid(&wrong));
    }
}
