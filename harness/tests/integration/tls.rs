//! `serve` over TLS, end to end: `--tls-self-signed DIR` answers https with `DIR/ca.pem`
//! trusted; bad `--tls-cert`/`--tls-key` files are exit 2 naming the file; the TLS flags go in
//! pairs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use crate::common::{bin, repo, run_within, text};

/// Kills the child when the test ends, passing or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET /__ready` over TLS (HTTP/1.1, SNI `localhost`) trusting `ca_pem`: the whole reply.
fn https_ready(port: u16, ca_pem: &Path) -> String {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_pem).expect("ca.pem reads") {
        roots.add(cert.expect("a certificate")).expect("a CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let name = ServerName::try_from("localhost").unwrap();
    let connection = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut tls = rustls::StreamOwned::new(connection, tcp);
    tls.write_all(b"GET /__ready HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut reply = Vec::new();
    // The server may end the connection without a close_notify after `Connection: close`.
    let _ = tls.read_to_end(&mut reply);
    text(&reply)
}

#[test]
fn serve_tls_self_signed_answers_https_with_its_ca_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = repo().join("fixtures");
    let mut child = bin()
        .args(["serve", "--port", "0", "--tls-self-signed"])
        .arg(dir.path())
        .arg("--fixtures")
        .arg(&fixtures)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary runs");
    let stdout = child.stdout.take().unwrap();
    let _running = Running(child);

    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let address = line
        .trim_end()
        .strip_prefix("https://127.0.0.1:")
        .unwrap_or_else(|| panic!("an https address on stdout, got {line:?}"));
    let port: u16 = address.parse().unwrap();

    let reply = https_ready(port, &dir.path().join("ca.pem"));
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
    assert!(reply.ends_with("ready"), "{reply}");
}

#[test]
fn serve_with_a_bad_certificate_file_is_exit_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, "no pem here\n").unwrap();
    let cert = cert.display().to_string();
    let (out, _) = run_within(
        &[
            "serve",
            "--port",
            "0",
            "--tls-cert",
            &cert,
            "--tls-key",
            &cert,
        ],
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{cert}: not a usable certificate chain (PEM): no CERTIFICATE block found"
        )),
        "{stderr}"
    );
}

#[test]
fn serve_tls_flags_go_in_pairs_and_self_signed_excludes_them() {
    for args in [
        &["serve", "--port", "0", "--tls-cert", "c.pem"][..],
        &["serve", "--port", "0", "--tls-key", "k.pem"],
        &[
            "serve",
            "--port",
            "0",
            "--tls-self-signed",
            "d",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
        ],
    ] {
        let (out, _) = run_within(args, Duration::from_secs(20));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}
