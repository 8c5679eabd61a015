//! Starting each role: a meta voter, a storage node, a gateway. `cairn
//! server` starts one of each (or several nodes) in one process; `cairn meta`,
//! `cairn node` and `cairn gateway` start one role per process. Every role
//! serves on its own listener until its stop token is cancelled.

use crate::serve::{ServeLimits, Transport, serve};
use anyhow::Context;
use cairn_gateway::{Gateway, GatewayOptions};
use cairn_meta::{MetaNode, MetaNodeOptions};
use cairn_node::{NodeState, ShardStore, Sweeper};
use cairn_rpc::ClientAuth;
use cairn_rpc::tls::{InternalTls, PeerRole, TlsPaths};
use cairn_rpc::{MetaClient, MetaCommand, NodeRecord, RpcClient, ShardClient};
use cairn_types::config::Config;
use cairn_types::now_millis;
use openraft::BasicNode;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long start-up waits for the meta group to elect a leader.
pub const LEADER_WAIT: Duration = Duration::from_secs(30);
/// Pause between attempts of a storage node to register with meta.
pub const REGISTER_RETRY: Duration = Duration::from_secs(1);

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

/// Connections one internal listener (a meta voter, a storage node) serves
/// at once.
pub const INTERNAL_MAX_CONNECTIONS: usize = 4096;
/// Header timeout of internal listeners; also how long their idle
/// keep-alive connections stay open. Longer than the internal client keeps
/// idle connections pooled (reqwest's 90 s), so the server never closes a
/// connection the client is about to reuse.
pub const INTERNAL_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(120);
/// Connections the gateway's admin address serves at once.
pub const ADMIN_MAX_CONNECTIONS: usize = 64;

/// The bounds of an internal listener: its peers are cairn processes whose
/// own requests time out after `data_path.rpc_timeout_secs`.
fn internal_limits(config: &Config) -> ServeLimits {
    ServeLimits {
        max_connections: INTERNAL_MAX_CONNECTIONS,
        header_read_timeout: INTERNAL_HEADER_READ_TIMEOUT,
        write_timeout: Duration::from_secs(config.data_path.rpc_timeout_secs),
    }
}

/// The bounds of the S3 endpoint (`[s3]` in the config).
pub fn s3_limits(config: &Config) -> ServeLimits {
    ServeLimits {
        max_connections: config.s3.max_connections,
        header_read_timeout: Duration::from_secs(config.s3.header_read_timeout_secs),
        write_timeout: Duration::from_secs(config.s3.client_write_timeout_secs),
    }
}

pub async fn bind(
    addr: SocketAddr,
    what: &str,
) -> anyhow::Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for {what}"))?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// How a process speaks to the other roles: mutual TLS with its role
/// certificate (`[tls]`), or plaintext with the cluster secret when
/// `tls.internal = false`.
#[derive(Clone)]
pub struct Internal {
    pub transport: Transport,
    pub client: ClientAuth,
}

/// The internal transport of a process that acts as `role`: its TLS
/// material must be a certificate of that role.
pub fn internal(config: &Config, role: PeerRole) -> anyhow::Result<Internal> {
    if !config.tls.internal {
        anyhow::ensure!(
            !config.cluster.secret.is_empty(),
            "tls.internal = false needs cluster.secret (internal requests carry it in clear)"
        );
        return Ok(Internal {
            transport: Transport::Plain,
            client: ClientAuth::Token(config.cluster.secret.clone()),
        });
    }
    anyhow::ensure!(
        config.tls.is_complete(),
        "tls.ca, tls.cert and tls.key must name the cluster CA and this {role}'s certificate \
         (`cairn admin ca init`, then `cairn admin cert issue --role {role}`), \
         or set tls.internal = false on a trusted network"
    );
    let paths = TlsPaths {
        ca: config.tls.ca.clone(),
        cert: config.tls.cert.clone(),
        key: config.tls.key.clone(),
    };
    let tls = InternalTls::load(&paths)?;
    anyhow::ensure!(
        tls.role == role,
        "{} is a {} certificate; this process needs a {role} certificate",
        paths.cert.display(),
        tls.role
    );
    Ok(Internal {
        transport: Transport::Mutual(tls.server.clone()),
        client: ClientAuth::Tls(tls),
    })
}

