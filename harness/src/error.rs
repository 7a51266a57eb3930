//! Errors that end a command, each with its exit code (docs/contract.md, section 2).

use std::path::PathBuf;

use harness_fixture::FixtureErrors;

/// The typed error of a module above this one (a runner's manifest, a result document, two
/// sides that cannot be compared, a fixture that cannot be loaded), kept whole as the source of
/// the variant that names what failed: this module imports nothing from the layers above it.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Exit codes of the contract.
pub mod exit {
    /// Everything passed.
    pub const OK: i32 = 0;
    /// A fixture failed or errored, or a snapshot changed.
    pub const FAILED: i32 = 1;
    /// Usage, fixture or configuration error.
    pub const USAGE: i32 = 2;
    /// The target could not be started or reached.
    pub const TARGET: i32 = 3;
}

/// Why a command could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// Fixtures failed to load.
    #[error("{0}")]
    Fixtures(#[from] FixtureErrors),
    /// A flag or configuration value is wrong.
    #[error("{0}")]
    Usage(String),
    /// The target could not be started or reached.
    #[error("target {address} cannot be reached: {reason}")]
    Unreachable {
        /// URL or address.
        address: String,
        /// What failed.
        reason: String,
    },
    /// A runner could not be set up or started.
    #[error("runner {runner} could not be started: {source}")]
    RunnerStart {
        /// The runner.
        runner: String,
        /// What failed, with the app's last output (a `SetupError` or a `StartError`).
        source: Cause,
    },
    /// `serve`: TLS cannot be set up (a `TlsError`, which names the file and what is wrong).
    #[error("{0}")]
    Tls(#[source] Cause),
    /// `merge`: the documents are not the shards of one run (a `MergeError`, naming the files).
    #[error("cannot merge: {0}")]
    Merge(#[source] Cause),
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Standard output could not be written.
    #[error("cannot write <stdout>: {0}")]
    Stdout(std::io::Error),
    /// A temporary folder could not be made.
    #[error("cannot make a temporary folder: {0}")]
    TempDir(std::io::Error),
    /// A document could not be encoded as JSON.
    #[error("cannot encode {what}: {source}")]
    Encode {
        /// The document (`the report`).
        what: &'static str,
        /// Why.
        source: serde_json::Error,
    },
    /// The man page could not be rendered.
    #[error("cannot render the man page: {0}")]
    ManPage(std::io::Error),
    /// The HTTP client of the replay could not be built.
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(reqwest::Error),
    /// The runners folder cannot be listed, or a runner's manifest cannot be used (a
    /// `ManifestError`, which names the file).
    #[error("{0}")]
    Runners(#[source] Cause),
    /// A result document (`compare`, `report`) cannot be read (a `DocumentError`, which names
    /// the file).
    #[error("{0}")]
    Document(#[source] Cause),
    /// `matrix --merge`: a file that is not a matrix result.
    #[error("{}: not a matrix result (--format json): {source}", path.display())]
    NotAMatrix {
        /// The file.
        path: PathBuf,
        /// Why it does not read as one.
        source: serde_json::Error,
    },
    /// `matrix --merge`: a runner in two of the results.
    #[error("runner {runner} appears in more than one result")]
    RunnerTwice {
        /// The runner.
        runner: String,
    },
    /// `compare`: the two sides cannot be compared (an `Incomparable`).
    #[error("cannot compare: {0}")]
    Incomparable(#[source] Cause),
    /// `report --baseline`: the inputs cannot be compared with the baseline (an `Incomparable`).
    #[error("cannot compare with the baseline: {0}")]
    IncomparableBaseline(#[source] Cause),
    /// `bench`, `stream`: `--output` or `--hlog` names a file that cannot be written at the end.
    #[error("{flag} {}: {problem}", path.display())]
    Output {
        /// The flag.
        flag: &'static str,
        /// The file.
        path: PathBuf,
        /// Why it cannot be written.
        problem: OutputProblem,
    },
    /// `bench`, `stream`: the open-file limit is too low for `--connections`.
    #[error(
        "--connections {connections} needs about {needed} open files, and this process may \
         open {soft} (hard limit {hard}{hard_refused}): raise the limit (ulimit -n {needed}) or use \
         fewer connections"
    )]
    OpenFiles {
        /// Why the hard limit could not be raised, as `; raising it: ...` (empty when it was not
        /// tried).
        hard_refused: String,
        /// Connections asked for.
        connections: usize,
        /// Open files they need.
        needed: u64,
        /// The limit, raised as far as allowed.
        soft: u64,
        /// The hard limit.
        hard: u64,
    },
    /// `bench`, `stream`: the fixture cannot be loaded (with these flags).
    #[error("{}: {source}", file.display())]
    Load {
        /// The fixture file.
        file: PathBuf,
        /// Why (an `Unloadable`, which names the field or the flag).
        source: Cause,
    },
}

/// Why an output file (`--output`, `--hlog`) could not be written where it is named.
#[derive(Debug, thiserror::Error)]
pub enum OutputProblem {
    /// The path is a folder.
    #[error("is a folder")]
    IsAFolder,
    /// A part of the path is a file.
    #[error("{} is not a folder", dir.display())]
    NotAFolder {
        /// That part.
        dir: PathBuf,
    },
    /// The nearest existing folder takes no new file.
    #[error("cannot write in {}: {source}", dir.display())]
    CannotWriteIn {
        /// The folder.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A folder on the path cannot be looked at.
    #[error("{}: {source}", dir.display())]
    Unusable {
        /// The folder.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl HarnessError {
    /// The exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            HarnessError::Unreachable { .. } | HarnessError::RunnerStart { .. } => exit::TARGET,
            HarnessError::Fixtures(_)
            | HarnessError::Usage(_)
            | HarnessError::Tls(_)
            | HarnessError::Write { .. }
            | HarnessError::Read { .. }
            | HarnessError::Stdout(_)
            | HarnessError::TempDir(_)
            | HarnessError::Encode { .. }
            | HarnessError::ManPage(_)
            | HarnessError::HttpClient(_)
            | HarnessError::Runners(_)
            | HarnessError::Document(_)
            | HarnessError::Merge(_)
            | HarnessError::NotAMatrix { .. }
            | HarnessError::RunnerTwice { .. }
            | HarnessError::Incomparable(_)
            | HarnessError::IncomparableBaseline(_)
            | HarnessError::Output { .. }
            | HarnessError::OpenFiles { .. }
            | HarnessError::Load { .. } => exit::USAGE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a user reads, word for word, and the contract's exit code.
    #[test]
    fn messages_name_what_failed_and_keep_their_words() {
        let io = || std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let io_text = io().to_string();
        let json = || serde_json::from_str::<u8>("x").unwrap_err();
        let json_text = json().to_string();
        let file = PathBuf::from("out/r.json");
        let cases = [
            (
                HarnessError::Read {
                    path: file.clone(),
                    source: io(),
                },
                format!("out/r.json: cannot read: {io_text}"),
            ),
            (
                HarnessError::Stdout(io()),
                format!("cannot write <stdout>: {io_text}"),
            ),
            (
                HarnessError::TempDir(io()),
                format!("cannot make a temporary folder: {io_text}"),
            ),
            (
                HarnessError::Encode {
                    what: "the report",
                    source: json(),
                },
                format!("cannot encode the report: {json_text}"),
            ),
            (
                HarnessError::ManPage(io()),
                format!("cannot render the man page: {io_text}"),
            ),
            (
                HarnessError::NotAMatrix {
                    path: file.clone(),
                    source: json(),
                },
                format!("out/r.json: not a matrix result (--format json): {json_text}"),
            ),
            (
                HarnessError::RunnerTwice {
                    runner: "fake".into(),
                },
                "runner fake appears in more than one result".into(),
            ),
            (
                HarnessError::Output {
                    flag: "--hlog",
                    path: file.clone(),
                    problem: OutputProblem::NotAFolder { dir: "out".into() },
                },
                "--hlog out/r.json: out is not a folder".into(),
            ),
            (
                HarnessError::Output {
                    flag: "--output",
                    path: file.clone(),
                    problem: OutputProblem::CannotWriteIn {
                        dir: "out".into(),
                        source: io(),
                    },
                },
                format!("--output out/r.json: cannot write in out: {io_text}"),
            ),
            (
                HarnessError::OpenFiles {
                    hard_refused: String::new(),
                    connections: 1000,
                    needed: 2064,
                    soft: 1024,
                    hard: 1024,
                },
                "--connections 1000 needs about 2064 open files, and this process may open 1024 \
                 (hard limit 1024): raise the limit (ulimit -n 2064) or use fewer connections"
                    .into(),
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text, "{error:?}");
            assert_eq!(error.exit_code(), exit::USAGE, "{error:?}");
        }
    }
}
