//! `matrix`: every runner on every fixture of the protocols it declares; `--merge` joins results.

mod column;
mod suites;

use std::path::Path;
use std::time::Instant;

use futures_util::StreamExt;

use crate::cli::{Cli, Format, MatrixArgs};
use crate::config::{all_runners, fixtures_dir_for_app, runners_dir, selection, tls_settings};
use crate::error::HarnessError;
use crate::replay::plan::plan;
use crate::report::human::matrix::write_matrix;
use crate::report::progress::report_written;
use crate::report::terminal::Style;
use crate::report::write_json;
use crate::report::{bundle, check_replaceable, junit, markdown, write_folder};
use crate::results::matrix::{MatrixReport, RunnerReport, Transport};
use crate::target::runner::{Runner, RunnerTls, setup};
use crate::target::{REFERENCE_NAME, url_name};
use column::{
    Column, ColumnResult, Context, Outside, needed_capabilities, not_declared_report, run_column,
    unavailable_report,
};

pub(super) async fn matrix(cli: &Cli, args: &MatrixArgs) -> Result<i32, HarnessError> {
    crate::target::supervise::guard_process();
    if let Some(dir) = &args.report {
        check_replaceable(dir)?;
    }
    let mut report = if args.merge.is_empty() {
        run_matrix(cli, args).await?
    } else {
        refuse_running_flags(cli)?;
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
    if cli.url.is_none() && (args.protocol_ws_path.is_some() || args.protocol_sse_path.is_some()) {
        return Err(HarnessError::Usage(
            "--protocol-ws-path and --protocol-sse-path name the --url column's endpoints: \
             give --url too (runners name theirs in runner.toml, [protocol_paths])"
                .into(),
        ));
    }
    let plan = plan(&selection(&args.selection))?;
    let mut runners = chosen_runners(cli, args)?;
    let outside = outside_column(cli, &runners)?;
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
    let http2 = cli.transport.http2;
    let needed = needed_capabilities(args.tls, http2);
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
        cli,
        args,
        plan: &plan,
        fixtures_dir: &fixtures_dir,
        snapshots_dir: &snapshots_dir,
        tls: tls.as_ref(),
        http2,
    };
    let columns = outside
        .iter()
        .map(Column::Outside)
        .chain(runners.iter().map(Column::Runner));
    let results: Vec<ColumnResult> = futures_util::stream::iter(columns)
        .map(|column| run_column(&context, column))
        .buffer_unordered(usize::from(args.parallel))
        .collect()
        .await;
    let (mut reports, mut suites, mut not_run) = (Vec::new(), Vec::new(), Vec::new());
    for result in results {
        reports.push(result.block);
        suites.extend(result.suites.documents);
        not_run.extend(result.suites.not_run);
    }
    reports.extend(unavailable);
    Ok(
        MatrixReport::new(reports, started.elapsed().as_secs_f64() * 1000.0)
            .with_transport(Transport::of(args.tls, http2))
            .with_protocol(suites, not_run),
    )
}

/// The runners of `--runners`; without it every runner, or with `--url` the reference runner
/// (the server's parity against the oracle).
fn chosen_runners(cli: &Cli, args: &MatrixArgs) -> Result<Vec<Runner>, HarnessError> {
    let mut runners = all_runners(cli)?;
    let names: Vec<String> = match (&cli.url, args.runners.is_empty()) {
        (_, false) => args.runners.clone(),
        (Some(_), true) => {
            if !runners.iter().any(|r| r.manifest.name == REFERENCE_NAME) {
                return Err(HarnessError::Usage(format!(
                    "--url without --runners puts the server beside the reference runner \
                     {REFERENCE_NAME}, which is not in {}: choose runners with --runners",
                    runners_dir(cli).display()
                )));
            }
            vec![REFERENCE_NAME.to_string()]
        }
        (None, true) => return Ok(runners),
    };
    for name in &names {
        if !runners.iter().any(|r| &r.manifest.name == name) {
            return Err(HarnessError::Usage(format!("no runner {name:?}")));
        }
    }
    runners.retain(|r| names.contains(&r.manifest.name));
    Ok(runners)
}

/// The `--url` column: its name (`--target-name`, else `url-HOST-PORT` as `run` names it,
/// which no chosen runner may have) and the TLS flags. `None` without `--url`.
fn outside_column(cli: &Cli, runners: &[Runner]) -> Result<Option<Outside>, HarnessError> {
    let Some(url) = &cli.url else {
        if cli.target_name.is_some() {
            return Err(HarnessError::Usage(
                "`matrix --target-name` names the --url column: give --url too".into(),
            ));
        }
        return Ok(None);
    };
    let name = match &cli.target_name {
        Some(name) => name.clone(),
        None => {
            let parsed = url::Url::parse(url)
                .map_err(|e| HarnessError::Usage(format!("--url {url:?}: {e}")))?;
            url_name(&parsed)
        }
    };
    if runners.iter().any(|r| r.manifest.name == name) {
        return Err(HarnessError::Usage(format!(
            "the --url column is named {name:?}, like a runner of the matrix: \
             give it another name with --target-name"
        )));
    }
    Ok(Some(Outside {
        name,
        url: url.clone(),
        tls: tls_settings(cli)?,
    }))
}

/// `--merge` runs nothing: the flags that say what to run against are refused (exit 2).
fn refuse_running_flags(cli: &Cli) -> Result<(), HarnessError> {
    let given: Vec<&str> = [
        ("--url", cli.url.is_some()),
        ("--target-name", cli.target_name.is_some()),
        ("--http2", cli.transport.http2),
    ]
    .into_iter()
    .filter(|(_, set)| *set)
    .map(|(flag, _)| flag)
    .collect();
    if given.is_empty() {
        return Ok(());
    }
    Err(HarnessError::Usage(format!(
        "`matrix --merge` joins results and runs nothing: it does not use {}",
        given.join(", ")
    )))
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
                bundle::conformance_page(
                    report.runners.clone(),
                    report.protocol.clone(),
                    report.protocol_not_run.clone(),
                ),
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
