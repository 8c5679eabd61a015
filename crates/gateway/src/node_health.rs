//! Which storage nodes a gateway should use right now. Two sources: meta's
//! liveness (nodes silent for `node.down_after_ms` are reported down; read
//! with the cached node list) and this gateway's own experience — a node
//! whose connection failed is put in a backoff and not tried again for a
//! pause that doubles with every further failure up to a cap; any answer
//! from it clears the backoff. Reads ask usable holders first and the others
//! only as a last resort; writes skip unusable nodes while the usable ones
//! can still make the quorum.

use crate::state::Gateway;
use bytes::Bytes;
use cairn_rpc::{Liveness, RpcError, ShardError};
use cairn_types::{NodeId, ShardId};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Metric: times this gateway put a node in backoff after a failed connection.
pub const METRIC_NODE_BACKOFFS: &str = "cairn_gateway_node_backoffs_total";

/// Per-node backoff after failed connections.
#[derive(Debug)]
pub struct Backoffs {
    initial: Duration,
    max: Duration,
    table: Mutex<HashMap<NodeId, Backoff>>,
}

#[derive(Debug, Clone, Copy)]
struct Backoff {
    until: Instant,
    pause: Duration,
}

impl Backoffs {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            table: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `node` is still in its backoff at `now`.
    pub fn backing_off(&self, node: NodeId, now: Instant) -> bool {
        self.table
            .lock()
            .map(|t| t.get(&node).is_some_and(|b| now < b.until))
            .unwrap_or(false)
    }

    /// A connection to `node` failed at `now`: start or lengthen its backoff.
    /// Returns the pause chosen.
    pub fn failed(&self, node: NodeId, now: Instant) -> Duration {
        let Ok(mut t) = self.table.lock() else {
            return Duration::ZERO;
        };
        let pause = match t.get(&node) {
            // A failure of a request that started before the backoff began
            // (or while it runs) does not lengthen it again.
            Some(b) if now < b.until => return b.pause,
            Some(b) => (b.pause * 2).min(self.max),
            None => self.initial.min(self.max),
        };
        t.insert(
            node,
            Backoff {
                until: now + pause,
                pause,
            },
        );
        pause
    }

    /// `node` answered: forget its failures.
    pub fn succeeded(&self, node: NodeId) {
        if let Ok(mut t) = self.table.lock() {
            t.remove(&node);
        }
    }
}

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

impl Gateway {
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
    fn observe<T>(&self, node: NodeId, result: &Result<T, ShardError>) {
        match result {
            Err(e) if is_connection_failure(e) => {
                let pause = self.inner.backoffs.failed(node, Instant::now());
                metrics::counter!(METRIC_NODE_BACKOFFS).increment(1);
                tracing::warn!(node, error = %e, pause_ms = pause.as_millis() as u64, "node unreachable; backing off");
            }
            _ => self.inner.backoffs.succeeded(node),
        }
    }

    async fn addr_of(&self, node: NodeId) -> Result<String, ShardError> {
        match self.node_addr(node).await {
            Ok(Some(addr)) => Ok(addr),
            _ => Err(ShardError::Rpc(RpcError::Unreachable {
                addr: format!("node {node}"),
                message: "not in the node list".into(),
            })),
        }
    }

    /// Reads one shard from `node`, keeping its backoff up to date.
    pub(crate) async fn get_shard(&self, node: NodeId, id: &ShardId) -> Result<Bytes, ShardError> {
        let addr = self.addr_of(node).await?;
        let result = self.inner.shards.get(&addr, id).await;
        self.observe(node, &result);
        result
    }

    /// Writes one shard to `node`, keeping its backoff up to date.
    pub(crate) async fn put_shard(
        &self,
        node: NodeId,
        id: &ShardId,
        codec: u16,
        hash: &[u8; 32],
        data: Bytes,
    ) -> Result<(), ShardError> {
        let addr = self.addr_of(node).await?;
        let result = self.inner.shards.put(&addr, id, codec, hash, data).await;
        self.observe(node, &result);
        result
    }

    /// The nodes a chunk write sends to: the usable ones among `targets`
    /// while they can make `quorum`, otherwise all of them (a stale view of
    /// health must not refuse a write that could succeed).
    pub(crate) async fn write_set(&self, targets: &[NodeId], quorum: usize) -> Vec<NodeId> {
        let (usable, _) = self.split_usable(targets).await;
        if usable.len() >= quorum {
            usable
        } else {
            targets.to_vec()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap_and_clears_on_success() {
        let ms = Duration::from_millis;
        let b = Backoffs::new(ms(100), ms(350));
        let t0 = Instant::now();
        assert!(!b.backing_off(7, t0));
        assert_eq!(b.failed(7, t0), ms(100));
        assert!(b.backing_off(7, t0 + ms(99)));
        assert!(!b.backing_off(8, t0 + ms(1)), "other nodes are unaffected");
        // A failure while the backoff runs does not lengthen it.
        assert_eq!(b.failed(7, t0 + ms(50)), ms(100));
        assert!(!b.backing_off(7, t0 + ms(100)));
        assert_eq!(b.failed(7, t0 + ms(100)), ms(200));
        assert_eq!(b.failed(7, t0 + ms(300)), ms(350), "capped");
        assert_eq!(b.failed(7, t0 + ms(700)), ms(350));
        b.succeeded(7);
        assert!(!b.backing_off(7, t0 + ms(701)));
        assert_eq!(
            b.failed(7, t0 + ms(800)),
            ms(100),
            "starts over after a success"
        );
    }
}
