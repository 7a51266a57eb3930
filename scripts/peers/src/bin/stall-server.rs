//! A minimal HTTP server for the open-loop truth test: GET /hello answers `{"message":"Hello,
//! World!"}` (as fixtures/rest/bench/hello.json expects), except that every request *arriving*
//! during a stall window is held until that window ends. The windows are the first `--stall-ms`
//! of every `--period-ms`, counted on the Unix clock (so a client can know the phase: a window
//! is open while `unix_time mod period < stall`). Prints its URL once listening.
//!
//! The model this gives a client sending at a steady rate, latency measured from each request's
//! intended start: a request due at phase `p < S` of a period waits `S - p`, so a fraction `S/T`
//! of the requests waits uniformly in (0, S], the rest are answered at once.
//!
//! The held requests are released together by one OS thread that sleeps until each window's end
//! (a thread sleep overshoots by tens of microseconds; tokio's millisecond timer would hold them
//! 1-2 ms past the end, a server-side error the truth test would charge to the client).
//!
//! With `--tls-self-signed DIR` it serves HTTPS instead (HTTP/1.1 and HTTP/2 by ALPN), with a
//! certificate for 127.0.0.1 signed by a CA it writes to `DIR/ca.pem`, and prints an https URL.
//!
//! stall-server [--port 0] [--stall-ms 100] [--period-ms 1000] [--tls-self-signed DIR]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::serve::ListenerExt;
use axum::{Json, Router, routing::get};
use bench_peers::Args;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

#[tokio::main]
async fn main() {
    let args = Args::parse(
        "stall-server [--port P] [--stall-ms S] [--period-ms T] [--tls-self-signed DIR]",
    );
    let port: u16 = args.get("port", 0);
    let stall: u64 = args.get::<u64>("stall-ms", 100) * 1_000_000;
    let period: u64 = args.get::<u64>("period-ms", 1000) * 1_000_000;

    // How many windows have ended (window k spans [k * period, k * period + stall)).
    let now = unix_nanos();
    let first = now / period + u64::from(now % period >= stall);
    let (ended, released) = tokio::sync::watch::channel(first);
    std::thread::spawn(move || {
        for window in first.. {
            let end = window * period + stall;
            std::thread::sleep(Duration::from_nanos(end.saturating_sub(unix_nanos())));
            ended.send_replace(window + 1);
        }
    });

    let app = Router::new().route(
        "/hello",
        get(move || async move {
            let now = unix_nanos();
            if now % period < stall {
                let window = now / period;
                let _ = released.clone().wait_for(|&ended| ended > window).await;
            }
            Json(serde_json::json!({ "message": "Hello, World!" }))
        }),
    );
    let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
    let address = listener.local_addr().expect("address");
    let tls_dir = args.get("tls-self-signed", String::new());
    if tls_dir.is_empty() {
        println!("http://{address}");
        // Without Nagle's delay: an HTTP/2 reply written in two frames would otherwise wait
        // for the client's delayed ACK (tens of milliseconds charged to every request).
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, app).await.expect("serve");
    } else {
        let acceptor = acceptor(Path::new(&tls_dir));
        println!("https://{address}");
        axum::serve(TlsListener { listener, acceptor }, app)
            .await
            .expect("serve");
    }
}

/// A fresh CA (written to `dir/ca.pem`) and a certificate it signs for 127.0.0.1 and localhost,
/// served with ALPN h2 and http/1.1.
fn acceptor(dir: &Path) -> TlsAcceptor {
    let files = reference_server::write_self_signed(dir).expect("certificates written");
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect())
        .expect("the certificate chain");
    let key = PrivateKeyDer::from_pem_file(&files.key).expect("the private key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("a usable certificate");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    TlsAcceptor::from(Arc::new(config))
}

/// TLS connections for axum: a handshake that fails (or takes over 5 s) is dropped.
struct TlsListener {
    listener: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.listener.accept().await else {
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let handshake = self.acceptor.accept(tcp);
            if let Ok(Ok(tls)) = tokio::time::timeout(Duration::from_secs(5), handshake).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}
