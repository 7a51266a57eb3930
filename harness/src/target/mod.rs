//! Targets: the embedded reference server, a server already running at a URL, or a runner's app
//! the harness starts and owns ([`runner`], on top of [`supervise`]).

pub mod runner;
pub mod supervise;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use harness_fixture::Fixture;
use reference_server::Server;
use url::Url;

use crate::error::HarnessError;
use crate::results::{TargetInfo, TargetKind};
use crate::wire::tls::TlsSettings;
use crate::wire::transport;
use runner::{App, Runner, RunnerTls, StartError, setup};

/// The server a command talks to.
pub enum Target {
    /// The reference server, in this process.
    Embedded(Server),
    /// A server somebody else runs.
    Url(Url),
    /// A runner's app, started and owned by the harness.
    Runner(Box<RunnerTarget>),
}

/// A runner's app with what it takes to restart it.
pub struct RunnerTarget {
    runner: Runner,
    fixtures_dir: PathBuf,
    app: App,
}

/// The name of the reference server as a target: the same app the `rust-axum` runner boots.
pub const REFERENCE_NAME: &str = "rust-axum";

/// A `--target-name` that is not a valid name (clap names the flag and the value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct InvalidTargetName {
    /// The name given.
    pub name: String,
    /// Which characters and length a name may have.
    pub reason: String,
}

/// Parses `--target-name`: a name like a fixture's (see [`harness_fixture::model::check_name`]),
/// so that `snapshots/<name>/` stays inside the snapshots folder.
pub fn parse_target_name(name: &str) -> Result<String, InvalidTargetName> {
    harness_fixture::model::check_name(name)
        .map(|()| name.to_string())
        .map_err(|reason| InvalidTargetName {
            name: name.to_string(),
            reason,
        })
}

/// A runner's app that exited during a run: how, and what it printed last.
#[derive(Debug, Clone)]
pub struct Crash {
    /// The app's exit status.
    pub status: ExitStatus,
    /// Its last output lines.
    pub output: String,
}

impl std::fmt::Display for Crash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the app exited with {}; its last output:\n{}",
            self.status, self.output
        )
    }
}

/// A crashed runner's app that could not be started again.
#[derive(Debug, thiserror::Error)]
#[error("{crash}\nrestart failed: {source}")]
pub struct RestartFailed {
    /// How the app ended.
    pub crash: Crash,
    /// Why it did not start again.
    pub source: StartError,
}

/// Why a target's TLS was not accepted (each renders as the reason of an unreachable target).
#[derive(Debug, thiserror::Error)]
enum TlsCheckError {
    /// No handshake within the timeout.
    #[error("no TLS handshake within {0:?}")]
    NoHandshake(Duration),
    /// The server's certificate, in words.
    #[error("{0}")]
    Certificate(String),
    /// The connection itself.
    #[error(transparent)]
    Connect(transport::ConnectError),
    /// The server refused the client after the handshake.
    #[error(transparent)]
    Refused(#[from] transport::Refused),
}

/// Runs the TLS handshake over `tcp` within `timeout` and waits (at most a second) for the
/// server to refuse the client after it; the error says why in words.
async fn check_tls(
    tcp: tokio::net::TcpStream,
    host: &str,
    port: u16,
    tls: &TlsSettings,
    timeout: Duration,
) -> Result<(), TlsCheckError> {
    let stream = tokio::time::timeout(timeout, transport::secure(tcp, host, port, tls))
        .await
        .map_err(|_| TlsCheckError::NoHandshake(timeout))?
        .map_err(|e| match e {
            transport::ConnectError::Tls { reason, .. } => TlsCheckError::Certificate(reason),
            other => TlsCheckError::Connect(other),
        })?;
    transport::confirm_accepted(stream, timeout.min(Duration::from_secs(1))).await?;
    Ok(())
}

/// The default name of a `--url` target: `url-HOST-PORT`, the host's characters outside `A-Z a-z 0-9 . _ -` replaced by `_` (an IPv6
/// address loses its brackets): always a valid target name, one path component.
pub fn url_name(url: &Url) -> String {
    let host = url.host_str().unwrap_or("host");
    let host: String = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    format!("url-{host}-{}", url.port_or_known_default().unwrap_or(80))
}

impl Target {
    /// Starts the reference server on an ephemeral loopback port, serving `fixtures`.
    pub async fn embedded(fixtures: &[Fixture]) -> Result<Target, HarnessError> {
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        let server =
            Server::start(fixtures, addr)
                .await
                .map_err(|e| HarnessError::Unreachable {
                    address: "embedded reference server".into(),
                    reason: e.to_string(),
                })?;
        Ok(Target::Embedded(server))
    }

