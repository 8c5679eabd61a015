//! Shard I/O from the gateway: one shard read or written on one node, by
//! node id (resolved through the cached node list), with every outcome fed
//! to the node's backoff (`node_health`).

use super::path::DataPath;
use bytes::Bytes;
use cairn_rpc::{RpcError, ShardError};
use cairn_types::{NodeId, ShardId};

impl DataPath {
    /// The address of `node`, or Unreachable when meta does not list it.
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
    pub(super) async fn get_shard(&self, node: NodeId, id: &ShardId) -> Result<Bytes, ShardError> {
        let addr = self.addr_of(node).await?;
        let result = self.inner.shards.get(&addr, id).await;
        self.observe(node, &result);
        result
    }

    /// Writes one shard to `node`, keeping its backoff up to date.
    pub(super) async fn put_shard(
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
}
