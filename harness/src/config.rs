//! What the command line resolves to: the folders (fixtures, runners: the flag, else `./NAME`,
//! else the repository's), the runners, the fixtures selection as the replay layer takes it, and
//! the target (`--url`, `--runner`, or the embedded reference). Commands call these and stay thin;
//! nothing below this layer reads the command line.

use std::path::{Path, PathBuf};

use crate::cli::{Cli, Command, FixtureSelection};
use crate::error::HarnessError;
use crate::replay::plan::{Plan, Selection};
use crate::target::runner::Runner;
use crate::wire::tls::{TlsFiles, TlsSettings};

/// A folder the harness finds by name: `./NAME` when there is one, else the repository's.
pub(crate) fn default_dir(name: &str) -> PathBuf {
    let local = PathBuf::from(name);
    if local.is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name)
}

/// The default fixtures directory: `./fixtures`, else the repository's `fixtures/`.
pub(crate) fn default_fixtures_dir() -> PathBuf {
    default_dir("fixtures")
}

/// `--fixtures`, `--fixture` and `--filter` as the plan takes them.
pub(crate) fn selection(flags: &FixtureSelection) -> Selection {
    Selection {
        dir: flags.fixtures.clone(),
        files: flags.fixture_files.clone(),
        filter: flags.filter.clone(),
        default_dir: default_fixtures_dir(),
    }
}

/// The command's name as typed (`runners list`, `fixtures validate`, ...).
fn command_name(command: &Command) -> &'static str {
    use crate::cli::{FixturesCommand, RunnersCommand};
    match command {
        Command::Run(_) => "run",
        Command::Fixtures(FixturesCommand::List { .. }) => "fixtures list",
        Command::Fixtures(FixturesCommand::Validate { .. }) => "fixtures validate",
        Command::Fixtures(FixturesCommand::Import(_)) => "fixtures import",
        Command::Matrix(_) => "matrix",
        Command::Compare(_) => "compare",
        Command::Report(_) => "report",
        Command::Merge(_) => "merge",
        Command::Runners(RunnersCommand::List { .. }) => "runners list",
        Command::Runners(RunnersCommand::Setup { .. }) => "runners setup",
        Command::Serve(_) => "serve",
        Command::Bench(_) => "bench",
        Command::Stream(_) => "stream",
        Command::Protocol(_) => "protocol",
        Command::Completions(_) => "completions",
        Command::Man(_) => "man",
    }
}