    /// Sets the runner up if it is not, starts its app serving `fixtures_dir`, waits until ready.
    pub async fn runner(
        runner: &Runner,
        fixtures_dir: &Path,
        tls: Option<&RunnerTls>,
    ) -> Result<Target, HarnessError> {
        let failed = |source: crate::error::Cause| HarnessError::RunnerStart {
            runner: runner.manifest.name.clone(),
            source,
        };
        setup::ensure(runner)
            .await
            .map_err(|e| failed(Box::new(e)))?;
        let app = App::start(runner, fixtures_dir, tls)
            .await
            .map_err(|e| failed(Box::new(e)))?;
        Ok(Target::Runner(Box::new(RunnerTarget {
            runner: runner.clone(),
            fixtures_dir: fixtures_dir.to_path_buf(),
            app,
        })))
    }

    /// For a runner that has exited (crashed): restarts it on the same port. Returns how the
    /// app ended when it did so.
    pub async fn revive(&mut self) -> Option<Result<Crash, RestartFailed>> {
        let Target::Runner(target) = self else {
            return None;
        };
        let status = target.app.exited_within(Duration::from_millis(250)).await?;
        let crash = Crash {
            status,
            output: target.app.output_tail(),
        };
        tracing::warn!(runner = %target.runner.manifest.name, "{crash}; restarting it");
        Some(
            match target
                .app
                .restart(&target.runner, &target.fixtures_dir)
                .await
            {
                Ok(()) => Ok(crash),
                Err(source) => Err(RestartFailed { crash, source }),
            },
        )
    }

    /// Attaches to a running server, after checking that its port accepts connections (and,
    /// for `https://`, that the TLS handshake with `tls` succeeds).
    pub async fn attach(
        url: &str,
        tls: &TlsSettings,
        timeout: Duration,
    ) -> Result<Target, HarnessError> {
        Target::attach_flag("--url", url, tls, timeout).await
    }

