//! TLS for apps under test (`matrix --tls`): a CA and a server certificate made per run, the
//! files the app is started with (`TLS_CERT_FILE`, `TLS_KEY_FILE`), and the client settings
//! that trust that CA and nothing else.

use std::path::Path;

use crate::wire::tls::{TlsFiles, TlsSettings};

/// A certificate made for one run, in a temporary folder removed when this is dropped.
#[derive(Debug)]
pub struct RunnerTls {
    _dir: tempfile::TempDir,
    files: reference_server::SelfSignedFiles,
    client: TlsSettings,
}

/// Why the run's certificate could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RunnerTlsError {
    /// No temporary folder.
    #[error("cannot make a folder for the run's TLS certificate: {0}")]
    Folder(std::io::Error),
    /// rcgen or writing failed.
    #[error("cannot make the run's TLS certificate: {0}")]
    Generate(#[from] reference_server::TlsError),
    /// The CA written cannot be read back as a trust anchor.
    #[error("cannot trust the run's TLS certificate: {0}")]
    Trust(#[from] crate::wire::tls::TlsFileError),
}

impl RunnerTls {
    /// Makes a CA and a server certificate for `localhost` and `127.0.0.1`.
    pub fn generate() -> Result<RunnerTls, RunnerTlsError> {
        let dir = tempfile::Builder::new()
            .prefix("benchmark-harness-tls-")
            .tempdir()
            .map_err(RunnerTlsError::Folder)?;
        let files = reference_server::write_self_signed(dir.path())?;
        let client = TlsSettings::from_files(TlsFiles {
            cacert: Some(&files.ca),
            insecure: false,
            client_identity: None,
        })?;
        Ok(RunnerTls {
            _dir: dir,
            files,
            client,
        })
    }

    /// The server's certificate chain (PEM), for `TLS_CERT_FILE`.
    pub fn cert_file(&self) -> &Path {
        &self.files.cert
    }

    /// The server's private key (PEM), for `TLS_KEY_FILE`.
    pub fn key_file(&self) -> &Path {
        &self.files.key
    }

    /// Client settings that trust the run's CA (the webpki roots beside it).
    pub fn client(&self) -> &TlsSettings {
        &self.client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_pem_files_the_client_trusts() {
        let tls = RunnerTls::generate().unwrap();
        let cert = std::fs::read_to_string(tls.cert_file()).unwrap();
        assert_eq!(cert.matches("BEGIN CERTIFICATE").count(), 2, "leaf and CA");
        let key = std::fs::read_to_string(tls.key_file()).unwrap();
        assert!(key.contains("PRIVATE KEY"));
        reference_server::TlsConfig::from_pem_files(tls.cert_file(), tls.key_file())
            .expect("the reference server serves the pair");
    }
}