/// Every internal address also serves this process's `/metrics` (to any
/// role of the cluster), so the meta voters' and storage nodes' series are
/// there when each role runs on its own; `/health` answers anyone. With
/// TLS off, every route but `/health` requires the cluster secret.
fn protect_internal(router: axum::Router, config: &Config) -> axum::Router {
    let metrics =
        axum::routing::get(|| async { metrics_handle().map(|h| h.render()).unwrap_or_default() })
            .route_layer(cairn_rpc::auth::allow(&PeerRole::ALL));
    let router = router.route("/metrics", metrics);
    let router = if config.tls.internal {
        router
    } else {
        cairn_rpc::auth::protect(router, &config.cluster.secret)
    };
    router.route("/health", axum::routing::get(|| async { "ok" }))
}

/// The cluster key `cluster.key_file` names (None when it names none).
pub fn cluster_key(config: &Config) -> anyhow::Result<Option<cairn_rpc::sealed::ClusterKey>> {
    let path = &config.cluster.key_file;
    if path.as_os_str().is_empty() {
        return Ok(None);
    }
    Ok(Some(cairn_rpc::sealed::ClusterKey::load(path)?))
}

/// An internal client acting as `role`.
pub fn rpc_client(config: &Config, role: PeerRole) -> anyhow::Result<RpcClient> {
    client_of(config, &internal(config, role)?)
}

/// An internal client with `internal`'s credentials.
pub fn client_of(config: &Config, internal: &Internal) -> anyhow::Result<RpcClient> {
    Ok(RpcClient::new(
        Duration::from_secs(config.data_path.rpc_timeout_secs),
        &internal.client,
    )?)
}

/// A started meta voter.
pub struct MetaRole {
    pub node: MetaNode,
    pub addr: SocketAddr,
    pub task: JoinHandle<()>,
}

/// Starts a meta voter with its database in `db_dir`. With no voters
/// configured it forms a group of itself; otherwise the voter with the lowest
/// id creates the group of all configured voters on its first start.
/// Installs the metrics recorder before a role records anything (metrics
/// recorded before installation would be lost).
fn install_metrics() {
    if metrics_handle().is_none() {
        tracing::warn!("another metrics recorder is installed; /metrics will be empty");
    }
}

pub async fn start_meta(
    config: &Config,
    db_dir: &Path,
    rpc: RpcClient,
    stop: CancellationToken,
) -> anyhow::Result<MetaRole> {
    install_metrics();
    let transport = internal(config, PeerRole::Meta)?.transport;
    let (listener, addr) = bind(config.meta.addr, "meta").await?;
    let voters = &config.cluster.meta_voters;
    let advertise = match voters.iter().find(|v| v.id == config.meta.id) {
        Some(v) => v.addr.clone(),
        None if voters.is_empty() => addr.to_string(),
        None => anyhow::bail!(
            "meta.id {} is not among cluster.meta_voters",
            config.meta.id
        ),
    };
    let voter_addrs = if voters.is_empty() {
        vec![advertise.clone()]
    } else {
        voters.iter().map(|v| v.addr.clone()).collect()
    };
    let options = MetaNodeOptions {
        config: config.meta.clone(),
        db_dir: db_dir.to_path_buf(),
        advertise_addr: advertise,
        rpc_timeout: Duration::from_secs(config.data_path.rpc_timeout_secs),
    };
    let node = MetaNode::start(options, rpc.clone()).await?;
    let down_after = Duration::from_millis(config.node.down_after_ms);
    let liveness = cairn_meta::liveness::tracker(
        &node,
        down_after,
        Duration::from_millis(config.meta.quorum_wait_ms),
    );
    let repair = cairn_meta::repair::Repair::new(
        node.clone(),
        liveness.clone(),
        config.repair.clone(),
        MetaClient::new(rpc.clone(), voter_addrs.clone()),
    );
    repair.spawn(stop.clone().cancelled_owned());
    let routes = node
        .router()
        .merge(cairn_meta::liveness::routes(liveness))
        .merge(repair.routes());
    spawn_lifecycle_job(
        node.clone(),
        MetaClient::new(rpc.clone(), voter_addrs),
        Duration::from_secs(config.meta.lifecycle_interval_secs),
        stop.clone(),
    );
    let task = serve(
        listener,
        protect_internal(routes, config),
        transport,
        internal_limits(config),
        stop,
    );
    if voters.is_empty() {
        node.initialize_single().await?;
    } else if voters.iter().map(|v| v.id).min() == Some(config.meta.id) {
        let members: BTreeMap<u64, BasicNode> = voters
            .iter()
            .map(|v| {
                (
                    v.id,
                    BasicNode {
                        addr: v.addr.clone(),
                    },
                )
            })
            .collect();
        node.initialize(members).await?;
    }
    Ok(MetaRole { node, addr, task })
}

