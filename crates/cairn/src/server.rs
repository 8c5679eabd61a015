//! `cairn server`: every role of a cluster inside one process — one meta
//! voter, one storage node and one gateway — each on its own listener and
//! talking to the others over the internal transport, exactly as separate
//! processes would. Nothing needs configuring: internal ports are picked
//! freely, and a root access key is created at first start.

use anyhow::Context;
use cairn_gateway::{Gateway, GatewayOptions};
use cairn_meta::{MetaNode, MetaNodeOptions};
use cairn_node::{NodeState, ShardStore};
use cairn_rpc::{MetaClient, MetaCommand, NodeRecord, RpcClient, ShardClient};
use cairn_types::config::Config;
use cairn_types::{AccessKey, Redundancy, now_millis};
use rand::Rng;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long start-up waits for the meta group to elect a leader.
pub const LEADER_WAIT: Duration = Duration::from_secs(30);
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
    /// Root access key to use (created if absent); random on first start when None.
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    /// Everything else (data path bounds, raft timings, internal addresses).
    pub config: Config,
}

impl ServerOptions {
    pub fn new(data_dir: impl Into<PathBuf>, s3_addr: SocketAddr) -> Self {
        Self {
            data_dir: data_dir.into(),
            s3_addr,
            access_key: None,
            secret_key: None,
            config: Config::default(),
        }
    }
}

/// A started in-process cluster.
pub struct RunningServer {
    /// The address the S3 endpoint actually listens on.
    pub s3_addr: SocketAddr,
    pub access_key: String,
    pub secret_key: String,
    stop: CancellationToken,
    servers: Vec<JoinHandle<()>>,
    meta: MetaNode,
}

impl RunningServer {
    /// `http://HOST:PORT` of the S3 endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.s3_addr)
    }

    /// Stops every role, flushes and closes the stores; the data dir can be reopened afterwards.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.stop.cancel();
        for s in self.servers {
            s.await.context("a server task panicked")?;
        }
        self.meta.shutdown().await;
        drop(self.meta);
        Ok(())
    }
}

/// The process-wide Prometheus recorder (installed once).
pub fn metrics_handle() -> Option<&'static metrics_exporter_prometheus::PrometheusHandle> {
    static HANDLE: OnceLock<Option<metrics_exporter_prometheus::PrometheusHandle>> =
        OnceLock::new();
    HANDLE
        .get_or_init(|| {
            metrics_exporter_prometheus::PrometheusBuilder::new()
                .install_recorder()
                .ok()
        })
        .as_ref()
}

async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    stop: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let result = axum::serve(listener, router)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "server stopped with an error");
        }
    })
}

async fn bind(
    addr: SocketAddr,
    what: &str,
) -> anyhow::Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for {what}"))?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

fn random_string(len: usize, upper_only: bool) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| {
            let c = char::from(rng.sample(rand::distr::Alphanumeric));
            if upper_only {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

/// Makes sure the root key exists: the given one, the stored one, or a new random one.
async fn ensure_root_key(
    meta: &MetaClient,
    access: Option<String>,
    secret: Option<String>,
) -> anyhow::Result<AccessKey> {
    let keys = meta
        .list_access_keys()
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

/// Starts meta, node and gateway in this process and returns once S3 answers.
pub async fn start(opts: ServerOptions) -> anyhow::Result<RunningServer> {
    let config = opts.config.clone();
    config.validate()?;
    std::fs::create_dir_all(&opts.data_dir)
        .with_context(|| format!("cannot create {}", opts.data_dir.display()))?;
    let stop = CancellationToken::new();
    let rpc = RpcClient::new(Duration::from_secs(config.data_path.rpc_timeout_secs))?;
    let mut servers = Vec::new();

    // meta: one voter, initialised on first start.
    let (meta_listener, meta_addr) = bind(config.meta.addr, "meta").await?;
    let meta = MetaNode::start(
        MetaNodeOptions {
            config: config.meta.clone(),
            db_dir: opts.data_dir.join("meta"),
            advertise_addr: meta_addr.to_string(),
        },
        rpc.clone(),
    )
    .await?;
    servers.push(serve(meta_listener, meta.router(), stop.clone()).await);
    meta.initialize_single().await?;
    meta.wait_for_leader(LEADER_WAIT).await?;
    let meta_client = MetaClient::new(rpc.clone(), vec![meta_addr.to_string()]);

    // storage node: registers its (possibly new) address with meta.
    let (node_listener, node_addr) = bind(config.node.addr, "storage node").await?;
    let store = Arc::new(ShardStore::open(opts.data_dir.join("shards"))?);
    servers.push(
        serve(
            node_listener,
            cairn_node::router(NodeState { store }),
            stop.clone(),
        )
        .await,
    );
    let record = NodeRecord {
        id: config.node.id,
        addr: node_addr.to_string(),
        zone: config.node.zone.clone(),
        capacity: config.node.capacity_bytes,
        registered: now_millis(),
    };
    meta_client
        .write(&MetaCommand::RegisterNode(record))
        .await
        .context("registering the storage node")?;

    let root = ensure_root_key(
        &meta_client,
        opts.access_key.clone(),
        opts.secret_key.clone(),
    )
    .await?;

    // gateway.
    let gateway = Gateway::new(
        meta_client,
        ShardClient::new(rpc),
        GatewayOptions {
            data_path: config.data_path.clone(),
            region: config.s3.region.clone(),
            default_redundancy: Redundancy::Replicas(1),
            partitions: cairn_placement::DEFAULT_PARTITIONS,
        },
    );
    let render = || metrics_handle().map(|h| h.render()).unwrap_or_default();
    let (s3_listener, s3_addr) = bind(opts.s3_addr, "the S3 endpoint").await?;
    servers.push(
        serve(
            s3_listener,
            cairn_gateway::router(gateway, render),
            stop.clone(),
        )
        .await,
    );
    tracing::info!(%s3_addr, %meta_addr, %node_addr, "cairn server started");
    Ok(RunningServer {
        s3_addr,
        access_key: root.access_key_id,
        secret_key: root.secret_key,
        stop,
        servers,
        meta,
    })
}
