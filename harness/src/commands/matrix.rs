//! `matrix`: every runner on every fixture of the protocols it declares; `--merge` joins results.

use std::path::Path;
use std::time::Instant;

use futures_util::StreamExt;
use harness_fixture::Fixture;

use crate::cli::{Cli, Format, MatrixArgs};
use crate::config::{all_runners, fixtures_dir_for_app, selection};
use crate::error::HarnessError;
use crate::replay::conformance::replay_all;
use crate::replay::driver::Driver;
use crate::replay::plan::{Plan, plan};
use crate::report::human::matrix::write_matrix;
use crate::report::progress::{
    report_written, runner_done, runner_not_run, runner_started, runner_unavailable,
};
use crate::report::terminal::Style;
use crate::report::write_json;
use crate::report::{bundle, check_replaceable, junit, markdown, write_folder};
use crate::results::RunReport;
use crate::results::matrix::{MatrixReport, RunnerReport, RunnerStatus};
use crate::results::{TargetInfo, TargetKind};
use crate::snapshot::SnapshotStore;
use crate::target::Target;
use crate::target::runner::{Capability, Runner, RunnerTls, setup};

pub(super) async fn matrix(cli: &Cli, args: &MatrixArgs) -> Result<i32, HarnessError> {
    crate::target::supervise::guard_process();
    if let Some(dir) = &args.report {
        check_replaceable(dir)?;
    }
    let mut report = if args.merge.is_empty() {
        run_matrix(cli, args).await?
    } else {
        merge(&args.merge)?
    };
    // Checked on real values; shown, written and kept with credentials redacted (merged
    // documents made with --no-redact too).
    args.redaction.redactor().matrix_report(&mut report);
    let mut stdout = std::io::stdout().lock();
    match args.format {
        Format::Human => {
            let _ = write_matrix(&mut stdout, Style::stdout(), &report);
        }
        Format::Json => {
            let _ = write_json(&mut stdout, &report);
        }
    }
    if let Some(dir) = &args.report {
        write_report(dir, &report)?;
    }
    Ok(report.exit_code())
}

async fn run_matrix(cli: &Cli, args: &MatrixArgs) -> Result<MatrixReport, HarnessError> {
    let plan = plan(&selection(&args.selection))?;
    let mut runners = all_runners(cli)?;
    if !args.runners.is_empty() {
        for name in &args.runners {
            if !runners.iter().any(|r| &r.manifest.name == name) {
                return Err(HarnessError::Usage(format!("no runner {name:?}")));
            }
        }
        runners.retain(|r| args.runners.contains(&r.manifest.name));
    }
    let (fixtures_dir, _copies) = fixtures_dir_for_app(&plan)?;
    let snapshots_dir = args
        .replay
        .snapshots_dir
        .clone()
        .unwrap_or_else(|| plan.default_snapshots_dir());

    // Setups first, one at a time (they compete for the same cores and package caches).
    let mut unavailable = Vec::new();
    for runner in &runners {
        if let Err(e) = setup::ensure(runner).await {
            unavailable.push(unavailable_report(runner, e.to_string()));
        }
    }
    runners.retain(|r| {
        !unavailable
            .iter()
            .any(|u: &RunnerReport| u.runner == r.manifest.name)
    });

    let tls = if args.tls {
        Some(RunnerTls::generate().map_err(|e| HarnessError::Tls(Box::new(e)))?)
    } else {
        None
    };
    let needed: Vec<Capability> = tls.iter().map(|_| Capability::Tls).collect();
    runners.retain(|runner| {
        let missing = needed
            .iter()
            .find(|c| !runner.manifest.capabilities.contains(c));
        if let Some(capability) = missing {
            unavailable.push(not_declared_report(runner, *capability));
        }
        missing.is_none()
    });

    let started = Instant::now();
    let context = Context {
        args,
        plan: &plan,
        fixtures_dir: &fixtures_dir,
        snapshots_dir: &snapshots_dir,
        tls: tls.as_ref(),
    };
    let mut reports: Vec<RunnerReport> = futures_util::stream::iter(runners.iter())
        .map(|runner| run_runner(&context, runner))
        .buffer_unordered(usize::from(args.parallel))
        .collect()
        .await;
    reports.extend(unavailable);
    Ok(MatrixReport::new(
        reports,
        started.elapsed().as_secs_f64() * 1000.0,
    ))
}

