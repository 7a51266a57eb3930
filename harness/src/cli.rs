//! The command line as the user typed it (clap). What it resolves to is `config.rs`'s work.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::load::schedule::Shard;
use crate::load::source::SourceAddrs;
use crate::snapshot::SnapshotMode;

mod http;
mod matrix;
mod protocol;

pub use http::{BenchArgs, TransportFlags};
pub use matrix::MatrixArgs;
pub use protocol::{ProtocolArgs, Suite};

/// Replays REST, WebSocket and SSE fixtures against web framework apps, checks every reply,
/// and records what happened as reviewable snapshots.
///
/// Without a target flag every command talks to the reference server (axum), embedded in this
/// process on an ephemeral loopback port. `--url` attaches to a server that is already running.
///
/// Exit codes: 0 everything passed; 1 a fixture failed or errored, or a snapshot changed;
/// 2 usage, fixture or configuration error; 3 the target could not be started or reached.
#[derive(Debug, Parser)]
#[command(name = "benchmark-harness", version, max_term_width = 100)]
#[command(after_help = "Examples:\n  \
    benchmark-harness run                                  # the corpus against the embedded reference\n  \
    benchmark-harness run --filter 'query-*' --format json\n  \
    benchmark-harness run --url http://127.0.0.1:8080 --fixtures my-fixtures/\n  \
    benchmark-harness run --runner go-nethttp              # boot runners/go-nethttp, replay, stop it\n  \
    benchmark-harness matrix --report reports/matrix       # every runner: the parity table\n  \
    benchmark-harness matrix --url http://127.0.0.1:8080   # your server beside the reference runner\n  \
    benchmark-harness bench --fixture fixtures/rest/bench/hello.json --rate 5000 --output r.json\n  \
    benchmark-harness stream --fixture fixtures/websocket/bench/echo.json --connections 200\n  \
    benchmark-harness report reports/matrix/matrix.json results/   # report folder with index.html\n  \
    benchmark-harness compare --baseline main/ --candidate pr/ --threshold 3%\n  \
    benchmark-harness fixtures validate fixtures/rest/my-new.json\n  \
    benchmark-harness serve --port 8080\n  \
    benchmark-harness completions bash > ~/.local/share/bash-completion/completions/benchmark-harness\n  \
    benchmark-harness man --out ~/.local/share/man/man1\n\n\
    Target flags (--url, --ws-url, --sse-url, --runner, --runners-dir, --target-name, the TLS\n\
    flags --cacert, --insecure, --client-cert, --client-key, and --http2) go before or after\n\
    the subcommand; a command they mean nothing to refuses them (exit 2).\n\
    Output: --report DIR (alias --out) writes a folder, --output FILE one document.")]
pub struct Cli {
    /// Attach to a server already running at this base URL instead of the embedded reference
    /// (run, bench, stream); matrix: add it as one more column.
    #[arg(long, global = true, value_name = "URL")]
    pub url: Option<String>,

    /// With --url (run, matrix): WebSocket fixtures go to this base URL instead (e.g. another
    /// port).
    #[arg(long, global = true, value_name = "URL", requires = "url")]
    pub ws_url: Option<String>,

    /// With --url (run, matrix): SSE fixtures go to this base URL instead (e.g. another port).
    #[arg(long, global = true, value_name = "URL", requires = "url")]
    pub sse_url: Option<String>,

    /// TLS and the HTTP version (run, bench, matrix; the TLS flags for stream too).
    #[command(flatten)]
    pub transport: TransportFlags,

    /// Boot the app in runners/NAME/ (set it up first if needed), run, stop it (run, bench, stream).
    #[arg(long, global = true, value_name = "NAME", conflicts_with = "url")]
    pub runner: Option<String>,

    /// Where runners live (default: ./runners, else the repository's runners/) (run, bench,
    /// stream with --runner; matrix; runners).
    #[arg(long, global = true, value_name = "DIR")]
    pub runners_dir: Option<PathBuf>,

