//! The mover's re-encode: a chunk of a bucket whose redundancy changed
//! (`cairn admin bucket set-redundancy`) is read whole — a replica from
//! this node's disk or a holder, or k erasure pieces decoded — and checked
//! against its blake3; it is encoded with the new redundancy under the new
//! key the leader minted, every piece is written (durably, each node
//! verifies it against its hash) to the key's owners, and the swap is
//! committed (`ReconcileCommand::ReencodeChunk`). Until then readers use
//! the old pieces; a lost swap leaves the new pieces unreferenced, for the
//! collector. Bytes written pass the rebalance throttle.

use super::{MoveError, Mover};
use bytes::Bytes;
use cairn_codec::{ErasureCodec, chunk_hash};
use cairn_rpc::MetaCommand;
use cairn_rpc::repair_api::{ReconcileCommand, ReencodeOrder, RepairTask};
use cairn_types::{
    ChunkRecord, ChunkRef, MoveReason, NodeId, PieceEvent, PieceRef, Redundancy, now_millis,
};

impl Mover {
    /// Re-encodes the task's chunk; answers the chunk's bytes.
    pub(super) async fn reencode_chunk(
        &self,
        task: &RepairTask,
        order: &ReencodeOrder,
    ) -> Result<u64, MoveError> {
        let data = self.read_chunk(task).await?;
        let old = &task.record.chunk;
        let pieces: Vec<Bytes> = match order.redundancy {
            Redundancy::Replicas(n) => vec![data.clone(); usize::from(n)],
            Redundancy::ErasureCoded { data: k, parity: m } => {
                ErasureCodec::new(usize::from(k), usize::from(m))
                    .and_then(|c| c.encode_bytes(data.clone()))
                    .map_err(|e| MoveError::Erasure(e.to_string()))?
            }
        };
        if order.targets.len() != pieces.len() {
            return Err(MoveError::Erasure(format!(
                "{} pieces for {} targets",
                pieces.len(),
                order.targets.len()
            )));
        }
        let codec = order.redundancy.codec();
        let replicated = matches!(order.redundancy, Redundancy::Replicas(_));
        let writes =
            pieces
                .into_iter()
                .zip(&order.targets)
                .enumerate()
                .map(|(i, (piece, (node, addr)))| {
                    let index = if replicated { 0 } else { i as u16 };
                    self.write_piece(order, index, piece, *node, addr, codec)
                });
        let written: Vec<(NodeId, [u8; 32])> = futures::future::try_join_all(writes).await?;
        let at = now_millis();
        let mut record = ChunkRecord {
            chunk: ChunkRef {
                version: order.new.version,
                part: order.new.part,
                index: order.new.chunk,
                len: old.len,
                hash: old.hash,
                nodes: if replicated {
                    written.iter().map(|(n, _)| *n).collect()
                } else {
                    Vec::new()
                },
                pieces: if replicated {
                    Vec::new()
                } else {
                    written
                        .iter()
                        .map(|(node, hash)| {
                            Some(PieceRef {
                                node: *node,
                                hash: *hash,
                            })
                        })
                        .collect()
                },
                data_pieces: match order.redundancy {
                    Redundancy::Replicas(_) => 0,
                    Redundancy::ErasureCoded { data, .. } => data,
                },
            },
            codec,
            width: u8::try_from(order.redundancy.width()).unwrap_or(u8::MAX),
            history: Vec::new(),
        };
        for (i, (node, _)) in written.iter().enumerate() {
            record.record(PieceEvent {
                at,
                piece: if replicated { 0 } else { i as u16 },
                from: None,
                to: *node,
                reason: MoveReason::Reencoded,
            });
        }
        self.meta
            .write(&MetaCommand::Reconcile(ReconcileCommand::ReencodeChunk {
                bucket: order.bucket.clone(),
                manifest: order.manifest,
                offset: order.offset,
                old: task.chunk,
                new: order.new,
                record,
            }))
            .await?;
        Ok(old.len)
    }

    /// Writes piece `index` of the new chunk on `node`: here, durably and
    /// read back; elsewhere, through its shard endpoint (which verifies
    /// the hash and syncs before answering). Answers (node, blake3).
    async fn write_piece(
        &self,
        order: &ReencodeOrder,
        index: u16,
        piece: Bytes,
        node: NodeId,
        addr: &str,
        codec: u16,
    ) -> Result<(NodeId, [u8; 32]), MoveError> {
        let id = order.new.shard(index);
        let hash = chunk_hash(&piece);
        self.rebalance_throttle.take(piece.len() as u64).await;
        if node == self.node {
            self.store
                .write(
                    &id,
                    codec,
                    hash,
                    futures::stream::iter([Ok::<_, std::io::Error>(piece)]),
                )
                .await?;
            self.store.read(&id).await?;
        } else {
            self.shards
                .put(addr, &id, codec, &hash, piece)
                .await
                .map_err(|e| MoveError::Sources(format!("writing {id} on node {node}: {e}")))?;
        }
        Ok((node, hash))
    }

    /// The task's chunk, whole and verified: a replica from this node's
    /// disk when it holds one, else from a holder; erasure pieces decoded.
    async fn read_chunk(&self, task: &RepairTask) -> Result<Bytes, MoveError> {
        let chunk = &task.record.chunk;
        if chunk.data_pieces > 0 {
            return self.decode_chunk(task).await;
        }
        if chunk.nodes.contains(&self.node) {
            match self.store.read(&task.chunk.shard(0)).await {
                Ok(data) if chunk_hash(&data) == chunk.hash => return Ok(data),
                Ok(_) => {
                    tracing::warn!(chunk = %task.chunk, "local replica does not match its record; reading another")
                }
                Err(e) => {
                    tracing::info!(chunk = %task.chunk, error = %e, "local replica unreadable; reading another")
                }
            }
        }
        self.copy_replica(task).await.map(|(data, _)| data)
    }
}
