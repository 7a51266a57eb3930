//! `matrix`'s own flags, and its help: the runners, `--tls`, and what the global target flags
//! (`--url`, `--http2`, the TLS flags) mean to it.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{FixtureSelection, Format, RedactArgs, ReplayArgs, Suite, parse_duration};

/// `matrix`.
#[derive(Debug, Args)]
#[command(after_help = "\
Columns: every runner in the runners folder (or those of --runners), each on the fixtures of the \
protocols its runner.toml declares. --url URL adds a server that is already running as one more \
column, named by --target-name (default url-HOST-PORT) and asked every selected fixture; \
--ws-url and --sse-url send its WebSocket and SSE fixtures elsewhere, and an https:// URL is \
checked with --cacert, --insecure, --client-cert/--client-key. With --url and no --runners, the \
other column is the reference runner rust-axum: your server's parity against the oracle.

Transport: HTTP/1.1 by default. --tls: the harness makes a CA and a certificate for the run and \
starts the runners that declare `tls` with it (not the --url column: its URL says https or not). \
--http2: the runners that declare `h2c` are spoken to with HTTP/2 prior knowledge; with --tls, \
those that declare `http2`, by ALPN h2; the --url column over HTTP/2 too. As in `run --http2`, \
REST and SSE go over HTTP/2 and WebSocket fixtures keep the HTTP/1.1 upgrade. A runner without \
the capability is listed not_declared, naming it.