    /// Name of the target in snapshots and reports (default: rust-axum, the runner's name, or
    /// url-HOST-PORT) (run, bench, stream; matrix: the --url column).
    /// Letters, digits, '.', '_' and '-', starting with a letter or digit.
    #[arg(long, global = true, value_name = "NAME", value_parser = crate::target::parse_target_name)]
    pub target_name: Option<String>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Conformance: replay every selected fixture, check it, print a result per fixture.
    Run(RunArgs),
    /// List or validate fixtures.
    #[command(subcommand)]
    Fixtures(FixturesCommand),
    /// Conformance of every runner on every fixture of the protocols it declares: the parity table.
    Matrix(MatrixArgs),
    /// Compare a candidate's results with a baseline's: throughput and latency per fixture, and
    /// fixtures that flipped outcome or changed snapshot. Exit 1 on a regression.
    Compare(CompareArgs),
    /// Turn result documents of run, matrix, bench and stream into a report folder:
    /// report.json, summary.md (a CI step summary), junit.xml and index.html (self-contained,
    /// with the parity grid and latency, throughput and resource charts).
    Report(ReportArgs),
    /// Merge the result documents of the shards of one run (`bench`/`stream --shard I/N`) into
    /// the document one generator of the whole run would write: histograms added exactly.
    Merge(MergeArgs),
    /// List runners or install their dependencies.
    #[command(subcommand)]
    Runners(RunnersCommand),
    /// Run the reference server standalone until interrupted.
    Serve(ServeArgs),
    /// REST load on one fixture's request, or on a REST scenario (one run of its steps an
    /// operation, each step in its own histogram); latency in HDR histograms.
    Bench(BenchArgs),
    /// WebSocket or SSE load from one fixture's transcript (JSON-RPC replies matched by id,
    /// subscription items timed from the server's timestamp); latency in HDR histograms.
    Stream(StreamArgs),
    /// Protocol conformance, frame by frame: the WebSocket suite (RFC 6455, Autobahn-class
    /// cases) against an echo endpoint, or the SSE suite (WHATWG event stream) against a stream.
    Protocol(ProtocolArgs),
    /// Print a shell completion script on stdout (bash, zsh, fish, elvish, powershell).
    #[command(after_help = "Examples:\n  \
        benchmark-harness completions bash > ~/.local/share/bash-completion/completions/benchmark-harness\n  \
        benchmark-harness completions zsh > ~/.zfunc/_benchmark-harness\n  \
        benchmark-harness completions fish > ~/.config/fish/completions/benchmark-harness.fish")]
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout, or write one page per command into a folder.
    Man(ManArgs),
}

/// `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write benchmark-harness.1 and benchmark-harness-COMMAND.1 pages into this folder
    /// instead of printing the main page on stdout.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The load flags of `bench` and `stream`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The fixture to load.
    #[arg(long, value_name = "FILE")]
    pub fixture: PathBuf,

    /// Connections, each with one operation in flight at a time.
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub connections: usize,

    /// Measured time.
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub duration: Duration,

    /// Load before measurement, not recorded (0s for none).
    #[arg(long, default_value = "2s", value_parser = parse_duration_or_zero, value_name = "DURATION")]
    pub warmup: Duration,

    /// Open loop: R operations per second in total, latency from each one's intended start
    /// (coordinated omission corrected). Without it: closed loop, except for broadcast fixtures,
    /// whose publisher runs at 100/s by default. From 1e-9 to 1e9.
    #[arg(long, value_name = "R", allow_negative_numbers = true, value_parser = parse_rate)]
    pub rate: Option<f64>,

    /// Bound on every wait: opening a connection, a reply, an event.
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Duration,

    /// Worker threads of the load generator, as wrk's and h2load's -t (default: one per core).
    /// With the embedded target the reference server runs on the same threads.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,

    /// Share of failed operations still counted a success: 0 (default), 0.01 or 1%.
    #[arg(long, default_value = "0", value_parser = parse_share, value_name = "SHARE")]
    pub max_error_rate: f64,

    /// Write the result document (JSON) here (stdout then has the human summary, or nothing
    /// with --format json).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write an HdrHistogram interval log (one interval a second) here.
    #[arg(long, value_name = "FILE")]
    pub hlog: Option<PathBuf>,

    /// Be shard I of N generators of one run (from 0: `0/4` to `3/4`): connection g of
    /// --connections is shard g mod N's, and in open loop each keeps its place in the one
    /// schedule of --rate, so the shards together offer exactly the load of one generator.
    /// Each shard writes its own result document, marked with its shard and the run id.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,

    /// Start the run (warmup first) at this wall-clock time, so that shards start together:
    /// RFC 3339 in UTC (`2026-12-04T17:00:00Z`), or `+DURATION` from now (`+30s`). Every
    /// connection is opened before it: leave room for the connection phase.
    #[arg(long, value_name = "TIME", value_parser = parse_start_at)]
    pub start_at: Option<SystemTime>,

    /// The run's id in a shard's result document (default: the --start-at time, which shards
    /// of one run share; give it with a relative --start-at).
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,

    /// Bind connections in turn to these local addresses before connecting, to open more
    /// connections than one address has ephemeral ports (about 28,000): a range
    /// (`127.0.0.2-127.0.0.9`), a comma list, or both (`10.0.0.1,10.0.0.5-10.0.0.6`).
    #[arg(long, value_name = "ADDRS", value_parser = parse_source_addrs)]
    pub source_addr: Option<SourceAddrs>,

    /// Connections opening at once, at most, in the connection phase that opens every
    /// connection before warm-up and measurement (stream's --ramp also paces it).
    #[arg(long, value_name = "N", default_value_t = crate::load::connect::DEFAULT_CONCURRENCY,
          value_parser = parse_concurrency)]
    pub connect_concurrency: usize,

    /// Output on stdout: the human summary, or the result document (JSON). Default: human when
    /// stdout is a terminal, json otherwise (so a pipe keeps getting the document).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
}

