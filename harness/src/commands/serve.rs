//! `serve`: the reference server standalone, over plain TCP or TLS (`--tls-cert`/`--tls-key`,
//! `--tls-self-signed`).

use std::io::Write;
use std::net::SocketAddr;

use harness_fixture::load_dir;
use reference_server::{Server, TlsConfig};

use crate::cli::ServeArgs;
use crate::config::default_fixtures_dir;
use crate::error::{HarnessError, exit};

pub(super) async fn serve(args: &ServeArgs) -> Result<i32, HarnessError> {
    let dir = args.fixtures.clone().unwrap_or_else(default_fixtures_dir);
    let corpus = load_dir(&dir)?;
    let addr = SocketAddr::new(args.bind, args.port);
    let started = match tls_config(args)? {
        Some(tls) => Server::start_tls(&corpus.fixtures, addr, tls).await,
        None => Server::start(&corpus.fixtures, addr).await,
    };
    let server = started.map_err(|e| HarnessError::Unreachable {
        address: addr.to_string(),
        reason: e.to_string(),
    })?;
    let _ = writeln!(std::io::stdout(), "{}://{}", server.scheme(), server.addr());
    tracing::info!(
        fixtures = corpus.fixtures.len(),
        "serving {} until interrupted",
        dir.display()
    );
    crate::target::supervise::shutdown_signal().await;
    server.shutdown().await;
    Ok(exit::OK)
}

/// The TLS config the flags ask for; `None`: plain TCP.
fn tls_config(args: &ServeArgs) -> Result<Option<TlsConfig>, HarnessError> {
    let config = match (&args.tls_cert, &args.tls_key, &args.tls_self_signed) {
        (Some(cert), Some(key), _) => TlsConfig::from_pem_files(cert, key),
        (_, _, Some(dir)) => TlsConfig::self_signed(dir),
        _ => return Ok(None),
    };
    config.map(Some).map_err(|e| HarnessError::Tls(Box::new(e)))
}
