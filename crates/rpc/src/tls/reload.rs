//! The S3 endpoint's certificate, reloaded without a restart: the resolver
//! hands each new handshake the certificate last loaded, and `reload` (on
//! SIGHUP, or when a poll sees the files' modification times change) swaps
//! in a new one if it loads. Connections already open keep their session; a
//! pair of files that does not load is logged and the old certificate stays.

use super::files::{read_certs, read_key};
use super::{ALPN_HTTP1, TlsError, provider};
use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

/// A certificate and key read from files, reloadable.
#[derive(Debug)]
pub struct ReloadingCert {
    cert_path: PathBuf,
    key_path: PathBuf,
    state: RwLock<Loaded>,
}

#[derive(Debug)]
struct Loaded {
    key: Arc<CertifiedKey>,
    stamp: (Option<SystemTime>, Option<SystemTime>),
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn load(cert: &Path, key: &Path) -> Result<Arc<CertifiedKey>, TlsError> {
    let certs = read_certs(cert)?;
    let key = read_key(key)?;
    Ok(Arc::new(CertifiedKey::from_der(certs, key, &provider())?))
}

impl ReloadingCert {
    /// Loads the pair once (an error here stops the start).
    pub fn new(cert_path: &Path, key_path: &Path) -> Result<Arc<Self>, TlsError> {
        let stamp = (modified(cert_path), modified(key_path));
        let key = load(cert_path, key_path)?;
        Ok(Arc::new(Self {
            cert_path: cert_path.to_path_buf(),
            key_path: key_path.to_path_buf(),
            state: RwLock::new(Loaded { key, stamp }),
        }))
    }

    /// Reads the files again; Ok(true) when a new certificate is in use.
    /// With `only_if_changed`, files whose modification times have not
    /// moved are not read.
    pub fn reload(&self, only_if_changed: bool) -> Result<bool, TlsError> {
        let stamp = (modified(&self.cert_path), modified(&self.key_path));
        if only_if_changed && self.state.read().map(|s| s.stamp == stamp).unwrap_or(false) {
            return Ok(false);
        }
        let loaded = load(&self.cert_path, &self.key_path);
        let mut state = self
            .state
            .write()
            .map_err(|_| TlsError::Invalid("certificate state poisoned".into()))?;
        // Remember the times even when loading failed, so a broken pair is
        // reported once, not at every poll.
        state.stamp = stamp;
        state.key = loaded?;
        Ok(true)
    }

    /// The certificate in use (leaf first).
    pub fn current(&self) -> Option<Arc<CertifiedKey>> {
        self.state.read().ok().map(|s| s.key.clone())
    }

    /// A server configuration (no client certificates) that uses this
    /// certificate for every handshake.
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<ServerConfig>, TlsError> {
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
        config.ignore_client_order = true;
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::ca::{CERT_VALID_DAYS, ClusterCa};

    fn leaf(cert: &ReloadingCert) -> Vec<u8> {
        cert.current().expect("a certificate").cert[0].to_vec()
    }

    #[test]
    fn a_changed_pair_is_picked_up_and_a_broken_one_leaves_the_old() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = ClusterCa::init(dir.path()).expect("ca");
        let hosts = ["localhost".to_string()];
        let (cert, key) = ca
            .issue_server(&hosts, CERT_VALID_DAYS)
            .and_then(|c| c.write(dir.path(), "s3"))
            .expect("first pair");
        let reloading = ReloadingCert::new(&cert, &key).expect("loads");
        let first = leaf(&reloading);
        assert!(!reloading.reload(true).expect("unchanged"), "nothing to do");
        // A new pair in place (as a renewal writes it).
        std::thread::sleep(std::time::Duration::from_millis(20));
        ca.issue_server(&hosts, CERT_VALID_DAYS)
            .and_then(|c| c.write(dir.path(), "s3"))
            .expect("second pair");
        assert!(reloading.reload(false).expect("reloads"));
        let second = leaf(&reloading);
        assert_ne!(first, second, "the new certificate is served");
        // A broken file: an error, and the second stays in use.
        std::fs::write(&cert, "not a certificate").expect("break");
        assert!(reloading.reload(false).is_err());
        assert_eq!(leaf(&reloading), second);
    }
}