struct Context<'a> {
    args: &'a MatrixArgs,
    plan: &'a Plan,
    fixtures_dir: &'a Path,
    snapshots_dir: &'a Path,
    tls: Option<&'a RunnerTls>,
}

async fn run_runner(context: &Context<'_>, runner: &Runner) -> RunnerReport {
    let manifest = &runner.manifest;
    let mut target = match Target::runner(runner, context.fixtures_dir, context.tls).await {
        Ok(target) => target,
        Err(e) => return unavailable_report(runner, e.to_string()),
    };
    runner_started(&manifest.name);
    let info = target.info(None);
    let driver =
        Driver::new(target.base_url(), context.args.replay.timeout).and_then(
            |driver| match context.tls {
                Some(tls) => driver.with_tls(tls.client().clone()),
                None => Ok(driver),
            },
        );
    let driver = match driver {
        Ok(driver) => driver,
        Err(e) => return unavailable_report(runner, format!("cannot build the HTTP client: {e}")),
    };
    let store = SnapshotStore::new(context.snapshots_dir, &manifest.name)
        .with_redactor(context.args.redaction.redactor());
    let fixtures: Vec<&Fixture> = context
        .plan
        .selected()
        .filter(|f| manifest.protocols.contains(&f.protocol()))
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
            tracing::error!(runner = %manifest.name, "{e}");
        }
        results.push(result);
    }
    target.shutdown().await;
    runner_done(&manifest.name, started.elapsed());
    RunnerReport {
        runner: manifest.name.clone(),
        language: manifest.language.clone(),
        framework: manifest.framework.clone(),
        protocols: manifest.protocols.clone(),
        status: RunnerStatus::Ran,
        error: None,
        run: RunReport::new(info, results, started.elapsed().as_secs_f64() * 1000.0),
    }
}

/// A runner left out because it does not declare a transport the run asks for.
fn not_declared_report(runner: &Runner, capability: Capability) -> RunnerReport {
    let why = format!(
        "not run: its runner.toml does not declare the `{}` capability",
        capability.name()
    );
    runner_not_run(&runner.manifest.name, &why);
    report_without_run(runner, RunnerStatus::NotDeclared, why)
}

fn unavailable_report(runner: &Runner, error: String) -> RunnerReport {
    runner_unavailable(&runner.manifest.name, &error);
    report_without_run(runner, RunnerStatus::Unavailable, error)
}

/// The block of a runner whose fixtures were not replayed, and why.
fn report_without_run(runner: &Runner, status: RunnerStatus, why: String) -> RunnerReport {
    let manifest = &runner.manifest;
    let info = TargetInfo {
        name: manifest.name.clone(),
        kind: TargetKind::Runner,
        url: String::new(),
    };
    RunnerReport {
        runner: manifest.name.clone(),
        language: manifest.language.clone(),
        framework: manifest.framework.clone(),
        protocols: manifest.protocols.clone(),
        status,
        error: Some(why),
        run: RunReport::new(info, Vec::new(), 0.0),
    }
}

fn merge(files: &[std::path::PathBuf]) -> Result<MatrixReport, HarnessError> {
    let mut documents = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|source| HarnessError::Read {
            path: file.clone(),
            source,
        })?;
        let document: MatrixReport =
            serde_json::from_str(&text).map_err(|source| HarnessError::NotAMatrix {
                path: file.clone(),
                source,
            })?;
        documents.push(document);
    }
    MatrixReport::merge(documents)
}

fn write_report(dir: &Path, report: &MatrixReport) -> Result<(), HarnessError> {
    write_folder(
        dir,
        &[
            ("summary.md", markdown::matrix(report)),
            ("junit.xml", junit::matrix(report)),
            (
                "index.html",
                bundle::conformance_page(report.runners.clone()),
            ),
            (
                "matrix.json",
                serde_json::to_string_pretty(report).unwrap_or_default(),
            ),
        ],
    )?;
    report_written(dir);
    Ok(())
}
