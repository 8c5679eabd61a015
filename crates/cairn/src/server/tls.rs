//! The TLS material `cairn server` makes for itself in `DATA_DIR/tls` on
//! first start, so a newcomer never runs the CA commands: a cluster CA, one
//! role certificate for each role it runs (meta, node, gateway, and admin
//! for `cairn admin --config DATA_DIR/cluster.toml`), and with `--tls` a
//! certificate for the S3 endpoint (localhost and the loopback addresses,
//! plus the S3 address's own IP) that S3 clients verify with `ca.pem`; and
//! the cluster key access key secrets are sealed with (`cluster.key`).
//! Keys are `0600` in a `0700` directory; nothing is made twice.

use cairn_rpc::tls::ca::CERT_VALID_DAYS;
use cairn_rpc::tls::{ClusterCa, PeerRole, TlsPaths};
use cairn_types::config::Config;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Directory of the TLS material inside the data dir.
pub const TLS_DIR: &str = "tls";
/// File name (without extension) of the S3 endpoint's certificate.
pub const S3_CERT_NAME: &str = "s3";

/// `DATA_DIR/tls`.
pub fn tls_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(TLS_DIR)
}

/// `DATA_DIR/tls/cluster.key`: the key access key secrets are sealed with.
pub fn cluster_key_path(data_dir: &Path) -> PathBuf {
    tls_dir(data_dir).join(cairn_rpc::sealed::CLUSTER_KEY_FILE)
}

/// Makes whatever of the CA, the role certificates and the cluster key is
/// missing.
pub fn ensure_material(data_dir: &Path) -> anyhow::Result<()> {
    let dir = tls_dir(data_dir);
    let ca = ClusterCa::load_or_init(&dir)?;
    let key = cluster_key_path(data_dir);
    if !key.exists() {
        cairn_rpc::sealed::ClusterKey::create(&key)?;
    }
    for role in PeerRole::ALL {
        let paths = TlsPaths::in_dir(&dir, role.as_str());
        if !paths.cert.exists() || !paths.key.exists() {
            ca.issue(role, &format!("cairn server {role}"), CERT_VALID_DAYS)?
                .write(&dir, role.as_str())?;
        }
    }
    Ok(())
}

/// Makes the S3 certificate if missing; returns (certificate, key).
pub fn ensure_s3_cert(data_dir: &Path, s3_addr: SocketAddr) -> anyhow::Result<(PathBuf, PathBuf)> {
    let dir = tls_dir(data_dir);
    let paths = TlsPaths::in_dir(&dir, S3_CERT_NAME);
    if paths.cert.exists() && paths.key.exists() {
        return Ok((paths.cert, paths.key));
    }
    let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
    let ip = s3_addr.ip();
    if !ip.is_unspecified() && !hosts.contains(&ip.to_string()) {
        hosts.push(ip.to_string());
    }
    let ca = ClusterCa::load(&dir)?;
    Ok(ca
        .issue_server(&hosts, CERT_VALID_DAYS)?
        .write(&dir, S3_CERT_NAME)?)
}

/// `config` with the internal TLS files of `role` (when internal TLS is on).
pub fn for_role(config: &Config, data_dir: &Path, role: PeerRole) -> Config {
    let mut c = config.clone();
    if c.tls.internal {
        let paths = TlsPaths::in_dir(&tls_dir(data_dir), role.as_str());
        c.tls.ca = paths.ca;
        c.tls.cert = paths.cert;
        c.tls.key = paths.key;
    }
    c
}
