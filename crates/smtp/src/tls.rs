//! Server-side TLS configuration for STARTTLS: a self-signed certificate for development, or a
//! certificate chain and key from PEM files.
//!
//! Configurations are built with the aws-lc-rs provider explicitly, so the process needs no
//! default crypto provider installed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Says why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Generating the self-signed certificate failed.
    #[error("could not generate a self-signed certificate for {hostname:?}")]
    Generate {
        /// The host name the certificate was for.
        hostname: String,
        /// What rcgen reported.
        #[source]
        source: rcgen::Error,
    },
    /// A PEM file could not be read.
    #[error("could not read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the file system reported.
        #[source]
        source: std::io::Error,
    },
    /// A PEM file is malformed.
    #[error("{} is not valid PEM", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What the PEM parser reported.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// The certificate file holds no certificate.
    #[error("{} holds no PEM certificate", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The key file holds no private key.
    #[error("{} holds no PEM private key", path.display())]
    NoPrivateKey {
        /// The file.
        path: PathBuf,
    },
    /// rustls refused the certificate or key, e.g. because they do not match.
    #[error("the TLS certificate or key was refused")]
    Rustls(#[source] rustls::Error),
}

/// Returns a TLS configuration with a freshly generated self-signed certificate for
/// `hostname`, for development and tests.
pub fn self_signed_tls(hostname: &str) -> Result<Arc<ServerConfig>, TlsError> {
    let generate_error = |source| TlsError::Generate {
        hostname: hostname.to_owned(),
        source,
    };
    let certified =
        rcgen::generate_simple_self_signed(vec![hostname.to_owned()]).map_err(generate_error)?;
    let cert = certified.cert.der().clone();
    let key = PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
    build(vec![cert], PrivateKeyDer::Pkcs8(key))
}

/// Returns a TLS configuration with the certificate chain in the PEM file `cert` (leaf first)
/// and the private key in the PEM file `key`.
pub fn tls_from_pem_files(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let pem_error = |path: &Path| {
        let path = path.to_owned();
        move |source| TlsError::Pem { path, source }
    };
    let cert_pem = read(cert)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error(cert))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: cert.to_owned(),
        });
    }
    let key_pem = read(key)?;
    let key = match PrivateKeyDer::from_pem_slice(&key_pem) {
        Ok(key) => key,
        Err(rustls::pki_types::pem::Error::NoItemsFound) => {
            return Err(TlsError::NoPrivateKey {
                path: key.to_owned(),
            });
        }
        Err(source) => return Err(pem_error(key)(source)),
    };
    build(chain, key)
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

fn build(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Rustls)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(TlsError::Rustls)?;
    Ok(Arc::new(config))
}