/// Runs the lifecycle job every `interval` while this voter leads, until
/// `stop`. A failed pass is logged and retried at the next interval.
fn spawn_lifecycle_job(
    node: MetaNode,
    meta: MetaClient,
    interval: Duration,
    stop: CancellationToken,
) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(interval) => {}
            }
            if !cairn_meta::lifecycle::is_leader(&node) {
                continue;
            }
            match cairn_meta::lifecycle::run_pass(&meta, now_millis()).await {
                Ok(report) if report.acted() => {
                    tracing::info!(?report, "lifecycle pass done");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "lifecycle pass failed; retrying later"),
            }
        }
    });
}

/// Starts a storage node with its shards under `shard_dir` and registers it
/// with meta, retrying until meta answers or `stop` is cancelled.
pub async fn start_node(
    config: &Config,
    shard_dir: &Path,
    meta: &MetaClient,
    stop: CancellationToken,
) -> anyhow::Result<(SocketAddr, JoinHandle<()>)> {
    install_metrics();
    let node_internal = internal(config, PeerRole::Node)?;
    let (listener, addr) = bind(config.node.addr, "storage node").await?;
    let store = Arc::new(ShardStore::open(shard_dir)?);
    let disk_id = cairn_node::heal::disk_id::load_or_create(shard_dir)?;
    let heal = Arc::new(cairn_node::heal::HealState::new(disk_id));
    let task = serve(
        listener,
        protect_internal(
            cairn_node::router(NodeState::new(store.clone(), config.repair.moves_per_node)),
            config,
        ),
        node_internal.transport.clone(),
        internal_limits(config),
        stop.clone(),
    );
    let sweeper = Arc::new(Sweeper::new(
        store.clone(),
        meta.clone(),
        &config.gc,
        config.node.id,
        config.node.clock_offset_ms,
    ));
    let gc_interval = Duration::from_secs(config.gc.interval_secs);
    let gc_stop = stop.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = gc_stop.cancelled() => {}
            _ = sweeper.run_every(gc_interval) => {}
        }
    });
    let record = NodeRecord {
        id: config.node.id,
        addr: addr.to_string(),
        zone: config.node.zone.clone(),
        capacity: config.node.capacity_bytes,
        registered: now_millis(),
    };
    loop {
        match meta.write(&MetaCommand::RegisterNode(record.clone())).await {
            Ok(_) => break,
            Err(e) => {
                tracing::warn!(error = %e, "cannot register with meta yet; retrying");
                tokio::select! {
                    _ = stop.cancelled() => anyhow::bail!("stopped before registering with meta"),
                    _ = tokio::time::sleep(REGISTER_RETRY) => {}
                }
            }
        }
    }
    tracing::info!(node = config.node.id, %addr, zone = %config.node.zone, "storage node registered");
    let beat_every = Duration::from_millis(config.node.heartbeat_interval_ms);
    let beats = cairn_node::heartbeat::spawn_heartbeats(
        meta.clone(),
        config.node.id,
        shard_dir.to_path_buf(),
        beat_every,
        config.node.clock_offset_ms,
    );
    let healing = start_healing(config, store, heal, meta, beat_every, &node_internal)?;
    let task = tokio::spawn(async move {
        // The node's task ends when its server stops; heartbeats, the
        // scrub, the mover and the reports stop with it.
        let _ = task.await;
        beats.abort();
        for h in healing {
            h.abort();
        }
    });
    Ok((addr, task))
}

