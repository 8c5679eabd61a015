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

#[cfg(test)]
mod suite_tests {
    #[test]
    fn aes_128_gcm_comes_first_and_nothing_is_dropped() {
        let ours = super::provider();
        let ring = rustls::crypto::ring::default_provider();
        assert_eq!(ours.cipher_suites.len(), ring.cipher_suites.len());
        assert_eq!(
            ours.cipher_suites[0].suite(),
            rustls::CipherSuite::TLS13_AES_128_GCM_SHA256
        );
    }
}

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

/// The crypto provider of every TLS configuration cairn builds: ring's,
/// with the AES-128-GCM suites first. Servers choose by this order
/// (`ignore_client_order`), so a client offering AES-256 first still gets
/// AES-128, which is about a quarter cheaper per byte (10 AES rounds, not
/// 14) at the strength TLS 1.3's mandatory suite gives. What is offered
/// and accepted is unchanged: only the preference moves.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    let mut provider = rustls::crypto::ring::default_provider();
    provider
        .cipher_suites
        .sort_by_key(|s| suite_rank(s.suite()));
    Arc::new(provider)
}

/// Preference of a cipher suite in `provider` (lower first; the sort is
/// stable, so suites of one rank keep ring's order).
fn suite_rank(suite: rustls::CipherSuite) -> u8 {
    use rustls::CipherSuite as S;
    match suite {
        S::TLS13_AES_128_GCM_SHA256
        | S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        | S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => 0,
        _ => 1,
    }
}

/// ALPN protocol every cairn TLS endpoint speaks.
pub const ALPN_HTTP1: &[u8] = b"http/1.1";
