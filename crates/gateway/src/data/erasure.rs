//! The erasure-coded data path: a chunk is cut into k data pieces plus m
//! Reed-Solomon parity pieces, piece i goes to the i-th node of the chunk's
//! placement, and the chunk counts as written once k+1 pieces are on stable
//! storage (pieces for nodes that are down or backing off are not sent; the
//! write does not wait for stragglers past its quorum). A read asks for the k
//! data pieces first (no decoding when they all verify) and fetches parity
//! only for what is missing, corrupt or slower than the hedge threshold.

use super::hedge::hedged;
use super::path::DataPath;
use super::quorum::gather_quorum;
use super::read::{METRIC_CORRUPT_CHUNKS, damage_kind};
use super::write::chunk_targets;
use crate::errors::{internal, unavailable};
use bytes::Bytes;
use cairn_codec::{ErasureCodec, chunk_hash};
use cairn_rpc::repair_api::DamageKind;
use cairn_types::{
    CODEC_RS_GF256_V1, ChunkRef, ClusterLayout, PieceRef, Redundancy, ShardId, VersionId,
};
use s3s::S3Result;
use std::time::Duration;

impl DataPath {
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn write_chunk_ec(
        &self,
        layout: &ClusterLayout,
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
        let targets = chunk_targets(layout, &base, redundancy)?;
        let len = data.len() as u64;
        let hash = chunk_hash(&data);
        let pieces = codec.encode_bytes(data).map_err(internal)?;
        let quorum = redundancy.write_quorum();
        let send_to = self.write_set(&targets, quorum).await;
        let writes = pieces
            .into_iter()
            .zip(targets)
            .enumerate()
            .map(|(i, (piece, node))| {
                let skip = !send_to.contains(&node);
                async move {
                    if skip {
                        return None; // down or backing off: not waited for
                    }
                    let id = ShardId {
                        piece: i as u16,
                        ..base
                    };
                    let piece_hash = chunk_hash(&piece);
                    match self
                        .put_shard(node, &id, CODEC_RS_GF256_V1, &piece_hash, piece)
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
                }
            })
            .collect::<Vec<_>>();
        let grace = Duration::from_millis(self.config().write_straggler_ms);
        let stored: Vec<Option<PieceRef>> = gather_quorum(writes, quorum, grace).await;
        let written = stored.iter().filter(|p| p.is_some()).count();
        if written < quorum {
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
    async fn fetch_piece(&self, chunk: &ChunkRef, i: usize) -> Option<(usize, Bytes)> {
        let piece = chunk.pieces.get(i)?.as_ref()?;
        let id = chunk.shard_id(i as u16);
        match self.get_shard(piece.node, &id).await {
            Ok(bytes) if chunk_hash(&bytes) == piece.hash => Some((i, bytes)),
            Ok(_) => {
                tracing::error!(shard = %id, node = piece.node, "piece does not match the manifest hash");
                metrics::counter!(METRIC_CORRUPT_CHUNKS).increment(1);
                self.report_damage(piece.node, id, DamageKind::Corrupt);
                None
            }
            Err(e) => {
                tracing::warn!(shard = %id, node = piece.node, error = %e, "piece unavailable");
                if let Some(kind) = damage_kind(&e) {
                    self.report_damage(piece.node, id, kind);
                }
                None
            }
        }
    }

    /// The order pieces are asked for: data pieces on usable nodes, then
    /// parity on usable nodes, then data and parity on the others (down or
    /// backing off) as a last resort. Pieces never written are left out.
    async fn piece_order(&self, chunk: &ChunkRef) -> Vec<usize> {
        let mut usable = Vec::new();
        let mut others = Vec::new();
        // Pieces are numbered data first, so each list keeps data before parity.
        for (i, piece) in chunk.pieces.iter().enumerate() {
            let Some(piece) = piece else { continue };
            if self.node_usable(piece.node).await {
                usable.push(i);
            } else {
                others.push(i);
            }
        }
        usable.extend(others);
        usable
    }

    pub(super) async fn fetch_chunk_ec(&self, chunk: &ChunkRef) -> Result<Bytes, std::io::Error> {
        let k = usize::from(chunk.data_pieces);
        let total = chunk.pieces.len();
        let codec = ErasureCodec::new(k, total.saturating_sub(k)).map_err(std::io::Error::other)?;
        let order = self.piece_order(chunk).await;
        let hedge_after = Duration::from_millis(self.config().hedge_after_ms);
        let answers = hedged(order, k, hedge_after, |i| self.fetch_piece(chunk, i)).await;
        let mut got: Vec<Option<Bytes>> = vec![None; total];
        for (i, bytes) in answers {
            got[i] = Some(bytes);
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
