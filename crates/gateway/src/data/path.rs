//! The data path's handle: a cheap clone over the shard client, the
//! data-path bounds, the chunk-buffer budgets that bound memory (one for
//! writes, one for reads, so a copy, which reads and writes, can never
//! deadlock the pool), the per-node backoffs, the cached view of the
//! cluster and the reporter of damaged pieces (`damage`). Each sibling
//! module implements its part of `DataPath`: `write`, `read`, `erasure`,
//! `shard_io`, `node_health`, `cluster`.

use super::backoff::Backoffs;
use super::damage::DamageReporter;
use cairn_rpc::repair_api::DamageKind;
use cairn_rpc::{MetaClient, NodeStatus, ShardClient};
use cairn_types::ClusterLayout;
use cairn_types::config::DataPathConfig;
use cairn_types::{NodeId, ShardId};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{RwLock, Semaphore};

/// The data path of one gateway: a cheap handle (clone it freely) over the
/// shard client, the data-path bounds, the chunk-buffer budgets that bound
/// memory, the per-node backoffs and the cached view of the cluster.
#[derive(Clone)]
pub struct DataPath {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) meta: MetaClient,
    pub(super) shards: ShardClient,
    pub(super) cfg: DataPathConfig,
    /// One permit per chunk buffer held for writing: a PUT's partly filled
    /// chunk, and each chunk being sent to nodes.
    pub(super) write_budget: Arc<Semaphore>,
    /// One permit per chunk being fetched from nodes; released when the chunk
    /// is handed to the client's connection, never held while a client reads.
    pub(super) read_budget: Arc<Semaphore>,
    /// Nodes whose connections failed recently.
    pub(super) backoffs: Backoffs,
    pub(super) nodes: RwLock<Option<(Instant, Arc<Vec<NodeStatus>>)>>,
    pub(super) layout: RwLock<Option<(Instant, Arc<ClusterLayout>)>>,
    /// Damaged pieces reported to meta lately (`damage`).
    pub(super) damage: DamageReporter,
}

impl DataPath {
    pub fn new(meta: MetaClient, shards: ShardClient, cfg: DataPathConfig) -> Self {
        let backoffs = Backoffs::new(
            Duration::from_millis(cfg.node_backoff_initial_ms),
            Duration::from_millis(cfg.node_backoff_max_ms),
        );
        let damage = DamageReporter::new(meta.clone());
        Self {
            inner: Arc::new(Inner {
                meta,
                shards,
                write_budget: Arc::new(Semaphore::new(cfg.write_chunk_budget)),
                read_budget: Arc::new(Semaphore::new(cfg.read_chunk_budget)),
                cfg,
                backoffs,
                nodes: RwLock::new(None),
                layout: RwLock::new(None),
                damage,
            }),
        }
    }

    /// The data-path bounds this gateway runs with.
    pub fn config(&self) -> &DataPathConfig {
        &self.inner.cfg
    }

    /// Write-budget permits free right now (for metrics and tests).
    pub fn write_permits_free(&self) -> usize {
        self.inner.write_budget.available_permits()
    }

    /// Read-budget permits free right now (for metrics and tests).
    pub fn read_permits_free(&self) -> usize {
        self.inner.read_budget.available_permits()
    }
}

impl DataPath {
    /// Reports piece `shard` on `node` damaged, in the background (`damage`).
    pub(super) fn report_damage(&self, node: NodeId, shard: ShardId, kind: DamageKind) {
        self.inner.damage.report(node, shard, kind);
    }
}
