//! The gateway's shared state: clients for meta and for storage nodes, the
//! data-path bounds, the chunk-buffer budget that bounds memory, a short
//! cache of the node list with meta's view of each node's liveness (node ids
//! to addresses), a short cache of the layout (where new chunks go; placement
//! decisions are recorded in manifests, so reads never depend on it), and the
//! per-node connection backoffs.

use crate::errors::meta_error;
use crate::node_health::Backoffs;
use cairn_rpc::{MetaClient, NodeStatus, ShardClient};
use cairn_types::config::DataPathConfig;
use cairn_types::{ClusterLayout, NodeId, Redundancy};
use s3s::S3Result;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{RwLock, Semaphore};

/// How long the node list is reused before asking meta again.
pub const NODE_CACHE_TTL: Duration = Duration::from_secs(2);
/// How long the layout is used before asking meta for its epoch again.
pub const LAYOUT_CACHE_TTL: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub struct GatewayOptions {
    pub data_path: DataPathConfig,
    /// Region clients sign with (and GetBucketLocation reports).
    pub region: String,
    /// Redundancy of buckets created without an explicit choice.
    pub default_redundancy: Redundancy,
}

#[derive(Clone)]
pub struct Gateway {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub meta: MetaClient,
    pub shards: ShardClient,
    pub opts: GatewayOptions,
    /// One permit per chunk buffer held by any request.
    pub chunk_budget: Arc<Semaphore>,
    /// Nodes whose connections failed recently.
    pub backoffs: Backoffs,
    nodes: RwLock<Option<(Instant, Arc<Vec<NodeStatus>>)>>,
    layout: RwLock<Option<(Instant, Arc<ClusterLayout>)>>,
}

impl Gateway {
    pub fn new(meta: MetaClient, shards: ShardClient, opts: GatewayOptions) -> Self {
        let budget = opts.data_path.gateway_chunk_budget;
        let backoffs = Backoffs::new(
            Duration::from_millis(opts.data_path.node_backoff_initial_ms),
            Duration::from_millis(opts.data_path.node_backoff_max_ms),
        );
        Self {
            inner: Arc::new(Inner {
                meta,
                shards,
                opts,
                chunk_budget: Arc::new(Semaphore::new(budget)),
                backoffs,
                nodes: RwLock::new(None),
                layout: RwLock::new(None),
            }),
        }
    }

    pub fn meta(&self) -> &MetaClient {
        &self.inner.meta
    }

    pub fn opts(&self) -> &GatewayOptions {
        &self.inner.opts
    }

    /// The registered storage nodes with their liveness (cached for `NODE_CACHE_TTL`).
    pub async fn nodes(&self) -> S3Result<Arc<Vec<NodeStatus>>> {
        if let Some((at, nodes)) = self.inner.nodes.read().await.as_ref()
            && at.elapsed() < NODE_CACHE_TTL
        {
            return Ok(nodes.clone());
        }
        let fresh = Arc::new(self.inner.meta.node_status().await.map_err(meta_error)?);
        *self.inner.nodes.write().await = Some((Instant::now(), fresh.clone()));
        Ok(fresh)
    }

    /// The applied layout: where new chunks go. Reused for
    /// `LAYOUT_CACHE_TTL`, then kept as long as meta reports the same epoch.
    /// Down nodes keep their place: an outage does not change the layout.
    /// 503 before the first layout is applied.
    pub async fn layout(&self) -> S3Result<Arc<ClusterLayout>> {
        self.current_layout().await?.ok_or_else(|| {
            crate::errors::unavailable(
                "no layout has been applied yet: assign storage nodes with `cairn admin node \
                 assign` and apply with `cairn admin layout apply`",
            )
        })
    }

    /// The applied layout, None before the first (cached as `layout`).
    pub async fn current_layout(&self) -> S3Result<Option<Arc<ClusterLayout>>> {
        let cached = self.inner.layout.read().await.clone();
        if let Some((at, layout)) = &cached
            && at.elapsed() < LAYOUT_CACHE_TTL
        {
            return Ok(Some(layout.clone()));
        }
        if let Some((_, layout)) = cached
            && self.inner.meta.layout_epoch().await.map_err(meta_error)? == layout.epoch
        {
            *self.inner.layout.write().await = Some((Instant::now(), layout.clone()));
            return Ok(Some(layout));
        }
        let state = self.inner.meta.layout().await.map_err(meta_error)?;
        let Some(layout) = state.current.map(Arc::new) else {
            return Ok(None);
        };
        *self.inner.layout.write().await = Some((Instant::now(), layout.clone()));
        Ok(Some(layout))
    }

    pub async fn node_addr(&self, id: NodeId) -> S3Result<Option<String>> {
        Ok(self
            .nodes()
            .await?
            .iter()
            .find(|n| n.record.id == id)
            .map(|n| n.record.addr.clone()))
    }
}
