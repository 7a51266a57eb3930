//! One column of the matrix: a runner the harness starts, or the server at `--url`; opened over
//! the run's transport (HTTP/1.1 or HTTP/2, plain or TLS), replayed, and turned into its block.

use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use harness_fixture::{Fixture, Protocol};

use crate::cli::{Cli, MatrixArgs};
use crate::config::{protocol_urls, require_http2};
use crate::replay::conformance::replay_all;
use crate::replay::driver::Driver;
use crate::replay::plan::Plan;
use crate::report::progress::{runner_done, runner_not_run, runner_started, runner_unavailable};
use crate::results::RunReport;
use crate::results::matrix::{RunnerReport, RunnerStatus, Transport};
use crate::results::{TargetInfo, TargetKind};
use crate::snapshot::SnapshotStore;
use crate::target::Target;
use crate::target::runner::{Capability, Runner, RunnerTls};
use crate::wire::tls::TlsSettings;
use crate::wire::transport::is_tls;

use super::suites::{SuitePlan, SuiteResults, run_suites};

/// What every column of one run shares.
pub(super) struct Context<'a> {
    pub cli: &'a Cli,
    pub args: &'a MatrixArgs,
    pub plan: &'a Plan,
    pub fixtures_dir: &'a Path,
    pub snapshots_dir: &'a Path,
    /// The run's certificate (`--tls`), for the runners.
    pub tls: Option<&'a RunnerTls>,
    /// `--http2`.
    pub http2: bool,
}

/// The server at `--url` as a column: its name and how to reach it.
pub(super) struct Outside {
    /// `--target-name`, else `url-HOST-PORT`.
    pub name: String,
    /// `--url`.
    pub url: String,
    /// `--cacert`, `--insecure`, `--client-cert`/`--client-key`.
    pub tls: TlsSettings,
}

