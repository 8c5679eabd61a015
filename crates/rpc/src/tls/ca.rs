//! The cluster certificate authority: `cairn admin ca init` makes one (a
//! self-signed ECDSA P-256 certificate and its key, the key `0600`), and
//! `cairn admin cert issue` signs a certificate for one role with it.
//! `cairn server` does both itself in `DATA_DIR/tls`. A role certificate is
//! good for both ends of a connection (server and client auth), names its
//! role (`PeerRole::dns_name`) and its holder (the common name).

use super::TlsError;
use super::files::{write_private, write_public};
use super::role::PeerRole;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

/// Common name of every cluster CA (issued certificates name it as issuer).
pub const CA_COMMON_NAME: &str = "cairn cluster CA";
/// File names of the CA inside its directory.
pub const CA_CERT_FILE: &str = "ca.pem";
pub const CA_KEY_FILE: &str = "ca.key";
/// Years a new CA is valid.
pub const CA_VALID_YEARS: i64 = 20;
/// Days an issued certificate is valid unless told otherwise.
pub const CERT_VALID_DAYS: i64 = 3650;
/// How far back an issued certificate's validity starts, so a peer whose
/// clock runs behind still accepts it.
pub const CLOCK_SLACK: Duration = Duration::days(1);

/// A certificate and its private key, PEM.
#[derive(Debug, Clone)]
pub struct IssuedCert {
    pub cert_pem: String,
    pub key_pem: String,
}

impl IssuedCert {
    /// Writes `NAME.pem` (0644) and `NAME.key` (0600) into `dir`; returns both paths.
    pub fn write(&self, dir: &Path, name: &str) -> Result<(PathBuf, PathBuf), TlsError> {
        let cert = dir.join(format!("{name}.pem"));
        let key = dir.join(format!("{name}.key"));
        write_public(&cert, self.cert_pem.as_bytes())?;
        write_private(&key, self.key_pem.as_bytes())?;
        Ok((cert, key))
    }
}

/// A loaded cluster CA that can issue certificates.
pub struct ClusterCa {
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
}

fn ca_params() -> Result<CertificateParams, TlsError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_COMMON_NAME);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(params)
}

impl ClusterCa {
    /// Makes a new CA and writes it into `dir` (created `0700`); refuses to
    /// overwrite an existing one.
    pub fn init(dir: &Path) -> Result<Self, TlsError> {
        let cert_path = dir.join(CA_CERT_FILE);
        if cert_path.exists() || dir.join(CA_KEY_FILE).exists() {
            return Err(TlsError::Exists(cert_path));
        }
        super::files::private_dir(dir)?;
        let key = KeyPair::generate()?;
        let mut params = ca_params()?;
        let now = OffsetDateTime::now_utc();
        params.not_before = now - CLOCK_SLACK;
        params.not_after = now + Duration::days(365 * CA_VALID_YEARS);
        let cert = params.self_signed(&key)?;
        write_private(&dir.join(CA_KEY_FILE), key.serialize_pem().as_bytes())?;
        write_public(&cert_path, cert.pem().as_bytes())?;
        Ok(Self {
            cert_pem: cert.pem(),
            issuer: Issuer::new(ca_params()?, key),
        })
    }

    /// Loads the CA kept in `dir`.
    pub fn load(dir: &Path) -> Result<Self, TlsError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|e| TlsError::Io(path, e))
        };
        let key = KeyPair::from_pem(&read(CA_KEY_FILE)?)?;
        Ok(Self {
            cert_pem: read(CA_CERT_FILE)?,
            issuer: Issuer::new(ca_params()?, key),
        })
    }

    /// Loads the CA in `dir`, or makes one there if there is none.
    pub fn load_or_init(dir: &Path) -> Result<Self, TlsError> {
        if dir.join(CA_CERT_FILE).exists() {
            Self::load(dir)
        } else {
            Self::init(dir)
        }
    }

    /// The CA certificate, PEM (what peers and S3 clients trust).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// A certificate for `role` held by `name`, valid `days` days.
    pub fn issue(&self, role: PeerRole, name: &str, days: i64) -> Result<IssuedCert, TlsError> {
        let mut params = CertificateParams::new(vec![role.dns_name()])?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, format!("{name} ({role})"));
        params.distinguished_name = dn;
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        self.sign(params, days)
    }

    /// A server certificate for the S3 endpoint, valid for `hosts` (DNS
    /// names or IP addresses).
    pub fn issue_server(&self, hosts: &[String], days: i64) -> Result<IssuedCert, TlsError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        for h in hosts {
            params.subject_alt_names.push(match h.parse::<IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(h.clone().try_into()?),
            });
        }
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "cairn S3 endpoint");
        params.distinguished_name = dn;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.sign(params, days)
    }

    fn sign(&self, mut params: CertificateParams, days: i64) -> Result<IssuedCert, TlsError> {
        if days < 1 {
            return Err(TlsError::Invalid(
                "a certificate must be valid at least 1 day".into(),
            ));
        }
        let now = OffsetDateTime::now_utc();
        params.not_before = now - CLOCK_SLACK;
        params.not_after = now + Duration::days(days);
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(IssuedCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}
