//! Targets: the embedded reference server, or a server already running at a URL.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use harness_fixture::Fixture;
use reference_server::Server;
use serde::Serialize;
use url::Url;

use crate::error::HarnessError;

/// The server a command talks to.
pub enum Target {
    /// The reference server, in this process.
    Embedded(Server),
    /// A server somebody else runs.
    Url(Url),
}

/// How a target is described in results.
#[derive(Debug, Clone, Serialize)]
pub struct TargetInfo {
    /// Name used for snapshots and reports (`rust-axum`, `url-127.0.0.1-8080`, a runner's name).
    pub name: String,
    /// `embedded`, `url` or `runner`.
    pub kind: &'static str,
    /// Base URL.
    pub url: String,
}

/// The name of the reference server as a target: the same app the `rust-axum` runner boots.
pub const REFERENCE_NAME: &str = "rust-axum";

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

    /// Attaches to a running server, after checking that its port accepts connections.
    pub async fn attach(url: &str, timeout: Duration) -> Result<Target, HarnessError> {
        let parsed =
            Url::parse(url).map_err(|e| HarnessError::Usage(format!("--url {url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http") {
            return Err(HarnessError::Usage(format!(
                "--url {url:?}: only http:// targets are supported"
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
        let mut last = String::from("no address");
        for addr in addrs {
            match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
                Ok(Ok(_)) => return Ok(Target::Url(parsed)),
                Ok(Err(e)) => last = format!("{addr}: {e}"),
                Err(_) => last = format!("{addr}: no answer within {timeout:?}"),
            }
        }
        Err(unreachable(last))
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> Url {
        match self {
            Target::Embedded(server) => {
                Url::parse(&format!("http://{}", server.addr())).expect("socket address URL")
            }
            Target::Url(url) => url.clone(),
        }
    }

    /// The target's description.
    pub fn info(&self, name_override: Option<&str>) -> TargetInfo {
        let url = self.base_url();
        let (default_name, kind) = match self {
            Target::Embedded(_) => (REFERENCE_NAME.to_string(), "embedded"),
            Target::Url(u) => (
                format!(
                    "url-{}-{}",
                    u.host_str().unwrap_or("host"),
                    u.port_or_known_default().unwrap_or(80)
                ),
                "url",
            ),
        };
        TargetInfo {
            name: name_override.map_or(default_name, str::to_string),
            kind,
            url: url.to_string(),
        }
    }

    /// Stops what this process started.
    pub async fn shutdown(self) {
        if let Target::Embedded(server) = self {
            server.shutdown().await;
        }
    }
}
