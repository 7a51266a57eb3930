//! The WebSocket suite (RFC 6455): a frame-level client of its own and a case catalogue after
//! Autobahn|Testsuite's numbering, against an echo endpoint (text echoed as text, binary as
//! binary).
//!
//! Data flow: [`catalogue::catalogue`] (cases as data: steps, expected events, expected close)
//! -> [`run::run_case`] for each selected case, on its own connection ([`handshake`] by hand,
//! [`session`] reading and writing [`frame`]s, every frame in the [`trace`]) -> the [`model::Outcome`]
//! -> [`verdict::judge`] -> a `CaseResult`.

pub mod catalogue;
pub mod deflate;
pub mod frame;
pub mod handshake;
pub mod model;
pub mod run;
pub mod session;
pub mod trace;
pub mod verdict;

use url::Url;

use crate::wire::transport::{connect, is_tls};

use super::{SuiteError, SuiteOptions, SuiteOutcome};
use catalogue::catalogue;
use handshake::upgrade;
use run::{Endpoint, Timing, run_case};

/// Where `base` + `path` is, for the frame-level client.
pub fn endpoint(
    base: &Url,
    path: &str,
    tls: &crate::wire::tls::TlsSettings,
) -> Result<Endpoint, SuiteError> {
    let unreachable = |reason: &str| SuiteError::Unreachable {
        url: base.to_string(),
        reason: reason.to_string(),
    };
    let host = base
        .host_str()
        .ok_or_else(|| unreachable("the URL has no host"))?
        .to_string();
    let secure = is_tls(base.scheme());
    let port = base.port().unwrap_or(if secure { 443 } else { 80 });
    let authority = match base.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.clone(),
    };
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    Ok(Endpoint {
        host,
        port,
        authority,
        path,
        tls: secure.then(|| tls.clone()),
    })
}

/// Checks once that the endpoint upgrades at all: a suite of 300 failed handshakes says less
/// than one error.
async fn probe(endpoint: &Endpoint, options: &SuiteOptions) -> Result<(), SuiteError> {
    let url = format!("{}:{}{}", endpoint.host, endpoint.port, endpoint.path);
    let unreachable = |reason: String| SuiteError::Unreachable {
        url: url.clone(),
        reason,
    };
    let opened = tokio::time::timeout(options.case_timeout, async {
        let stream = connect(&endpoint.host, endpoint.port, endpoint.tls.as_ref())
            .await
            .map_err(|e| e.to_string())?;
        upgrade(stream, &endpoint.authority, &endpoint.path, None)
            .await
            .map_err(|e| format!("no WebSocket upgrade: {e}"))
    })
    .await;
    let upgraded = match opened {
        Ok(Ok(upgraded)) => upgraded,
        Ok(Err(reason)) => return Err(unreachable(reason)),
        Err(_) => {
            return Err(unreachable(format!(
                "no upgrade within {:?}",
                options.case_timeout
            )));
        }
    };
    // A polite goodbye; what the server does with it is for the cases to judge.
    let mut stream = upgraded.stream;
    let bye = frame::encode(
        &frame::Head::new(frame::CLOSE),
        [1, 2, 3, 4],
        &1000u16.to_be_bytes(),
    );
    let _ = tokio::time::timeout(options.case_timeout, async {
        use tokio::io::AsyncWriteExt;
        stream.write_all(&bye).await?;
        stream.shutdown().await
    })
    .await;
    Ok(())
}

/// Runs the selected cases against `options.base` + `options.path`, one connection each.
pub async fn run_suite(options: &SuiteOptions) -> SuiteOutcome {
    let endpoint = endpoint(&options.base, &options.path, &options.tls)?;
    let cases: Vec<_> = catalogue()
        .into_iter()
        .filter(|case| options.selects(&case.id))
        .collect();
    if cases.is_empty() {
        return Ok(Vec::new());
    }
    probe(&endpoint, options).await?;
    let timing = Timing::new(options.case_timeout);
    let mut results = Vec::with_capacity(cases.len());
    for case in &cases {
        results.push(run_case(case, &endpoint, timing).await);
    }
    Ok(results)
}
