//! Starting a cluster of `cairn` processes on loopback: one config file per
//! process (written from the typed `Config`, with the builder's overrides),
//! voters first, then nodes (each binding a port of its own), then the
//! gateway; then the wait for health and the layout an operator applies.

use crate::builder::ClusterBuilder;
use crate::cluster::{Cluster, Root};
use crate::process::{ProcessGuard, cairn_bin, free_port};
use crate::spec::{CLUSTER_SECRET, LOG_DIR, Role, TLS_DIR, zone_of};
use anyhow::Context;
use cairn_rpc::tls::ca::CERT_VALID_DAYS;
use cairn_rpc::tls::{ClusterCa, PeerRole, TlsPaths};
use cairn_types::config::{Config, VoterAddr};
use cairn_types::tls_config::TlsConfig;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Log level of the processes (their stderr goes to the log files).
const PROCESS_LOG_LEVEL: &str = "error";

/// Writes every config, starts the processes and waits until the cluster is healthy.
pub(crate) fn start_processes(b: ClusterBuilder) -> anyhow::Result<Cluster> {
    anyhow::ensure!(
        b.voters >= 1 && b.nodes >= 1,
        "a cluster needs a voter and a node"
    );
    let root = Root::new(b.data_dir.clone())?;
    std::fs::create_dir_all(root.path().join(LOG_DIR))?;
    let s3_port = free_port();
    let admin_port = free_port();
    let all: Vec<VoterAddr> = (0..b.voters + b.spare_voters)
        .map(|i| VoterAddr {
            id: i as u64 + 1,
            addr: format!("127.0.0.1:{}", free_port()),
        })
        .collect();
    let base = |name: &str, voters: &[VoterAddr]| {
        let mut c = Config {
            data_dir: root.path().join(name),
            ..Config::default()
        };
        c.s3.addr = SocketAddr::from(([127, 0, 0, 1], s3_port));
        c.s3.admin_addr = SocketAddr::from(([127, 0, 0, 1], admin_port));
        c.cluster.secret = CLUSTER_SECRET.into();
        c.cluster.meta_voters = voters.to_vec();
        c
    };
    // The operator's first steps: a cluster CA, a certificate per process.
    let tls_dir = root.path().join(TLS_DIR);
    let ca = ClusterCa::init(&tls_dir)?;
    let cluster_key = tls_dir.join(cairn_rpc::sealed::CLUSTER_KEY_FILE);
    cairn_rpc::sealed::ClusterKey::create(&cluster_key)?;
    let issue = |name: &str, role: PeerRole| -> anyhow::Result<TlsConfig> {
        ca.issue(role, name, CERT_VALID_DAYS)?
            .write(&tls_dir, name)?;
        let paths = TlsPaths::in_dir(&tls_dir, name);
        Ok(TlsConfig {
            internal: true,
            ca: paths.ca,
            cert: paths.cert,
            key: paths.key,
        })
    };
    let mut configs = BTreeMap::new();
    let mut write = |name: &str, role: Role, mut c: Config| -> anyhow::Result<()> {
        c.tls = issue(name, role.peer_role())?;
        if role == Role::Gateway {
            c.cluster.key_file = cluster_key.clone();
        }
        b.apply(Some(role), name, &mut c);
        let path = root.path().join(format!("{name}.toml"));
        write_config(&path, &c).with_context(|| format!("config of {name}"))?;
        configs.insert(name.to_owned(), (role, path));
        Ok(())
    };
    for v in &all {
        // A spare's voter list names every voter, itself included.
        let initial = v.id as usize <= b.voters;
        let name = format!("meta-{}", v.id);
        let mut c = base(&name, if initial { &all[..b.voters] } else { &all });
        c.meta.id = v.id;
        c.meta.addr = v.addr.parse()?;
        write(&name, Role::Meta, c)?;
    }
    for n in 1..=b.nodes {
        let name = format!("node-{n}");
        let mut c = base(&name, &all[..b.voters]);
        c.node.id = n as u64;
        // Port 0: each node binds a port of its own and registers the address
        // it got (a port picked here and released could be taken by someone's
        // outgoing connection before the node binds).
        c.node.addr = SocketAddr::from(([127, 0, 0, 1], 0));
        if let Some(zone) = zone_of(n, b.zones) {
            c.node.zone = zone;
        }
        write(&name, Role::Node, c)?;
    }
    write("gateway", Role::Gateway, base("gateway", &all[..b.voters]))?;
    // `cairn admin` runs with the gateway's settings and an admin certificate.
    let admin_config = root.path().join("admin.toml");
    let mut admin = base("gateway", &all[..b.voters]);
    b.apply(Some(Role::Gateway), "gateway", &mut admin);
    admin.tls = issue("admin", PeerRole::Admin)?;
    admin.cluster.key_file = cluster_key.clone();
    write_config(&admin_config, &admin).context("the admin config")?;
    let mut cluster = Cluster {
        procs: ProcessGuard::new(),
        server: None,
        in_process: false,
        configs,
        endpoint: format!("http://127.0.0.1:{s3_port}"),
        admin_endpoint: format!("http://127.0.0.1:{admin_port}"),
        access_key: b.access_key.clone(),
        secret_key: b.secret_key.clone(),
        secret: CLUSTER_SECRET.into(),
        tls_dir,
        kit_tls: Default::default(),
        voters: all,
        initial_voters: b.voters,
        admin_config,
        nodes: b.nodes,
        zones: b.zones,
        root,
    };
    let initial: Vec<String> = cluster
        .configs
        .keys()
        .filter(|name| !cluster.is_spare(name))
        .cloned()
        .collect();
    // Voters first, then nodes, then the gateway (names sort that way but
    // for "gateway"; order them explicitly).
    for role in [Role::Meta, Role::Node, Role::Gateway] {
        let names: Vec<&String> = initial
            .iter()
            .filter(|n| cluster.configs[*n].0 == role)
            .collect();
        for name in names {
            cluster.spawn_process(name);
        }
    }
    let healthy = format!("ok: {} storage node(s), 0 down", b.nodes);
    cluster
        .poll_health(&healthy, b.start_timeout)
        .map_err(anyhow::Error::msg)?;
    // The kit's root key, as an operator makes it.
    let out = cluster.admin_with_env(
        &["key", "create", "root", "--root"],
        &[
            ("CAIRN_ACCESS_KEY", &b.access_key),
            ("CAIRN_SECRET_KEY", &b.secret_key),
        ],
    );
    anyhow::ensure!(
        out.status.success(),
        "cairn admin key create failed: {out:?}"
    );
    let in_layout = b.layout_nodes.unwrap_or(b.nodes).min(b.nodes);
    let ids: Vec<u64> = (1..=in_layout as u64).collect();
    cluster.apply_layout(&ids)?;
    Ok(cluster)
}

