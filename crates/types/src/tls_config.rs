//! `[tls]`: how the roles of a cluster reach each other. By default every
//! internal connection is mutual TLS with certificates from the cluster CA
//! (`cairn admin ca init`, `cairn admin cert issue`); each process names the
//! CA, its own certificate and its key. `cairn server` makes and fills in
//! all three itself. `internal = false` turns TLS off for a trusted network:
//! then requests carry `cluster.secret` in clear and roles are not told apart.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// Mutual TLS between roles (default true).
    pub internal: bool,
    /// The cluster CA certificate (PEM).
    pub ca: PathBuf,
    /// This process's role certificate (PEM), issued by the cluster CA.
    pub cert: PathBuf,
    /// Its private key (PEM, mode 0600).
    pub key: PathBuf,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            internal: true,
            ca: PathBuf::new(),
            cert: PathBuf::new(),
            key: PathBuf::new(),
        }
    }
}

impl TlsConfig {
    /// Whether all three files are named.
    pub fn is_complete(&self) -> bool {
        [&self.ca, &self.cert, &self.key]
            .iter()
            .all(|p| !p.as_os_str().is_empty())
    }
}