/// The global target flags are accepted before or after any subcommand (clap cannot scope a
/// flag to some subcommands and still take it before them), so a command they mean nothing to
/// refuses them here rather than ignoring them: `serve --runner go-nethttp` must not silently
/// serve the reference.
pub(crate) fn refuse_unused_target_flags(cli: &Cli) -> Result<(), HarnessError> {
    let given = [
        ("--url", cli.url.is_some()),
        ("--ws-url", cli.ws_url.is_some()),
        ("--sse-url", cli.sse_url.is_some()),
        ("--runner", cli.runner.is_some()),
        ("--runners-dir", cli.runners_dir.is_some()),
        ("--target-name", cli.target_name.is_some()),
        ("--cacert", cli.transport.cacert.is_some()),
        ("--insecure", cli.transport.insecure),
        ("--client-cert", cli.transport.client_cert.is_some()),
        ("--client-key", cli.transport.client_key.is_some()),
        ("--http2", cli.transport.http2),
    ];
    let takes: &[&str] = match &cli.command {
        Command::Run(_) => &[
            "--url",
            "--ws-url",
            "--sse-url",
            "--runner",
            "--runners-dir",
            "--target-name",
            "--cacert",
            "--insecure",
            "--client-cert",
            "--client-key",
            "--http2",
        ],
        Command::Bench(_) => &[
            "--url",
            "--runner",
            "--runners-dir",
            "--target-name",
            "--cacert",
            "--insecure",
            "--client-cert",
            "--client-key",
            "--http2",
        ],
        Command::Stream(_) | Command::Protocol(_) => &[
            "--url",
            "--runner",
            "--runners-dir",
            "--target-name",
            "--cacert",
            "--insecure",
            "--client-cert",
            "--client-key",
        ],
        Command::Matrix(_) => &[
            "--url",
            "--ws-url",
            "--sse-url",
            "--runners-dir",
            "--target-name",
            "--cacert",
            "--insecure",
            "--client-cert",
            "--client-key",
            "--http2",
        ],
        Command::Runners(_) => &["--runners-dir"],
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
        Command::Matrix(_) => {
            " (it boots every runner itself; choose them with --runners, add a server with --url)"
        }
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

/// The TLS client configuration of `--cacert`, `--insecure`, `--client-cert`/`--client-key`;
/// `--insecure` warns once on stderr. A file that cannot be used is a usage error naming it.
pub(crate) fn tls_settings(cli: &Cli) -> Result<TlsSettings, HarnessError> {
    let flags = &cli.transport;
    let files = TlsFiles {
        cacert: flags.cacert.as_deref(),
        insecure: flags.insecure,
        client_identity: flags
            .client_cert
            .as_deref()
            .zip(flags.client_key.as_deref()),
    };
    let settings =
        TlsSettings::from_files(files).map_err(|e| HarnessError::Usage(e.to_string()))?;
    if flags.insecure {
        eprintln!("warning: --insecure: the target's TLS certificate is not checked");
    }
    Ok(settings)
}

/// The runners folder: `--runners-dir`, else `./runners`, else the repository's `runners/`.
pub(crate) fn runners_dir(cli: &Cli) -> PathBuf {
    cli.runners_dir
        .clone()
        .unwrap_or_else(|| default_dir("runners"))
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
    tls: &TlsSettings,
    timeout: std::time::Duration,
) -> Result<(crate::target::Target, Option<tempfile::TempDir>), HarnessError> {
    use crate::target::Target;
    Ok(match (&cli.url, &cli.runner) {
        (Some(url), _) => (Target::attach(url, tls, timeout).await?, None),
        (None, Some(name)) => {
            crate::target::supervise::guard_process();
            let runner = find_runner(cli, name)?;
            let (dir, copies) = fixtures_dir_for_app(plan)?;
            (Target::runner(&runner, &dir, None).await?, copies)
        }
        (None, None) => (Target::embedded(&plan.loaded).await?, None),
    })
}

/// The base URLs of `--ws-url` and `--sse-url`, each checked to accept connections (and, for
/// `https://` and `wss://`, the TLS handshake).
pub(crate) async fn protocol_urls(
    cli: &Cli,
    tls: &TlsSettings,
    timeout: std::time::Duration,
) -> Result<(Option<url::Url>, Option<url::Url>), HarnessError> {
    use crate::target::Target;
    let mut urls = [None, None];
    for (slot, (flag, url)) in urls
        .iter_mut()
        .zip([("--ws-url", &cli.ws_url), ("--sse-url", &cli.sse_url)])
    {
        if let Some(url) = url {
            *slot = Some(
                Target::attach_flag(flag, url, tls, timeout)
                    .await?
                    .base_url(),
            );
        }
    }
    let [ws, sse] = urls;
    Ok((ws, sse))
}

/// The folder an app serves fixtures from: the plan's directory, or a temporary folder holding
/// copies of the fixture files given one by one and the documents converted from Spikard's
/// format (kept alive by the returned guard).
pub(crate) fn fixtures_dir_for_app(
    plan: &Plan,
) -> Result<(PathBuf, Option<tempfile::TempDir>), HarnessError> {
    if let Some(dir) = &plan.dir
        && plan.imported.is_empty()
    {
        return Ok((dir.clone(), None));
    }
    let copies = tempfile::tempdir().map_err(HarnessError::TempDir)?;
    let mut imported_names = std::collections::HashSet::new();
    for (path, document) in &plan.imported {
        let to = copies.path().join(path);
        let text = serde_json::to_string(document).map_err(|source| HarnessError::Encode {
            what: "an imported fixture",
            source,
        })?;
        crate::fsutil::write_atomically(&to, &text)
            .map_err(|source| HarnessError::Write { path: to, source })?;
        imported_names.extend(document.get("name").and_then(|n| n.as_str()));
    }
    let own = plan
        .loaded
        .iter()
        .filter(|f| !imported_names.contains(f.name.as_str()));
    for (index, fixture) in own.enumerate() {
        let to = copies.path().join(format!("{index:04}.json"));
        std::fs::copy(&fixture.file, &to).map_err(|source| HarnessError::Write {
            path: to.clone(),
            source,
        })?;
    }
    Ok((copies.path().to_path_buf(), Some(copies)))
}

/// With `--http2`: checks that every base URL in `bases` speaks HTTP/2 (ALPN `h2` over TLS,
/// prior knowledge over plain TCP); one that does not makes the target unreachable (exit 3),
/// in words.
pub(crate) async fn require_http2(
    cli: &Cli,
    bases: &[&url::Url],
    tls: &TlsSettings,
    timeout: std::time::Duration,
) -> Result<(), HarnessError> {
    if !cli.transport.http2 {
        return Ok(());
    }
    for base in bases {
        crate::wire::http2::check_http2(base, tls, timeout)
            .await
            .map_err(|refused| HarnessError::Unreachable {
                address: base.to_string(),
                reason: refused.to_string(),
            })?;
    }
    Ok(())
}
