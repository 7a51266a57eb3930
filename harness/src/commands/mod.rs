//! One module per command; each returns the exit code or a [`HarnessError`].

mod bench;
mod compare;
mod docs;
mod fixtures;
mod matrix;
mod report;
mod run;
mod runners;
mod serve;

use std::path::{Path, PathBuf};

use crate::cli::{Cli, Command};
use crate::error::HarnessError;
use crate::replay::plan::Plan;
use crate::target::runner::Runner;

/// Runs the command the user asked for.
pub async fn dispatch(cli: Cli) -> Result<i32, HarnessError> {
    refuse_unused_target_flags(&cli)?;
    match &cli.command {
        Command::Run(args) => run::run(&cli, args).await,
        Command::Fixtures(command) => fixtures::fixtures(command),
        Command::Serve(args) => serve::serve(args).await,
        Command::Matrix(args) => matrix::matrix(&cli, args).await,
        Command::Runners(command) => runners::runners(&cli, command).await,
        Command::Compare(args) => compare::compare(args),
        Command::Report(args) => report::report(args),
        Command::Bench(args) => bench::bench(&cli, args).await,
        Command::Stream(args) => bench::stream(&cli, args).await,
        Command::Completions(args) => docs::completions(args),
        Command::Man(args) => docs::man(args),
    }
}

/// The command's name as typed (`runners list`, `fixtures validate`, ...).
fn command_name(command: &Command) -> &'static str {
    use crate::cli::{FixturesCommand, RunnersCommand};
    match command {
        Command::Run(_) => "run",
        Command::Fixtures(FixturesCommand::List { .. }) => "fixtures list",
        Command::Fixtures(FixturesCommand::Validate { .. }) => "fixtures validate",
        Command::Matrix(_) => "matrix",
        Command::Compare(_) => "compare",
        Command::Report(_) => "report",
        Command::Runners(RunnersCommand::List { .. }) => "runners list",
        Command::Runners(RunnersCommand::Setup { .. }) => "runners setup",
        Command::Serve(_) => "serve",
        Command::Bench(_) => "bench",
        Command::Stream(_) => "stream",
        Command::Completions(_) => "completions",
        Command::Man(_) => "man",
    }
}

/// The global target flags are accepted before or after any subcommand (clap cannot scope a
/// flag to some subcommands and still take it before them), so a command they mean nothing to
/// refuses them here rather than ignoring them: `serve --runner go-nethttp` must not silently
/// serve the reference.
fn refuse_unused_target_flags(cli: &Cli) -> Result<(), HarnessError> {
    let given = [
        ("--url", cli.url.is_some()),
        ("--ws-url", cli.ws_url.is_some()),
        ("--sse-url", cli.sse_url.is_some()),
        ("--runner", cli.runner.is_some()),
        ("--runners-dir", cli.runners_dir.is_some()),
        ("--target-name", cli.target_name.is_some()),
    ];
    let takes: &[&str] = match &cli.command {
        Command::Run(_) => &[
            "--url",
            "--ws-url",
            "--sse-url",
            "--runner",
            "--runners-dir",
            "--target-name",
        ],
        Command::Bench(_) | Command::Stream(_) => {
            &["--url", "--runner", "--runners-dir", "--target-name"]
        }
        Command::Matrix(_) | Command::Runners(_) => &["--runners-dir"],
        _ => &[],
    };
    let refused: Vec<&str> = given
        .iter()
        .filter(|(flag, set)| *set && !takes.contains(flag))
        .map(|(flag, _)| *flag)
        .collect();
    if refused.is_empty() {
        return Ok(());
    }
    let name = command_name(&cli.command);
    let what = match &cli.command {
        Command::Serve(_) => " (it serves the reference server)",
        Command::Matrix(_) => " (it boots every runner itself; choose them with --runners)",
        _ => "",
    };
    let takes = if takes.is_empty() {
        "it takes no target flag".to_string()
    } else {
        format!("it takes {}", takes.join(", "))
    };
    Err(HarnessError::Usage(format!(
        "`{name}` does not use {}{what}: {takes}",
        refused.join(", ")
    )))
}

/// The runners folder: `--runners-dir`, else `./runners`, else the repository's `runners/`.
pub(crate) fn runners_dir(cli: &Cli) -> PathBuf {
    if let Some(dir) = &cli.runners_dir {
        return dir.clone();
    }
    let local = PathBuf::from("runners");
    if local.is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("runners")
}

/// Every runner, or the error naming the runners folder or the manifest that cannot be used.
pub(crate) fn all_runners(cli: &Cli) -> Result<Vec<Runner>, HarnessError> {
    Ok(crate::target::runner::discover(&runners_dir(cli))?)
}

/// The runner called `name`.
pub(crate) fn find_runner(cli: &Cli, name: &str) -> Result<Runner, HarnessError> {
    let runners = all_runners(cli)?;
    let names: Vec<_> = runners.iter().map(|r| r.manifest.name.clone()).collect();
    runners
        .into_iter()
        .find(|r| r.manifest.name == name)
        .ok_or_else(|| {
            HarnessError::Usage(format!(
                "no runner {name:?} in {} (there are: {})",
                runners_dir(cli).display(),
                names.join(", ")
            ))
        })
}

/// The target the global flags name: `--url`; `--runner` (set up if needed and started, serving
/// the plan's fixtures); or the embedded reference serving them. The returned folder guard keeps
/// copied fixture files alive as long as the target needs them.
pub(crate) async fn open_target(
    cli: &Cli,
    plan: &Plan,
    timeout: std::time::Duration,
) -> Result<(crate::target::Target, Option<tempfile::TempDir>), HarnessError> {
    use crate::target::Target;
    Ok(match (&cli.url, &cli.runner) {
        (Some(url), _) => (Target::attach(url, timeout).await?, None),
        (None, Some(name)) => {
            crate::target::supervise::guard_process();
            let runner = find_runner(cli, name)?;
            let (dir, copies) = fixtures_dir_for_app(plan)?;
            (Target::runner(&runner, &dir).await?, copies)
        }
        (None, None) => (Target::embedded(&plan.loaded).await?, None),
    })
}

/// The base URLs of `--ws-url` and `--sse-url`, each checked to accept connections.
pub(crate) async fn protocol_urls(
    cli: &Cli,
    timeout: std::time::Duration,
) -> Result<(Option<url::Url>, Option<url::Url>), HarnessError> {
    use crate::target::Target;
    let mut urls = [None, None];
    for (slot, (flag, url)) in urls
        .iter_mut()
        .zip([("--ws-url", &cli.ws_url), ("--sse-url", &cli.sse_url)])
    {
        if let Some(url) = url {
            *slot = Some(Target::attach_flag(flag, url, timeout).await?.base_url());
        }
    }
    let [ws, sse] = urls;
    Ok((ws, sse))
}

/// The folder an app serves fixtures from: the plan's directory, or a temporary folder holding
/// copies of the fixture files given one by one (kept alive by the returned guard).
pub(crate) fn fixtures_dir_for_app(
    plan: &Plan,
) -> Result<(PathBuf, Option<tempfile::TempDir>), HarnessError> {
    if let Some(dir) = &plan.dir {
        return Ok((dir.clone(), None));
    }
    let copies = tempfile::tempdir().map_err(HarnessError::TempDir)?;
    for (index, fixture) in plan.loaded.iter().enumerate() {
        let to = copies.path().join(format!("{index:04}.json"));
        std::fs::copy(&fixture.file, &to).map_err(|source| HarnessError::Write {
            path: to.clone(),
            source,
        })?;
    }
    Ok((copies.path().to_path_buf(), Some(copies)))
}
