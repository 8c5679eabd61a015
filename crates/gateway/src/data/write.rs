//! Writing: a body stream is hashed (MD5 for the ETag) and cut into
//! chunks; each chunk's pieces go to their placement nodes at once (replicas
//! here; erasure-coded pieces in `erasure`), with at most
//! `data_path.put_chunks_in_flight` chunks in flight per request and every
//! chunk buffer (the one being filled from the body included) counted
//! against the gateway-wide write budget. A chunk counts once
//! a write quorum of nodes has it on stable storage; stragglers past the
//! quorum are not waited for (`quorum`). Bodies up to the inline threshold
//! are returned inline instead.

use super::path::DataPath;
use super::quorum::gather_quorum;
use crate::errors::{body_error, internal, unavailable};
use bytes::Bytes;
use cairn_codec::{Chunker, chunk_hash};
use cairn_placement::partition_of;
use cairn_types::{
    CODEC_REPLICATION_V1, ChunkRef, ClusterLayout, ObjectData, Redundancy, ShardId, VersionId,
};
use futures::{Stream, StreamExt};
use md5::{Digest, Md5};
use s3s::S3Result;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinHandle;

/// Metric: object bytes written to storage nodes.
pub const METRIC_BYTES_WRITTEN: &str = "cairn_gateway_bytes_written_total";

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
            ObjectData::Inline(_) | ObjectData::Placed { .. } => Vec::new(),
            ObjectData::Chunked { chunks, .. } => chunks.clone(),
        }
    }
}

/// The nodes a chunk's pieces go to, in piece order: the first `width`
/// nodes of its partition in the layout; 503 when the layout has fewer.
pub(super) fn chunk_targets(
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

/// The chunk writes of one `store_stream`: started in order, at most
/// `in_flight` at once, each holding its chunk's write-budget permit until
/// its quorum answered.
struct ChunkWrites {
    gw: DataPath,
    /// Asked for when the first chunk is written: inline objects never need it.
    layout: Option<Arc<ClusterLayout>>,
    version: VersionId,
    part: u32,
    redundancy: Redundancy,
    pending: VecDeque<JoinHandle<S3Result<ChunkRef>>>,
    chunks: Vec<ChunkRef>,
    in_flight: usize,
}

impl ChunkWrites {
    /// Starts writing the next chunk; waits while `in_flight` writes run.
    async fn start(&mut self, data: Bytes, permit: OwnedSemaphorePermit) -> S3Result<()> {
        let layout = match &self.layout {
            Some(l) => l.clone(),
            None => self.layout.insert(self.gw.layout().await?).clone(),
        };
        let index = (self.chunks.len() + self.pending.len()) as u32;
        let (gw, version, part, redundancy) =
            (self.gw.clone(), self.version, self.part, self.redundancy);
        self.pending.push_back(tokio::spawn(async move {
            let r = gw
                .write_chunk(&layout, version, part, index, data, redundancy)
                .await;
            drop(permit);
            r
        }));
        while self.pending.len() >= self.in_flight {
            if let Some(handle) = self.pending.pop_front() {
                self.chunks.push(handle.await.map_err(internal)??);
            }
        }
        Ok(())
    }

    /// Waits for every write; the chunks in order.
    async fn finish(mut self) -> S3Result<Vec<ChunkRef>> {
        while let Some(handle) = self.pending.pop_front() {
            self.chunks.push(handle.await.map_err(internal)??);
        }
        Ok(self.chunks)
    }
}

impl DataPath {
    /// A permit of the write budget: one chunk buffer.
    async fn write_permit(&self) -> S3Result<OwnedSemaphorePermit> {
        self.inner
            .write_budget
            .clone()
            .acquire_owned()
            .await
            .map_err(internal)
    }

    /// Streams `body` into storage under `version`/`part`. With `allow_inline`
    /// a body no larger than the inline threshold is returned inline instead.
    ///
    /// Every chunk buffer counts against the write budget: the chunk being
    /// filled (its permit is taken when its first bytes arrive and travels
    /// with the chunk to its write) and each chunk being sent. Permits are
    /// taken one at a time and only while holding no other permit that
    /// waits on anything but storage nodes, so PUTs cannot deadlock the pool.
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
        let cfg = self.config().clone();
        let mut writes = ChunkWrites {
            gw: self.clone(),
            layout: None,
            version,
            part,
            redundancy,
            pending: VecDeque::new(),
            chunks: Vec::new(),
            in_flight: cfg.put_chunks_in_flight,
        };
        let mut md5 = Md5::new();
        let mut size = 0u64;
        let mut chunker = Chunker::new(cfg.chunk_size);
        // The permit of the chunker's partly filled buffer, if it has bytes.
        let mut buffer_permit: Option<OwnedSemaphorePermit> = None;
        loop {
            let mut piece = match body.next().await {
                Some(Ok(piece)) => piece,
                Some(Err(e)) => return Err(body_error(e.to_string())),
                None => break,
            };
            md5.update(&piece);
            size += piece.len() as u64;
            while !piece.is_empty() {
                let permit = match buffer_permit.take() {
                    Some(p) => p,
                    None => self.write_permit().await?,
                };
                // Never more than fills the buffer: at most one chunk comes out.
                let room = cfg.chunk_size - chunker.pending();
                let full = chunker.push(piece.split_to(room.min(piece.len())));
                match full.into_iter().next() {
                    Some(data) => writes.start(data, permit).await?,
                    None => buffer_permit = Some(permit),
                }
            }
        }
        if allow_inline && size <= cfg.inline_threshold as u64 {
            debug_assert!(
                writes.chunks.is_empty() && writes.pending.is_empty(),
                "inline objects never emit chunks"
            );
            let data = chunker.finish().map(|b| b.to_vec()).unwrap_or_default();
            return Ok(Stored {
                size,
                md5: md5.finalize().into(),
                data: ObjectData::Inline(data),
            });
        }
        if let Some(data) = chunker.finish() {
            let permit = match buffer_permit.take() {
                Some(p) => p,
                None => self.write_permit().await?,
            };
            writes.start(data, permit).await?;
        }
        let chunks = writes.finish().await?;
        metrics::counter!(METRIC_BYTES_WRITTEN).increment(size);
        Ok(Stored {
            size,
            md5: md5.finalize().into(),
            data: ObjectData::Chunked {
                codec: redundancy.codec(),
                chunks,
            },
        })
    }

    /// Sends one chunk to its replica nodes at once; succeeds when a write
    /// quorum of them has it on stable storage.
    async fn write_chunk(
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
        let quorum = redundancy.write_quorum();
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
        let grace = Duration::from_millis(self.config().write_straggler_ms);
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
}
