//! `--http2`, end to end: `run` replays REST, SSE and WebSocket fixtures over HTTP/2 against the
//! reference server in h2c (embedded and `serve`) and over TLS (ALPN h2), and against servers
//! that speak HTTP/2 *only* (hyper's HTTP/2 server, plain and TLS), so that a pass proves the
//! requests went over HTTP/2; a TLS server offering only http/1.1 and a plain HTTP/1.1-only
//! server make `run --http2` exit 3 in words.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio_rustls::TlsAcceptor;

use crate::common::{Served, corpus_file, run_within, serve_on_thread, text};
use crate::tls_client::{FIXTURES, Pki, Validity, serve_tls};

/// `run` over `fixtures` with `extra` flags: exit code, stdout, stderr.
fn run(fixtures: &[&str], extra: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec!["run".to_string()];
    for fixture in fixtures {
        args.push("--fixture".into());
        args.push(corpus_file(fixture).display().to_string());
    }
    args.extend(["--snapshots", "off"].map(String::from));
    args.extend(extra.iter().map(|a| a.to_string()));
    let (out, _) = run_within(&args, Duration::from_secs(60));
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

fn assert_passes((code, stdout, stderr): &(Option<i32>, String, String), count: usize) {
    assert_eq!(*code, Some(0), "{stdout}{stderr}");
    let line = format!("ok: {count} passed, 0 failed, 0 skipped, 0 errored");
    assert!(stdout.contains(&line), "{stdout}");
}

/// REST and SSE: what an HTTP/2-only server can answer (WebSocket needs the HTTP/1.1 upgrade).
const OVER_HTTP2_ONLY: [&str; 2] = [FIXTURES[0], FIXTURES[1]];

/// Serves the reference app for `fixtures` with hyper's HTTP/2 server only (no HTTP/1.1), over
/// TLS when `tls` is given; returns the port.
pub(crate) fn serve_http2_only(fixtures: &[&str], tls: Option<rustls::ServerConfig>) -> u16 {
    serve_http2_only_counted(fixtures, tls).0
}

/// [`serve_http2_only`], with the count of connections accepted.
fn serve_http2_only_counted(
    fixtures: &[&str],
    tls: Option<rustls::ServerConfig>,
) -> (u16, Arc<AtomicUsize>) {
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let paths: Vec<_> = fixtures.iter().map(|f| corpus_file(f)).collect();
    let fixtures = harness_fixture::load_paths(&paths).unwrap().fixtures;
    let app = reference_server::app(&fixtures).unwrap();
    let acceptor = tls.map(|config| TlsAcceptor::from(Arc::new(config)));
    let served = serve_on_thread(move |tcp| async move {
        loop {
            let Ok((stream, _)) = tcp.accept().await else {
                continue;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            let service = TowerToHyperService::new(app.clone());
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
                let _ = match acceptor {
                    None => {
                        builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await
                    }
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(tls) => builder.serve_connection(TokioIo::new(tls), service).await,
                        Err(_) => return,
                    },
                };
            });
        }
    });
    (served.port(), accepted)
}

#[test]
fn run_http2_passes_on_the_reference_in_h2c_and_over_tls() {
    assert_passes(&run(&FIXTURES, &["--http2"]), FIXTURES.len());
    let plain = Served::start(false);
    assert_passes(
        &run(&FIXTURES, &["--http2", "--url", &plain.url]),
        FIXTURES.len(),
    );
    let tls = Served::start(true);
    let ca = tls.ca();
    assert_passes(
        &run(&FIXTURES, &["--http2", "--url", &tls.url, "--cacert", &ca]),
        FIXTURES.len(),
    );
}

#[test]
fn run_http2_speaks_http2_to_servers_that_speak_nothing_else() {
    let port = serve_http2_only(&OVER_HTTP2_ONLY, None);
    let url = format!("http://127.0.0.1:{port}");
    assert_passes(&run(&OVER_HTTP2_ONLY, &["--http2", "--url", &url]), 2);
    // Without --http2 the same server cannot be replayed: it was HTTP/2 that passed.
    let (code, stdout, _) = run(&OVER_HTTP2_ONLY, &["--url", &url]);
    assert_eq!(code, Some(1), "{stdout}");

    let pki = Pki::new();
    pki.issue("server", &["localhost", "127.0.0.1"], Validity::Now);
    let mut config = pki.server_config("server", false);
    config.alpn_protocols = vec![b"h2".to_vec()];
    let port = serve_http2_only(&OVER_HTTP2_ONLY, Some(config));
    let url = format!("https://127.0.0.1:{port}");
    let ca = pki.arg("ca.pem");
    assert_passes(
        &run(
            &OVER_HTTP2_ONLY,
            &["--http2", "--url", &url, "--cacert", &ca],
        ),
        2,
    );
}

#[test]
fn each_sse_fixture_over_http2_has_a_connection_of_its_own() {
    // An endless flood of small events, no longer read after its third, trips the client's
    // guard against small DATA frames (GOAWAY ENHANCE_YOUR_CALM): on a shared connection it
    // ended the other fixtures' streams with it.
    let fixtures = [
        "sse/bench/stream.json",
        "sse/basic/data-events.json",
        "sse/counter/five.json",
        "rest/bench/hello.json",
    ];
    let (port, accepted) = serve_http2_only_counted(&fixtures, None);
    let url = format!("http://127.0.0.1:{port}");
    assert_passes(&run(&fixtures, &["--http2", "--url", &url]), fixtures.len());
    // The probe and the REST fixture may share one; each of the three streams has its own.
    assert!(accepted.load(Ordering::SeqCst) >= 4, "{accepted:?}");
}

#[test]
fn a_tls_server_without_h2_is_unreachable_in_words() {
    let pki = Pki::new();
    pki.issue("server", &["localhost", "127.0.0.1"], Validity::Now);
    let mut config = pki.server_config("server", false);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let port = serve_tls(config);
    let url = format!("https://127.0.0.1:{port}");
    let ca = pki.arg("ca.pem");
    let (code, stdout, stderr) = run(&FIXTURES, &["--http2", "--url", &url, "--cacert", &ca]);
    assert_eq!(code, Some(3), "{stdout}{stderr}");
    assert!(
        stderr.contains("the server did not agree to HTTP/2 (ALPN offered h2, got http/1.1)"),
        "{stderr}"
    );
    // The same server over HTTP/1.1 passes.
    assert_passes(
        &run(&FIXTURES, &["--url", &url, "--cacert", &ca]),
        FIXTURES.len(),
    );
}

#[test]
fn a_plain_server_without_h2c_is_unreachable_in_words() {
    // An HTTP/1.1-only server: whatever comes, a 400 and the end of the connection.
    let served = serve_on_thread(|tcp| async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let Ok((mut stream, _)) = tcp.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let mut buffer = [0u8; 1024];
                let _ = stream.read(&mut buffer).await;
                let reply =
                    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                let _ = stream.write_all(reply).await;
            });
        }
    });
    let url = format!("http://{served}");
    let (code, stdout, stderr) = run(&FIXTURES, &["--http2", "--url", &url]);
    assert_eq!(code, Some(3), "{stdout}{stderr}");
    assert!(
        stderr.contains("the server does not speak HTTP/2 with prior knowledge (h2c)"),
        "{stderr}"
    );
}

#[test]
fn http2_is_refused_by_commands_that_do_not_speak_it() {
    let echo = corpus_file("websocket/bench/echo.json")
        .display()
        .to_string();
    let (out, _) = run_within(
        &["stream", "--http2", "--fixture", &echo, "--duration", "1s"],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("does not use --http2"), "{stderr}");
}
