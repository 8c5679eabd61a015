//! The meta voters of `cairn server` and the file that keeps them stable:
//! `DATA_DIR/cluster.toml` holds the cluster secret and every voter's id and
//! internal address. Raft membership stores voter addresses, so a group of
//! several voters must find its peers at the same addresses after a restart;
//! the file is also a valid config for `cairn admin --config`. The number of
//! voters is fixed when the data dir is created.

use crate::secrets::random_string;
use anyhow::Context;
use cairn_types::config::{ClusterConfig, Config, VoterAddr};
use cairn_types::tls_config::TlsConfig;
use serde::Serialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Name of the file inside the data dir.
pub const CLUSTER_FILE_NAME: &str = "cluster.toml";
/// Length of a generated cluster secret.
const CLUSTER_SECRET_LEN: usize = 40;

/// The voters and the secret of an in-process cluster.
#[derive(Debug, Clone)]
pub struct ClusterFile {
    pub secret: String,
    pub voters: Vec<VoterAddr>,
    /// The admin certificate `cairn admin --config` uses.
    pub tls: TlsConfig,
    /// The cluster key `cairn admin key create` seals secrets with.
    pub key_file: PathBuf,
}

#[derive(Serialize)]
struct FileBody<'a> {
    cluster: &'a ClusterConfig,
    tls: &'a TlsConfig,
}

impl ClusterFile {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(CLUSTER_FILE_NAME)
    }

    /// Where voter `id` keeps its database (voter 1 in `meta`, as a
    /// single-voter server always has).
    pub fn voter_db_dir(data_dir: &Path, id: u64) -> PathBuf {
        match id {
            1 => data_dir.join("meta"),
            _ => data_dir.join(format!("meta-{id}")),
        }
    }

    /// Reads the file of an existing data dir (checking it was made for
    /// `voters` voters), or makes a new one: fresh ports on `config.meta.addr`'s
    /// host for a group, the configured address for a single voter.
    pub fn load_or_create(data_dir: &Path, voters: usize, config: &Config) -> anyhow::Result<Self> {
        let path = Self::path(data_dir);
        let mut file = if path.exists() {
            let stored = Config::from_file(&path)?;
            let found = stored.cluster.meta_voters.len();
            anyhow::ensure!(
                found == voters,
                "{} was created with {found} meta voter(s); start it with --meta-voters {found}",
                data_dir.display()
            );
            Self {
                secret: stored.cluster.secret,
                voters: stored.cluster.meta_voters,
                tls: stored.tls,
                key_file: stored.cluster.key_file,
            }
        } else {
            anyhow::ensure!(
                voters == 1 || !Self::voter_db_dir(data_dir, 1).exists(),
                "{} holds a single-voter meta group; start it without --meta-voters",
                data_dir.display()
            );
            Self {
                secret: String::new(),
                voters: new_voter_addrs(voters, config.meta.addr)?,
                tls: TlsConfig::default(),
                key_file: PathBuf::new(),
            }
        };
        if !config.cluster.secret.is_empty() {
            file.secret = config.cluster.secret.clone();
        } else if file.secret.is_empty() {
            file.secret = random_string(CLUSTER_SECRET_LEN, false);
        }
        Ok(file)
    }

    /// A single voter listens on a fresh port at each start: record where it
    /// listens now (a group keeps its addresses).
    pub fn record_addrs(&mut self, addrs: impl Iterator<Item = String>) {
        if self.voters.len() == 1 {
            for (voter, addr) in self.voters.iter_mut().zip(addrs) {
                voter.addr = addr;
            }
        }
    }

    /// Writes the file durably, readable by its owner only (it holds the secret).
    pub fn save(&self, data_dir: &Path) -> anyhow::Result<()> {
        let cluster = ClusterConfig {
            meta_voters: self.voters.clone(),
            secret: self.secret.clone(),
            key_file: self.key_file.clone(),
        };
        let text = format!(
            "# Written by `cairn server`: the cluster secret, the meta voters and the\n\
             # admin certificate of this data dir. Use it with\n\
             # `cairn admin ... --config {}`.\n{}",
            Self::path(data_dir).display(),
            toml::to_string(&FileBody {
                cluster: &cluster,
                tls: &self.tls,
            })?
        );
        let path = Self::path(data_dir);
        cairn_rpc::tls::files::write_private(&path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }
}

