//! `bench` (REST) and `stream` (WebSocket, SSE, broadcast): load on one fixture against one target, the
//! result document on stdout (`--format json`, the default when stdout is not a terminal) or in
//! `--output`, an interval log with `--hlog`, a human summary on stdout (`--format human`, the
//! default on a terminal), else on stderr. Exit 0 when the errors stay within `--max-error-rate`, 1 otherwise, 2 for usage or
//! fixture errors, 3 when the target cannot be reached.
//!
//! What can be known before the load is checked before it, so that a run is never wasted: the
//! output paths (their folder takes a new file), the open-file limit (raised to the hard limit,
//! else the run is refused with the number it needs). Files written at the end are written each
//! on its own, atomically; when the result document cannot be written it is printed on stdout,
//! and the exit code is 2.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use harness_fixture::{Protocol, Spec};

use crate::cli::{BenchArgs, Cli, FixtureSelection, Format, LoadArgs, StreamArgs};
use crate::config::{open_target, require_http2, selection, tls_settings};
use crate::error::{HarnessError, OutputProblem, exit};
use crate::fsutil::write_atomically;
use crate::load::Outcome;
use crate::load::schedule::Shard;
use crate::load::{
    self, HttpVersion, LiveFigures, LoadConfig, LoadError, LoadProgress, LoadResult, RunInfo,
    Schedule,
};
use crate::replay::plan::{Plan, plan};
use crate::report::human::load::write_load;
use crate::report::progress::LoadBar;
use crate::report::terminal::Style;
use crate::results::load::ShardBlock;
use crate::target::Target;
use crate::wire::DEFAULT_MAX_EVENT_SIZE;
use crate::wire::tls::TlsSettings;

/// The two load commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoadCommand {
    /// `bench`: REST.
    Bench,
    /// `stream`: WebSocket, SSE, broadcast.
    Stream,
}

impl LoadCommand {
    /// The command's name, as typed and as result documents say it.
    fn name(self) -> &'static str {
        match self {
            LoadCommand::Bench => "bench",
            LoadCommand::Stream => "stream",
        }
    }

    /// Whether the command loads fixtures of `protocol`.
    fn loads(self, protocol: Protocol) -> bool {
        match self {
            LoadCommand::Bench => protocol == Protocol::Rest,
            LoadCommand::Stream => matches!(
                protocol,
                Protocol::WebSocket | Protocol::Sse | Protocol::Broadcast
            ),
        }
    }
}

/// What a load command adds to the shared load flags.
#[derive(Debug, Clone, Copy)]
struct Shape {
    command: LoadCommand,
    /// `--ramp` (stream).
    ramp: Duration,
    /// `--max-event-size` (stream).
    max_event_size: usize,
    /// `--http2` and `--streams` (bench).
    http: HttpVersion,
}

pub(super) async fn bench(cli: &Cli, args: &BenchArgs) -> Result<i32, HarnessError> {
    let shape = Shape {
        command: LoadCommand::Bench,
        ramp: Duration::ZERO,
        max_event_size: DEFAULT_MAX_EVENT_SIZE,
        http: http_version(cli.transport.http2, args.streams)?,
    };
    load(cli, &args.load, shape).await
}

pub(super) async fn stream(cli: &Cli, args: &StreamArgs) -> Result<i32, HarnessError> {
    let shape = Shape {
        command: LoadCommand::Stream,
        ramp: args.ramp,
        max_event_size: args.max_event_size,
        http: HttpVersion::Http1,
    };
    load(cli, &args.load, shape).await
}

/// The HTTP version of `--http2` and `--streams`: more than one stream needs HTTP/2.
fn http_version(http2: bool, streams: u16) -> Result<HttpVersion, HarnessError> {
    match (http2, streams) {
        (true, streams) => Ok(HttpVersion::Http2 {
            streams: usize::from(streams),
        }),
        (false, 1) => Ok(HttpVersion::Http1),
        (false, _) => Err(HarnessError::Usage(
            "--streams needs --http2 (HTTP/1.1 has one request in flight per connection)".into(),
        )),
    }
}