/// `stream`: load on one WebSocket or SSE fixture.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 no errors (or within --max-error-rate); 1 errors above it; \
    2 usage or fixture error; 3 target unreachable.\n\nExamples:\n  \
    benchmark-harness stream --fixture fixtures/websocket/bench/echo.json --connections 100 --duration 10s\n  \
    benchmark-harness stream --fixture fixtures/sse/bench/stream.json --connections 1000 --ramp 2s\n  \
    benchmark-harness stream --fixture fixtures/broadcast/bench/fanout.json --rate 200 --output fanout.json"
)]
pub struct StreamArgs {
    /// The load.
    #[command(flatten)]
    pub load: LoadArgs,

    /// Spread the openings of connections over this time, in the connection phase before
    /// warm-up (0s: as fast as --connect-concurrency lets them open).
    #[arg(long, default_value = "0s", value_parser = parse_duration_or_zero, value_name = "DURATION")]
    pub ramp: Duration,

    /// Largest SSE line or event, or WebSocket message, read from the server (16MiB, 512KiB,
    /// 1000000); past it the operation fails with `event too large` or `message too large`.
    #[arg(long, visible_alias = "max-message-size", default_value = "16MiB", value_parser = crate::wire::parse_size, value_name = "SIZE")]
    pub max_event_size: usize,
}

/// `compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Baseline result documents (run, matrix, bench, stream) or folders of them; several runs
    /// of one fixture are summarised by their median, their spread taken as noise.
    #[arg(long, required = true, num_args = 1.., value_name = "RESULT")]
    pub baseline: Vec<PathBuf>,

    /// Candidate result documents or folders.
    #[arg(long, required = true, num_args = 1.., value_name = "RESULT")]
    pub candidate: Vec<PathBuf>,

    /// Relative change that counts: 5% or 0.05.
    #[arg(long, default_value = "5%", value_parser = parse_share)]
    pub threshold: f64,

    /// Accept fixtures (and load runs) that are in the baseline and not in the candidate;
    /// without it each is a regression.
    #[arg(long)]
    pub allow_removed: bool,

    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Also write the candidate's report folder (as `report` does) with this comparison in its
    /// summary.md and index.html.
    #[arg(long, visible_alias = "out", value_name = "DIR")]
    pub report: Option<PathBuf>,

    /// Credentials.
    #[command(flatten)]
    pub redaction: RedactArgs,
}

/// Credentials in what is written or printed (snapshots, output, result documents, reports).
#[derive(Debug, Clone, Default, Args)]
pub struct RedactArgs {
    /// Show credentials in snapshots, output and reports instead of their fingerprints
    /// (`<<redacted:sha256:1a2b>>`). By default Authorization, Proxy-Authorization, Cookie,
    /// Set-Cookie and names like *token*, *secret*, *api-key*, *password* are redacted.
    #[arg(long)]
    pub no_redact: bool,

