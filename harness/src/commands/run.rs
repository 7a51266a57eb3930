//! `run`: conformance of the selected fixtures against one target.

use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

use futures_util::StreamExt;
use harness_fixture::{Fixture, Spec};

use crate::cli::{Cli, Format, RunArgs};
use crate::config::{open_target, protocol_urls, require_http2, selection, tls_settings};
use crate::error::{HarnessError, exit};
use crate::replay::conformance::replay_all;
use crate::replay::driver::Driver;
use crate::replay::plan::plan;
use crate::report::human::run::{is_shown, write_replayed, write_summary};
use crate::report::progress::{FixtureBar, report_written};
use crate::report::terminal::Style;
use crate::report::write_json;
use crate::report::{bundle, check_replaceable, junit, markdown, write_folder};
use crate::results::{FixtureResult, RunReport};
use crate::snapshot::SnapshotStore;
use crate::snapshot::redact::Redactor;
use crate::target::Target;

/// Whether the fixture tells a runner (and the embedded reference) what to serve.
fn has_handler(fixture: &Fixture) -> bool {
    match &fixture.spec {
        Spec::Rest(f) => f.handler.is_some(),
        Spec::Scenario(f) => f.steps.iter().any(|s| s.handler.is_some()),
        Spec::WebSocket(f) => f.handler.is_some(),
        Spec::Sse(f) => f.handler.is_some(),
        Spec::Broadcast(f) => f.handler.is_some(),
    }
}

pub(super) async fn run(cli: &Cli, args: &RunArgs) -> Result<i32, HarnessError> {
    // A signal removes the temporary files of snapshots and reports being written.
    crate::target::supervise::guard_process();
    if let Some(dir) = &args.report {
        check_replaceable(dir)?;
    }
    let plan = plan(&selection(&args.selection))?;
    let redactor = args.redaction.redactor();
    let tls = tls_settings(cli)?;
    let (mut target, _copies) = open_target(cli, &plan, &tls, args.replay.timeout).await?;
    let mut info = target.info(cli.target_name.as_deref());
    info.url = redactor.text(&info.url).into_owned();
    let driver = Driver::new(target.base_url(), args.replay.timeout)
        .map_err(HarnessError::HttpClient)?
        .with_tls(tls.clone())
        .map_err(HarnessError::HttpClient)?
        .with_http2(cli.transport.http2)
        .map_err(HarnessError::HttpClient)?
        .with_max_event_size(args.max_event_size);
    let (ws_url, sse_url) = protocol_urls(cli, &tls, args.replay.timeout).await?;
    // WebSocket fixtures keep the HTTP/1.1 upgrade: their base is not asked.
    let http2_bases: Vec<url::Url> = [Some(target.base_url()), sse_url.clone()]
        .into_iter()
        .flatten()
        .collect();
    let asked: Vec<&url::Url> = http2_bases.iter().collect();
    if let Err(e) = require_http2(cli, &asked, &tls, args.replay.timeout).await {
        target.shutdown().await;
        return Err(e);
    }
    let driver = driver.with_protocol_bases(ws_url, sse_url);
    let snapshots_dir = args
        .replay
        .snapshots_dir
        .clone()
        .unwrap_or_else(|| plan.default_snapshots_dir());
    let store = SnapshotStore::new(&snapshots_dir, &info.name).with_redactor(redactor.clone());

    // A runner is held to the protocols it declares.
    let protocols = target.protocols();
    let selected: Vec<&Fixture> = plan
        .selected()
        .filter(|f| protocols.is_none_or(|p| p.contains(&f.protocol())))
        .collect();
    let started = Instant::now();
    let replay = Replay {
        args,
        driver: &driver,
        store: &store,
        redactor: &redactor,
    };
    let results = replay.all(&mut target, selected).await;
    target.shutdown().await;

    let report = RunReport::new(info, results, started.elapsed().as_secs_f64() * 1000.0);
    write_report(args, &report, &snapshots_dir)?;
    Ok(if report.passed() {
        exit::OK
    } else {
        exit::FAILED
    })
}

/// What replaying the fixtures one after the other takes.
struct Replay<'a> {
    args: &'a RunArgs,
    driver: &'a Driver,
    store: &'a SnapshotStore,
    redactor: &'a Redactor,
}

impl Replay<'_> {
    /// Replays `selected` against `target`, showing each result as it comes (above the bar) and
    /// reviving a runner that crashed.
    async fn all(&self, target: &mut Target, selected: Vec<&Fixture>) -> Vec<FixtureResult> {
        // Fixtures the embedded reference cannot answer (no handler): their failure says to use --url.
        let unserved: HashSet<String> = if matches!(target, Target::Embedded(_)) {
            selected
                .iter()
                .filter(|f| !has_handler(f))
                .map(|f| f.name.clone())
                .collect()
        } else {
            Default::default()
        };
        let bar = FixtureBar::new(selected.len());
        let style = Style::stdout();
        let settings = self.args.replay.settings();
        let human = self.args.format == Format::Human;
        let mut results = Vec::with_capacity(selected.len());
        let mut replays = std::pin::pin!(replay_all(self.driver, self.store, selected, settings));
        while let Some(mut result) = replays.next().await {
            result.expected_failure = target.expects_failure(&result.name);
            // Checked on real values; shown, written and kept with credentials redacted.
            self.redactor.fixture_result(&mut result);
            bar.replayed();
            if human && is_shown(&result, self.args.quiet) {
                let unserved = unserved.contains(&result.name);
                bar.above(|| {
                    let _ = write_replayed(&mut std::io::stdout().lock(), style, &result, unserved);
                });
            }
            if result.error.is_some()
                && let Some(Err(e)) = target.revive().await
            {
                tracing::error!("{e}");
            }
            results.push(result);
        }
        bar.finish();
        results
    }
}

/// The report on stdout (lines or JSON), and the report folder of `--report`.
fn write_report(
    args: &RunArgs,
    report: &RunReport,
    snapshots_dir: &Path,
) -> Result<(), HarnessError> {
    let mut stdout = std::io::stdout().lock();
    match args.format {
        Format::Human => {
            let _ = write_summary(&mut stdout, Style::stdout(), report, Some(snapshots_dir));
        }
        Format::Json => {
            let _ = write_json(&mut stdout, report);
        }
    }
    let Some(dir) = &args.report else {
        return Ok(());
    };
    write_folder(
        dir,
        &[
            ("summary.md", markdown::run(report)),
            ("junit.xml", junit::run(report)),
            (
                "index.html",
                bundle::conformance_page(
                    vec![bundle::runner_of(report.clone())],
                    Vec::new(),
                    Vec::new(),
                ),
            ),
            (
                "run.json",
                serde_json::to_string_pretty(report).unwrap_or_default(),
            ),
        ],
    )?;
    report_written(dir);
    Ok(())
}
