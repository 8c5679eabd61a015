//! TLS for cairn: the cluster CA and the role certificates it issues
//! (`ca`), key files on disk (`files`), the rustls configurations of the
//! internal transport — mutual TLS where both ends prove a role from the
//! cluster CA (`internal`) — and the S3 endpoint's certificate, reloaded
//! when its files change (`reload`). Every configuration uses the ring
//! provider explicitly, whatever else a process links.

pub mod ca;
pub mod files;
pub mod internal;
pub mod reload;
pub mod role;

pub use ca::{ClusterCa, IssuedCert};
pub use internal::{InternalTls, TlsPaths};
pub use reload::ReloadingCert;
pub use role::PeerRole;

use std::path::PathBuf;
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TlsError {
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{0}: not a usable PEM file: {1}")]
    Pem(PathBuf, String),
    #[error("{0} already exists; a cluster CA is made once")]
    Exists(PathBuf),
    #[error("certificate generation: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("{0}")]
    Invalid(String),
}

/// The crypto provider of every TLS configuration cairn builds.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// ALPN protocol every cairn TLS endpoint speaks.
pub const ALPN_HTTP1: &[u8] = b"http/1.1";
