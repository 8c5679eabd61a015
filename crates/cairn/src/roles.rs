//! Starting each role: a meta voter, a storage node, a gateway. `cairn
//! server` starts one of each (or several nodes) in one process; `cairn meta`,
//! `cairn node` and `cairn gateway` start one role per process. Every role
//! serves on its own listener until its stop token is cancelled.

use anyhow::Context;
use cairn_gateway::{Gateway, GatewayOptions};
use cairn_meta::{MetaNode, MetaNodeOptions};
use cairn_node::{NodeState, ShardStore, Sweeper};
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

/// Serves `router` on `listener` until `stop` is cancelled.
pub fn serve(
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

/// Requires the cluster secret on every internal route except `/health`.
fn protect_internal(router: axum::Router, config: &Config) -> axum::Router {
    cairn_rpc::auth::protect(router, &config.cluster.secret)
        .route("/health", axum::routing::get(|| async { "ok" }))
}

pub fn rpc_client(config: &Config) -> anyhow::Result<RpcClient> {
    Ok(RpcClient::new(
        Duration::from_secs(config.data_path.rpc_timeout_secs),
        &config.cluster.secret,
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
    let routes = node.router().merge(cairn_meta::liveness::router(
        &node,
        down_after,
        Duration::from_millis(config.meta.quorum_wait_ms),
    ));
    spawn_lifecycle_job(
        node.clone(),
        MetaClient::new(rpc.clone(), voter_addrs),
        Duration::from_secs(config.meta.lifecycle_interval_secs),
        stop.clone(),
    );
    let task = serve(listener, protect_internal(routes, config), stop);
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
    let (listener, addr) = bind(config.node.addr, "storage node").await?;
    let store = Arc::new(ShardStore::open(shard_dir)?);
    let task = serve(
        listener,
        protect_internal(
            cairn_node::router(NodeState {
                store: store.clone(),
            }),
            config,
        ),
        stop.clone(),
    );
    let sweeper = Arc::new(Sweeper::new(
        store,
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
    let beats = cairn_node::heartbeat::spawn_heartbeats(
        meta.clone(),
        config.node.id,
        shard_dir.to_path_buf(),
        Duration::from_millis(config.node.heartbeat_interval_ms),
        config.node.clock_offset_ms,
    );
    let task = tokio::spawn(async move {
        // The node's task ends when its server stops; heartbeats stop with it.
        let _ = task.await;
        beats.abort();
    });
    Ok((addr, task))
}

/// Starts a gateway serving S3 on `s3_addr`.
pub async fn start_gateway(
    config: &Config,
    s3_addr: SocketAddr,
    meta: MetaClient,
    rpc: RpcClient,
    stop: CancellationToken,
) -> anyhow::Result<(SocketAddr, JoinHandle<()>)> {
    install_metrics();
    let gateway = Gateway::new(
        meta,
        ShardClient::new(rpc),
        GatewayOptions {
            data_path: config.data_path.clone(),
            region: config.s3.region.clone(),
            default_redundancy: config.default_redundancy(),
        },
    );
    let render = || metrics_handle().map(|h| h.render()).unwrap_or_default();
    let (listener, addr) = bind(s3_addr, "the S3 endpoint").await?;
    Ok((
        addr,
        serve(listener, cairn_gateway::router(gateway, render), stop),
    ))
}
