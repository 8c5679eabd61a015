//! The gateway's shared state: clients for meta and for storage nodes, the
//! data-path bounds, the chunk-buffer budget that bounds memory, and a short
//! cache of the node list (node ids to addresses; placement decisions are
//! recorded in manifests, so a stale list only delays a new node's use).

use crate::errors::meta_error;
use cairn_placement::NodeWeight;
use cairn_rpc::{MetaClient, NodeRecord, ShardClient};
use cairn_types::config::DataPathConfig;
use cairn_types::{NodeId, Redundancy};
use s3s::S3Result;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{RwLock, Semaphore};

/// How long the node list is reused before asking meta again.
pub const NODE_CACHE_TTL: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub struct GatewayOptions {
    pub data_path: DataPathConfig,
    /// Region clients sign with (and GetBucketLocation reports).
    pub region: String,
    /// Redundancy of buckets created without an explicit choice.
    pub default_redundancy: Redundancy,
    /// Partitions of the placement ring.
    pub partitions: u32,
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
    nodes: RwLock<Option<(Instant, Arc<Vec<NodeRecord>>)>>,
}

impl Gateway {
    pub fn new(meta: MetaClient, shards: ShardClient, opts: GatewayOptions) -> Self {
        let budget = opts.data_path.gateway_chunk_budget;
        Self {
            inner: Arc::new(Inner {
                meta,
                shards,
                opts,
                chunk_budget: Arc::new(Semaphore::new(budget)),
                nodes: RwLock::new(None),
            }),
        }
    }

    pub fn meta(&self) -> &MetaClient {
        &self.inner.meta
    }

    pub fn opts(&self) -> &GatewayOptions {
        &self.inner.opts
    }

    /// The registered storage nodes (cached for `NODE_CACHE_TTL`).
    pub async fn nodes(&self) -> S3Result<Arc<Vec<NodeRecord>>> {
        if let Some((at, nodes)) = self.inner.nodes.read().await.as_ref()
            && at.elapsed() < NODE_CACHE_TTL
        {
            return Ok(nodes.clone());
        }
        let fresh = Arc::new(self.inner.meta.list_nodes().await.map_err(meta_error)?);
        *self.inner.nodes.write().await = Some((Instant::now(), fresh.clone()));
        Ok(fresh)
    }

    /// Placement weights of the current nodes.
    pub async fn node_weights(&self) -> S3Result<Vec<NodeWeight>> {
        Ok(self
            .nodes()
            .await?
            .iter()
            .map(|n| NodeWeight {
                id: n.id,
                zone: n.zone.clone(),
                capacity: n.capacity,
            })
            .collect())
    }

    pub async fn node_addr(&self, id: NodeId) -> S3Result<Option<String>> {
        Ok(self
            .nodes()
            .await?
            .iter()
            .find(|n| n.id == id)
            .map(|n| n.addr.clone()))
    }
}
