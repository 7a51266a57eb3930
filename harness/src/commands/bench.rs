//! `bench` (REST) and `stream` (WebSocket, SSE, broadcast): load on one fixture against one target, the
//! result document on stdout or `--output`, an interval log with `--hlog`, a human summary on
//! stderr. Exit 0 when the errors stay within `--max-error-rate`, 1 otherwise, 2 for usage or
//! fixture errors, 3 when the target cannot be reached.

use std::time::Duration;

use harness_fixture::Protocol;

use super::open_target;
use crate::check::snapshot::write_atomically;
use crate::cli::{Cli, FixtureSelection, LoadArgs, StreamArgs};
use crate::error::{HarnessError, exit};
use crate::measure::{self, LoadConfig, LoadError, LoadResult, RunInfo, Schedule};
use crate::plan::plan;

pub(super) async fn bench(cli: &Cli, args: &LoadArgs) -> Result<i32, HarnessError> {
    load(cli, args, Duration::ZERO, "bench").await
}

pub(super) async fn stream(cli: &Cli, args: &StreamArgs) -> Result<i32, HarnessError> {
    load(cli, &args.load, args.ramp, "stream").await
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

/// Which protocols a command loads.
fn check_protocol(command: &str, protocol: Protocol, file: &str) -> Result<(), HarnessError> {
    let fits = match command {
        "bench" => protocol == Protocol::Rest,
        _ => matches!(
            protocol,
            Protocol::WebSocket | Protocol::Sse | Protocol::Broadcast
        ),
    };
    if fits {
        return Ok(());
    }
    let hint = if protocol == Protocol::Rest {
        "use bench"
    } else {
        "use stream"
    };
    Err(HarnessError::Usage(format!(
        "{file}: {command} does not load {protocol} fixtures ({hint})"
    )))
}

async fn load(
    cli: &Cli,
    args: &LoadArgs,
    ramp: Duration,
    command: &'static str,
) -> Result<i32, HarnessError> {
    let mut schedule = schedule(args)?;
    let file = args.fixture.display().to_string();
    let plan = plan(&FixtureSelection {
        fixtures: None,
        fixture_files: vec![args.fixture.clone()],
        filter: None,
    })?;
    let fixture = match plan.loaded.as_slice() {
        [one] => one,
        _ => {
            return Err(HarnessError::Usage(format!(
                "--fixture {file}: give one fixture file"
            )));
        }
    };
    let protocol = fixture.protocol();
    check_protocol(command, protocol, &file)?;
    if protocol == Protocol::Broadcast && schedule == Schedule::Closed {
        // A fan-out has no closed loop: one publisher publishes at a rate, 100/s unless --rate.
        schedule = Schedule::Open {
            rate: measure::broadcast::DEFAULT_RATE,
        };
    }
    if let Some(limit) = measure::raise_open_files_limit() {
        tracing::debug!("open files limit: {limit}");
    }

    let (target, _copies) = open_target(cli, &plan, args.timeout).await?;
    if let Some(protocols) = target.protocols()
        && !protocols.contains(&protocol)
    {
        target.shutdown().await;
        return Err(HarnessError::Usage(format!(
            "runner {} does not declare the {protocol} protocol",
            cli.runner.as_deref().unwrap_or_default()
        )));
    }
    let info = target.info(cli.target_name.as_deref());
    let config = LoadConfig {
        connections: args.connections,
        schedule,
        warmup: args.warmup,
        duration: args.duration,
        timeout: args.timeout,
        ramp,
        keep_intervals: args.hlog.is_some(),
        progress: true,
        sample_group: target.runner_process_group(),
    };
    let outcome = measure::run(fixture, &target.base_url(), &config).await;
    target.shutdown().await;
    let outcome = outcome.map_err(|e| match e {
        LoadError::Fixture(message) => HarnessError::Usage(format!("{file}: {message}")),
        LoadError::Unreachable(reason) => HarnessError::Unreachable {
            address: info.url.clone(),
            reason,
        },
    })?;

    let mut result = LoadResult::new(
        RunInfo {
            command,
            fixture: fixture.name.clone(),
            protocol,
            target: info.clone(),
            mode: schedule.mode(),
            connections: args.connections,
            rate: schedule.rate(),
            duration_s: args.duration.as_secs_f64(),
            warmup_s: args.warmup.as_secs_f64(),
        },
        &outcome.tally,
    );
    result.runner_resources = outcome.runner_resources;
    result.broadcast = outcome.broadcast;
    result.harness_peak_rss_bytes = measure::resources::peak_rss();
    if let Some(path) = &args.hlog {
        let comment = format!(
            "benchmark-harness {command} {} against {} ({}), {} loop, {} connections",
            fixture.name, info.name, info.url, result.mode, result.connections
        );
        let log = outcome
            .intervals
            .interval_log(outcome.measured_from, &comment)
            .map_err(|e| HarnessError::Write {
                path: path.clone(),
                source: std::io::Error::other(e),
            })?;
        write_atomically(path, &log).map_err(|source| HarnessError::Write {
            path: path.clone(),
            source,
        })?;
    }
    let _ = result.write_human(&mut std::io::stderr().lock());
    let document = serde_json::to_string_pretty(&result).unwrap_or_default();
    match &args.output {
        Some(path) => write_atomically(path, &format!("{document}\n")).map_err(|source| {
            HarnessError::Write {
                path: path.clone(),
                source,
            }
        })?,
        None => println!("{document}"),
    }

    let summary = &result.summary;
    let refused_only = summary.errors > 0
        && summary.errors == summary.operations
        && result
            .errors_by_kind
            .keys()
            .all(|kind| kind == "connection refused");
    if refused_only {
        return Err(HarnessError::Unreachable {
            address: info.url,
            reason: "every connection was refused".into(),
        });
    }
    if summary.operations == 0 {
        eprintln!("no operation completed during the measured time");
        return Ok(exit::FAILED);
    }
    Ok(if result.error_rate() > args.max_error_rate {
        exit::FAILED
    } else {
        exit::OK
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> LoadArgs {
        let mut argv = vec!["benchmark-harness", "bench", "--fixture", "f.json"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).unwrap().command {
            crate::cli::Command::Bench(args) => args,
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
    fn commands_take_their_own_protocols() {
        assert!(check_protocol("bench", Protocol::Rest, "f").is_ok());
        assert!(check_protocol("bench", Protocol::Sse, "f").is_err());
        assert!(check_protocol("stream", Protocol::WebSocket, "f").is_ok());
        assert!(check_protocol("stream", Protocol::Sse, "f").is_ok());
        assert!(check_protocol("stream", Protocol::Broadcast, "f").is_ok());
        assert!(check_protocol("bench", Protocol::Broadcast, "f").is_err());
        let wrong = check_protocol("stream", Protocol::Rest, "f").unwrap_err();
        assert!(wrong.to_string().contains("use bench"), "{wrong}");
    }
}
