//! `cairn admin ca init` and `cairn admin cert issue`: the cluster CA and
//! the role certificates of a multi-process cluster, made on the machine
//! that keeps the CA key (no running cluster needed). Each process then
//! names the CA certificate, its own certificate and key in `[tls]`.
//! `cairn server` and `deploy/local/cluster.sh` do this themselves.

use cairn_rpc::sealed::{CLUSTER_KEY_FILE, ClusterKey};
use cairn_rpc::tls::ca::{CA_CERT_FILE, CA_KEY_FILE, CERT_VALID_DAYS};
use cairn_rpc::tls::{ClusterCa, PeerRole};
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum AdminCaCommand {
    /// Make a new cluster CA in DIR: ca.pem (give it to every process) and
    /// ca.key (mode 0600; keep it where certificates are issued, nowhere
    /// else); and the cluster key (cluster.key, 0600) that seals access key
    /// secrets, for gateways and cairn admin. Refuses to overwrite a CA.
    Init {
        /// Directory for the CA (created 0700).
        #[arg(long)]
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum AdminCertCommand {
    /// Issue a certificate for one role (meta, node, gateway or admin),
    /// signed by the CA in --ca-dir: writes NAME.pem and NAME.key (0600)
    /// into --out. The role is in the certificate: internal endpoints serve
    /// only the roles they name (see docs/security.md).
    Issue {
        /// meta, node, gateway or admin.
        #[arg(long, value_parser = parse_role)]
        role: PeerRole,
        /// The holder's name (file names and the certificate's common name).
        #[arg(long)]
        name: String,
        /// Directory of the CA (`cairn admin ca init --dir`).
        #[arg(long)]
        ca_dir: PathBuf,
        /// Where to write the certificate and key [default: --ca-dir].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Days the certificate is valid.
        #[arg(long, default_value_t = CERT_VALID_DAYS)]
        days: i64,
    },
}

fn parse_role(s: &str) -> Result<PeerRole, String> {
    PeerRole::parse(s).ok_or_else(|| format!("{s:?} is not a role (meta, node, gateway, admin)"))
}

/// Runs `ca init`; the text to print.
pub fn run_ca(command: AdminCaCommand) -> anyhow::Result<String> {
    let AdminCaCommand::Init { dir } = command;
    ClusterCa::init(&dir)?;
    let key = dir.join(CLUSTER_KEY_FILE);
    ClusterKey::create(&key)?;
    Ok(format!(
        "cluster CA made: {} (give it to every process as tls.ca) and {} (keep it private)\n\
         cluster key made: {} (give it to gateways and cairn admin as cluster.key_file)",
        dir.join(CA_CERT_FILE).display(),
        dir.join(CA_KEY_FILE).display(),
        key.display()
    ))
}

/// Runs `cert issue`; the text to print.
pub fn run_cert(command: AdminCertCommand) -> anyhow::Result<String> {
    let AdminCertCommand::Issue {
        role,
        name,
        ca_dir,
        out,
        days,
    } = command;
    anyhow::ensure!(
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
        "--name must be letters, digits, '-', '_' or '.'"
    );
    let ca = ClusterCa::load(&ca_dir)?;
    let out = out.unwrap_or(ca_dir);
    cairn_rpc::tls::files::private_dir(&out)?;
    let (cert, key) = ca.issue(role, &name, days)?.write(&out, &name)?;
    Ok(format!(
        "{role} certificate for {name}: tls.cert = {}, tls.key = {}",
        cert.display(),
        key.display()
    ))
}
