//! The TLS client side of `run`: one rustls configuration (ring provider; the webpki roots plus
//! `--cacert`, or `--insecure`; `--client-cert`/`--client-key` for mutual TLS), handed to reqwest
//! and to the hand-written WebSocket upgrade ([`super::transport`]), and the words for a
//! certificate a server presents that the harness does not accept.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

/// The TLS flags as files: `--cacert`, `--insecure`, `--client-cert` with `--client-key`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TlsFiles<'a> {
    /// PEM certificates trusted beside the webpki roots.
    pub cacert: Option<&'a Path>,
    /// Accept any server certificate.
    pub insecure: bool,
    /// The client's PEM certificate chain and private key, for mutual TLS.
    pub client_identity: Option<(&'a Path, &'a Path)>,
}

/// A TLS flag whose file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{flag} {}: {reason}", path.display())]
pub struct TlsFileError {
    /// The flag that named the file.
    pub flag: &'static str,
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

/// The client configuration every TLS connection of a replay uses.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    config: Arc<ClientConfig>,
}

impl Default for TlsSettings {
    /// The webpki roots, no client certificate.
    fn default() -> TlsSettings {
        TlsSettings::from_files(TlsFiles::default()).expect("no file to read")
    }
}

impl TlsSettings {
    /// The configuration the flags describe; the error names the flag and file that cannot be used.
    pub fn from_files(files: TlsFiles<'_>) -> Result<TlsSettings, TlsFileError> {
        let provider = provider();
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions");
        let builder = if files.insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        } else {
            builder.with_root_certificates(roots(files.cacert)?)
        };
        let config = match files.client_identity {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let chain = certificates("--client-cert", cert)?;
                let key = private_key(key)?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| TlsFileError {
                        flag: "--client-key",
                        path: files
                            .client_identity
                            .map(|(_, k)| k.to_path_buf())
                            .unwrap_or_default(),
                        reason: format!("does not go with --client-cert: {}", rustls_words(&e)),
                    })?
            }
        };
        Ok(TlsSettings {
            config: Arc::new(config),
        })
    }

    /// The rustls configuration, for reqwest.
    pub fn client_config(&self) -> ClientConfig {
        (*self.config).clone()
    }

    /// A connector for a TLS stream of our own (the WebSocket upgrade, the attach check, load).
    pub fn connector(&self) -> tokio_rustls::TlsConnector {
        tokio_rustls::TlsConnector::from(self.config.clone())
    }

    /// These settings offering `protocols` by ALPN (in order of preference) instead. The copy
    /// keeps the session cache of the original (rustls shares it between clones), so that
    /// connections of either resume each other's sessions.
    pub fn with_alpn(&self, protocols: &[&[u8]]) -> TlsSettings {
        let mut config = (*self.config).clone();
        config.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
        TlsSettings {
            config: Arc::new(config),
        }
    }
}

/// The ALPN name of HTTP/1.1.
pub const ALPN_HTTP1: &[u8] = b"http/1.1";
/// The ALPN name of HTTP/2 over TLS.
pub const ALPN_H2: &[u8] = b"h2";

/// An ALPN protocol name as text: `h2`, `http/1.1`, or `none` when none was agreed.
pub fn alpn_name(protocol: Option<&[u8]>) -> String {
    protocol.map_or_else(
        || "none".to_string(),
        |p| String::from_utf8_lossy(p).into_owned(),
    )
}

/// The crypto provider of every configuration here: ring (reqwest's own default, aws-lc-rs,
/// only serves clients built without ours: the reference server's tests, the bench peers).
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The webpki roots and the certificates of `cacert`.
fn roots(cacert: Option<&Path>) -> Result<RootCertStore, TlsFileError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = cacert {
        for cert in certificates("--cacert", path)? {
            roots.add(cert).map_err(|e| TlsFileError {
                flag: "--cacert",
                path: path.to_path_buf(),
                reason: format!("not a usable CA certificate: {}", rustls_words(&e)),
            })?;
        }
    }
    Ok(roots)
}

/// The PEM certificates in `path` (at least one).
fn certificates(
    flag: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsFileError> {
    let failed = |reason: String| TlsFileError {
        flag,
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| failed(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| failed(format!("not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(failed("no PEM certificate in it".into()));
    }
    Ok(certs)
}

/// The PEM private key in `path` (`--client-key`).
fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsFileError> {
    let failed = |reason: String| TlsFileError {
        flag: "--client-key",
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| failed(e.to_string()))?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| failed(format!("no PEM private key: {e}")))
}

/// `--insecure`: every certificate is accepted; signatures are still checked.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The TLS failure somewhere in `error`'s chain (reqwest, hyper, io), in words; `None` when the
/// failure is not about TLS.
pub fn tls_failure(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(rustls_words(tls));
        }
        // io::Error::source skips the error it wraps: look inside.
        if let Some(inner) = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            && let Some(found) = tls_failure(inner)
        {
            return Some(found);
        }
        current = error.source();
    }
    None
}

/// A rustls error in words: what is wrong with the certificate, or what the server refused.
pub fn rustls_words(error: &rustls::Error) -> String {
    use rustls::AlertDescription as Alert;
    match error {
        rustls::Error::InvalidCertificate(problem) => certificate_words(problem),
        rustls::Error::AlertReceived(Alert::CertificateRequired) => {
            "the server requires a client certificate (give --client-cert and --client-key)".into()
        }
        rustls::Error::AlertReceived(
            Alert::BadCertificate
            | Alert::UnsupportedCertificate
            | Alert::CertificateUnknown
            | Alert::UnknownCA
            | Alert::AccessDenied,
        ) => "the server refused the client certificate".into(),
        other => format!("TLS failed: {other}"),
    }
}

/// What is wrong with a server's certificate.
fn certificate_words(problem: &CertificateError) -> String {
    let words = match problem {
        CertificateError::UnknownIssuer => {
            "its issuer is unknown (not a trusted CA: give the CA with --cacert, or --insecure)"
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "it is not valid for this host name"
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => "it has expired",
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "it is not valid yet"
        }
        CertificateError::Revoked => "it has been revoked",
        CertificateError::BadSignature => "its signature is bad",
        CertificateError::BadEncoding => "it cannot be decoded",
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "it is not meant for a TLS server"
        }
        _ => return format!("the server's certificate is not accepted: {problem}"),
    };
    format!("the server's certificate is not accepted: {words}")
}
