//! `cairn server`: every role of a cluster inside one process — one meta
//! voter (or a group of several, `--meta-voters N`), one or more storage
//! nodes and one gateway — each on its own listener and talking to the others
//! over the internal transport, exactly as separate processes would. Nothing
//! needs configuring: internal ports are picked freely, and a root access key
//! is created at first start. The cluster secret and the voters' addresses
//! are kept in `DATA_DIR/cluster.toml`, which `cairn admin` reads.

pub mod tls;
pub mod voters;

use crate::roles;
use anyhow::Context;
use cairn_meta::MetaNode;
use cairn_placement::DEFAULT_PARTITIONS;
use cairn_rpc::meta_reads as reads;
use cairn_rpc::sealed::ClusterKey;
use cairn_rpc::tls::PeerRole;
use cairn_rpc::{MetaClient, MetaCommand};
use cairn_types::access::{ALL_BUCKETS, Grant};
use cairn_types::config::Config;
use cairn_types::{AccessKey, now_millis};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use voters::{ClusterFile, voter_config};

/// Name of the access key created at first start.
pub const ROOT_KEY_NAME: &str = "root";

/// What `cairn server` needs to start; everything else has a default.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Root of all persistent state (meta RocksDB, shard files).
    pub data_dir: PathBuf,
    /// Where the S3 endpoint listens; port 0 picks a free port.
    pub s3_addr: SocketAddr,
    /// Where the gateway's admin address (`/metrics`, detailed `/health`)
    /// listens; port 0 picks a free port.
    pub admin_addr: SocketAddr,
    /// Root access key to use (created if absent); random on first start when None.
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    /// Everything else (data path bounds, raft timings, internal addresses).
    pub config: Config,
    /// Storage nodes to run (ids 1..=nodes).
    pub nodes: usize,
    /// Zones the nodes are spread over, round-robin.
    pub zones: usize,
    /// Meta voters to run (ids 1..=meta_voters); fixed when the data dir is created.
    pub meta_voters: usize,
    /// Serve S3 over HTTPS with a certificate made in `DATA_DIR/tls` (unless
    /// `s3.tls_cert` names one).
    pub tls: bool,
}

impl ServerOptions {
    pub fn new(data_dir: impl Into<PathBuf>, s3_addr: SocketAddr) -> Self {
        let config = Config::default();
        Self {
            data_dir: data_dir.into(),
            s3_addr,
            admin_addr: config.s3.admin_addr,
            access_key: None,
            secret_key: None,
            config,
            nodes: 1,
            zones: 1,
            meta_voters: 1,
            tls: false,
        }
    }
}

/// A started in-process cluster.
pub struct RunningServer {
    /// The address the S3 endpoint actually listens on.
    pub s3_addr: SocketAddr,
    /// The address the admin endpoint (`/metrics`, detailed `/health`) listens on.
    pub admin_addr: SocketAddr,
    pub access_key: String,
    pub secret_key: String,
    /// `DATA_DIR/cluster.toml`: the cluster secret and the voters, for `cairn admin`.
    pub cluster_file: PathBuf,
    /// Whether S3 is served over HTTPS.
    pub https: bool,
    /// Whether this start created the root key (its secret is printed then only).
    pub root_key_created: bool,
    /// `DATA_DIR/root-credentials` (0600): the root key pair.
    pub root_credentials: PathBuf,
    /// The cluster CA certificate (S3 clients verify a `--tls` endpoint with it).
    pub ca_file: PathBuf,
    stop: CancellationToken,
    servers: Vec<JoinHandle<()>>,
    meta: Vec<MetaNode>,
}

impl RunningServer {
    /// `http(s)://HOST:PORT` of the S3 endpoint.
    pub fn endpoint(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.s3_addr)
    }

    /// `http://HOST:PORT` of the admin endpoint.
    pub fn admin_endpoint(&self) -> String {
        format!("http://{}", self.admin_addr)
    }

    /// Stops every role, flushes and closes the stores; the data dir can be reopened afterwards.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.stop.cancel();
        for s in self.servers {
            s.await.context("a server task panicked")?;
        }
        for voter in self.meta {
            voter.shutdown().await;
        }
        Ok(())
    }
}

/// File in the data dir keeping the root key pair (mode 0600).
pub const ROOT_CREDENTIALS_FILE: &str = "root-credentials";

