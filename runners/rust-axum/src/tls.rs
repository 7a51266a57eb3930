//! TLS of the reference server: a certificate chain and key read from PEM files, or generated (a
//! CA and a server certificate for `localhost` and `127.0.0.1`), made into a rustls server config
//! (ring provider) that offers ALPN `h2` and `http/1.1`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The file [`TlsConfig::self_signed`] writes the generated CA certificate to, in its folder.
pub const CA_FILE: &str = "ca.pem";

/// The names the generated server certificate is valid for.
const SELF_SIGNED_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// Why TLS cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate file holds no usable certificate chain.
    #[error("{}: not a usable certificate chain (PEM): {problem}", file.display())]
    Certificate {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The key file holds no usable private key.
    #[error("{}: not a usable private key (PEM): {problem}", file.display())]
    Key {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The certificate and key cannot serve together (mismatched, unsupported algorithm).
    #[error("{} with {}: {source}", cert.display(), key.display())]
    Pair {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls refused.
        source: rustls::Error,
    },
    /// A certificate could not be generated.
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// The generated certificate was refused by rustls.
    #[error("cannot use the generated certificate: {0}")]
    Generated(rustls::Error),
    /// The CA certificate could not be written.
    #[error("cannot write {}: {source}", file.display())]
    Write {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A rustls server config for [`crate::Server::start_tls`]: one certificate chain, ALPN `h2`
/// then `http/1.1`.
#[derive(Clone)]
pub struct TlsConfig(Arc<ServerConfig>);

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TlsConfig")
            .field(&self.0.alpn_protocols)
            .finish()
    }
}

impl TlsConfig {
    /// Reads a certificate chain (leaf first) and its private key from PEM files.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<TlsConfig, TlsError> {
        let chain = read_chain(cert)?;
        let private_key = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Key {
            file: key.to_path_buf(),
            problem: pem_problem(e, "no PRIVATE KEY block found"),
        })?;
        server_config(chain, private_key)
            .map(TlsConfig)
            .map_err(|source| TlsError::Pair {
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
                source,
            })
    }

    /// Generates a CA and a server certificate it signs for `localhost` and `127.0.0.1`,
    /// writes the CA certificate to `dir/ca.pem` (making `dir` if needed) for clients to trust,
    /// and returns the config serving the server certificate.
    pub fn self_signed(dir: &Path) -> Result<TlsConfig, TlsError> {
        let generated = SelfSigned::generate()?;
        let file = dir.join(CA_FILE);
        std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&file, &generated.ca_pem))
            .map_err(|source| TlsError::Write { file, source })?;
        server_config(generated.chain, generated.key)
            .map(TlsConfig)
            .map_err(TlsError::Generated)
    }

    /// The acceptor that does the handshake of each connection.
    pub(crate) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(Arc::clone(&self.0))
    }
}

/// A CA and a server certificate it signs for `localhost` and `127.0.0.1`, made fresh.
struct SelfSigned {
    ca_pem: String,
    chain_pem: String,
    key_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl SelfSigned {
    fn generate() -> Result<SelfSigned, rcgen::Error> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "benchmark-harness serve CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

        let names: Vec<String> = SELF_SIGNED_NAMES.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names)?;
        params
            .distinguished_name
            .push(DnType::CommonName, "benchmark-harness serve");
        let server_key = KeyPair::generate()?;
        let server_cert = params.signed_by(&server_key, &*ca)?;
        Ok(SelfSigned {
            ca_pem: ca.pem(),
            chain_pem: format!("{}{}", server_cert.pem(), ca.pem()),
            key_pem: server_key.serialize_pem(),
            chain: vec![server_cert.der().clone(), ca.der().clone()],
            key: PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
        })
    }
}

/// The files [`write_self_signed`] made: PEM files of a fresh CA, and of a server certificate
/// it signs for `localhost` and `127.0.0.1` (the chain, leaf first) with its private key.
#[derive(Debug, Clone)]
pub struct SelfSignedFiles {
    /// The CA certificate, for clients to trust (`--cacert`).
    pub ca: PathBuf,
    /// The server's certificate chain.
    pub cert: PathBuf,
    /// The server's private key.
    pub key: PathBuf,
}

/// Generates a CA and a server certificate and writes them to `dir` (`ca.pem`, `cert.pem`,
/// `key.pem`), for an app under test started with TLS.
pub fn write_self_signed(dir: &Path) -> Result<SelfSignedFiles, TlsError> {
    let generated = SelfSigned::generate()?;
    let files = SelfSignedFiles {
        ca: dir.join(CA_FILE),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    for (file, text) in [
        (&files.ca, &generated.ca_pem),
        (&files.cert, &generated.chain_pem),
        (&files.key, &generated.key_pem),
    ] {
        std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(file, text))
            .map_err(|source| TlsError::Write {
                file: file.clone(),
                source,
            })?;
    }
    Ok(files)
}

fn read_chain(file: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let refused = |problem: String| TlsError::Certificate {
        file: file.to_path_buf(),
        problem,
    };
    let chain = CertificateDer::pem_file_iter(file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| refused(pem_problem(e, "no CERTIFICATE block found")))?;
    if chain.is_empty() {
        return Err(refused("no CERTIFICATE block found".to_string()));
    }
    Ok(chain)
}

/// What a PEM reading error says, in words; `none_found` for a file without the block.
fn pem_problem(error: pem::Error, none_found: &str) -> String {
    match error {
        pem::Error::Io(io) => format!("cannot read: {io}"),
        pem::Error::NoItemsFound => none_found.to_string(),
        other => other.to_string(),
    }
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
