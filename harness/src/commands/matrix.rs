//! `matrix`: every runner on every fixture of the protocols it declares; `--merge` joins results.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

use futures_util::StreamExt;
use harness_fixture::{Fixture, Protocol};

use super::{all_runners, fixtures_dir_for_app};
use crate::check::snapshot::SnapshotStore;
use crate::cli::{Cli, Format, MatrixArgs};
use crate::error::HarnessError;
use crate::humanize::escape_controls;
use crate::replay::conformance::replay_all;
use crate::replay::driver::Driver;
use crate::replay::plan::{Plan, plan};
use crate::report::human::{Style, write_fixture};
use crate::report::write_json;
use crate::report::{bundle, check_replaceable, junit, markdown, write_folder};
use crate::results::RunReport;
use crate::results::SnapshotStatus;
use crate::results::matrix::{MatrixReport, RunnerReport, RunnerStatus, cell};
use crate::results::{TargetInfo, TargetKind};
use crate::target::Target;
use crate::target::runner::{Runner, setup};

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
    let style = Style::detect(std::io::stdout().is_terminal());
    let mut stdout = std::io::stdout().lock();
    match args.format {
        Format::Human => {
            let _ = write_failures(&mut stdout, style, &report);
            let _ = write_grid(&mut stdout, &report);
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
    let plan = plan(&args.selection)?;
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

    let started = Instant::now();
    let context = Context {
        args,
        plan: &plan,
        fixtures_dir: &fixtures_dir,
        snapshots_dir: &snapshots_dir,
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
}

async fn run_runner(context: &Context<'_>, runner: &Runner) -> RunnerReport {
    let manifest = &runner.manifest;
    let mut target = match Target::runner(runner, context.fixtures_dir).await {
        Ok(target) => target,
        Err(e) => return unavailable_report(runner, e.to_string()),
    };
    eprintln!("[{}] started", manifest.name);
    let info = target.info(None);
    let driver = match Driver::new(target.base_url(), context.args.replay.timeout) {
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
    eprintln!(
        "[{}] done in {:.1} s",
        manifest.name,
        started.elapsed().as_secs_f64()
    );
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

fn unavailable_report(runner: &Runner, error: String) -> RunnerReport {
    let manifest = &runner.manifest;
    eprintln!(
        "[{}] unavailable: {}",
        manifest.name,
        escape_controls(&error)
    );
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
        status: RunnerStatus::Unavailable,
        error: Some(error),
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
    eprintln!("report: {}", dir.display());
    Ok(())
}

fn write_failures(out: &mut dyn Write, style: Style, report: &MatrixReport) -> std::io::Result<()> {
    use crate::results::Outcome;
    for r in &report.runners {
        let runner = escape_controls(&r.runner);
        if let Some(error) = &r.error {
            writeln!(out, "{runner}: unavailable: {}\n", escape_controls(error))?;
            continue;
        }
        let changed = r.run.fixtures.iter().filter(|f| {
            f.outcome == Outcome::Passed
                && f.snapshot
                    .as_ref()
                    .is_some_and(|s| s.status == SnapshotStatus::Changed)
        });
        for f in changed {
            write!(out, "{runner}: ")?;
            write_fixture(out, style, f)?;
        }
        let failing = r
            .run
            .fixtures
            .iter()
            .filter(|f| matches!(f.outcome, Outcome::Failed | Outcome::Errored));
        let (known, unexpected): (Vec<_>, Vec<_>) = failing.partition(|f| f.expected_failure);
        for f in unexpected {
            write!(out, "{runner}: ")?;
            write_fixture(out, style, f)?;
        }
        if !known.is_empty() {
            let names: Vec<&str> = known.iter().map(|f| f.name.as_str()).collect();
            writeln!(
                out,
                "{runner}: {} known divergences (diffs in --format json and --report): {}",
                names.len(),
                escape_controls(&names.join(", "))
            )?;
        }
        let fixed: Vec<&str> = r
            .run
            .fixtures
            .iter()
            .filter(|f| f.expected_failure && f.outcome == Outcome::Passed)
            .map(|f| f.name.as_str())
            .collect();
        if !fixed.is_empty() {
            writeln!(
                out,
                "{runner}: listed as known divergences but passed (remove them from expected_failures): {}",
                escape_controls(&fixed.join(", "))
            )?;
        }
    }
    Ok(())
}

fn write_grid(out: &mut dyn Write, report: &MatrixReport) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<16} {:<10} {:>10} {:>10} {:>10} {:>10}",
        "runner", "language", "rest", "websocket", "sse", "broadcast"
    )?;
    for r in &report.runners {
        write!(
            out,
            "{:<16} {:<10}",
            escape_controls(&r.runner),
            escape_controls(&r.language)
        )?;
        if r.status == RunnerStatus::Unavailable {
            writeln!(out, " unavailable")?;
            continue;
        }
        for protocol in Protocol::ALL {
            let text = cell(r, protocol).map_or("-".to_string(), |(passed, total)| {
                format!("{passed}/{total}")
            });
            write!(out, " {text:>10}")?;
        }
        let known = r.run.summary.expected_failures;
        if known > 0 {
            write!(out, "   ({known} known divergences)")?;
        }
        writeln!(out)?;
    }
    let s = &report.summary;
    writeln!(
        out,
        "{}: {} passed, {} failed, {} skipped, {} errored ({} known divergences) in {:.1} s",
        if report.exit_code() == 0 {
            "ok"
        } else {
            "FAILED"
        },
        s.passed,
        s.failed,
        s.skipped,
        s.errored,
        s.expected_failures,
        s.duration_ms / 1000.0
    )
}
