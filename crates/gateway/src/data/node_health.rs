//! Which storage nodes a gateway should use right now. Two sources: meta's
//! liveness (nodes silent for `node.down_after_ms` are reported down; read
//! with the cached node list) and this gateway's own experience — a node
//! whose connection failed is put in a backoff and not tried again for a
//! pause that doubles with every further failure up to a cap; any answer
//! from it clears the backoff. Reads ask usable holders first and the others
//! only as a last resort; writes skip unusable nodes while the usable ones
//! can still make the quorum.

use super::path::DataPath;
use cairn_rpc::{Liveness, RpcError, ShardError};
use cairn_types::NodeId;
use std::time::Instant;

/// Metric: times this gateway put a node in backoff after a failed connection.
pub const METRIC_NODE_BACKOFFS: &str = "cairn_gateway_node_backoffs_total";

/// Whether a shard call's failure says the node itself could not be reached
/// (as opposed to an answer such as "not found" or "corrupt").
fn is_connection_failure(e: &ShardError) -> bool {
    matches!(
        e,
        ShardError::Rpc(
            RpcError::Unreachable { .. } | RpcError::Broken { .. } | RpcError::Timeout { .. }
        )
    )
}

impl DataPath {
    /// False when meta reports `node` down or this gateway is backing off it.
    pub async fn node_usable(&self, node: NodeId) -> bool {
        if self.inner.backoffs.backing_off(node, Instant::now()) {
            return false;
        }
        match self.nodes().await {
            Ok(nodes) => !nodes
                .iter()
                .any(|n| n.record.id == node && n.liveness == Liveness::Down),
            // Without meta's view, use only this gateway's own experience.
            Err(_) => true,
        }
    }

    /// `nodes` split into the usable ones and the others, each in the given order.
    pub async fn split_usable(&self, nodes: &[NodeId]) -> (Vec<NodeId>, Vec<NodeId>) {
        let mut usable = Vec::new();
        let mut others = Vec::new();
        for &n in nodes {
            if self.node_usable(n).await {
                usable.push(n);
            } else {
                others.push(n);
            }
        }
        (usable, others)
    }

    /// Records the outcome of a call to `node` in its backoff.
    /// Records a shard request's outcome: a connection failure starts or
    /// extends the node's backoff, anything else clears it.
    pub(super) fn observe<T>(&self, node: NodeId, result: &Result<T, ShardError>) {
        match result {
            Err(e) if is_connection_failure(e) => {
                let pause = self.inner.backoffs.failed(node, Instant::now());
                metrics::counter!(METRIC_NODE_BACKOFFS).increment(1);
                tracing::warn!(node, error = %e, pause_ms = pause.as_millis() as u64, "node unreachable; backing off");
            }
            _ => self.inner.backoffs.succeeded(node),
        }
    }

    /// The nodes a chunk write sends to: the usable ones among `targets`
    /// while they can make `quorum`, otherwise all of them (a stale view of
    /// health must not refuse a write that could succeed).
    pub(super) async fn write_set(&self, targets: &[NodeId], quorum: usize) -> Vec<NodeId> {
        let (usable, _) = self.split_usable(targets).await;
        if usable.len() >= quorum {
            usable
        } else {
            targets.to_vec()
        }
    }
}