/// Makes sure the root key exists: the given one, the stored one, or a new
/// random one; with whether it was created now. The root key holds a grant
/// on every bucket. A pair given in place of a stored root key replaces it:
/// the old root key is deleted, so there is one root key, not two.
pub async fn ensure_root_key(
    meta: &MetaClient,
    sealer: &ClusterKey,
    access: Option<String>,
    secret: Option<String>,
) -> anyhow::Result<(AccessKey, bool)> {
    let open = |k: &AccessKey| -> anyhow::Result<AccessKey> {
        let secret_key = sealer.open(&k.secret_key).map_err(anyhow::Error::msg)?;
        Ok(AccessKey {
            secret_key,
            ..k.clone()
        })
    };
    let keys = meta
        .read(reads::ListAccessKeys {})
        .await
        .context("reading access keys")?
        .iter()
        .map(open)
        .collect::<anyhow::Result<Vec<_>>>()
        .context("opening the stored keys (is this the cluster key?)")?;
    let wanted = match (access, secret) {
        (Some(a), Some(s)) => Some((a, s)),
        (None, None) => None,
        _ => anyhow::bail!("CAIRN_ACCESS_KEY and CAIRN_SECRET_KEY must be given together"),
    };
    let stored = keys.iter().find(|k| k.name == ROOT_KEY_NAME);
    let (key, created) = match wanted {
        Some((a, s)) => match keys.iter().find(|k| k.access_key_id == a) {
            Some(k) if k.secret_key == s => (k.clone(), false),
            _ => (root_key(a, s), true),
        },
        None => match stored {
            Some(k) => (k.clone(), false),
            None => {
                let (a, s) = crate::secrets::new_key_pair();
                (root_key(a, s), true)
            }
        },
    };
    if created {
        if let Some(old) = stored.filter(|old| old.access_key_id != key.access_key_id) {
            tracing::warn!(old = %old.access_key_id, new = %key.access_key_id, "the given root key replaces the stored one");
            meta.write(&MetaCommand::DeleteAccessKey {
                access_key_id: old.access_key_id.clone(),
            })
            .await
            .context("deleting the replaced root key")?;
        }
        let sealed = AccessKey {
            secret_key: sealer.seal(&key.secret_key).map_err(anyhow::Error::msg)?,
            ..key.clone()
        };
        meta.write(&MetaCommand::PutAccessKey(sealed))
            .await
            .context("storing the root access key")?;
    }
    // Always (a root key made by an older build has no grant yet).
    meta.write(&MetaCommand::SetGrant {
        access_key_id: key.access_key_id.clone(),
        bucket: ALL_BUCKETS.into(),
        grant: Some(Grant::FULL),
    })
    .await
    .context("granting the root key every bucket")?;
    Ok((key, created))
}

fn root_key(access_key_id: String, secret_key: String) -> AccessKey {
    AccessKey {
        access_key_id,
        secret_key,
        name: ROOT_KEY_NAME.into(),
        created: now_millis(),
    }
}

/// Writes the root key pair to `DATA_DIR/root-credentials` (0600) when it
/// was just created or the file is missing.
fn keep_root_credentials(
    data_dir: &Path,
    key: &AccessKey,
    created: bool,
) -> anyhow::Result<PathBuf> {
    let path = data_dir.join(ROOT_CREDENTIALS_FILE);
    if created || !path.exists() {
        let text = format!(
            "# The root access key of this cairn server (full access to every bucket).\n\
             AWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={}\n",
            key.access_key_id, key.secret_key
        );
        cairn_rpc::tls::files::write_private(&path, text.as_bytes())?;
    }
    Ok(path)
}

