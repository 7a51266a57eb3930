//! `serve`: the reference server standalone.

use std::io::Write;
use std::net::SocketAddr;

use harness_fixture::load_dir;
use reference_server::Server;

use crate::cli::ServeArgs;
use crate::config::default_fixtures_dir;
use crate::error::{HarnessError, exit};

pub(super) async fn serve(args: &ServeArgs) -> Result<i32, HarnessError> {
    let dir = args.fixtures.clone().unwrap_or_else(default_fixtures_dir);
    let corpus = load_dir(&dir)?;
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    let server =
        Server::start(&corpus.fixtures, addr)
            .await
            .map_err(|e| HarnessError::Unreachable {
                address: addr.to_string(),
                reason: e.to_string(),
            })?;
    let _ = writeln!(std::io::stdout(), "http://{}", server.addr());
    tracing::info!(
        fixtures = corpus.fixtures.len(),
        "serving {} until interrupted",
        dir.display()
    );
    crate::target::supervise::shutdown_signal().await;
    server.shutdown().await;
    Ok(exit::OK)
}