/// A column to replay.
pub(super) enum Column<'a> {
    /// A runner's app, started for the run.
    Runner(&'a Runner),
    /// The server at `--url`.
    Outside(&'a Outside),
}

/// What a column's block says about it besides its results.
struct Header {
    name: String,
    language: String,
    framework: String,
    protocols: Vec<Protocol>,
    kind: TargetKind,
}

impl Header {
    fn of_runner(runner: &Runner) -> Header {
        let manifest = &runner.manifest;
        Header {
            name: manifest.name.clone(),
            language: manifest.language.clone(),
            framework: manifest.framework.clone(),
            protocols: manifest.protocols.clone(),
            kind: TargetKind::Runner,
        }
    }

    /// The server at `--url` declares nothing: it is asked every fixture of the plan.
    fn of_outside(outside: &Outside) -> Header {
        Header {
            name: outside.name.clone(),
            language: "-".into(),
            framework: "-".into(),
            protocols: Protocol::ALL.to_vec(),
            kind: TargetKind::Url,
        }
    }

    /// The block of a column whose fixtures were not replayed, and why.
    fn without_run(self, status: RunnerStatus, why: String) -> RunnerReport {
        let info = TargetInfo {
            name: self.name.clone(),
            kind: self.kind,
            url: String::new(),
        };
        RunnerReport {
            runner: self.name,
            language: self.language,
            framework: self.framework,
            protocols: self.protocols,
            status,
            error: Some(why),
            transport: None,
            run: RunReport::new(info, Vec::new(), 0.0),
        }
    }

    /// The block of a column that could not be set up, started or reached (exit 3), and why.
    fn unavailable(self, why: String) -> RunnerReport {
        runner_unavailable(&self.name, &why);
        self.without_run(RunnerStatus::Unavailable, why)
    }
}

/// A runner left out because it does not declare a transport the run asks for.
pub(super) fn not_declared_report(runner: &Runner, capability: Capability) -> RunnerReport {
    let why = format!(
        "not run: its runner.toml does not declare the `{}` capability",
        capability.name()
    );
    runner_not_run(&runner.manifest.name, &why);
    Header::of_runner(runner).without_run(RunnerStatus::NotDeclared, why)
}

/// A runner that could not be set up or started.
pub(super) fn unavailable_report(runner: &Runner, error: String) -> RunnerReport {
    Header::of_runner(runner).unavailable(error)
}

/// The capabilities a runner must declare to be replayed over the run's transport.
pub(super) fn needed_capabilities(tls: bool, http2: bool) -> Vec<Capability> {
    match (tls, http2) {
        (false, false) => vec![],
        (true, false) => vec![Capability::Tls],
        (false, true) => vec![Capability::H2c],
        (true, true) => vec![Capability::Tls, Capability::Http2],
    }
}

/// What a column yields: its block, and with `--protocol-suites` its suites' documents.
pub(super) struct ColumnResult {
    /// The column's block.
    pub block: RunnerReport,
    /// Its protocol suites.
    pub suites: SuiteResults,
}

impl From<RunnerReport> for ColumnResult {
    fn from(block: RunnerReport) -> Self {
        ColumnResult {
            block,
            suites: SuiteResults::default(),
        }
    }
}

/// Opens the column, replays its fixtures, runs its protocol suites, closes it.
pub(super) async fn run_column(context: &Context<'_>, column: Column<'_>) -> ColumnResult {
    let (header, opened) = match column {
        Column::Runner(runner) => (
            Header::of_runner(runner),
            open_runner(context, runner).await,
        ),
        Column::Outside(outside) => (
            Header::of_outside(outside),
            open_outside(context, outside).await,
        ),
    };
    match opened {
        Ok(opened) => replay(context, header, opened).await,
        Err(why) => header.unavailable(why).into(),
    }
}

/// A column ready to be replayed.
struct Opened {
    target: Target,
    driver: Driver,
    transport: Transport,
    suites: SuitePlan,
}

fn timeout(context: &Context<'_>) -> Duration {
    context.args.replay.timeout
}

/// Starts the runner's app over the run's transport, and with `--http2` checks that it agrees
/// to HTTP/2 (ALPN or h2c); why not in words.
async fn open_runner(context: &Context<'_>, runner: &Runner) -> Result<Opened, String> {
    let target = Target::runner(runner, context.fixtures_dir, context.tls)
        .await
        .map_err(|e| e.to_string())?;
    let base = target.base_url();
    let tls = context
        .tls
        .map(|tls| tls.client().clone())
        .unwrap_or_default();
    let checked = async {
        if context.http2 {
            crate::wire::http2::check_http2(&base, &tls, timeout(context))
                .await
                .map_err(|refused| {
                    let declared = needed_capabilities(context.tls.is_some(), true);
                    let names: Vec<&str> = declared.iter().map(|c| c.name()).collect();
                    format!(
                        "it declares `{}` but did not agree to HTTP/2 at {base}: {refused}",
                        names.join("`, `")
                    )
                })?;
        }
        driver(context, base.clone(), tls.clone())
            .map_err(|e| format!("cannot build the HTTP client: {e}"))
    };
    match checked.await {
        Ok(driver) => Ok(Opened {
            suites: SuitePlan::of_runner(context.args, runner, &target.base_url(), tls),
            target,
            driver,
            transport: Transport::of(context.tls.is_some(), context.http2),
        }),
        Err(why) => {
            target.shutdown().await;
            Err(why)
        }
    }
}

/// Attaches to the server at `--url` (and `--ws-url`, `--sse-url`) with the TLS flags, and
/// with `--http2` checks that its base and SSE URLs agree to HTTP/2; why not in words.
async fn open_outside(context: &Context<'_>, outside: &Outside) -> Result<Opened, String> {
    let wait = timeout(context);
    let target = Target::attach(&outside.url, &outside.tls, wait)
        .await
        .map_err(|e| e.to_string())?;
    let base = target.base_url();
    let (ws_url, sse_url) = protocol_urls(context.cli, &outside.tls, wait)
        .await
        .map_err(|e| e.to_string())?;
    // As `run --http2`: WebSocket fixtures keep the HTTP/1.1 upgrade, their base is not asked.
    let asked: Vec<&url::Url> = [Some(&base), sse_url.as_ref()]
        .into_iter()
        .flatten()
        .collect();
    require_http2(context.cli, &asked, &outside.tls, wait)
        .await
        .map_err(|e| e.to_string())?;
    let transport = Transport::of(is_tls(base.scheme()), context.http2);
    let suites = SuitePlan::of_outside(
        context.args,
        &base,
        ws_url.as_ref(),
        sse_url.as_ref(),
        outside.tls.clone(),
    );
    let driver = driver(context, base, outside.tls.clone())
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?
        .with_protocol_bases(ws_url, sse_url);
    Ok(Opened {
        target,
        driver,
        transport,
        suites,
    })
}

/// A driver for `base` over the run's HTTP version, trusting what `tls` trusts.
fn driver(
    context: &Context<'_>,
    base: url::Url,
    tls: TlsSettings,
) -> Result<Driver, reqwest::Error> {
    Driver::new(base, timeout(context))?
        .with_tls(tls)?
        .with_http2(context.http2)
}

/// Replays the plan's fixtures of the column's protocols, reviving a runner that crashed, then
/// runs its protocol suites.
async fn replay(context: &Context<'_>, header: Header, opened: Opened) -> ColumnResult {
    let Opened {
        mut target,
        driver,
        transport,
        suites,
    } = opened;
    runner_started(&header.name);
    let mut info = target.info(None);
    info.name = header.name.clone();
    let store = SnapshotStore::new(context.snapshots_dir, &header.name)
        .with_redactor(context.args.redaction.redactor());
    let fixtures: Vec<&Fixture> = context
        .plan
        .selected()
        .filter(|f| header.protocols.contains(&f.protocol()))
        .collect();
    let settings = context.args.replay.settings();
    let started = Instant::now();
    let mut results = Vec::with_capacity(fixtures.len());
    let mut replays = std::pin::pin!(replay_all(&driver, &store, fixtures, settings));
    while let Some(mut result) = replays.next().await {
        result.expected_failure = target.expects_failure(&result.name);
        if result.error.is_some()
            && let Some(Err(e)) = target.revive().await
        {
            tracing::error!(runner = %header.name, "{e}");
        }
        results.push(result);
    }
    let replayed = started.elapsed();
    let suites = run_suites(context.args, &info, suites, &mut target).await;
    target.shutdown().await;
    runner_done(&header.name, started.elapsed());
    let block = RunnerReport {
        runner: header.name,
        language: header.language,
        framework: header.framework,
        protocols: header.protocols,
        status: RunnerStatus::Ran,
        error: None,
        transport: Some(transport),
        run: RunReport::new(info, results, replayed.as_secs_f64() * 1000.0),
    };
    ColumnResult { block, suites }
}