/// Starts meta, the storage nodes and a gateway in this process and returns
/// once S3 answers.
pub async fn start(opts: ServerOptions) -> anyhow::Result<RunningServer> {
    let mut config = opts.config.clone();
    config.validate()?;
    anyhow::ensure!(
        opts.nodes >= 1 && opts.zones >= 1 && opts.meta_voters >= 1,
        "--nodes, --zones and --meta-voters must be at least 1"
    );
    anyhow::ensure!(
        config.cluster.meta_voters.is_empty(),
        "cairn server runs its own meta voters; remove cluster.meta_voters"
    );
    crate::data_dir::ensure_private_dir(&opts.data_dir)
        .with_context(|| format!("cannot create {}", opts.data_dir.display()))?;
    let data_dir = opts.data_dir.as_path();
    let mut cluster = ClusterFile::load_or_create(data_dir, opts.meta_voters, &config)?;
    config.cluster.secret = cluster.secret.clone();
    tls::ensure_material(data_dir)?;
    config.cluster.key_file = tls::cluster_key_path(data_dir);
    let sealer = cairn_rpc::sealed::ClusterKey::load(&config.cluster.key_file)?;
    if opts.tls && config.s3.tls_cert.as_os_str().is_empty() {
        let (cert, key) = tls::ensure_s3_cert(data_dir, opts.s3_addr)?;
        config.s3.tls_cert = cert;
        config.s3.tls_key = key;
    }
    let as_role = |c: &Config, role| tls::for_role(c, data_dir, role);
    let client = |c: &Config, role| roles::rpc_client(&as_role(c, role), role);
    cluster.tls = as_role(&config, PeerRole::Admin).tls;
    cluster.key_file = config.cluster.key_file.clone();
    let stop = CancellationToken::new();
    let mut servers = Vec::new();

    let mut voters = Vec::new();
    for id in 1..=opts.meta_voters as u64 {
        let voter = as_role(&voter_config(&config, &cluster, id), PeerRole::Meta);
        let role = roles::start_meta(
            &voter,
            &ClusterFile::voter_db_dir(data_dir, id),
            roles::rpc_client(&voter, PeerRole::Meta)?,
            stop.clone(),
        )
        .await?;
        servers.push(role.task);
        voters.push((role.node, role.addr));
    }
    // A single voter listens on a fresh port each start; record where.
    cluster.record_addrs(voters.iter().map(|(_, addr)| addr.to_string()));
    cluster.save(data_dir)?;
    voters[0].0.wait_for_leader(roles::LEADER_WAIT).await?;
    let voter_addrs: Vec<String> = voters.iter().map(|(_, addr)| addr.to_string()).collect();
    // What this process does as the operator (the layout, the root key).
    let admin_meta = MetaClient::new(client(&config, PeerRole::Admin)?, voter_addrs.clone());

    // Storage nodes: ids 1..=N, zones assigned round-robin, each with its own directory.
    for i in 0..opts.nodes {
        let mut node_config = as_role(&config, PeerRole::Node);
        node_config.node.id = i as u64 + 1;
        if opts.zones > 1 {
            node_config.node.zone = format!("zone-{}", i % opts.zones + 1);
        }
        let dir = data_dir.join(format!("node-{}", node_config.node.id));
        let node_meta = MetaClient::new(
            roles::rpc_client(&node_config, PeerRole::Node)?,
            voter_addrs.clone(),
        );
        let (_, task) = roles::start_node(&node_config, &dir, &node_meta, stop.clone()).await?;
        servers.push(task);
    }

    // The process's own nodes go in the layout (the first start applies
    // it; a later start with more nodes adds them, and their share of the
    // stored data moves to them in the background).
    let ids: Vec<u64> = (1..=opts.nodes as u64).collect();
    match crate::admin::ensure_in_layout(&admin_meta, &ids, DEFAULT_PARTITIONS).await {
        Ok(Some(layout)) => tracing::info!(epoch = layout.epoch, nodes = ?ids, "layout applied"),
        Ok(None) => {}
        Err(e) => tracing::warn!(
            nodes = ?ids,
            "not every storage node of this process is in the layout: {e:#}"
        ),
    }

    let (root, root_key_created) = ensure_root_key(
        &admin_meta,
        &sealer,
        opts.access_key.clone(),
        opts.secret_key.clone(),
    )
    .await?;
    let root_credentials = keep_root_credentials(data_dir, &root, root_key_created)?;
    let gateway_rpc = client(&config, PeerRole::Gateway)?;
    let gateway = roles::start_gateway(
        &config,
        opts.s3_addr,
        opts.admin_addr,
        MetaClient::new(gateway_rpc.clone(), voter_addrs),
        gateway_rpc,
        stop.clone(),
    )
    .await?;
    servers.push(gateway.task);
    let (s3_addr, admin_addr) = (gateway.addr, gateway.admin_addr);
    tracing::info!(%s3_addr, %admin_addr, meta_voters = opts.meta_voters, nodes = opts.nodes, "cairn server started");
    Ok(RunningServer {
        s3_addr,
        admin_addr,
        access_key: root.access_key_id,
        secret_key: root.secret_key,
        cluster_file: ClusterFile::path(data_dir),
        https: !config.s3.tls_cert.as_os_str().is_empty(),
        root_key_created,
        root_credentials,
        ca_file: cairn_rpc::tls::TlsPaths::in_dir(&tls::tls_dir(data_dir), "-").ca,
        stop,
        servers,
        meta: voters.into_iter().map(|(node, _)| node).collect(),
    })
}