    /// Also redact headers, JSON keys and parameters named NAME (a glob such as '*session*',
    /// matched case-insensitively, `-` and `_` alike); repeatable.
    #[arg(long = "redact", value_name = "NAME", conflicts_with = "no_redact")]
    pub redact: Vec<String>,
}

impl RedactArgs {
    /// The redactor these flags ask for.
    pub fn redactor(&self) -> crate::snapshot::redact::Redactor {
        crate::snapshot::redact::Redactor::from_flags(self.no_redact, &self.redact)
    }
}

/// `report`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    benchmark-harness matrix --format json > matrix.json\n  \
    benchmark-harness bench --fixture fixtures/rest/bench/hello.json --output bench.json\n  \
    benchmark-harness report matrix.json bench.json --report reports/today\n  \
    benchmark-harness report results/ --baseline reports/main/report.json   # shows the comparison\n\n\
    Exit 0 once the folder is written (the verdict is inside it); 2 when an input is not a result\n\
    document (the message names the file and the JSON pointer). `compare` is the gate.")]
pub struct ReportArgs {
    /// Result documents of run, matrix, bench or stream (or earlier report.json files), or
    /// folders of them.
    #[arg(required = true, num_args = 1.., value_name = "RESULT")]
    pub inputs: Vec<PathBuf>,

    /// The report folder (default: reports/<UTC time>/); `--out` is the former name.
    #[arg(long = "report", visible_alias = "out", value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Baseline result documents or folders: the report then shows the comparison (as
    /// `compare` makes it), and its verdict counts the regressions.
    #[arg(long, num_args = 1.., value_name = "RESULT")]
    pub baseline: Vec<PathBuf>,

    /// With --baseline: the relative change that counts, 5% or 0.05.
    #[arg(long, default_value = "5%", value_parser = parse_share)]
    pub threshold: f64,

    /// With --baseline: accept fixtures that are in the baseline and not in the inputs.
    #[arg(long, requires = "baseline")]
    pub allow_removed: bool,

    /// Credentials.
    #[command(flatten)]
    pub redaction: RedactArgs,
}

/// `merge`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    benchmark-harness bench --url http://10.0.0.5:8080 --fixture fixtures/rest/bench/hello.json \\\n      \
    --rate 40000 --connections 256 --shard 0/4 --start-at 2026-12-04T17:00:00Z --output shard-0.json\n  \
    (the same on three more machines with --shard 1/4, 2/4, 3/4)\n  \
    benchmark-harness merge shard-*.json --output run.json\n  \
    benchmark-harness report run.json --report reports/run   # or report the shards directly\n\n\
    Guarantees: every histogram is added exactly (counts, min, max and every percentile are those of\n\
    one histogram of all the operations); operations, errors and errors by kind are summed;\n\
    throughput is over the measured window the shards share; each shard's own figures, memory and\n\
    whether it fell behind its schedule are kept under `merged.shards`.\n\n\
    Exit 0 when merged; 2 when the documents are not the shards of one run, naming the files:\n\
    a document without a shard block, different run ids, fixtures, targets or load settings, a\n\
    shard missing or given twice, measured windows less than 95% in common.")]
pub struct MergeArgs {
    /// The shards' result documents, or folders of them (every `*.json`): all the shards of
    /// one run, each once.
    #[arg(required = true, num_args = 1.., value_name = "SHARD")]
    pub inputs: Vec<PathBuf>,

    /// Write the merged document here (atomically); without it, it goes to stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `runners ...`.
#[derive(Debug, Subcommand)]
pub enum RunnersCommand {
    /// List runners: language, framework, protocols, whether set up.
    List {
        /// Output format on stdout.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Install runners' dependencies and build them (every runner by default); idempotent.
    Setup {
        /// Runner names.
        names: Vec<String>,
        /// Run the setup commands even when the runner is set up.
        #[arg(long)]
        force: bool,
    },
}

/// Where fixtures come from.
#[derive(Debug, Clone, Default, Args)]
pub struct FixtureSelection {
    /// Fixtures directory (default: ./fixtures, else the repository's fixtures/).
    #[arg(long, value_name = "DIR")]
    pub fixtures: Option<PathBuf>,