/// Writes `config` as TOML to `path`.
pub(crate) fn write_config(path: &Path, config: &Config) -> anyhow::Result<()> {
    config.validate()?;
    std::fs::write(path, toml::to_string(config)?)?;
    Ok(())
}

impl Cluster {
    /// Whether `name` is a spare voter (written, not started with the cluster).
    fn is_spare(&self, name: &str) -> bool {
        self.voters[self.initial_voters..]
            .iter()
            .any(|v| name == format!("meta-{}", v.id))
    }

    /// The role and config file of process `name`.
    pub(crate) fn config_of(&self, name: &str) -> (Role, PathBuf) {
        assert!(
            !self.in_process,
            "an in-process cluster has no process {name}"
        );
        self.configs
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("no process {name} in this cluster"))
    }

    /// Starts process `name` from its config; stderr goes to its log file.
    pub(crate) fn spawn_process(&mut self, name: &str) {
        let (role, config) = self.config_of(name);
        let log_path = self.dir().join(LOG_DIR).join(format!("{name}.log"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap_or_else(|e| panic!("open {}: {e}", log_path.display()));
        let mut cmd = Command::new(cairn_bin());
        cmd.arg(role.command())
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", PROCESS_LOG_LEVEL)
            .env_remove("CAIRN_ACCESS_KEY")
            .env_remove("CAIRN_SECRET_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        self.procs.spawn(name, &mut cmd);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_config_reads_back_the_same() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("node-2.toml");
        let mut c = Config {
            data_dir: dir.path().join("node-2"),
            ..Config::default()
        };
        c.cluster.secret = CLUSTER_SECRET.into();
        c.cluster.meta_voters = vec![VoterAddr {
            id: 1,
            addr: "127.0.0.1:7001".into(),
        }];
        c.node.id = 2;
        c.node.zone = zone_of(2, 3).expect("a zone");
        write_config(&path, &c).expect("write");
        assert_eq!(Config::from_file(&path).expect("read"), c);
        assert_eq!(c.node.zone, "zone-2");
        assert_eq!(zone_of(4, 3).as_deref(), Some("zone-1"));
        assert_eq!(zone_of(4, 1), None);
    }
}
