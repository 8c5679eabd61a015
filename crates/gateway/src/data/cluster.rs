//! The data path's view of the cluster, asked of meta and kept briefly: the
//! node list with meta's view of each node's liveness (node ids to
//! addresses; each node's clock offset becomes a gauge), and the applied
//! layout (where new chunks go; placement decisions are recorded in
//! manifests, so reads never depend on it).

use super::path::DataPath;
use crate::errors::{meta_error, unavailable};
use cairn_rpc::meta_reads as reads;
use cairn_rpc::{NodeStatus, NodeStatusRequest};
use cairn_types::{ClusterLayout, NodeId};
use s3s::S3Result;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Metric (gauge, per `node`): how far the node's clock is ahead of the meta
/// leader's in ms (negative: behind), as of the node list last fetched.
pub const METRIC_NODE_CLOCK_OFFSET: &str = "cairn_gateway_node_clock_offset_ms";

/// How long the node list is reused before asking meta again.
pub const NODE_CACHE_TTL: Duration = Duration::from_secs(2);
/// How long the layout is used before asking meta for its epoch again:
/// short, as chunks placed under a layout just replaced are misplaced and
/// move again.
pub const LAYOUT_CACHE_TTL: Duration = Duration::from_millis(500);

impl DataPath {
    /// The registered storage nodes with their liveness (cached for `NODE_CACHE_TTL`).
    pub async fn nodes(&self) -> S3Result<Arc<Vec<NodeStatus>>> {
        if let Some((at, nodes)) = self.inner.nodes.read().await.as_ref()
            && at.elapsed() < NODE_CACHE_TTL
        {
            return Ok(nodes.clone());
        }
        let fresh = Arc::new(
            self.inner
                .meta
                .call(&NodeStatusRequest)
                .await
                .map_err(meta_error)?,
        );
        for n in fresh.iter() {
            if let Some(offset) = n.clock_offset_ms {
                metrics::gauge!(METRIC_NODE_CLOCK_OFFSET, "node" => n.record.id.to_string())
                    .set(offset as f64);
            }
        }
        *self.inner.nodes.write().await = Some((Instant::now(), fresh.clone()));
        Ok(fresh)
    }

    /// The applied layout: where new chunks go. Reused for
    /// `LAYOUT_CACHE_TTL`, then kept as long as meta reports the same epoch.
    /// Down nodes keep their place: an outage does not change the layout.
    /// 503 before the first layout is applied.
    pub async fn layout(&self) -> S3Result<Arc<ClusterLayout>> {
        self.current_layout().await?.ok_or_else(|| {
            unavailable(
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
        let meta = &self.inner.meta;
        if let Some((_, layout)) = cached
            && meta.read(reads::LayoutEpoch {}).await.map_err(meta_error)? == layout.epoch
        {
            *self.inner.layout.write().await = Some((Instant::now(), layout.clone()));
            return Ok(Some(layout));
        }
        let state = meta.read(reads::GetLayout {}).await.map_err(meta_error)?;
        let Some(layout) = state.current.map(Arc::new) else {
            return Ok(None);
        };
        *self.inner.layout.write().await = Some((Instant::now(), layout.clone()));
        Ok(Some(layout))
    }

    /// The address of a registered node (None when meta does not list it).
    pub async fn node_addr(&self, id: NodeId) -> S3Result<Option<String>> {
        Ok(self
            .nodes()
            .await?
            .iter()
            .find(|n| n.record.id == id)
            .map(|n| n.record.addr.clone()))
    }
}
