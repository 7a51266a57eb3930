//! HTTP/2 and TLS over real sockets: h2c with prior knowledge beside HTTP/1.1, TLS with ALPN
//! `h2` and `http/1.1` trusting a generated CA, a client trusting another CA refused, bad PEM
//! files named, and WebSocket upgrades over plain HTTP/1.1 unchanged.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use common::{rest, ws};
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Empty};
use hyper::{Request, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use reference_server::{CA_FILE, Server, TlsConfig, TlsError};
use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

type TestResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn fixtures() -> Vec<harness_fixture::Fixture> {
    vec![
        rest(
            "hello",
            json!({"method": "GET", "route": "/hello",
                   "response": {"status": 200, "json": {"hello": "world"}}}),
        ),
        ws("echo", json!({"route": "/ws/e", "behavior": "echo"})),
    ]
}

fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// GET `path` over `io` with HTTP/2 (prior knowledge) or HTTP/1.1: version, status, body.
async fn get<I>(io: I, h2: bool, path: &str) -> TestResult<(Version, u16, Bytes)>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(io);
    let request = |version| {
        Request::get(format!("http://localhost{path}"))
            .version(version)
            .body(Empty::<Bytes>::new())
    };
    let response = if h2 {
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await?;
        tokio::spawn(conn);
        sender.send_request(request(Version::HTTP_2)?).await?
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
        tokio::spawn(conn);
        let mut request = request(Version::HTTP_11)?;
        request
            .headers_mut()
            .insert("host", "localhost".parse().expect("a header value"));
        sender.send_request(request).await?
    };
    let (version, status) = (response.version(), response.status().as_u16());
    let body = response.into_body().collect().await?.to_bytes();
    Ok((version, status, body))
}

fn roots(ca_pem: &Path) -> RootCertStore {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_pem).expect("ca.pem reads") {
        roots.add(cert.expect("a certificate")).expect("a CA");
    }
    roots
}

/// A TLS connection to `addr` as `localhost` offering `alpn`; the protocol the server chose.
async fn connect_tls(
    addr: SocketAddr,
    roots: RootCertStore,
    alpn: &[u8],
) -> TestResult<(tokio_rustls::client::TlsStream<TcpStream>, Option<Vec<u8>>)> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    let tcp = TcpStream::connect(addr).await?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost")?, tcp)
        .await?;
    let negotiated = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    Ok((tls, negotiated))
}

#[tokio::test]
async fn h2c_prior_knowledge_gets_the_same_reply_as_http1() {
    let server = Server::start(&fixtures(), any_port()).await.unwrap();
    let h1 = get(
        TcpStream::connect(server.addr()).await.unwrap(),
        false,
        "/hello",
    )
    .await
    .unwrap();
    let h2 = get(
        TcpStream::connect(server.addr()).await.unwrap(),
        true,
        "/hello",
    )
    .await
    .unwrap();
    assert_eq!(server.scheme(), "http");
    assert_eq!(h1.0, Version::HTTP_11);
    assert_eq!(h2.0, Version::HTTP_2);
    assert_eq!((h1.1, &h1.2), (h2.1, &h2.2));
    assert_eq!((h2.1, &h2.2[..]), (200, &br#"{"hello":"world"}"#[..]));
    server.shutdown().await;
}

#[tokio::test]
async fn tls_with_the_generated_ca_speaks_h2_and_http1_by_alpn() {
    let dir = tempfile::tempdir().unwrap();
    let tls = TlsConfig::self_signed(dir.path()).unwrap();
    let server = Server::start_tls(&fixtures(), any_port(), tls)
        .await
        .unwrap();
    assert_eq!(server.scheme(), "https");
    let ca = dir.path().join(CA_FILE);

    let (stream, alpn) = connect_tls(server.addr(), roots(&ca), b"h2").await.unwrap();
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
    let (version, status, body) = get(stream, true, "/hello").await.unwrap();
    assert_eq!((version, status), (Version::HTTP_2, 200));
    assert_eq!(&body[..], br#"{"hello":"world"}"#);

    let (stream, alpn) = connect_tls(server.addr(), roots(&ca), b"http/1.1")
        .await
        .unwrap();
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
    let (version, status, body) = get(stream, false, "/hello").await.unwrap();
    assert_eq!((version, status), (Version::HTTP_11, 200));
    assert_eq!(&body[..], br#"{"hello":"world"}"#);
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_trusting_another_ca_is_refused_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let tls = TlsConfig::self_signed(dir.path()).unwrap();
    TlsConfig::self_signed(other.path()).unwrap();
    let server = Server::start_tls(&fixtures(), any_port(), tls)
        .await
        .unwrap();

    let refused = connect_tls(server.addr(), roots(&other.path().join(CA_FILE)), b"h2").await;
    let error = refused.expect_err("the handshake fails").to_string();
    assert!(error.contains("invalid peer certificate"), "{error}");

    let (stream, _) = connect_tls(server.addr(), roots(&dir.path().join(CA_FILE)), b"h2")
        .await
        .unwrap();
    assert_eq!(get(stream, true, "/hello").await.unwrap().1, 200);
    server.shutdown().await;
}

#[tokio::test]
async fn websocket_upgrades_over_plain_http1_still_work() {
    let server = Server::start(&fixtures(), any_port()).await.unwrap();
    let url = format!("ws://{}/ws/e", server.addr());
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    socket.send(Message::Text("ping".into())).await.unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        Message::Text("ping".into())
    );
    socket.close(None).await.unwrap();
    server.shutdown().await;
}

#[test]
fn bad_pem_files_are_named_with_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not pem\n").unwrap();
    let missing = dir.path().join("missing.pem");

    let error = TlsConfig::from_pem_files(&empty, &empty).unwrap_err();
    assert!(matches!(error, TlsError::Certificate { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "{}: not a usable certificate chain (PEM): no CERTIFICATE block found",
            empty.display()
        )
    );

    let generated = tempfile::tempdir().unwrap();
    TlsConfig::self_signed(generated.path()).unwrap();
    let ca = generated.path().join(CA_FILE);
    let error = TlsConfig::from_pem_files(&ca, &missing).unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, TlsError::Key { .. }), "{error:?}");
    assert!(
        text.starts_with(&format!(
            "{}: not a usable private key (PEM): cannot read: ",
            missing.display()
        )),
        "{text}"
    );
}

#[test]
fn a_key_of_another_certificate_is_named_with_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let one = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(&cert, one.cert.pem()).unwrap();
    std::fs::write(&key, other.signing_key.serialize_pem()).unwrap();

    let error = TlsConfig::from_pem_files(&cert, &key).unwrap_err();
    assert!(matches!(error, TlsError::Pair { .. }), "{error:?}");
    let text = error.to_string();
    let both = format!("{} with {}: ", cert.display(), key.display());
    assert!(text.starts_with(&both), "{text}");

    std::fs::write(&key, one.signing_key.serialize_pem()).unwrap();
    TlsConfig::from_pem_files(&cert, &key).expect("the matching key is accepted");
}
