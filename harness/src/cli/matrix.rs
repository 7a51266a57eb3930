//! `matrix`'s own flags, and its help: the runners, `--tls`, and what the global target flags
//! (`--url`, `--http2`, the TLS flags) mean to it.

use std::path::PathBuf;

use clap::Args;

use super::{FixtureSelection, Format, RedactArgs, ReplayArgs};

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

Exit codes: 0 every column passed (known divergences aside); 1 a fixture failed or a snapshot \
changed; 2 usage or fixture error; 3 a column was unavailable: a runner that could not be set up \
or started, a --url that cannot be reached or whose certificate is refused, or, with --http2, a \
server that does not agree to HTTP/2 (the reason is in its block). The other columns run anyway.

Examples:
  benchmark-harness matrix --report reports/matrix
  benchmark-harness matrix --runners go-nethttp,rust-axum --filter 'rest/**'
  benchmark-harness matrix --tls --http2                # HTTP/2 over TLS (runners with http2)
  benchmark-harness matrix --url http://127.0.0.1:8080  # your server beside rust-axum
  benchmark-harness matrix --url https://localhost:8443 --cacert ca.pem --target-name mine --http2
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
}
