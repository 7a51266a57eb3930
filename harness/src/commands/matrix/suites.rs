//! `matrix --protocol-suites`: the protocol suites (WebSocket, SSE) on one column while it is
//! up, after its fixtures. Which suites a column gets and where ([`SuitePlan`]): a runner's
//! from its manifest (declared protocols, `[protocol_paths]`, `[expected_protocol_failures]`),
//! the `--url` column's from `--protocol-ws-path`/`--protocol-sse-path`. Each suite yields its
//! document, or a line saying why it did not run.

use std::time::Instant;

use harness_fixture::Protocol;
use url::Url;

use crate::cli::{MatrixArgs, Suite};
use crate::protocol::{SuiteError, SuiteOptions, sse, websocket};
use crate::report::progress::runner_note;
use crate::results::TargetInfo;
use crate::results::matrix::{SuiteNotRun, SuiteSkip};
use crate::results::protocol::{SuiteReport, Verdict, VerdictCounts};
use crate::target::Target;
use crate::target::runner::Runner;
use crate::target::runner::manifest::ExpectedProtocolFailures;
use crate::wire::tls::TlsSettings;

/// Where one suite runs, or why it does not.
struct Planned {
    suite: Suite,
    /// The base URL and the endpoint's path, or why there is none.
    endpoint: Result<(Url, String), String>,
}

/// The suites of one column: where each runs, how to trust its TLS, and the cases its
/// framework is known to fail.
#[derive(Default)]
pub(super) struct SuitePlan {
    suites: Vec<Planned>,
    tls: TlsSettings,
    expected: ExpectedProtocolFailures,
}

/// The suites' documents of one column and those that did not run.
#[derive(Default)]
pub(super) struct SuiteResults {
    /// One document per suite run.
    pub documents: Vec<SuiteReport>,
    /// The suites of declared protocols that did not run, and why.
    pub not_run: Vec<SuiteNotRun>,
}

/// The protocol a suite tests.
fn protocol_of(suite: Suite) -> Protocol {
    match suite {
        Suite::Websocket => Protocol::WebSocket,
        Suite::Sse => Protocol::Sse,
    }
}

impl SuitePlan {
    /// A runner's suites: those of the protocols it declares, at the paths its manifest names
    /// (`[protocol_paths]`) under `base`. Nothing without `--protocol-suites`.
    pub fn of_runner(args: &MatrixArgs, runner: &Runner, base: &Url, tls: TlsSettings) -> Self {
        if !args.protocol_suites {
            return SuitePlan::default();
        }
        let manifest = &runner.manifest;
        let suites = [Suite::Websocket, Suite::Sse]
            .into_iter()
            .filter(|suite| manifest.protocols.contains(&protocol_of(*suite)))
            .map(|suite| {
                let path = match suite {
                    Suite::Websocket => &manifest.protocol_paths.websocket,
                    Suite::Sse => &manifest.protocol_paths.sse,
                };
                let name = suite.as_str();
                Planned {
                    suite,
                    endpoint: path
                        .clone()
                        .map(|path| (base.clone(), path))
                        .ok_or_else(|| {
                            format!(
                                "it declares {name} but its runner.toml names no endpoint \
                             ([protocol_paths] {name} = \"/...\")"
                            )
                        }),
                }
            })
            .collect();
        SuitePlan {
            suites,
            tls,
            expected: manifest.expected_protocol_failures.clone(),
        }
    }

