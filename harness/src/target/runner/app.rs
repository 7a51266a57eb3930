//! One app under test: started, probed until ready, stopped.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::Runner;
use super::tls::RunnerTls;
use crate::target::supervise::{GuardedChild, OutputTail, signal_number};
use crate::wire::tls::TlsSettings;
use crate::wire::transport;

/// How often readiness is probed.
const PROBE_INTERVAL: Duration = Duration::from_millis(10);
/// Default bound on start-up.
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(60);
/// Time between the stop signal and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// Why an app could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The command could not be spawned.
    #[error("cannot start `{command}`: {source}")]
    Spawn {
        /// The command.
        command: String,
        /// Why.
        source: std::io::Error,
    },
    /// The app exited before it was ready.
    #[error("exited with {status} before it was ready{}", tail_suffix(.tail))]
    Exited {
        /// Its exit status.
        status: ExitStatus,
        /// Its last output lines.
        tail: String,
    },
    /// The app was not ready in time.
    #[error("not ready within {timeout:?}{}", tail_suffix(.tail))]
    NotReady {
        /// The bound.
        timeout: Duration,
        /// Its last output lines.
        tail: String,
    },
    /// No free port.
    #[error("no free loopback port: {0}")]
    Port(std::io::Error),
}

fn tail_suffix(tail: &str) -> String {
    if tail.is_empty() {
        "; it printed nothing".into()
    } else {
        format!("; its last output:\n{tail}")
    }
}

/// A running app in its own process group.
#[derive(Debug)]
pub struct App {
    name: String,
    child: GuardedChild,
    addr: SocketAddr,
    tail: OutputTail,
    tls: Option<AppTls>,
}

/// What an app started with TLS was given, and how the harness reaches it.
#[derive(Debug, Clone)]
struct AppTls {
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
    client: TlsSettings,
}

impl App {
    /// Starts `runner` on a free loopback port serving `fixtures_dir` (over TLS with `tls`'s
    /// certificate, given as `TLS_CERT_FILE` and `TLS_KEY_FILE`), and waits until its
    /// readiness probe answers, polling every 10 ms.
    pub async fn start(
        runner: &Runner,
        fixtures_dir: &Path,
        tls: Option<&RunnerTls>,
    ) -> Result<App, StartError> {
        let port = free_port().map_err(StartError::Port)?;
        let tls = tls.map(|tls| AppTls {
            cert: tls.cert_file().to_path_buf(),
            key: tls.key_file().to_path_buf(),
            client: tls.client().clone(),
        });
        App::start_on(runner, fixtures_dir, port, tls).await
    }

    /// Starts a new instance on the same port, after this one has exited (a crash).
    pub async fn restart(
        &mut self,
        runner: &Runner,
        fixtures_dir: &Path,
    ) -> Result<(), StartError> {
        self.stop().await;
        *self = App::start_on(runner, fixtures_dir, self.addr.port(), self.tls.clone()).await?;
        Ok(())
    }

    async fn start_on(
        runner: &Runner,
        fixtures_dir: &Path,
        port: u16,
        tls: Option<AppTls>,
    ) -> Result<App, StartError> {
        let manifest = &runner.manifest;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let fixtures_dir = fixtures_dir
            .canonicalize()
            .unwrap_or_else(|_| fixtures_dir.to_path_buf());
        let program = resolve(&runner.dir, &manifest.start[0]);
        let mut command = Command::new(&program);
        command
            .args(&manifest.start[1..])
            .current_dir(&runner.dir)
            .envs(&manifest.env)
            .env("PORT", port.to_string())
            .env("FIXTURES_DIR", &fixtures_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(tls) = &tls {
            command
                .env("TLS_CERT_FILE", &tls.cert)
                .env("TLS_KEY_FILE", &tls.key);
        }
        let stop_signal = signal_number(&manifest.stop_signal).unwrap_or(libc::SIGTERM);
        let mut child =
            GuardedChild::spawn(&mut command, stop_signal).map_err(|source| StartError::Spawn {
                command: manifest.start.join(" "),
                source,
            })?;
        let tail = OutputTail::default();
        child.drain_output(&tail);
        let mut app = App {
            name: manifest.name.clone(),
            child,
            addr,
            tail,
            tls,
        };

        let timeout = manifest.start_timeout.unwrap_or(DEFAULT_START_TIMEOUT);
        let started = Instant::now();
        loop {
            if let Some(status) = app.child.try_exited() {
                tokio::time::sleep(Duration::from_millis(50)).await; // let the drains catch up
                let tail = app.tail.text();
                app.stop().await;
                return Err(StartError::Exited { status, tail });
            }
            let client = app.tls.as_ref().map(|tls| &tls.client);
            let ready = match &manifest.ready.http {
                Some(path) => probe_http(addr, path, client).await,
                None => tokio::net::TcpStream::connect(addr).await.is_ok(),
            };
            if ready {
                tracing::debug!(runner = %app.name, %addr, "ready after {:?}", started.elapsed());
                return Ok(app);
            }
            if started.elapsed() > timeout {
                let tail = app.tail.text();
                app.stop().await;
                return Err(StartError::NotReady { timeout, tail });
            }
            tokio::time::sleep(PROBE_INTERVAL).await;
        }
    }

    /// Where the app listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether the app serves TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The app's process group (its leader's pid): every process it started is in it.
    pub fn process_group(&self) -> i32 {
        self.child.process_group()
    }

    /// The app's last output lines.
    pub fn output_tail(&self) -> String {
        self.tail.text()
    }

    /// Waits up to `wait` for the app to exit; its status if it did.
    pub async fn exited_within(&mut self, wait: Duration) -> Option<ExitStatus> {
        self.child.exited_within(wait).await
    }

    /// Stops the app: its stop signal to the whole group, up to [`STOP_GRACE`], then SIGKILL.
    pub async fn stop(&mut self) {
        if self.child.stop(STOP_GRACE).await {
            tracing::warn!(runner = %self.name, "did not stop within {STOP_GRACE:?}: killed");
        }
    }
}

/// `./app` and `.venv/bin/python` are relative to the runner's folder; bare names go to PATH.
fn resolve(dir: &Path, program: &str) -> std::path::PathBuf {
    if program.contains('/') {
        dir.join(program)
    } else {
        program.into()
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// One GET of the readiness path (over TLS with `tls`); true on a 2xx status line.
async fn probe_http(addr: SocketAddr, path: &str, tls: Option<&TlsSettings>) -> bool {
    let attempt = async {
        let host = addr.ip().to_string();
        let mut stream = transport::connect(&host, addr.port(), tls).await.ok()?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut head = [0u8; 16];
        let mut read = 0;
        while read < 12 {
            let n = stream.read(&mut head[read..]).await.ok()?;
            if n == 0 {
                break;
            }
            read += n;
        }
        let line = std::str::from_utf8(&head[..read]).ok()?;
        Some(line.starts_with("HTTP/1.") && line.get(9..10) == Some("2"))
    };
    tokio::time::timeout(Duration::from_secs(1), attempt)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}