    /// A single fixture file instead of a directory; repeatable.
    #[arg(long = "fixture", value_name = "FILE")]
    pub fixture_files: Vec<PathBuf>,

    /// Only fixtures whose name (or path) matches this glob, e.g. 'query-*' or 'rest/**'.
    #[arg(long, value_name = "GLOB")]
    pub filter: Option<String>,
}

/// Output format of `run`, `fixtures list`, `bench` and `stream`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Lines for people.
    Human,
    /// One JSON document on stdout.
    Json,
}

/// `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Which fixtures.
    #[command(flatten)]
    pub selection: FixtureSelection,

    /// How fixtures are replayed.
    #[command(flatten)]
    pub replay: ReplayArgs,

    /// Write summary.md, junit.xml, index.html and run.json into this folder (printed on stderr).
    #[arg(long, visible_alias = "out", value_name = "DIR")]
    pub report: Option<PathBuf>,

    /// Print only fixtures that did not pass (and changed snapshots), then the summary.
    #[arg(long, short)]
    pub quiet: bool,

    /// Credentials.
    #[command(flatten)]
    pub redaction: RedactArgs,

    /// Largest SSE line or event, or WebSocket message, read from the server (16MiB, 512KiB,
    /// 1000000); past it the fixture is errored (`event too large`, `message too large`).
    #[arg(long, visible_alias = "max-message-size", default_value = "16MiB", value_parser = crate::wire::parse_size, value_name = "SIZE")]
    pub max_event_size: usize,

    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// How `run` and `matrix` replay fixtures.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// Bound on each step of a replay (a request, an expected message or event, a close).
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Duration,

    /// Compare transcripts with stored snapshots (check), accept them (update), or neither
    /// (off); snapshots live under snapshots/<target or runner>/.
    #[arg(long, value_enum, default_value_t = SnapshotMode::Check)]
    pub snapshots: SnapshotMode,

    /// Snapshots folder (default: snapshots/ beside the fixtures directory: --fixtures DIR,
    /// else ./fixtures, else the repository's; also for --fixture files). Named in the summary
    /// when snapshots are written there.
    #[arg(long, value_name = "DIR")]
    pub snapshots_dir: Option<PathBuf>,

    /// How many fixtures are replayed at once (against each target).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: u16,
}

impl ReplayArgs {
    /// The conformance engine's settings.
    pub fn settings(&self) -> crate::replay::conformance::Settings {
        crate::replay::conformance::Settings {
            snapshots: self.snapshots,
            jobs: usize::from(self.jobs),
        }
    }
}

/// `fixtures ...`.
#[derive(Debug, Subcommand)]
pub enum FixturesCommand {
    /// List the fixtures: protocol, name, file.
    List {
        /// Which fixtures.
        #[command(flatten)]
        selection: FixtureSelection,
        /// Output format on stdout.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Validate fixture files or directories against the fixture JSON Schema (default: the corpus).
    Validate {
        /// Files or directories.
        paths: Vec<PathBuf>,
    },
    /// Convert another tool's suite into fixture files.
    #[command(subcommand)]
    Import(ImportCommand),
}

/// `fixtures import`.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Spikard's fixtures: `testing_data/<category>/*.json` (a case a file) and
    /// `fixtures/<category>.json` (arrays of cases), one fixture a case, written to
    /// OUT/<protocol>/<category>/<id>.json with an `x-source` key naming its case.
    ///
    /// Each case's handler is written where the handler vocabulary can say it, so that runners
    /// serve the imported suite; where it cannot (middleware, dependency injection, background
    /// tasks, GraphQL, matchers in the reply, ...) the fixture is written without one, for
    /// `--url` targets, and the reason is listed. Spikard's cases reuse routes with different
    /// replies: without --prefix only the first case of a route keeps its handler. What was
    /// converted and skipped, grouped by reason, is printed and written to OUT/IMPORT.md.
    #[command(after_help = "Examples:\n  \
        benchmark-harness fixtures import spikard spikard/testing_data spikard/fixtures --out imported\n  \
        benchmark-harness fixtures import spikard spikard/testing_data --out imported --prefix '/fixtures/{id}'\n  \
        benchmark-harness --runner python-spikard run --fixtures imported\n  \
        benchmark-harness --url http://127.0.0.1:8000 run --fixtures imported/rest/query_params\n\n\
        Exit codes: 0 imported; 1 --strict and a case was skipped; 2 a source could not be read \
        (named with its JSON pointer; the others were imported).")]
    Spikard(SpikardImportArgs),
    /// An AsyncAPI 3.0 or 2.6 document (YAML or JSON): WebSocket fixtures for the channels on
    /// `ws`/`wss` servers (a `send` operation's message examples sent, answered by its `reply`
    /// checked by schema; a `receive` operation's messages expected by schema) and SSE fixtures
    /// for the channels on `http`/`https` servers (events checked by the messages' schemas).
    ///
    /// Schemas have their `$ref`s inlined and `nullable` turned into JSON Schema. What the
    /// document cannot say (who speaks first, what makes a server push, a parameter without an
    /// example) is an `x-todo` note in the fixture and listed in OUT/IMPORT.md.
    #[command(after_help = "Examples:\n  \
        benchmark-harness fixtures import asyncapi chat.asyncapi.yaml --out imported\n  \
        benchmark-harness fixtures import asyncapi api.json --out imported --param roomId=lobby\n  \
        benchmark-harness --url http://127.0.0.1:8080 run --fixtures imported\n\n\
        Exit codes: 0 imported; 1 --strict and a channel or operation was skipped; 2 the \
        document could not be read (named with its line and column or JSON pointer).")]
    Asyncapi(AsyncapiImportArgs),
}

