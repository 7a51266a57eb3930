//! `rust-axum-runner`: serves the handlers of every fixture in `FIXTURES_DIR` on
//! `127.0.0.1:$PORT` until SIGTERM or SIGINT: HTTP/1.1 and h2c, or, when `TLS_CERT_FILE` and
//! `TLS_KEY_FILE` name PEM files (as `matrix --tls` sets them), TLS with ALPN h2 and
//! http/1.1. Logs go to stderr.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use reference_server::{Server, TlsConfig};

fn env_var(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("environment variable {name} is required"))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let port = match env_var("PORT").and_then(|p| {
        p.parse::<u16>()
            .map_err(|e| format!("PORT {p:?} is not a port number: {e}"))
    }) {
        Ok(port) => port,
        Err(message) => {
            eprintln!("rust-axum-runner: {message}");
            return ExitCode::from(2);
        }
    };
    let dir = match env_var("FIXTURES_DIR") {
        Ok(dir) => PathBuf::from(dir),
        Err(message) => {
            eprintln!("rust-axum-runner: {message}");
            return ExitCode::from(2);
        }
    };
    let corpus = match harness_fixture::load_dir(&dir) {
        Ok(corpus) => corpus,
        Err(errors) => {
            eprint!("{errors}");
            return ExitCode::from(2);
        }
    };

    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let tls = match (
        std::env::var_os("TLS_CERT_FILE"),
        std::env::var_os("TLS_KEY_FILE"),
    ) {
        (Some(cert), Some(key)) => {
            match TlsConfig::from_pem_files(&PathBuf::from(cert), &PathBuf::from(key)) {
                Ok(tls) => Some(tls),
                Err(error) => {
                    eprintln!("rust-axum-runner: {error}");
                    return ExitCode::from(2);
                }
            }
        }
        (None, None) => None,
        _ => {
            eprintln!("rust-axum-runner: set both TLS_CERT_FILE and TLS_KEY_FILE, or neither");
            return ExitCode::from(2);
        }
    };
    let started = match tls {
        Some(tls) => Server::start_tls(&corpus.fixtures, addr, tls).await,
        None => Server::start(&corpus.fixtures, addr).await,
    };
    let server = match started {
        Ok(server) => server,
        Err(error) => {
            eprintln!("rust-axum-runner: {error}");
            return ExitCode::from(2);
        }
    };
    tracing::info!(
        addr = %server.addr(),
        fixtures = corpus.fixtures.len(),
        "rust-axum-runner ready"
    );
    stop_signal().await;
    tracing::info!("stopping");
    server.shutdown().await;
    ExitCode::SUCCESS
}

/// SIGTERM or SIGINT.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