Protocol suites (--protocol-suites): while each column is up, after its fixtures, the WebSocket \
suite runs against the echo endpoint of every runner that declares websocket and names \
[protocol_paths] websocket in its runner.toml, the SSE suite against the stream of those that \
declare sse and name [protocol_paths] sse (one runner's suites one after the other; the runners' \
at once with --parallel). A runner that declares the protocol but names no path is listed as \
skipped, with the reason. The --url column runs them only on --protocol-ws-path and \
--protocol-sse-path (at --ws-url and --sse-url when given), else both are listed skipped. Over \
--tls the suites speak wss:// and https:// with the run's CA; over --http2 the WebSocket suite \
keeps the HTTP/1.1 upgrade and the SSE suite stays on HTTP/1.1 too (it checks the chunked \
framing of the stream). The suite documents go into the JSON document's `protocol` array (each \
`target.name` the runner's), the skipped ones into `protocol_not_run`, and into --report: the \
cases grid in index.html, verdict counts in summary.md, a testcase per case in junit.xml. Cases \
a framework is known to fail are listed in its runner.toml: [expected_protocol_failures] \
websocket = [\"6.4.1\", \"7.5.\"] (ids, or groups ending in a dot); they stay in the documents, \
marked expected_failure, and do not fail the run. The endpoints are corpus fixtures the runners \
serve from the run's fixtures folder: narrow the fixtures with --filter, not --fixture FILE (only \
the files given are served then).

Exit codes: 0 every column passed (known divergences aside); 1 a fixture failed or a snapshot \
changed, or a protocol case failed that its runner does not list; 2 usage or fixture error; 3 a \
column was unavailable: a runner that could not be set up or started, a --url that cannot be \
reached or whose certificate is refused, or, with --http2, a server that does not agree to \
HTTP/2 (the reason is in its block), or a protocol suite's endpoint that cannot be reached. The \
other columns run anyway.

Examples:
  benchmark-harness matrix --report reports/matrix
  benchmark-harness matrix --runners go-nethttp,rust-axum --filter 'rest/**'
  benchmark-harness matrix --tls --http2                # HTTP/2 over TLS (runners with http2)
  benchmark-harness matrix --url http://127.0.0.1:8080  # your server beside rust-axum
  benchmark-harness matrix --url https://localhost:8443 --cacert ca.pem --target-name mine --http2
  benchmark-harness matrix --protocol-suites --report reports/matrix  # fixtures and suites
  benchmark-harness matrix --protocol-suites --protocol-cases websocket:1.,sse:1. --filter 'rest/**'
  benchmark-harness matrix --merge a.json b.json --report reports/all")]
pub struct MatrixArgs {
    /// Runners to include, comma-separated (default: every runner; with --url: rust-axum).
    #[arg(long, value_delimiter = ',', value_name = "A,B,...")]
    pub runners: Vec<String>,

    /// Which fixtures.
    #[command(flatten)]
    pub selection: FixtureSelection,

    /// How fixtures are replayed (against each runner).
    #[command(flatten)]
    pub replay: ReplayArgs,

    /// Runners run at once.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub parallel: u16,

    /// Over TLS: the harness makes a CA and a certificate for this run, starts each runner
    /// that declares `tls` with it (TLS_CERT_FILE, TLS_KEY_FILE) and trusts only that CA;
    /// runners that do not declare it are listed as not run. Not for the --url column.
    #[arg(long, conflicts_with = "merge")]
    pub tls: bool,

    /// Write summary.md, junit.xml, matrix.json and index.html into this folder.
    #[arg(long, visible_alias = "out", value_name = "DIR")]
    pub report: Option<PathBuf>,

    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Join matrix results (--format json) made on several machines instead of running.
    #[arg(long, num_args = 1.., value_name = "RESULT.json", conflicts_with_all = ["runners", "fixtures", "fixture_files", "filter"])]
    pub merge: Vec<PathBuf>,

    /// Credentials.
    #[command(flatten)]
    pub redaction: RedactArgs,

    /// Also run the protocol suites (WebSocket, SSE) on every column that declares the
    /// protocol and names its endpoint, while it is up (see below).
    #[arg(long, conflicts_with = "merge")]
    pub protocol_suites: bool,

    /// With --protocol-suites: only the cases whose id starts with one of these prefixes;
    /// `websocket:` or `sse:` before one restricts it to that suite. A suite none of them
    /// applies to is skipped.
    #[arg(long, value_delimiter = ',', value_name = "[SUITE:]ID,...", value_parser = parse_protocol_case, requires = "protocol_suites")]
    pub protocol_cases: Vec<String>,

    /// With --protocol-suites: the time limit of each case.
    #[arg(long, default_value = "5s", value_parser = parse_duration, value_name = "DURATION")]
    pub protocol_case_timeout: Duration,

    /// With --protocol-suites: the --url column's WebSocket echo endpoint (at --ws-url when
    /// given); without it, its WebSocket suite is skipped.
    #[arg(long, value_name = "PATH", value_parser = parse_endpoint_path, requires = "protocol_suites")]
    pub protocol_ws_path: Option<String>,

    /// With --protocol-suites: the --url column's event stream (at --sse-url when given);
    /// without it, its SSE suite is skipped.
    #[arg(long, value_name = "PATH", value_parser = parse_endpoint_path, requires = "protocol_suites")]
    pub protocol_sse_path: Option<String>,
}

impl MatrixArgs {
    /// The case prefixes of `--protocol-cases` that apply to `suite` (empty: every case);
    /// `None` when the flag is given and none of its entries applies to `suite`.
    pub fn protocol_cases_of(&self, suite: Suite) -> Option<Vec<String>> {
        if self.protocol_cases.is_empty() {
            return Some(Vec::new());
        }
        let mine: Vec<String> = self
            .protocol_cases
            .iter()
            .filter_map(|entry| match entry.split_once(':') {
                Some((name, id)) => (name == suite.as_str()).then(|| id.to_string()),
                None => Some(entry.clone()),
            })
            .collect();
        (!mine.is_empty()).then_some(mine)
    }
}

/// An entry of `--protocol-cases`: `ID` or `SUITE:ID`, the suite `websocket` or `sse`.
fn parse_protocol_case(text: &str) -> Result<String, String> {
    let id = match text.split_once(':') {
        Some(("websocket" | "sse", id)) => id,
        Some((suite, _)) => {
            return Err(format!(
                "unknown suite {suite:?}: write websocket:ID or sse:ID"
            ));
        }
        None => text,
    };
    if id.is_empty() {
        return Err("an empty case id".into());
    }
    Ok(text.to_string())
}

/// An endpoint path: it starts with `/`.
fn parse_endpoint_path(text: &str) -> Result<String, String> {
    if text.starts_with('/') {
        Ok(text.to_string())
    } else {
        Err(format!("{text:?}: the path must start with '/'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(argv: &[&str]) -> MatrixArgs {
        let mut full = vec!["benchmark-harness", "matrix", "--protocol-suites"];
        full.extend_from_slice(argv);
        match crate::cli::Cli::try_parse_from(full).unwrap().command {
            crate::cli::Command::Matrix(args) => args,
            _ => unreachable!(),
        }
    }

    #[test]
    fn protocol_cases_apply_to_both_suites_or_to_the_one_named() {
        let all = args(&[]);
        assert_eq!(all.protocol_cases_of(Suite::Websocket), Some(vec![]));
        let mixed = args(&["--protocol-cases", "1.,websocket:5.9,sse:4"]);
        assert_eq!(
            mixed.protocol_cases_of(Suite::Websocket),
            Some(vec!["1.".to_string(), "5.9".to_string()])
        );
        assert_eq!(
            mixed.protocol_cases_of(Suite::Sse),
            Some(vec!["1.".to_string(), "4".to_string()])
        );
        let one = args(&["--protocol-cases", "sse:1."]);
        assert_eq!(one.protocol_cases_of(Suite::Websocket), None);
        assert_eq!(one.protocol_cases_of(Suite::Sse), Some(vec!["1.".into()]));
        for bad in ["gopher:1", "sse:", ""] {
            let argv = [
                "benchmark-harness",
                "matrix",
                "--protocol-suites",
                "--protocol-cases",
                bad,
            ];
            assert!(crate::cli::Cli::try_parse_from(argv).is_err(), "{bad:?}");
        }
    }
}