/// `fixtures import asyncapi`.
#[derive(Debug, Args)]
pub struct AsyncapiImportArgs {
    /// The AsyncAPI document.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// The folder the fixtures and IMPORT.md are written to (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// The value of a channel parameter, before the document's examples (repeatable).
    #[arg(long, value_name = "NAME=VALUE", value_parser = parse_param)]
    pub param: Vec<(String, String)>,

    /// Exit 1 when any channel or operation was skipped.
    #[arg(long)]
    pub strict: bool,

    /// The account on stdout: lines for people, or the JSON report.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

fn parse_param(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err(format!("{text:?} is not NAME=VALUE")),
    }
}

/// `fixtures import spikard`.
#[derive(Debug, Args)]
pub struct SpikardImportArgs {
    /// Spikard files or folders (searched for *.json).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// The folder the fixtures and IMPORT.md are written to (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Mount every case under its own path: `{id}` and `{category}` name the case, e.g.
    /// `/fixtures/{id}` for apps that serve each case under a prefix (Spikard's own e2e apps).
    #[arg(long, value_name = "TEMPLATE")]
    pub prefix: Option<String>,

    /// Only this category (repeatable).
    #[arg(long, value_name = "CATEGORY")]
    pub only: Vec<String>,

    /// Leave out the cases whose `skip.languages` names this language (repeatable).
    #[arg(long, value_name = "LANG")]
    pub skip_language: Vec<String>,

    /// Exit 1 when any case was skipped.
    #[arg(long)]
    pub strict: bool,

    /// The account on stdout: lines for people, or the JSON report.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port on the --bind address (0: any free port, printed on stdout).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,

    /// The address to listen on: loopback by default; `0.0.0.0` (or `::`) serves other hosts,
    /// e.g. generators in other pods, namespaces or machines.
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,

    /// Fixtures directory whose handlers are served.
    #[arg(long, value_name = "DIR")]
    pub fixtures: Option<PathBuf>,

    /// Serve TLS with this certificate chain (PEM, leaf first); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Serve TLS with a generated certificate for localhost and 127.0.0.1, signed by a
    /// generated CA written to DIR/ca.pem (for clients to trust).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["tls_cert", "tls_key"])]
    pub tls_self_signed: Option<PathBuf>,
}

