//! `cairn server`: every role of a cluster inside one process — one meta
//! voter (or a group of several, `--meta-voters N`), one or more storage
//! nodes and one gateway — each on its own listener and talking to the others
//! over the internal transport, exactly as separate processes would. Nothing
//! needs configuring: internal ports are picked freely, and a root access key
//! is created at first start. The cluster secret and the voters' addresses
//! are kept in `DATA_DIR/cluster.toml`, which `cairn admin` reads.

mod secrets;
pub mod voters;

use crate::roles;
use anyhow::Context;
use cairn_meta::MetaNode;
use cairn_placement::DEFAULT_PARTITIONS;
use cairn_rpc::meta_reads as reads;
use cairn_rpc::{MetaClient, MetaCommand};
use cairn_types::config::Config;
use cairn_types::{AccessKey, now_millis};
use secrets::random_string;
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use voters::{ClusterFile, voter_config};

/// Name of the access key created at first start.
pub const ROOT_KEY_NAME: &str = "root";
const ACCESS_KEY_LEN: usize = 20;
const SECRET_KEY_LEN: usize = 40;

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
    stop: CancellationToken,
    servers: Vec<JoinHandle<()>>,
    meta: Vec<MetaNode>,
}

impl RunningServer {
    /// `http://HOST:PORT` of the S3 endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.s3_addr)
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

/// Makes sure the root key exists: the given one, the stored one, or a new random one.
pub async fn ensure_root_key(
    meta: &MetaClient,
    access: Option<String>,
    secret: Option<String>,
) -> anyhow::Result<AccessKey> {
    let keys = meta
        .read(reads::ListAccessKeys {})
        .await
        .context("reading access keys")?;
    let wanted = match (access, secret) {
        (Some(a), Some(s)) => Some((a, s)),
        (None, None) => None,
        _ => anyhow::bail!("CAIRN_ACCESS_KEY and CAIRN_SECRET_KEY must be given together"),
    };
    let key = match wanted {
        Some((a, s)) => match keys.iter().find(|k| k.access_key_id == a) {
            Some(k) if k.secret_key == s => return Ok(k.clone()),
            _ => AccessKey {
                access_key_id: a,
                secret_key: s,
                name: ROOT_KEY_NAME.into(),
                created: now_millis(),
            },
        },
        None => match keys.iter().find(|k| k.name == ROOT_KEY_NAME) {
            Some(k) => return Ok(k.clone()),
            None => AccessKey {
                access_key_id: format!("CK{}", random_string(ACCESS_KEY_LEN - 2, true)),
                secret_key: random_string(SECRET_KEY_LEN, false),
                name: ROOT_KEY_NAME.into(),
                created: now_millis(),
            },
        },
    };
    meta.write(&MetaCommand::PutAccessKey(key.clone()))
        .await
        .context("storing the root access key")?;
    Ok(key)
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
    let mut cluster = ClusterFile::load_or_create(&opts.data_dir, opts.meta_voters, &config)?;
    config.cluster.secret = cluster.secret.clone();
    let stop = CancellationToken::new();
    let rpc = roles::rpc_client(&config)?;
    let mut servers = Vec::new();

    let mut voters = Vec::new();
    for id in 1..=opts.meta_voters as u64 {
        let voter = voter_config(&config, &cluster, id);
        let role = roles::start_meta(
            &voter,
            &ClusterFile::voter_db_dir(&opts.data_dir, id),
            rpc.clone(),
            stop.clone(),
        )
        .await?;
        servers.push(role.task);
        voters.push((role.node, role.addr));
    }
    // A single voter listens on a fresh port each start; record where.
    cluster.record_addrs(voters.iter().map(|(_, addr)| addr.to_string()));
    cluster.save(&opts.data_dir)?;
    voters[0].0.wait_for_leader(roles::LEADER_WAIT).await?;
    let meta_client = MetaClient::new(
        rpc.clone(),
        voters.iter().map(|(_, addr)| addr.to_string()).collect(),
    );

    // Storage nodes: ids 1..=N, zones assigned round-robin, each with its own directory.
    for i in 0..opts.nodes {
        let mut node_config = config.clone();
        node_config.node.id = i as u64 + 1;
        if opts.zones > 1 {
            node_config.node.zone = format!("zone-{}", i % opts.zones + 1);
        }
        let dir = opts.data_dir.join(format!("node-{}", node_config.node.id));
        let (_, task) = roles::start_node(&node_config, &dir, &meta_client, stop.clone()).await?;
        servers.push(task);
    }

    // The process's own nodes go in the layout (the first start applies
    // it; a later start with more nodes adds them, and their share of the
    // stored data moves to them in the background).
    let ids: Vec<u64> = (1..=opts.nodes as u64).collect();
    match crate::admin::ensure_in_layout(&meta_client, &ids, DEFAULT_PARTITIONS).await {
        Ok(Some(layout)) => tracing::info!(epoch = layout.epoch, nodes = ?ids, "layout applied"),
        Ok(None) => {}
        Err(e) => tracing::warn!(
            nodes = ?ids,
            "not every storage node of this process is in the layout: {e:#}"
        ),
    }

    let root = ensure_root_key(
        &meta_client,
        opts.access_key.clone(),
        opts.secret_key.clone(),
    )
    .await?;
    let gateway = roles::start_gateway(
        &config,
        opts.s3_addr,
        opts.admin_addr,
        meta_client,
        rpc,
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
        cluster_file: ClusterFile::path(&opts.data_dir),
        stop,
        servers,
        meta: voters.into_iter().map(|(node, _)| node).collect(),
    })
}
