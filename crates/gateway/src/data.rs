//! The data path. Writing: a body stream is hashed (MD5 for the ETag) and cut
//! into chunks; each chunk's shards go to their placement nodes at once, with
//! a bounded number of chunks in flight per request and a gateway-wide budget
//! of chunk buffers, and a chunk counts once a write quorum of nodes has
//! fsynced it. Small objects are kept inline instead. Reading: the chunks a
//! range needs are fetched a few at a time, verified against the manifest's
//! blake3, and streamed out in order; a bad or missing copy falls back to the
//! next holder, and a slow one is hedged (`hedge`). Nodes that are down or
//! unreachable are skipped (`node_health`); a write does not wait for
//! stragglers once it has its quorum (`quorum`).

use crate::errors::{internal, unavailable};
use crate::hedge::hedged;
use crate::quorum::gather_quorum;
use crate::state::Gateway;
use bytes::Bytes;
use cairn_codec::{Chunker, chunk_hash, chunk_slices};
use cairn_placement::partition_of;
use cairn_types::{
    CODEC_REPLICATION_V1, ChunkRef, ClusterLayout, ObjectData, ObjectManifest, Redundancy, ShardId,
    VersionId,
};
use futures::{Stream, StreamExt};
use md5::{Digest, Md5};
use s3s::S3Result;
use s3s::dto::StreamingBlob;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Metric: chunk copies that failed verification when read by a gateway.
pub const METRIC_CORRUPT_CHUNKS: &str = "cairn_gateway_corrupt_chunks_total";
pub const METRIC_BYTES_WRITTEN: &str = "cairn_gateway_bytes_written_total";
pub const METRIC_BYTES_READ: &str = "cairn_gateway_bytes_read_total";

/// What storing a body produced.
#[derive(Debug)]
pub struct Stored {
    pub size: u64,
    pub md5: [u8; 16],
    pub data: ObjectData,
}

impl Stored {
    pub fn chunks(&self) -> Vec<ChunkRef> {
        match &self.data {
            ObjectData::Inline(_) => Vec::new(),
            ObjectData::Chunked { chunks, .. } => chunks.clone(),
        }
    }
}

/// Pieces that must be on stable storage before a chunk counts as written:
/// a majority of replicas, or k+1 of the k+m pieces of an erasure-coded
/// chunk (so one more node can fail before the chunk is unreadable).
pub fn write_quorum(redundancy: Redundancy) -> usize {
    match redundancy {
        Redundancy::Replicas(_) => redundancy.width() / 2 + 1,
        Redundancy::ErasureCoded { data, .. } => (usize::from(data) + 1).min(redundancy.width()),
    }
}

/// The nodes a chunk's pieces go to, in piece order: the first `width`
/// nodes of its partition in the layout; 503 when the layout has fewer.
pub(crate) fn chunk_targets(
    layout: &ClusterLayout,
    id: &ShardId,
    redundancy: Redundancy,
) -> S3Result<Vec<cairn_types::NodeId>> {
    let width = redundancy.width();
    let targets = layout.nodes_for_partition(partition_of(id, layout.partitions), width);
    if targets.len() < width {
        return Err(unavailable(format!(
            "{redundancy} needs {width} storage nodes, the layout (epoch {}) has {}",
            layout.epoch,
            targets.len()
        )));
    }
    Ok(targets.to_vec())
}

/// The codec id recorded for chunks written with `redundancy`.
pub fn codec_of(redundancy: Redundancy) -> u16 {
    match redundancy {
        Redundancy::Replicas(_) => CODEC_REPLICATION_V1,
        Redundancy::ErasureCoded { .. } => cairn_codec::CODEC_RS_GF256_V1,
    }
}

