//! `run` against https:// and wss:// targets: certificates made here with rcgen (a CA, a server
//! certificate for 127.0.0.1/localhost, an expired one, one for another name, a client one), the
//! reference app served over real TLS by a small rustls accept loop, and the real binary.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, date_time_ymd,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::common::{corpus_file, run_within, serve_on_thread, text};

pub(crate) const FIXTURES: [&str; 4] = [
    "rest/bench/hello.json",
    "sse/basic/data-events.json",
    "websocket/bench/echo.json",
    // A server that drops the connection without a close frame (nor TLS close_notify): 1006.
    "websocket/lifecycle/drop-after-one.json",
];

/// The certificates of one test, as PEM files in a temp folder.
pub(crate) struct Pki {
    dir: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    pub(crate) fn new() -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "harness test CA");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let pki = Pki {
            dir: tempfile::tempdir().unwrap(),
            ca,
        };
        std::fs::write(pki.path("ca.pem"), pki.ca.pem()).unwrap();
        pki
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn arg(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    /// A certificate for `names` signed by the CA, valid when `validity` says, written as
    /// `NAME.pem` and `NAME.key`.
    pub(crate) fn issue(&self, name: &str, names: &[&str], validity: Validity) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        match validity {
            Validity::Now => {}
            Validity::In2000 => {
                params.not_before = date_time_ymd(2000, 1, 1);
                params.not_after = date_time_ymd(2000, 12, 31);
            }
            Validity::From2999 => {
                params.not_before = date_time_ymd(2999, 1, 1);
                params.not_after = date_time_ymd(3000, 12, 31);
            }
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        std::fs::write(self.path(&format!("{name}.pem")), cert.pem()).unwrap();
        std::fs::write(self.path(&format!("{name}.key")), key.serialize_pem()).unwrap();
    }

    /// The server configuration presenting `NAME.pem`; with `client_ca`, it requires a client
    /// certificate signed by the CA.
    pub(crate) fn server_config(&self, name: &str, client_ca: bool) -> rustls::ServerConfig {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(self.path(&format!("{name}.pem")))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
        let key = PrivateKeyDer::from_pem_file(self.path(&format!("{name}.key"))).unwrap();
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if client_ca {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(self.ca.der().clone()).unwrap();
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        builder.with_single_cert(chain, key).unwrap()
    }
}

/// TLS connections for axum: handshakes that fail are dropped, the next one is awaited.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(Ok(tls)) =
                tokio::time::timeout(Duration::from_secs(5), self.acceptor.accept(tcp)).await
            {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// Serves the reference app for [`FIXTURES`] over TLS on a loopback port, on its own thread
/// for the rest of the test process; returns the port.
pub(crate) fn serve_tls(config: rustls::ServerConfig) -> u16 {
    let paths: Vec<PathBuf> = FIXTURES.iter().map(|f| corpus_file(f)).collect();
    let fixtures = harness_fixture::load_paths(&paths).unwrap().fixtures;
    let app = reference_server::app(&fixtures).unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let served = serve_on_thread(|tcp| async move {
        axum::serve(TlsListener { tcp, acceptor }, app)
            .await
            .unwrap();
    });
    served.port()
}

/// `run --url BASE` over the fixtures with `extra` flags: exit code, stdout, stderr.
fn run_tls(base: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec!["run".to_string(), "--url".into(), base.into()];
    for fixture in FIXTURES {
        args.push("--fixture".into());
        args.push(corpus_file(fixture).display().to_string());
    }
    args.extend(["--snapshots", "off"].map(String::from));
    args.extend(extra.iter().map(|a| a.to_string()));
    let (out, _) = run_within(&args, Duration::from_secs(60));
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

fn localhost_server(pki: &Pki, client_ca: bool) -> u16 {
    pki.issue("server", &["localhost", "127.0.0.1"], Validity::Now);
    serve_tls(pki.server_config("server", client_ca))
}

fn assert_passes((code, stdout, stderr): &(Option<i32>, String, String)) {
    assert_eq!(*code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("ok: 4 passed, 0 failed, 0 skipped, 0 errored"),
        "{stdout}"
    );
}

fn assert_unreachable(outcome: &(Option<i32>, String, String), words: &str) {
    let (code, stdout, stderr) = outcome;
    assert_eq!(*code, Some(3), "{stdout}{stderr}");
    assert!(stderr.contains(words), "{words:?} not in: {stderr}");
    assert!(!stderr.contains("Error {"), "a debug dump: {stderr}");
}

#[test]
fn rest_sse_and_websocket_pass_over_tls_with_cacert() {
    let pki = Pki::new();
    let port = localhost_server(&pki, false);
    let cacert = pki.arg("ca.pem");
    assert_passes(&run_tls(
        &format!("https://localhost:{port}"),
        &["--cacert", &cacert],
    ));
    // The same server named by address, with the WebSocket and SSE bases given apart.
    let base = format!("https://127.0.0.1:{port}");
    let ws = format!("wss://127.0.0.1:{port}");
    assert_passes(&run_tls(
        &base,
        &["--cacert", &cacert, "--ws-url", &ws, "--sse-url", &base],
    ));
}

#[test]
fn an_unknown_issuer_is_unreachable_in_words() {
    let pki = Pki::new();
    let port = localhost_server(&pki, false);
    let outcome = run_tls(&format!("https://127.0.0.1:{port}"), &[]);
    assert_unreachable(&outcome, "issuer is unknown");
}

#[test]
fn a_certificate_for_another_name_is_unreachable() {
    let pki = Pki::new();
    pki.issue("other", &["other.example"], Validity::Now);
    let port = serve_tls(pki.server_config("other", false));
    let outcome = run_tls(
        &format!("https://127.0.0.1:{port}"),
        &["--cacert", &pki.arg("ca.pem")],
    );
    assert_unreachable(&outcome, "not valid for this host name");
}

#[test]
fn a_certificate_not_valid_yet_is_unreachable() {
    let pki = Pki::new();
    pki.issue("future", &["localhost", "127.0.0.1"], Validity::From2999);
    let port = serve_tls(pki.server_config("future", false));
    let outcome = run_tls(
        &format!("https://127.0.0.1:{port}"),
        &["--cacert", &pki.arg("ca.pem")],
    );
    assert_unreachable(&outcome, "not valid yet");
}

#[test]
fn an_expired_certificate_is_unreachable() {
    let pki = Pki::new();
    pki.issue("expired", &["localhost", "127.0.0.1"], Validity::In2000);
    let port = serve_tls(pki.server_config("expired", false));
    let outcome = run_tls(
        &format!("https://127.0.0.1:{port}"),
        &["--cacert", &pki.arg("ca.pem")],
    );
    assert_unreachable(&outcome, "expired");
}

#[test]
fn insecure_accepts_an_unknown_issuer_and_warns_once() {
    let pki = Pki::new();
    let port = localhost_server(&pki, false);
    let outcome = run_tls(&format!("https://127.0.0.1:{port}"), &["--insecure"]);
    assert_passes(&outcome);
    assert_eq!(outcome.2.matches("--insecure").count(), 1, "{}", outcome.2);
}

#[test]
fn mutual_tls_passes_with_a_client_certificate_and_is_unreachable_without() {
    let pki = Pki::new();
    pki.issue("client", &["client.example"], Validity::Now);
    let port = localhost_server(&pki, true);
    let base = format!("https://127.0.0.1:{port}");
    let cacert = pki.arg("ca.pem");
    let (cert, key) = (pki.arg("client.pem"), pki.arg("client.key"));
    assert_passes(&run_tls(
        &base,
        &[
            "--cacert",
            &cacert,
            "--client-cert",
            &cert,
            "--client-key",
            &key,
        ],
    ));
    let outcome = run_tls(&base, &["--cacert", &cacert]);
    assert_unreachable(&outcome, "client certificate");
}

#[test]
fn an_unusable_tls_file_is_a_usage_error_naming_it() {
    let pki = Pki::new();
    let not_pem = pki.path("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let missing = pki.path("missing.pem");
    for (flag, file) in [("--cacert", &not_pem), ("--cacert", &missing)] {
        let (code, stdout, stderr) = run_tls("https://127.0.0.1:1", &[flag, &arg(file)]);
        assert_eq!(code, Some(2), "{stdout}{stderr}");
        assert!(stderr.contains(&arg(file)), "{stderr}");
    }
    let (code, _, stderr) = run_tls(
        "https://127.0.0.1:1",
        &[
            "--client-cert",
            &arg(&not_pem),
            "--client-key",
            &arg(&not_pem),
        ],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--client-cert"), "{stderr}");
}

/// When an issued certificate is valid.
#[derive(Clone, Copy)]
pub(crate) enum Validity {
    /// From now on (rcgen's default window).
    Now,
    /// In 2000 only: expired.
    In2000,
    /// From 2999: not valid yet.
    From2999,
}

fn arg(path: &Path) -> String {
    path.display().to_string()
}
