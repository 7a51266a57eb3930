//! `run`: conformance of the selected fixtures against one target.

use std::io::{IsTerminal, Write};
use std::time::Instant;

use futures_util::StreamExt;
use harness_fixture::Fixture;
use indicatif::{ProgressBar, ProgressStyle};

use crate::check::check;
use crate::check::snapshot::{SnapshotMode, SnapshotStore};
use crate::cli::{Cli, Format, RunArgs};
use crate::driver::Driver;
use crate::error::{HarnessError, exit};
use crate::plan::plan;
use crate::report::human::{Style, write_fixture, write_summary};
use crate::report::{FixtureResult, Outcome, RunReport};
use crate::target::Target;
use crate::transcript::Interrupted;

pub(super) async fn run(cli: &Cli, args: &RunArgs) -> Result<i32, HarnessError> {
    let plan = plan(&args.selection)?;
    let target = match &cli.url {
        Some(url) => Target::attach(url, args.timeout).await?,
        None => Target::embedded(&plan.loaded).await?,
    };
    let info = target.info(cli.target_name.as_deref());
    let driver = Driver::new(target.base_url(), args.timeout)
        .map_err(|e| HarnessError::Usage(format!("cannot build the HTTP client: {e}")))?;
    let snapshots_dir = args
        .snapshots_dir
        .clone()
        .unwrap_or_else(|| plan.default_snapshots_dir());
    let store = SnapshotStore::new(&snapshots_dir, &info.name);

    let selected: Vec<&Fixture> = plan.selected().collect();
    let bar = ProgressBar::new(selected.len() as u64).with_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} fixtures {wide_bar} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let style = Style::detect(std::io::stdout().is_terminal());
    let started = Instant::now();
    let mut results = Vec::with_capacity(selected.len());
    let mut replays = futures_util::stream::iter(selected)
        .map(|fixture| replay_one(&driver, &store, fixture, args.snapshots))
        .buffered(usize::from(args.jobs));
    while let Some(result) = replays.next().await {
        bar.inc(1);
        if args.format == Format::Human {
            bar.suspend(|| {
                let _ = write_fixture(&mut std::io::stdout().lock(), style, &result);
            });
        }
        results.push(result);
    }
    drop(replays);
    bar.finish_and_clear();
    target.shutdown().await;

    let report = RunReport::new(info, results, started.elapsed().as_secs_f64() * 1000.0);
    let mut stdout = std::io::stdout().lock();
    match args.format {
        Format::Human => {
            let _ = write_summary(&mut stdout, style, &report);
        }
        Format::Json => {
            let _ = writeln!(
                stdout,
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
        }
    }
    Ok(if report.passed() {
        exit::OK
    } else {
        exit::FAILED
    })
}

/// Replays, checks and snapshots one fixture.
async fn replay_one(
    driver: &Driver,
    store: &SnapshotStore,
    fixture: &Fixture,
    mode: SnapshotMode,
) -> FixtureResult {
    let mut result = FixtureResult {
        name: fixture.name.clone(),
        protocol: fixture.protocol(),
        file: fixture.file.clone(),
        outcome: Outcome::Skipped,
        diff: Vec::new(),
        error: None,
        snapshot: None,
        duration_ms: 0.0,
    };
    if let Some(reason) = &fixture.skip {
        result.error = Some(Interrupted {
            at: String::new(),
            reason: format!("skipped: {reason}"),
        });
        return result;
    }
    let started = Instant::now();
    let transcript = driver.replay(fixture).await;
    result.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    result.diff = check(fixture, &transcript);
    if let Some(interrupted) = transcript.interrupted() {
        result.outcome = Outcome::Errored;
        result.error = Some(interrupted.clone());
        return result;
    }
    result.outcome = if result.diff.is_empty() {
        Outcome::Passed
    } else {
        Outcome::Failed
    };
    match store.apply(fixture, &transcript, mode) {
        Ok(snapshot) => result.snapshot = snapshot,
        Err(e) => {
            result.outcome = Outcome::Errored;
            let path = store.path_for(fixture);
            result.error = Some(Interrupted {
                at: "/snapshot".into(),
                reason: format!("cannot write {}: {e}", path.display()),
            });
        }
    }
    result
}
