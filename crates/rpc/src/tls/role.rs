//! The four roles of a cairn cluster as certificates carry them: every
//! certificate the cluster CA issues names its role as a DNS subject
//! alternative name (`meta.role.cairn`, ...), so a peer's role is read from
//! the certificate it proved it holds, with the same name check TLS uses
//! for host names (webpki), and nothing else to parse.

use rustls_pki_types::{CertificateDer, DnsName, ServerName};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Suffix of the DNS name that carries a certificate's role.
pub const ROLE_NAME_SUFFIX: &str = "role.cairn";

/// Who is calling (or answering) an internal endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PeerRole {
    Meta,
    Node,
    Gateway,
    Admin,
}

impl PeerRole {
    pub const ALL: [PeerRole; 4] = [
        PeerRole::Meta,
        PeerRole::Node,
        PeerRole::Gateway,
        PeerRole::Admin,
    ];

    /// The role's lower-case name (`meta`, `node`, `gateway`, `admin`).
    pub fn as_str(self) -> &'static str {
        match self {
            PeerRole::Meta => "meta",
            PeerRole::Node => "node",
            PeerRole::Gateway => "gateway",
            PeerRole::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The DNS name a certificate of this role carries.
    pub fn dns_name(self) -> String {
        format!("{}.{ROLE_NAME_SUFFIX}", self.as_str())
    }

    /// `dns_name` as the server name a TLS verifier checks.
    pub fn server_name(self) -> ServerName<'static> {
        let name = DnsName::try_from(self.dns_name()).expect("role names are valid DNS names");
        ServerName::DnsName(name)
    }

    /// The roles `cert` names (it should name exactly one). The certificate
    /// must already be verified against the cluster CA.
    pub fn of_certificate(cert: &CertificateDer<'_>) -> Vec<PeerRole> {
        let Ok(ee) = webpki::EndEntityCert::try_from(cert) else {
            return Vec::new();
        };
        Self::ALL
            .into_iter()
            .filter(|r| {
                ee.verify_is_valid_for_subject_name(&r.server_name())
                    .is_ok()
            })
            .collect()
    }
}

impl fmt::Display for PeerRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
