//! Berth's TLS. [`pki`] is Berth's own certificate authority, which `berth up` creates on first start and which
//! issues the server's certificate and the agents' link certificates; [`listener`] serves axum over TLS (or plain
//! TCP where the operator asks for it); [`server_config`] turns a certificate chain and key (Berth's or the
//! operator's) into a rustls configuration. Clients (reqwest in the agent and the CLI) trust a CA bundle PEM.
//!
//! One crypto library: aws-lc-rs, as rustls and reqwest use it here.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub mod listener;
pub mod pki;

pub use listener::{Listener, Peer};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{0}")]
    Config(String),
    #[error("cannot make a certificate: {0}")]
    Generate(String),
    #[error("{0}")]
    Proof(String),
}

impl TlsError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        TlsError::Io { path: path.display().to_string(), source }
    }

    fn generate(e: rcgen::Error) -> Self {
        TlsError::Generate(e.to_string())
    }
}

/// The crypto provider every rustls configuration here is built with.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A TLS server configuration for `chain_pem` (the certificate first, then any intermediates) and `key_pem`
/// (PKCS#8, SEC1 or PKCS#1). HTTP/1.1 only, as Berth's endpoints serve it.
pub fn server_config(chain_pem: &str, key_pem: &str) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let chain = read_chain(chain_pem)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| TlsError::Config(format!("cannot read the private key: {e}")))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Config(format!("the certificate and key do not make a TLS server: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A certificate that can be replaced while connections are served: an agent's link certificate, renewed before
/// it expires. New handshakes get the newest one.
#[derive(Debug)]
pub struct ReloadableCert {
    current: std::sync::RwLock<Arc<rustls::sign::CertifiedKey>>,
}

impl ReloadableCert {
    pub fn new(chain_pem: &str, key_pem: &str) -> Result<Arc<Self>, TlsError> {
        Ok(Arc::new(ReloadableCert { current: std::sync::RwLock::new(certified_key(chain_pem, key_pem)?) }))
    }

    /// Serves `chain_pem` and `key_pem` from the next handshake on.
    pub fn replace(&self, chain_pem: &str, key_pem: &str) -> Result<(), TlsError> {
        let key = certified_key(chain_pem, key_pem)?;
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = key;
        Ok(())
    }

    /// A TLS server configuration serving this certificate.
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

impl rustls::server::ResolvesServerCert for ReloadableCert {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone())
    }
}

fn certified_key(chain_pem: &str, key_pem: &str) -> Result<Arc<rustls::sign::CertifiedKey>, TlsError> {
    let chain = read_chain(chain_pem)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| TlsError::Config(format!("cannot read the private key: {e}")))?;
    let certified = rustls::sign::CertifiedKey::from_der(chain, key, &provider())
        .map_err(|e| TlsError::Config(format!("the certificate and key do not make a TLS server: {e}")))?;
    Ok(Arc::new(certified))
}

fn read_chain(chain_pem: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Config(format!("cannot read the certificate chain: {e}")))?;
    if chain.is_empty() {
        return Err(TlsError::Config("the certificate file holds no certificate".into()));
    }
    Ok(chain)
}

/// Reads a PEM file the operator names, with the path in the error.
pub fn read_pem(path: &Path) -> Result<String, TlsError> {
    std::fs::read_to_string(path).map_err(|e| TlsError::io(path, e))
}