    /// The `--url` column's suites: at `--protocol-ws-path` and `--protocol-sse-path`, under
    /// `--ws-url`/`--sse-url` when given, else under `base`. Nothing without `--protocol-suites`.
    pub fn of_outside(
        args: &MatrixArgs,
        base: &Url,
        ws_base: Option<&Url>,
        sse_base: Option<&Url>,
        tls: TlsSettings,
    ) -> Self {
        if !args.protocol_suites {
            return SuitePlan::default();
        }
        let planned = |suite: Suite, path: &Option<String>, own: Option<&Url>, flag: &str| {
            let at = own.unwrap_or(base).clone();
            Planned {
                suite,
                endpoint: path
                    .clone()
                    .map(|path| (at, path))
                    .ok_or_else(|| format!("the --url column is given no {flag}")),
            }
        };
        SuitePlan {
            suites: vec![
                planned(
                    Suite::Websocket,
                    &args.protocol_ws_path,
                    ws_base,
                    "--protocol-ws-path",
                ),
                planned(
                    Suite::Sse,
                    &args.protocol_sse_path,
                    sse_base,
                    "--protocol-sse-path",
                ),
            ],
            tls,
            expected: ExpectedProtocolFailures::default(),
        }
    }
}

/// Runs the column's suites one after the other against `target` (restarting a runner that a
/// suite made crash, so the next one finds it up); `info` names the column in the documents.
pub(super) async fn run_suites(
    args: &MatrixArgs,
    info: &TargetInfo,
    plan: SuitePlan,
    target: &mut Target,
) -> SuiteResults {
    let mut results = SuiteResults::default();
    for planned in plan.suites {
        let suite = planned.suite.as_str();
        let skip = |status: SuiteSkip, reason: String| {
            runner_note(&info.name, &format!("{suite} suite not run: {reason}"));
            SuiteNotRun {
                suite: suite.to_string(),
                runner: info.name.clone(),
                status,
                reason,
            }
        };
        let (base, path) = match planned.endpoint {
            Ok(endpoint) => endpoint,
            Err(reason) => {
                results.not_run.push(skip(SuiteSkip::Skipped, reason));
                continue;
            }
        };
        let Some(only) = args.protocol_cases_of(planned.suite) else {
            let reason = "--protocol-cases selects none of its cases".to_string();
            results.not_run.push(skip(SuiteSkip::Skipped, reason));
            continue;
        };
        let options = SuiteOptions {
            base,
            path: path.clone(),
            tls: plan.tls.clone(),
            case_timeout: args.protocol_case_timeout,
            only,
        };
        let started = Instant::now();
        let outcome = match planned.suite {
            Suite::Websocket => websocket::run_suite(&options).await,
            Suite::Sse => sse::run_suite(&options).await,
        };
        // A suite that failed something may have made the app crash: restart it for the next.
        let failed = outcome.as_ref().map_or(true, |cases| {
            cases.iter().any(|c| c.verdict == Verdict::Failed)
        });
        if failed && let Some(Err(e)) = target.revive().await {
            tracing::error!(runner = %info.name, "{e}");
        }
        match outcome {
            Ok(mut cases) => {
                for case in &mut cases {
                    case.expected_failure = plan.expected.lists(suite, &case.id);
                }
                let elapsed = started.elapsed();
                let report = SuiteReport::new(
                    suite,
                    info.clone(),
                    &path,
                    cases,
                    elapsed.as_secs_f64() * 1000.0,
                );
                suite_done(&info.name, suite, &report.summary, elapsed);
                results.documents.push(report);
            }
            Err(SuiteError::Unreachable { url, reason }) => {
                let reason = format!("{url}: {reason}");
                results.not_run.push(skip(SuiteSkip::Unavailable, reason));
            }
        }
    }
    results
}

/// `[runner] websocket suite: 290 ok, 3 non_strict, 1 failed (1 known), ... in 42.0 s`.
fn suite_done(runner: &str, suite: &str, c: &VerdictCounts, elapsed: std::time::Duration) {
    runner_note(
        runner,
        &format!(
            "{suite} suite: {} ok, {} non_strict, {} failed ({} known), {} informational, \
             {} unimplemented in {:.1} s",
            c.ok,
            c.non_strict,
            c.failed,
            c.expected_failures,
            c.informational,
            c.unimplemented,
            elapsed.as_secs_f64()
        ),
    );
}
