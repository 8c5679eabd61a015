//! Mutual TLS between roles. A process holds one role certificate from the
//! cluster CA; as a server it requires the caller's certificate from the
//! same CA (a handshake without one fails), and as a client it accepts a
//! server only if its certificate, from the cluster CA, names a serving
//! role (meta or node). Host names are not checked: in a cluster the
//! identity that matters is the role the CA vouched for, and peers are
//! reached at whatever address they registered.

use super::files::{read_certs, read_key};
use super::role::PeerRole;
use super::{ALPN_HTTP1, TlsError, provider};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The roles that serve internal endpoints (a client accepts only these).
pub const SERVING_ROLES: [PeerRole; 2] = [PeerRole::Meta, PeerRole::Node];

/// Where a process's internal TLS material is (`[tls]` in the config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPaths {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsPaths {
    /// `ca.pem` and `ROLE.pem` / `ROLE.key` in `dir` (the layout `cairn
    /// server` and `cairn admin cert issue --out` use).
    pub fn in_dir(dir: &Path, name: &str) -> Self {
        Self {
            ca: dir.join(super::ca::CA_CERT_FILE),
            cert: dir.join(format!("{name}.pem")),
            key: dir.join(format!("{name}.key")),
        }
    }
}

/// A process's internal TLS: its role and both ends' configurations.
#[derive(Clone)]
pub struct InternalTls {
    pub role: PeerRole,
    pub server: Arc<ServerConfig>,
    pub client: Arc<ClientConfig>,
}

impl std::fmt::Debug for InternalTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InternalTls")
            .field("role", &self.role)
            .finish()
    }
}

impl InternalTls {
    /// Loads the files `paths` names; the certificate must name exactly one
    /// role (checked against the CA first).
    pub fn load(paths: &TlsPaths) -> Result<Self, TlsError> {
        let mut roots = RootCertStore::empty();
        for c in read_certs(&paths.ca)? {
            roots.add(c)?;
        }
        let roots = Arc::new(roots);
        let certs = read_certs(&paths.cert)?;
        let key = read_key(&paths.key)?;
        let server_verifier =
            WebPkiServerVerifier::builder_with_provider(roots.clone(), provider())
                .build()
                .map_err(|e| TlsError::Invalid(e.to_string()))?;
        let role = own_role(&certs, &paths.cert, &server_verifier)?;
        let client_verifier = WebPkiClientVerifier::builder_with_provider(roots, provider())
            .build()
            .map_err(|e| TlsError::Invalid(e.to_string()))?;
        let mut server = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(client_verifier)
            .with_single_cert(certs.clone(), key.clone_key())?;
        server.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
        server.ignore_client_order = true;
        let mut client = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(RoleVerifier {
                inner: server_verifier,
            }))
            .with_client_auth_cert(certs, key)?;
        client.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
        Ok(Self {
            role,
            server: Arc::new(server),
            client: Arc::new(client),
        })
    }
}

/// The one role `certs` (a chain, leaf first) names, verified against the CA.
fn own_role(
    certs: &[CertificateDer<'static>],
    path: &Path,
    verifier: &WebPkiServerVerifier,
) -> Result<PeerRole, TlsError> {
    let roles = PeerRole::of_certificate(&certs[0]);
    let [role] = roles[..] else {
        return Err(TlsError::Invalid(format!(
            "{} names {} cairn roles; a role certificate from `cairn admin cert issue` names one",
            path.display(),
            roles.len()
        )));
    };
    verifier
        .verify_server_cert(
            &certs[0],
            &certs[1..],
            &role.server_name(),
            &[],
            UnixTime::now(),
        )
        .map_err(|e| {
            TlsError::Invalid(format!(
                "{} is not valid under the cluster CA: {e}",
                path.display()
            ))
        })?;
    Ok(role)
}

/// Verifies a server's certificate against the cluster CA and requires it
/// to name a serving role, whatever host name the connection used.
#[derive(Debug)]
struct RoleVerifier {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for RoleVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut last = rustls::Error::General("no serving role".into());
        for role in SERVING_ROLES {
            match self.inner.verify_server_cert(
                end_entity,
                intermediates,
                &role.server_name(),
                ocsp_response,
                now,
            ) {
                Ok(v) => return Ok(v),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
#[path = "internal_tests.rs"]
mod tests;
