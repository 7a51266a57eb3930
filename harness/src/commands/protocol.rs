//! `protocol websocket|sse`: a protocol suite against one target (`--url`, `--runner`, or the
//! embedded reference), its verdicts on stdout (human or the JSON document) and in `--output`.

use std::time::Instant;

use harness_fixture::Protocol;

use crate::cli::{Cli, Format, ProtocolArgs};
use crate::cli::{FixtureSelection, Suite};
use crate::config::{find_runner, open_target, selection, tls_settings};
use crate::error::HarnessError;
use crate::fsutil::write_atomically;
use crate::protocol::{SuiteError, SuiteOptions, sse, websocket};
use crate::replay::plan::plan;
use crate::report::human::protocol::write_suite;
use crate::report::terminal::Style;
use crate::report::write_json;
use crate::results::protocol::SuiteReport;

pub(super) async fn protocol(cli: &Cli, args: &ProtocolArgs) -> Result<i32, HarnessError> {
    let tls = tls_settings(cli)?;
    let path = endpoint_path(cli, args)?;
    // A runner and the embedded reference serve the corpus: the endpoint is one of its handlers.
    let plan = plan(&selection(&FixtureSelection::default()))?;
    let (target, _copies) = open_target(cli, &plan, &tls, args.case_timeout).await?;
    let info = target.info(cli.target_name.as_deref());
    let options = SuiteOptions {
        base: target.base_url(),
        path: path.clone(),
        tls,
        case_timeout: args.case_timeout,
        only: args.cases.clone(),
    };
    let started = Instant::now();
    let outcome = match args.suite {
        Suite::Websocket => websocket::run_suite(&options).await,
        Suite::Sse => sse::run_suite(&options).await,
    };
    target.shutdown().await;
    let mut cases = outcome.map_err(|e| match e {
        SuiteError::Unreachable { url, reason } => HarnessError::Unreachable {
            address: url,
            reason,
        },
    })?;
    // A runner's manifest may list cases its framework is known to fail.
    if let (None, Some(name)) = (&cli.url, &cli.runner) {
        let expected = find_runner(cli, name)?.manifest.expected_protocol_failures;
        for case in &mut cases {
            case.expected_failure = expected.lists(args.suite.as_str(), &case.id);
        }
    }
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    let report = SuiteReport::new(args.suite.as_str(), info, &path, cases, elapsed);
    let mut stdout = std::io::stdout().lock();
    match args.format {
        Format::Human => {
            let _ = write_suite(&mut stdout, Style::stdout(), &report);
        }
        Format::Json => {
            let _ = write_json(&mut stdout, &report);
        }
    }
    if let Some(file) = &args.output {
        let text =
            serde_json::to_string_pretty(&report).map_err(|source| HarnessError::Encode {
                what: "the suite's result",
                source,
            })?;
        write_atomically(file, &format!("{text}\n")).map_err(|source| HarnessError::Write {
            path: file.clone(),
            source,
        })?;
    }
    Ok(report.exit_code())
}

/// The echo endpoint the reference server serves (fixtures/websocket/bench/echo.json).
pub(crate) const REFERENCE_WEBSOCKET_ECHO: &str = "/ws/bench/echo";

/// The endpoint under test: `--path`; else the one the runner's manifest names
/// (`[protocol_paths]`); else, for the embedded reference, its own. `--url` needs `--path`.
/// A runner that does not declare the suite's protocol is refused.
fn endpoint_path(cli: &Cli, args: &ProtocolArgs) -> Result<String, HarnessError> {
    let suite = args.suite.as_str();
    let runner = match (&cli.url, &cli.runner) {
        (None, Some(name)) => Some(find_runner(cli, name)?),
        _ => None,
    };
    if let Some(runner) = &runner
        && args.suite == Suite::Sse
        && !runner.manifest.protocols.contains(&Protocol::Sse)
    {
        return Err(HarnessError::Usage(format!(
            "runner {} does not serve sse (its runner.toml declares protocols = [{}])",
            runner.manifest.name,
            runner
                .manifest
                .protocols
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if let Some(path) = &args.path {
        return Ok(path.clone());
    }
    let missing =
        |why: String| HarnessError::Usage(format!("`protocol {suite}` needs --path: {why}"));
    if cli.url.is_some() {
        return Err(missing("the endpoint to test at --url".into()));
    }
    if let Some(runner) = runner {
        let name = &runner.manifest.name;
        let paths = runner.manifest.protocol_paths;
        let named = match args.suite {
            Suite::Websocket => paths.websocket,
            Suite::Sse => paths.sse,
        };
        return named.ok_or_else(|| {
            missing(format!(
                "runner {name:?} names no {suite} endpoint (add `[protocol_paths] {suite} = \"/...\"` to its runner.toml)"
            ))
        });
    }
    Ok(match args.suite {
        Suite::Websocket => REFERENCE_WEBSOCKET_ECHO.to_string(),
        Suite::Sse => sse::REFERENCE_STREAM_PATH.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn path_of(argv: &[&str]) -> Result<String, HarnessError> {
        let mut full = vec!["benchmark-harness"];
        full.extend_from_slice(argv);
        let cli = Cli::try_parse_from(full).unwrap();
        match &cli.command {
            crate::cli::Command::Protocol(args) => endpoint_path(&cli, args),
            _ => unreachable!(),
        }
    }

    #[test]
    fn the_sse_stream_path_comes_from_the_flag_the_manifest_or_the_reference() {
        let dir = tempfile::tempdir().unwrap();
        for (name, protocols, extra) in [
            ("named", "sse", "[protocol_paths]\nsse = \"/mine\"\n"),
            ("plain", "sse", ""),
            ("resty", "rest", ""),
        ] {
            let folder = dir.path().join(name);
            std::fs::create_dir(&folder).unwrap();
            let manifest = format!(
                "name = \"{name}\"\nlanguage = \"x\"\nframework = \"x\"\nprotocols = [\"{protocols}\"]\nstart = [\"./app\"]\nready = {{ tcp = true }}\n{extra}"
            );
            std::fs::write(folder.join("runner.toml"), manifest).unwrap();
        }
        let runners = dir.path().to_str().unwrap();
        let runner = |name| {
            path_of(&[
                "--runners-dir",
                runners,
                "protocol",
                "sse",
                "--runner",
                name,
            ])
        };
        assert_eq!(runner("named").unwrap(), "/mine");
        let plain = runner("plain");
        assert!(
            matches!(&plain, Err(HarnessError::Usage(m)) if m.contains("names no sse endpoint")),
            "{plain:?}"
        );
        let resty = runner("resty");
        assert!(
            matches!(&resty, Err(HarnessError::Usage(m)) if m.contains("does not serve sse")),
            "{resty:?}"
        );
        assert_eq!(
            path_of(&["protocol", "sse"]).unwrap(),
            "/sse/resume/endless"
        );
        assert_eq!(path_of(&["protocol", "sse", "--path", "/p"]).unwrap(), "/p");
        let url = path_of(&["protocol", "sse", "--url", "http://127.0.0.1:1"]);
        assert!(matches!(url, Err(HarnessError::Usage(m)) if m.contains("--path")));
    }
}