/// Starts a storage node's scrub, repair mover and report to meta.
fn start_healing(
    config: &Config,
    store: Arc<ShardStore>,
    heal: Arc<cairn_node::heal::HealState>,
    meta: &MetaClient,
    report_every: Duration,
    internal: &Internal,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    use cairn_node::heal::{mover, report, scrub};
    let scrub_cfg = scrub::ScrubConfig {
        bytes_per_sec: config.node.scrub_bytes_per_sec,
        interval: Duration::from_secs_f64(config.node.scrub_interval_days * 86_400.0),
        grace: Duration::from_secs(config.gc.grace_secs),
    };
    let scrubber = scrub::Scrubber::new(
        store.clone(),
        meta.clone(),
        config.node.id,
        heal.clone(),
        scrub_cfg,
    );
    let mover = mover::Mover::new(
        store,
        meta.clone(),
        ShardClient::new(client_of(config, internal)?),
        config.node.id,
        heal.clone(),
        mover::MoverConfig {
            moves: config.repair.moves_per_node,
            bytes_per_sec: config.repair.max_bytes_per_sec,
            rebalance_bytes_per_sec: config.repair.rebalance_bytes_per_sec,
        },
    );
    Ok(vec![
        tokio::spawn(scrubber.run()),
        tokio::spawn(mover.run()),
        tokio::spawn(report::run(
            meta.clone(),
            config.node.id,
            heal,
            report_every,
        )),
    ])
}

/// A started gateway: its S3 endpoint and its admin address (`/metrics`,
/// detailed `/health`), served until the stop token is cancelled.
pub struct GatewayRole {
    pub addr: SocketAddr,
    pub admin_addr: SocketAddr,
    /// Ends when both listeners have stopped.
    pub task: JoinHandle<()>,
}

/// Starts a gateway serving S3 on `s3_addr` and its admin address on `admin_addr`.
pub async fn start_gateway(
    config: &Config,
    s3_addr: SocketAddr,
    admin_addr: SocketAddr,
    meta: MetaClient,
    rpc: RpcClient,
    stop: CancellationToken,
) -> anyhow::Result<GatewayRole> {
    install_metrics();
    let gateway = Gateway::new(
        meta,
        ShardClient::new(rpc),
        GatewayOptions {
            data_path: config.data_path.clone(),
            region: config.s3.region.clone(),
            default_redundancy: config.default_redundancy(),
            client_read_timeout: Duration::from_secs(config.s3.client_read_timeout_secs),
            post_object_max_bytes: config.s3.post_object_max_bytes,
            post_object_memory_bytes: config.s3.post_object_memory_bytes,
            cluster_key: cluster_key(config)?.map(Arc::new),
        },
    );
    let render = || metrics_handle().map(|h| h.render()).unwrap_or_default();
    let (listener, addr) = bind(s3_addr, "the S3 endpoint").await?;
    let (admin_listener, admin_addr) = bind(admin_addr, "the gateway's admin address").await?;
    let limits = s3_limits(config);
    let s3_transport = crate::s3_tls::s3_transport(config, stop.clone())?;
    let admin = serve(
        admin_listener,
        cairn_gateway::admin_router(gateway.clone(), render),
        Transport::Plain,
        ServeLimits {
            max_connections: ADMIN_MAX_CONNECTIONS,
            ..limits
        },
        stop.clone(),
    );
    let s3 = serve(
        listener,
        cairn_gateway::router(gateway),
        s3_transport,
        limits,
        stop,
    );
    let task = tokio::spawn(async move {
        let _ = s3.await;
        let _ = admin.await;
    });
    Ok(GatewayRole {
        addr,
        admin_addr,
        task,
    })
}