impl Gateway {
    /// Streams `body` into storage under `version`/`part`. With `allow_inline`
    /// a body no larger than the inline threshold is returned inline instead.
    pub async fn store_stream<S, E>(
        &self,
        mut body: S,
        version: VersionId,
        part: u32,
        redundancy: Redundancy,
        allow_inline: bool,
    ) -> S3Result<Stored>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        let cfg = self.opts().data_path.clone();
        // Asked for when the first chunk is written: inline objects never need it.
        let mut layout: Option<Arc<ClusterLayout>> = None;
        let mut md5 = Md5::new();
        let mut size = 0u64;
        let mut chunker = Chunker::new(cfg.chunk_size);
        let mut pending: VecDeque<JoinHandle<S3Result<ChunkRef>>> = VecDeque::new();
        let mut chunks = Vec::new();
        let mut next_index = 0u32;
        let mut finished = false;
        while !finished {
            let full = match body.next().await {
                Some(Ok(piece)) => {
                    md5.update(&piece);
                    size += piece.len() as u64;
                    chunker.push(piece)
                }
                Some(Err(e)) => return Err(crate::errors::body_error(e.to_string())),
                None => {
                    finished = true;
                    if allow_inline && size <= cfg.inline_threshold as u64 {
                        let data =
                            std::mem::replace(&mut chunker, Chunker::new(cfg.chunk_size)).finish();
                        debug_assert!(
                            chunks.is_empty() && pending.is_empty(),
                            "inline objects never emit chunks"
                        );
                        let data = data.map(|b| b.to_vec()).unwrap_or_default();
                        return Ok(Stored {
                            size,
                            md5: md5.finalize().into(),
                            data: ObjectData::Inline(data),
                        });
                    }
                    std::mem::replace(&mut chunker, Chunker::new(cfg.chunk_size))
                        .finish()
                        .into_iter()
                        .collect()
                }
            };
            for data in full {
                let permit = self
                    .inner
                    .chunk_budget
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(internal)?;
                let gw = self.clone();
                let layout = match &layout {
                    Some(l) => l.clone(),
                    None => layout.insert(self.layout().await?).clone(),
                };
                let index = next_index;
                next_index += 1;
                pending.push_back(tokio::spawn(async move {
                    let r = gw
                        .write_chunk(&layout, version, part, index, data, redundancy)
                        .await;
                    drop(permit);
                    r
                }));
                while pending.len() >= cfg.put_chunks_in_flight {
                    if let Some(handle) = pending.pop_front() {
                        chunks.push(handle.await.map_err(internal)??);
                    }
                }
            }
        }
        while let Some(handle) = pending.pop_front() {
            chunks.push(handle.await.map_err(internal)??);
        }
        metrics::counter!(METRIC_BYTES_WRITTEN).increment(size);
        Ok(Stored {
            size,
            md5: md5.finalize().into(),
            data: ObjectData::Chunked {
                codec: codec_of(redundancy),
                chunks,
            },
        })
    }

    /// Sends one chunk to its replica nodes at once; succeeds when a write
    /// quorum of them has it on stable storage.
    pub(crate) async fn write_chunk(
        &self,
        layout: &ClusterLayout,
        version: VersionId,
        part: u32,
        index: u32,
        data: Bytes,
        redundancy: Redundancy,
    ) -> S3Result<ChunkRef> {
        if let Redundancy::ErasureCoded { data: k, parity: m } = redundancy {
            return self
                .write_chunk_ec(layout, version, part, index, data, k, m)
                .await;
        }
        let id = ShardId {
            version,
            part,
            chunk: index,
            piece: 0,
        };
        let width = redundancy.width();
        let targets = chunk_targets(layout, &id, redundancy)?;
        let hash = chunk_hash(&data);
        let quorum = write_quorum(redundancy);
        let writes = self
            .write_set(&targets, quorum)
            .await
            .into_iter()
            .map(|node| {
                let data = data.clone();
                async move {
                    match self
                        .put_shard(node, &id, CODEC_REPLICATION_V1, &hash, data)
                        .await
                    {
                        Ok(()) => Some(node),
                        Err(e) => {
                            tracing::warn!(shard = %id, node, error = %e, "replica write failed");
                            None
                        }
                    }
                }
            });
        let grace = Duration::from_millis(self.opts().data_path.write_straggler_ms);
        let stored: Vec<_> = gather_quorum(writes.collect::<Vec<_>>(), quorum, grace)
            .await
            .into_iter()
            .flatten()
            .collect();
        if stored.len() < quorum {
            return Err(unavailable(format!(
                "chunk {id} reached {} of {width} nodes",
                stored.len()
            )));
        }
        Ok(ChunkRef {
            version,
            part,
            index,
            len: data.len() as u64,
            hash,
            nodes: stored,
            pieces: Vec::new(),
            data_pieces: 0,
        })
    }

    /// Fetches one chunk from the first holder that returns a verified copy:
    /// usable holders first, hedged when one is slow.
    pub async fn fetch_chunk(&self, chunk: &ChunkRef) -> Result<Bytes, std::io::Error> {
        if !chunk.pieces.is_empty() {
            return self.fetch_chunk_ec(chunk).await;
        }
        let id = chunk.shard_id(0);
        let (mut holders, others) = self.split_usable(&chunk.nodes).await;
        holders.extend(others);
        let hedge_after = Duration::from_millis(self.opts().data_path.hedge_after_ms);
        let copy = |node| async move {
            match self.get_shard(node, &id).await {
                Ok(data) if data.len() as u64 == chunk.len && chunk_hash(&data) == chunk.hash => {
                    Some(data)
                }
                Ok(_) => {
                    tracing::error!(shard = %id, node, "shard copy does not match the manifest hash");
                    metrics::counter!(METRIC_CORRUPT_CHUNKS).increment(1);
                    None
                }
                Err(e) => {
                    tracing::warn!(shard = %id, node, error = %e, "shard copy unavailable");
                    None
                }
            }
        };
        hedged(holders, 1, hedge_after, copy)
            .await
            .pop()
            .ok_or_else(|| {
                std::io::Error::other(format!("no holder returned a valid copy of chunk {id}"))
            })
    }

    /// A body streaming bytes `start..end` of an object, fetching chunks ahead.
    pub fn read_stream(&self, manifest: &ObjectManifest, start: u64, end: u64) -> StreamingBlob {
        let chunks = match &manifest.data {
            ObjectData::Inline(data) => {
                let slice = Bytes::copy_from_slice(&data[start as usize..end as usize]);
                return StreamingBlob::wrap(futures::stream::once(async move {
                    Ok::<_, std::io::Error>(slice)
                }));
            }
            ObjectData::Chunked { chunks, .. } => Arc::new(chunks.clone()),
        };
        let lens: Vec<u64> = chunks.iter().map(|c| c.len).collect();
        let slices = chunk_slices(&lens, start, end);
        let ahead = self.opts().data_path.get_chunks_in_flight;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
        let gw = self.clone();
        tokio::spawn(async move {
            // Each fetch runs as its own task so read-ahead continues while
            // this loop waits for the client to take the previous chunk.
            let fetches = slices.into_iter().map(|s| {
                let gw = gw.clone();
                let chunk = chunks[s.chunk].clone();
                tokio::spawn(async move {
                    let permit = gw
                        .inner
                        .chunk_budget
                        .clone()
                        .acquire_owned()
                        .await
                        .map_err(std::io::Error::other)?;
                    let data = gw.fetch_chunk(&chunk).await?;
                    Ok::<_, std::io::Error>((
                        permit,
                        data.slice(s.offset as usize..(s.offset + s.len) as usize),
                    ))
                })
            });
            let mut fetches = futures::stream::iter(fetches).buffered(ahead);
            while let Some(joined) = fetches.next().await {
                let result = joined.unwrap_or_else(|e| Err(std::io::Error::other(e)));
                match result {
                    Ok((permit, data)) => {
                        metrics::counter!(METRIC_BYTES_READ).increment(data.len() as u64);
                        if tx.send(Ok(data)).await.is_err() {
                            return; // client went away
                        }
                        drop(permit);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "object read failed mid-stream");
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                }
            }
        });
        StreamingBlob::wrap(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)))
    }
}
