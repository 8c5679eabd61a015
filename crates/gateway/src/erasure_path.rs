//! The erasure-coded data path: a chunk is cut into k data pieces plus m
//! Reed-Solomon parity pieces, piece i goes to the i-th node of the chunk's
//! placement, and the chunk counts as written once k+1 pieces are on stable
//! storage. A read asks for the k data pieces first (no decoding when they
//! all verify) and fetches parity only for what is missing or corrupt.

use crate::data::{METRIC_CORRUPT_CHUNKS, chunk_targets, write_quorum};
use crate::errors::{internal, unavailable};
use crate::state::Gateway;
use bytes::Bytes;
use cairn_codec::{CODEC_RS_GF256_V1, ErasureCodec, chunk_hash};
use cairn_placement::NodeWeight;
use cairn_types::{ChunkRef, PieceRef, Redundancy, ShardId, VersionId};
use s3s::S3Result;

impl Gateway {
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn write_chunk_ec(
        &self,
        weights: &[NodeWeight],
        version: VersionId,
        part: u32,
        index: u32,
        data: Bytes,
        k: u8,
        m: u8,
    ) -> S3Result<ChunkRef> {
        let redundancy = Redundancy::ErasureCoded { data: k, parity: m };
        let codec = ErasureCodec::new(usize::from(k), usize::from(m)).map_err(internal)?;
        let base = ShardId {
            version,
            part,
            chunk: index,
            piece: 0,
        };
        let width = redundancy.width();
        let targets = chunk_targets(weights, &base, self.opts().partitions, redundancy)?;
        let len = data.len() as u64;
        let hash = chunk_hash(&data);
        let pieces = codec.encode_bytes(data).map_err(internal)?;
        let writes =
            pieces
                .into_iter()
                .zip(targets)
                .enumerate()
                .map(|(i, (piece, node))| async move {
                    let id = ShardId {
                        piece: i as u16,
                        ..base
                    };
                    let piece_hash = chunk_hash(&piece);
                    let addr = self.node_addr(node).await.ok().flatten()?;
                    match self
                        .inner
                        .shards
                        .put(&addr, &id, CODEC_RS_GF256_V1, &piece_hash, piece)
                        .await
                    {
                        Ok(()) => Some(PieceRef {
                            node,
                            hash: piece_hash,
                        }),
                        Err(e) => {
                            tracing::warn!(shard = %id, node, error = %e, "piece write failed");
                            None
                        }
                    }
                });
        let stored: Vec<Option<PieceRef>> = futures::future::join_all(writes).await;
        let written = stored.iter().filter(|p| p.is_some()).count();
        if written < write_quorum(redundancy) {
            return Err(unavailable(format!(
                "chunk {base} reached {written} of {width} nodes"
            )));
        }
        Ok(ChunkRef {
            version,
            part,
            index,
            len,
            hash,
            nodes: Vec::new(),
            pieces: stored,
            data_pieces: k,
        })
    }

    /// One verified piece, or None (missing, unreachable or corrupt).
    async fn fetch_piece(&self, chunk: &ChunkRef, i: usize) -> Option<Bytes> {
        let piece = chunk.pieces.get(i)?.as_ref()?;
        let id = chunk.shard_id(i as u16);
        let addr = self.node_addr(piece.node).await.ok().flatten()?;
        match self.inner.shards.get(&addr, &id).await {
            Ok(bytes) if chunk_hash(&bytes) == piece.hash => Some(bytes),
            Ok(_) => {
                tracing::error!(shard = %id, node = piece.node, "piece does not match the manifest hash");
                metrics::counter!(METRIC_CORRUPT_CHUNKS).increment(1);
                None
            }
            Err(e) => {
                tracing::warn!(shard = %id, node = piece.node, error = %e, "piece unavailable");
                None
            }
        }
    }

    pub(crate) async fn fetch_chunk_ec(&self, chunk: &ChunkRef) -> Result<Bytes, std::io::Error> {
        let k = usize::from(chunk.data_pieces);
        let total = chunk.pieces.len();
        let codec = ErasureCodec::new(k, total.saturating_sub(k)).map_err(std::io::Error::other)?;
        let mut got: Vec<Option<Bytes>> =
            futures::future::join_all((0..k).map(|i| self.fetch_piece(chunk, i))).await;
        if got.iter().any(Option::is_none) {
            let parity =
                futures::future::join_all((k..total).map(|i| self.fetch_piece(chunk, i))).await;
            got.extend(parity);
        } else {
            got.resize(total, None);
        }
        let present = got.iter().filter(|p| p.is_some()).count();
        if present < k {
            return Err(std::io::Error::other(format!(
                "chunk {}: only {present} of the {k} pieces needed are readable",
                chunk.shard_id(0)
            )));
        }
        let data = codec
            .decode(got, chunk.len as usize)
            .map_err(std::io::Error::other)?;
        if chunk_hash(&data) != chunk.hash {
            metrics::counter!(METRIC_CORRUPT_CHUNKS).increment(1);
            return Err(std::io::Error::other(format!(
                "chunk {} decodes to the wrong bytes",
                chunk.shard_id(0)
            )));
        }
        Ok(data)
    }
}