/// The schedule the flags ask for, or why they make no sense.
fn schedule(args: &LoadArgs) -> Result<Schedule, HarnessError> {
    if args.connections == 0 {
        return Err(HarnessError::Usage(
            "--connections must be at least 1".into(),
        ));
    }
    let run_time = args.warmup.checked_add(args.duration).ok_or_else(|| {
        HarnessError::Usage("--warmup plus --duration: longer than can be counted".into())
    })?;
    match args.rate {
        None => Ok(Schedule::Closed),
        Some(rate) => Schedule::open(rate, run_time)
            .map_err(|e| HarnessError::Usage(format!("--rate {rate}: {e}"))),
    }
}

/// Checks before the run that `path` can be written at its end: it is not a folder, and its
/// nearest existing folder is a folder that takes a new file (folders missing below it are
/// created when writing).
fn check_writable(flag: &'static str, path: &Path) -> Result<(), HarnessError> {
    let refuse = |problem: OutputProblem| HarnessError::Output {
        flag,
        path: path.to_path_buf(),
        problem,
    };
    if path.is_dir() {
        return Err(refuse(OutputProblem::IsAFolder));
    }
    let mut folder = path.parent();
    loop {
        let dir = match folder {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        match std::fs::metadata(dir) {
            Ok(meta) if meta.is_dir() => {
                return tempfile::NamedTempFile::new_in(dir)
                    .map(drop)
                    .map_err(|source| {
                        refuse(OutputProblem::CannotWriteIn {
                            dir: dir.to_path_buf(),
                            source,
                        })
                    });
            }
            Ok(_) => {
                return Err(refuse(OutputProblem::NotAFolder {
                    dir: dir.to_path_buf(),
                }));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && dir != Path::new(".") => {
                folder = dir.parent();
            }
            Err(source) => {
                return Err(refuse(OutputProblem::Unusable {
                    dir: dir.to_path_buf(),
                    source,
                }));
            }
        }
    }
}

/// Writes the result document to `output` (atomically), else prints it on `stdout`. When
/// writing fails, the document goes to `stdout` all the same and `stderr` says so: a measured
/// result is never lost (the error is returned, for the exit code).
fn deliver_document(
    document: &str,
    output: Option<&Path>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), HarnessError> {
    let Some(path) = output else {
        let _ = writeln!(stdout, "{document}");
        return Ok(());
    };
    write_atomically(path, &format!("{document}\n")).map_err(|source| {
        let _ = writeln!(
            stderr,
            "cannot write {}: {source}; the result document is on stdout instead",
            path.display()
        );
        let _ = writeln!(stdout, "{document}");
        HarnessError::Write {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Descriptors a run needs besides its sockets: standard streams, the runtime's, the target's
/// listener, the files written at the end.
const SPARE_FILES: u64 = 64;

/// Open files a run of `connections` needs: a socket per connection (and the broadcast
/// publisher's), twice that with the embedded target, whose server side is in this process too;
/// in open loop, each connection's pacer timer too (a timerfd: `load::timer`; a broadcast run
/// paces its publisher only).
fn files_needed(connections: usize, protocol: Protocol, embedded: bool, open: bool) -> u64 {
    let clients = (connections as u64).saturating_add(u64::from(protocol == Protocol::Broadcast));
    let sockets = if embedded {
        clients.saturating_mul(2)
    } else {
        clients
    };
    let timers = match (open, protocol) {
        (false, _) => 0,
        (true, Protocol::Broadcast) => 1,
        (true, _) => connections as u64,
    };
    sockets.saturating_add(timers).saturating_add(SPARE_FILES)
}

/// Raises the open-file limit for the run (to the hard limit), or refuses the run when even that
/// is too low: past the limit, connections would fail instead of load the server.
fn ensure_open_files(connections: usize, needed: u64) -> Result<(), HarnessError> {
    match load::raise_open_files_limit(needed) {
        Some(limits) if limits.soft < needed => Err(HarnessError::OpenFiles {
            hard_refused: limits
                .hard_refused
                .map(|why| format!("; raising it: {why}"))
                .unwrap_or_default(),
            connections,
            needed,
            soft: limits.soft,
            hard: limits.hard,
        }),
        Some(limits) => {
            tracing::debug!(
                "open files limit: {} (hard {}; raising the hard limit: {})",
                limits.soft,
                limits.hard,
                limits.hard_refused.as_deref().unwrap_or("not needed")
            );
            Ok(())
        }
        None => Ok(()),
    }
}

/// Refuses a fixture of a protocol the command does not load, naming the command that does.
fn check_protocol(
    command: LoadCommand,
    protocol: Protocol,
    file: &str,
) -> Result<(), HarnessError> {
    if command.loads(protocol) {
        return Ok(());
    }
    let hint = if protocol == Protocol::Rest {
        "use bench"
    } else {
        "use stream"
    };
    Err(HarnessError::Usage(format!(
        "{file}: {} does not load {protocol} fixtures ({hint})",
        command.name()
    )))
}

async fn load(cli: &Cli, args: &LoadArgs, shape: Shape) -> Result<i32, HarnessError> {
    let command = shape.command;
    let schedule = schedule(args)?;
    if let Some(path) = &args.output {
        check_writable("--output", path)?;
    }
    if let Some(path) = &args.hlog {
        check_writable("--hlog", path)?;
    }
    let (plan, schedule) = plan_load(cli, args, command, schedule)?;
    let fixture = &plan.loaded[0];
    let protocol = fixture.protocol();
    let tls = tls_settings(cli)?;
    let (target, _copies) = open_target(cli, &plan, &tls, args.timeout).await?;
    if let Err(e) = check_target(cli, &target, protocol, &tls, args.timeout).await {
        target.shutdown().await;
        return Err(e);
    }
    let info = target.info(cli.target_name.as_deref());
    let shard = args.shard.unwrap_or(Shard::WHOLE);
    let run_id = match (&args.run_id, args.start_at) {
        (Some(id), _) => Some(id.clone()),
        (None, Some(at)) => Some(humantime::format_rfc3339_millis(at).to_string()),
        (None, None) if args.shard.is_some() => {
            return Err(HarnessError::Usage(
                "--shard needs --start-at (shards start together; its time is the run id) or \
                 --run-id"
                    .into(),
            ));
        }
        (None, None) => None,
    };
    let config = LoadConfig {
        shard,
        start_at: args.start_at,
        connections: args.connections,
        schedule,
        warmup: args.warmup,
        duration: args.duration,
        timeout: args.timeout,
        max_event_size: shape.max_event_size,
        ramp: shape.ramp,
        keep_intervals: args.hlog.is_some(),
        progress: Some(Arc::new(LoadBar::default())),
        sample_group: target.runner_process_group(),
        tls,
        http: shape.http,
        sources: args.source_addr.clone().unwrap_or_default(),
        connect_concurrency: args.connect_concurrency,
    };
    let outcome = load::run(fixture, &target.base_url(), &config).await;
    target.shutdown().await;
    let mut outcome = outcome.map_err(|e| match e {
        LoadError::Fixture(source) => HarnessError::Load {
            file: args.fixture.clone(),
            source: Box::new(source),
        },
        unreachable @ LoadError::Unreachable { .. } => HarnessError::Unreachable {
            address: info.url.clone(),
            reason: unreachable.to_string(),
        },
    })?;

    let mut result = LoadResult::new(
        RunInfo {
            command: command.name(),
            fixture: fixture.name.clone(),
            protocol,
            target: info.clone(),
            mode: schedule.mode(),
            connections: args.connections,
            rate: schedule.rate(),
            duration_s: args.duration.as_secs_f64(),
            warmup_s: args.warmup.as_secs_f64(),
            http_version: shape.http.label(),
            streams: shape.http.streams(),
            body_timing: matches!(&fixture.spec, Spec::Rest(rest) if rest.expected.chunks.is_some()),
            steps: scenario_steps(&fixture.spec),
            subscription_items: outcome.subscription_items.take(),
        },
        &outcome.tally,
    );
    result.runner_resources = outcome.runner_resources.take();
    result.broadcast = outcome.broadcast.take();
    result.harness_peak_rss_bytes = load::resources::peak_rss();
    result.measured_from =
        Some(humantime::format_rfc3339_millis(outcome.measured_from).to_string());
    result.connect_phase = outcome.connect_phase.take();
    if let (Some(shard), Some(run_id)) = (args.shard, run_id) {
        result.shard = Some(ShardBlock {
            index: shard.index,
            count: shard.count,
            run_id,
            connections: shard.connections(args.connections).count(),
        });
    }
    // Each file on its own: a log that cannot be written does not keep the document from
    // being written, and a document that cannot be written goes to stdout.
    let failed = write_hlog(args, &result, &outcome).err();
    if let Some(error) = deliver(args, &result).err().or(failed) {
        return Err(error);
    }
    verdict(args, &result, &outcome)
}

/// A REST scenario's steps as the result document names them: name, and method and path as
/// the fixture writes them.
fn scenario_steps(spec: &Spec) -> Vec<(Option<String>, String)> {
    let Spec::Scenario(scenario) = spec else {
        return Vec::new();
    };
    scenario
        .steps
        .iter()
        .map(|step| {
            let request = format!("{} {}", step.request.method, step.request.path);
            (step.name.clone(), request)
        })
        .collect()
}

/// Checks that a runner target declares `protocol`, and with `--http2` that the target speaks
/// HTTP/2 (exit 3 in words when it does not).
async fn check_target(
    cli: &Cli,
    target: &Target,
    protocol: Protocol,
    tls: &TlsSettings,
    timeout: Duration,
) -> Result<(), HarnessError> {
    if let Some(protocols) = target.protocols()
        && !protocols.contains(&protocol)
    {
        return Err(HarnessError::Usage(format!(
            "runner {} does not declare the {protocol} protocol",
            cli.runner.as_deref().unwrap_or_default()
        )));
    }
    require_http2(cli, &[&target.base_url()], tls, timeout).await
}

/// The one fixture of `--fixture`, checked to be one this command loads and that the machine
/// has the files for, and the schedule it is loaded on (a broadcast's is always open).
fn plan_load(
    cli: &Cli,
    args: &LoadArgs,
    command: LoadCommand,
    mut schedule: Schedule,
) -> Result<(Plan, Schedule), HarnessError> {
    let file = args.fixture.display().to_string();
    let plan = plan(&selection(&FixtureSelection {
        fixtures: None,
        fixture_files: vec![args.fixture.clone()],
        filter: None,
    }))?;
    let [fixture] = plan.loaded.as_slice() else {
        return Err(HarnessError::Usage(format!(
            "--fixture {file}: give one fixture file"
        )));
    };
    let protocol = fixture.protocol();
    check_protocol(command, protocol, &file)?;
    if protocol == Protocol::Broadcast && schedule == Schedule::Closed {
        // A fan-out has no closed loop: one publisher publishes at a rate, 100/s unless --rate.
        schedule = Schedule::Open {
            rate: load::BROADCAST_DEFAULT_RATE,
        };
    }
    let embedded = cli.url.is_none() && cli.runner.is_none();
    ensure_open_files(
        args.connections,
        files_needed(
            args.connections,
            protocol,
            embedded,
            schedule != Schedule::Closed,
        ),
    )?;
    Ok((plan, schedule))
}

/// The interval log of `--hlog`, when asked for.
fn write_hlog(args: &LoadArgs, result: &LoadResult, outcome: &Outcome) -> Result<(), HarnessError> {
    let Some(path) = &args.hlog else {
        return Ok(());
    };
    let comment = format!(
        "benchmark-harness {} {} against {} ({}), {} loop, {} connections",
        result.command,
        result.fixture,
        result.target.name,
        result.target.url,
        result.mode,
        result.connections
    );
    outcome
        .intervals
        .interval_log(outcome.measured_from, &comment)
        .map_err(std::io::Error::other)
        .and_then(|log| write_atomically(path, &log))
        .map_err(|source| HarnessError::Write {
            path: path.clone(),
            source,
        })
}

/// The summary for people and the JSON document: the summary on stdout and the document in
/// `--output` (human format), or the document on stdout or in `--output` and the summary on
/// stderr (JSON format, the default when stdout is not a terminal).
fn deliver(args: &LoadArgs, result: &LoadResult) -> Result<(), HarnessError> {
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Human
    } else {
        Format::Json
    });
    let document = serde_json::to_string_pretty(result).unwrap_or_default();
    match format {
        Format::Human => {
            let style = Style::detect(std::io::stdout().is_terminal());
            let _ = write_load(&mut std::io::stdout().lock(), style, result);
            match args.output.as_deref() {
                Some(path) => deliver_document(
                    &document,
                    Some(path),
                    &mut std::io::stdout().lock(),
                    &mut std::io::stderr().lock(),
                ),
                None => Ok(()),
            }
        }
        Format::Json => {
            let style = Style::detect(std::io::stderr().is_terminal());
            let _ = write_load(&mut std::io::stderr().lock(), style, result);
            deliver_document(
                &document,
                args.output.as_deref(),
                &mut std::io::stdout().lock(),
                &mut std::io::stderr().lock(),
            )
        }
    }
}

/// The exit code: refused connections are an unreachable target; nothing measured, or more
/// errors than `--max-error-rate` allows, a failed run.
fn verdict(args: &LoadArgs, result: &LoadResult, outcome: &Outcome) -> Result<i32, HarnessError> {
    if outcome.tally.only_refused() {
        return Err(HarnessError::Unreachable {
            address: result.target.url.clone(),
            reason: "every connection was refused".into(),
        });
    }
    let summary = &result.summary;
    if summary.operations == 0 {
        eprintln!("no operation completed during the measured time");
        return Ok(exit::FAILED);
    }
    if summary.latency_us.is_none() {
        // Whatever --max-error-rate allows: a run with nothing measured did not pass.
        eprintln!("no successful operation during the measured time");
        return Ok(exit::FAILED);
    }
    Ok(if result.error_rate() > args.max_error_rate {
        exit::FAILED
    } else {
        exit::OK
    })
}

/// The report layer's bar shows what the load layer reports (neither imports the other).
impl LoadProgress for LoadBar {
    fn connecting(&self, tried: usize, total: usize) {
        LoadBar::connecting(self, tried, total);
    }

    fn start(&self, total: Duration) {
        LoadBar::start(self, total);
    }

    fn update(&self, elapsed: Duration, figures: Option<&LiveFigures>) {
        match figures {
            None => self.warming_up(elapsed),
            Some(f) => self.measuring(elapsed, f.rate, f.operations, f.errors, f.p99_us),
        }
    }

    fn finish(&self) {
        LoadBar::finish(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> LoadArgs {
        let mut argv = vec!["benchmark-harness", "bench", "--fixture", "f.json"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).unwrap().command {
            crate::cli::Command::Bench(args) => args.load,
            _ => unreachable!(),
        }
    }

    #[test]
    fn flags_become_a_schedule_or_a_usage_error() {
        assert_eq!(schedule(&args(&[])).unwrap(), Schedule::Closed);
        assert_eq!(
            schedule(&args(&["--rate", "250"])).unwrap(),
            Schedule::Open { rate: 250.0 }
        );
        for bad in ["0", "-3", "NaN", "inf", "1e300", "ten"] {
            let argv = [
                "benchmark-harness",
                "bench",
                "--fixture",
                "f",
                "--rate",
                bad,
            ];
            let error = Cli::try_parse_from(argv).unwrap_err();
            assert_eq!(error.exit_code(), exit::USAGE, "{bad}");
        }
        let long = schedule(&args(&["--rate", "1e9", "--duration", "600000000years"]));
        assert_eq!(long.unwrap_err().exit_code(), exit::USAGE);
        let zero = schedule(&args(&["--connections", "0"])).unwrap_err();
        assert_eq!(zero.exit_code(), exit::USAGE);
        let defaults = args(&[]);
        assert_eq!(defaults.connections, 50);
        assert_eq!(defaults.warmup, Duration::from_secs(2));
        assert_eq!(defaults.max_error_rate, 0.0);
        assert_eq!(args(&["--max-error-rate", "1%"]).max_error_rate, 0.01);
        assert_eq!(args(&["--warmup", "0s"]).warmup, Duration::ZERO);
    }

    #[test]
    fn streams_need_http2() {
        assert_eq!(http_version(false, 1).unwrap(), HttpVersion::Http1);
        assert_eq!(
            http_version(true, 10).unwrap(),
            HttpVersion::Http2 { streams: 10 }
        );
        assert_eq!(
            http_version(true, 1).unwrap(),
            HttpVersion::Http2 { streams: 1 }
        );
        let refused = http_version(false, 2).unwrap_err();
        assert_eq!(refused.exit_code(), exit::USAGE);
        assert!(
            refused.to_string().contains("--streams needs --http2"),
            "{refused}"
        );
        let cli = Cli::try_parse_from(["benchmark-harness", "bench", "--fixture", "f"]).unwrap();
        match cli.command {
            crate::cli::Command::Bench(args) => assert_eq!(args.streams, 1),
            _ => unreachable!(),
        }
        for bad in ["0", "1001"] {
            let argv = [
                "benchmark-harness",
                "bench",
                "--fixture",
                "f",
                "--streams",
                bad,
            ];
            assert_eq!(
                Cli::try_parse_from(argv).unwrap_err().exit_code(),
                exit::USAGE
            );
        }
    }

    #[test]
    fn a_document_that_cannot_be_written_goes_to_stdout() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "x").unwrap();
        let bad = blocker.join("r.json");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let error = deliver_document("{\"a\": 1}", Some(&bad), &mut out, &mut err).unwrap_err();
        assert_eq!(error.exit_code(), exit::USAGE);
        assert_eq!(String::from_utf8(out).unwrap(), "{\"a\": 1}\n");
        let err = String::from_utf8(err).unwrap();
        assert!(
            err.contains("r.json") && err.contains("on stdout instead"),
            "{err}"
        );
        // A good path: the file, nothing on stdout.
        let good = dir.path().join("sub").join("r.json");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        deliver_document("{}", Some(&good), &mut out, &mut err).unwrap();
        assert!(out.is_empty() && err.is_empty());
        assert_eq!(std::fs::read_to_string(&good).unwrap(), "{}\n");
    }

    #[test]
    fn output_paths_are_checked_before_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "x").unwrap();
        assert!(check_writable("--output", &dir.path().join("r.json")).is_ok());
        assert!(check_writable("--output", &dir.path().join("new/deeper/r.json")).is_ok());
        let error = check_writable("--output", &blocker.join("r.json")).unwrap_err();
        assert!(error.to_string().contains("is not a folder"), "{error}");
        let error = check_writable("--hlog", &blocker.join("a/b.hlog")).unwrap_err();
        assert!(error.to_string().starts_with("--hlog "), "{error}");
        let error = check_writable("--output", dir.path()).unwrap_err();
        assert!(error.to_string().contains("is a folder"), "{error}");
        // Nothing left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn descriptors_needed_count_both_sides_of_the_embedded_target() {
        assert_eq!(files_needed(1000, Protocol::Rest, false, false), 1064);
        assert_eq!(files_needed(1000, Protocol::Rest, true, false), 2064);
        assert_eq!(files_needed(10, Protocol::Broadcast, false, false), 75);
        // Open loop: a timerfd per connection as well (broadcast: its publisher's).
        assert_eq!(files_needed(1000, Protocol::Rest, false, true), 2064);
        assert_eq!(files_needed(10, Protocol::Broadcast, false, true), 76);
    }

    #[test]
    fn commands_take_their_own_protocols() {
        use LoadCommand::{Bench, Stream};
        assert!(check_protocol(Bench, Protocol::Rest, "f").is_ok());
        assert!(check_protocol(Bench, Protocol::Sse, "f").is_err());
        assert!(check_protocol(Stream, Protocol::WebSocket, "f").is_ok());
        assert!(check_protocol(Stream, Protocol::Sse, "f").is_ok());
        assert!(check_protocol(Stream, Protocol::Broadcast, "f").is_ok());
        assert!(check_protocol(Bench, Protocol::Broadcast, "f").is_err());
        let wrong = check_protocol(Stream, Protocol::Rest, "f").unwrap_err();
        assert!(wrong.to_string().contains("use bench"), "{wrong}");
    }
}