    /// [`Target::attach`] for the URL given by `flag` (`--url`, `--ws-url`, `--sse-url`),
    /// which its messages name. `--ws-url` may also be a `ws://` or `wss://` URL.
    pub async fn attach_flag(
        flag: &str,
        url: &str,
        tls: &TlsSettings,
        timeout: Duration,
    ) -> Result<Target, HarnessError> {
        let parsed =
            Url::parse(url).map_err(|e| HarnessError::Usage(format!("{flag} {url:?}: {e}")))?;
        let schemes: &[&str] = if flag == "--ws-url" {
            &["http", "https", "ws", "wss"]
        } else {
            &["http", "https"]
        };
        if !schemes.contains(&parsed.scheme()) {
            return Err(HarnessError::Usage(format!(
                "{flag} {url:?}: only {} targets are supported",
                schemes
                    .iter()
                    .map(|s| format!("{s}://"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let unreachable = |reason: String| HarnessError::Unreachable {
            address: url.to_string(),
            reason,
        };
        let host = parsed
            .host_str()
            .ok_or_else(|| unreachable("no host".into()))?
            .to_string();
        let port = parsed.port_or_known_default().unwrap_or(80);
        let addrs: Vec<SocketAddr> = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| unreachable(format!("cannot resolve {host}: {e}")))?
            .collect();
        let secure = transport::is_tls(parsed.scheme()).then_some(tls);
        let mut last = String::from("no address");
        for addr in addrs {
            match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
                Ok(Ok(tcp)) => {
                    let Some(tls) = secure else {
                        return Ok(Target::Url(parsed));
                    };
                    return match check_tls(tcp, &host, port, tls, timeout).await {
                        Ok(()) => Ok(Target::Url(parsed)),
                        Err(reason) => Err(unreachable(reason.to_string())),
                    };
                }
                Ok(Err(e)) => last = format!("{addr}: {e}"),
                Err(_) => last = format!("{addr}: no answer within {timeout:?}"),
            }
        }
        Err(unreachable(last))
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> Url {
        let (scheme, addr) = match self {
            Target::Url(url) => return url.clone(),
            Target::Embedded(server) => ("http", server.addr()),
            Target::Runner(target) if target.app.is_tls() => ("https", target.app.addr()),
            Target::Runner(target) => ("http", target.app.addr()),
        };
        Url::parse(&format!("{scheme}://{addr}")).expect("a socket address makes a URL")
    }

    /// The target's description.
    pub fn info(&self, name_override: Option<&str>) -> TargetInfo {
        let url = self.base_url();
        let (default_name, kind) = match self {
            Target::Embedded(_) => (REFERENCE_NAME.to_string(), TargetKind::Embedded),
            Target::Url(u) => (url_name(u), TargetKind::Url),
            Target::Runner(target) => (target.runner.manifest.name.clone(), TargetKind::Runner),
        };
        TargetInfo {
            name: name_override.map_or(default_name, str::to_string),
            kind,
            url: url.to_string(),
        }
    }

    /// The protocols a runner declares; `None` for other targets (they are asked everything).
    pub fn protocols(&self) -> Option<&[harness_fixture::Protocol]> {
        match self {
            Target::Runner(target) => Some(&target.runner.manifest.protocols),
            _ => None,
        }
    }

    /// The process group of a runner's app (its whole process tree); `None` for other targets.
    pub fn runner_process_group(&self) -> Option<i32> {
        match self {
            Target::Runner(target) => Some(target.app.process_group()),
            _ => None,
        }
    }

    /// Whether the runner's manifest lists `fixture` as a known divergence.
    pub fn expects_failure(&self, fixture: &str) -> bool {
        match self {
            Target::Runner(target) => target
                .runner
                .manifest
                .expected_failures
                .iter()
                .any(|f| f == fixture),
            _ => false,
        }
    }

    /// Stops what this process started.
    pub async fn shutdown(self) {
        match self {
            Target::Embedded(server) => server.shutdown().await,
            Target::Runner(mut target) => target.app.stop().await,
            Target::Url(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_names_are_single_safe_components() {
        assert!(parse_target_name("rust-axum").is_ok());
        assert!(parse_target_name("my_app.v2").is_ok());
        for bad in [
            "../../escaped",
            "..",
            ".",
            "",
            "a/b",
            "a\\b",
            "-x",
            "a b",
            "é",
        ] {
            let error = parse_target_name(bad).unwrap_err().to_string();
            assert!(error.contains("A-Z a-z 0-9 . _ -"), "{bad:?}: {error}");
        }
        assert!(parse_target_name(&"a".repeat(129)).is_err());
    }

    #[test]
    fn url_names_are_valid_target_names() {
        for (url, name) in [
            ("http://127.0.0.1:8080", "url-127.0.0.1-8080"),
            ("http://[::1]:3000/", "url-__1-3000"),
            ("http://example.com/", "url-example.com-80"),
            (
                "http://xn--bcher-kva.example:81",
                "url-xn--bcher-kva.example-81",
            ),
        ] {
            let got = url_name(&Url::parse(url).unwrap());
            assert_eq!(got, name);
            assert!(parse_target_name(&got).is_ok(), "{got}");
        }
    }
}
