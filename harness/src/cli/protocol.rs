//! `protocol websocket|sse`: the frame-level conformance suites, against any server.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::{Format, parse_duration};

/// Which suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Suite {
    /// RFC 6455, case by case after Autobahn|Testsuite's catalogue, against an echo endpoint
    /// (text echoed as text, binary as binary).
    Websocket,
    /// The WHATWG event-stream format and what clients need of it, against an event stream.
    Sse,
}

impl Suite {
    /// As written in documents (`suite`).
    pub fn as_str(self) -> &'static str {
        match self {
            Suite::Websocket => "websocket",
            Suite::Sse => "sse",
        }
    }
}

/// `protocol`.
#[derive(Debug, Args)]
#[command(
    after_help = "Verdicts (after Autobahn|Testsuite): ok; non_strict (allowed, not the best \
behaviour); failed; informational (recorded, never a failure); unimplemented (the server does not \
offer what the case tests). Exit 1 when any case failed.\n\nExamples:\n  \
benchmark-harness protocol websocket --url http://127.0.0.1:8080 --path /ws/echo\n  \
benchmark-harness protocol sse --url https://app.local --cacert ca.pem --path /events --format json\n  \
benchmark-harness protocol websocket --runner go-nethttp --cases 5.,6.4"
)]
pub struct ProtocolArgs {
    /// The suite to run.
    #[arg(value_enum)]
    pub suite: Suite,

    /// The endpoint under test: an echo endpoint (websocket) or an event stream (sse). Default:
    /// the one the runner's manifest names, or the reference server's.
    #[arg(long, value_name = "PATH")]
    pub path: Option<String>,

    /// Only the cases whose id starts with one of these prefixes, comma-separated (`1.1.,6.4`;
    /// a trailing `*` is allowed: `12.*`).
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub cases: Vec<String>,

    /// Time limit of each case: a server that hangs past it fails the case, the suite goes on.
    #[arg(long, default_value = "5s", value_parser = parse_duration, value_name = "DURATION")]
    pub case_timeout: Duration,

    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Write the result document (JSON) here too.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}