/// Why a flag's value was refused (clap names the flag and the value before this text).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FlagValueError {
    /// Not a duration (`--timeout`, `--duration`).
    #[error("{0} (write e.g. 10s, 500ms, 2m)")]
    Duration(humantime::DurationError),
    /// Not a duration (`--warmup`, `--ramp`: zero allowed).
    #[error("{0} (write e.g. 2s, 500ms, 0s)")]
    DurationOrZero(humantime::DurationError),
    /// A zero duration where one is needed.
    #[error("must be more than zero")]
    Zero,
    /// Not a number (`--rate`).
    #[error("{0} (write operations per second, e.g. 5000 or 2.5e4)")]
    Rate(std::num::ParseFloatError),
    /// A rate the schedule cannot represent (`--rate`).
    #[error(transparent)]
    RateRange(#[from] crate::load::schedule::RateError),
    /// Not a number or a percentage (`--max-error-rate`, `--threshold`).
    #[error("{0} (write e.g. 0.01 or 1%)")]
    Share(std::num::ParseFloatError),
    /// A share below 0 or above 1.
    #[error("must be between 0 and 1 (0% and 100%)")]
    ShareRange,
}

/// Parses `10s`, `500ms`, `2m`.
pub fn parse_duration(text: &str) -> Result<Duration, FlagValueError> {
    let duration = humantime::parse_duration(text).map_err(FlagValueError::Duration)?;
    if duration.is_zero() {
        return Err(FlagValueError::Zero);
    }
    Ok(duration)
}

/// Parses a duration that may be zero (`0s`).
pub fn parse_duration_or_zero(text: &str) -> Result<Duration, FlagValueError> {
    humantime::parse_duration(text).map_err(FlagValueError::DurationOrZero)
}

/// `--connect-concurrency`: at least one.
pub fn parse_concurrency(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("at least one connection must open at a time".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{text:?} is not a whole number")),
    }
}

/// `--source-addr`.
pub fn parse_source_addrs(text: &str) -> Result<SourceAddrs, String> {
    SourceAddrs::parse(text)
}

/// `--shard I/N`.
pub fn parse_shard(text: &str) -> Result<Shard, String> {
    Shard::parse(text)
}

/// `--start-at`: RFC 3339 in UTC, or `+DURATION` from now.
pub fn parse_start_at(text: &str) -> Result<SystemTime, String> {
    if let Some(after) = text.strip_prefix('+') {
        let wait = humantime::parse_duration(after)
            .map_err(|e| format!("{text:?}: {e} (a duration such as +30s)"))?;
        return Ok(SystemTime::now() + wait);
    }
    humantime::parse_rfc3339_weak(text)
        .map_err(|e| format!("{text:?}: {e} (a UTC time such as 2026-12-04T17:00:00Z, or +30s)"))
}

/// Parses an open-loop rate the schedule can represent (a negative one is read, to be refused
/// with the range rather than taken for a flag).
pub fn parse_rate(text: &str) -> Result<f64, FlagValueError> {
    let rate = text.trim().parse::<f64>().map_err(FlagValueError::Rate)?;
    Ok(crate::load::schedule::check_rate(rate)?)
}

/// Parses a share: `0.01` or `1%`, between 0 and 1.
pub fn parse_share(text: &str) -> Result<f64, FlagValueError> {
    let share = match text.trim().strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().map(|p| p / 100.0),
        None => text.trim().parse::<f64>(),
    }
    .map_err(FlagValueError::Share)?;
    if !(0.0..=1.0).contains(&share) {
        return Err(FlagValueError::ShareRange);
    }
    Ok(share)
}

/// `--snapshots check|update|off`: the values and their help, here so that the snapshot layer
/// knows nothing of the command line.
impl clap::ValueEnum for SnapshotMode {
    fn value_variants<'a>() -> &'a [Self] {
        &[SnapshotMode::Check, SnapshotMode::Update, SnapshotMode::Off]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        use clap::builder::PossibleValue;
        Some(match self {
            SnapshotMode::Check => PossibleValue::new("check")
                .help("Compare; write `.snap.new` for new or changed transcripts"),
            SnapshotMode::Update => {
                PossibleValue::new("update").help("Accept every transcript as the new snapshot")
            }
            SnapshotMode::Off => PossibleValue::new("off").help("Neither compare nor write"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("ten").is_err());
    }

    #[test]
    fn target_flags_go_anywhere() {
        let cli = Cli::try_parse_from(["benchmark-harness", "run", "--url", "http://127.0.0.1:1"])
            .unwrap();
        assert_eq!(cli.url.as_deref(), Some("http://127.0.0.1:1"));
    }
}