/// Addresses for a new group: the configured one for a single voter; for
/// several, ports free right now on the configured host.
fn new_voter_addrs(voters: usize, base: SocketAddr) -> anyhow::Result<Vec<VoterAddr>> {
    if voters == 1 {
        return Ok(vec![VoterAddr {
            id: 1,
            addr: base.to_string(),
        }]);
    }
    // Hold every listener until all ports are picked, so they differ.
    let listeners = (0..voters)
        .map(|_| std::net::TcpListener::bind(SocketAddr::new(base.ip(), 0)))
        .collect::<Result<Vec<_>, _>>()
        .context("picking ports for the meta voters")?;
    listeners
        .iter()
        .enumerate()
        .map(|(i, l)| {
            Ok(VoterAddr {
                id: i as u64 + 1,
                addr: l.local_addr()?.to_string(),
            })
        })
        .collect()
}

/// The config voter `id` runs with. A single voter keeps the plain
/// single-voter setup (no voter list: it forms a group of itself); voters of
/// a group know each other, and accept fault injection so that failover can
/// be tried locally with `cairn admin meta isolate`.
pub fn voter_config(config: &Config, cluster: &ClusterFile, id: u64) -> Config {
    let mut voter = config.clone();
    voter.meta.id = id;
    voter.cluster.secret = cluster.secret.clone();
    if cluster.voters.len() > 1 {
        voter.cluster.meta_voters = cluster.voters.clone();
        voter.meta.fault_injection = true;
        if let Some(addr) = cluster
            .voters
            .iter()
            .find(|v| v.id == id)
            .and_then(|v| v.addr.parse().ok())
        {
            voter.meta.addr = addr;
        }
    }
    voter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_keeps_its_addresses_and_secret_across_restarts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config::default();
        let first = ClusterFile::load_or_create(dir.path(), 3, &config).expect("create");
        assert_eq!(first.voters.len(), 3);
        let mut addrs: Vec<_> = first.voters.iter().map(|v| v.addr.clone()).collect();
        addrs.dedup();
        assert_eq!(addrs.len(), 3, "distinct ports");
        first.save(dir.path()).expect("save");
        let again = ClusterFile::load_or_create(dir.path(), 3, &config).expect("load");
        assert_eq!(again.voters, first.voters);
        assert_eq!(again.secret, first.secret);
        let err = ClusterFile::load_or_create(dir.path(), 1, &config).expect_err("count fixed");
        assert!(err.to_string().contains("--meta-voters 3"), "{err}");
        // The file is a config `cairn admin` can use.
        let as_config = Config::from_file(&ClusterFile::path(dir.path())).expect("valid config");
        assert_eq!(as_config.cluster.meta_voters, first.voters);
        let v2 = voter_config(&config, &again, 2);
        assert_eq!(v2.meta.id, 2);
        assert!(v2.meta.fault_injection);
        assert_eq!(v2.meta.addr.to_string(), first.voters[1].addr);
    }

    #[test]
    fn a_single_voter_data_dir_cannot_become_a_group_by_accident() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(ClusterFile::voter_db_dir(dir.path(), 1)).expect("mkdir");
        let err =
            ClusterFile::load_or_create(dir.path(), 3, &Config::default()).expect_err("refused");
        assert!(err.to_string().contains("single-voter"), "{err}");
        let single = ClusterFile::load_or_create(dir.path(), 1, &Config::default()).expect("ok");
        let v1 = voter_config(&Config::default(), &single, 1);
        assert!(v1.cluster.meta_voters.is_empty() && !v1.meta.fault_injection);
    }
}
