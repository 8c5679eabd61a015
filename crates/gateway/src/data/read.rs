//! Reading: the chunks a byte range needs are fetched a few at a time
//! (`data_path.get_chunks_in_flight` ahead of the client), each verified
//! against the manifest's blake3, and streamed out in order. A fetch holds a
//! permit of the read budget only until its chunk is verified: the wait for
//! the client to take it holds none, so clients that stop reading cannot
//! starve the others (their connections are cut by the write timeout). Each chunk is
//! decoded by the codec its manifest records: a replica from the first
//! holder that returns a verified copy (usable holders first, hedged when one
//! is slow), or Reed-Solomon pieces (`erasure`). A copy or piece a node
//! answers corrupt or missing (or that does not match the record's hash)
//! is reported to meta for repair (`damage`), without waiting for it.

use super::hedge::hedged;
use super::path::DataPath;
use bytes::Bytes;
use cairn_codec::{chunk_hash, chunk_slices};
use cairn_rpc::ShardError;
use cairn_rpc::meta_reads::ChunkRefs;
use cairn_rpc::repair_api::DamageKind;
use cairn_types::{
    CODEC_REPLICATION_V1, CODEC_RS_GF256_V1, ChunkRef, ObjectData, ObjectManifest, codec_of,
};
use futures::{StreamExt, TryStreamExt};
use s3s::dto::StreamingBlob;
use std::time::Duration;

/// Metric: chunk copies that failed verification when read by a gateway.
pub const METRIC_CORRUPT_CHUNKS: &str = "cairn_gateway_corrupt_chunks_total";
/// Metric: object bytes served to clients from storage nodes.
pub const METRIC_BYTES_READ: &str = "cairn_gateway_bytes_read_total";
/// Chunk references a GET reads from meta at a time.
pub const CHUNK_REF_PAGE: u32 = 256;

/// The damage a node's answer shows for a piece it is recorded to hold:
/// it said the piece failed verification, or that it has no such piece.
/// Transport failures and timeouts say nothing about the piece.
pub(super) fn damage_kind(e: &ShardError) -> Option<DamageKind> {
    match e {
        ShardError::Corrupt { .. } => Some(DamageKind::Corrupt),
        ShardError::NotFound { .. } => Some(DamageKind::Missing),
        ShardError::Rpc(_) => None,
    }
}

impl DataPath {
    /// Fetches and verifies one chunk, decoded by its own shape (a bucket
    /// being re-encoded holds objects whose chunks are of both kinds).
    pub async fn fetch_chunk(&self, chunk: &ChunkRef) -> Result<Bytes, std::io::Error> {
        match codec_of(chunk) {
            CODEC_REPLICATION_V1 => self.fetch_replica(chunk).await,
            CODEC_RS_GF256_V1 => self.fetch_chunk_ec(chunk).await,
            other => Err(std::io::Error::other(format!(
                "chunk {} was written with codec {other}, which this gateway cannot read",
                chunk.shard_id(0)
            ))),
        }
    }

    /// Fetches one replicated chunk from the first holder that returns a verified copy:
    /// usable holders first, hedged when one is slow.
    async fn fetch_replica(&self, chunk: &ChunkRef) -> Result<Bytes, std::io::Error> {
        let id = chunk.shard_id(0);
        let (mut holders, others) = self.split_usable(&chunk.nodes).await;
        holders.extend(others);
        let hedge_after = Duration::from_millis(self.config().hedge_after_ms);
        let copy = |node| async move {
            match self.get_shard(node, &id).await {
                Ok(data) if data.len() as u64 == chunk.len && chunk_hash(&data) == chunk.hash => {
                    Some(data)
                }
                Ok(_) => {
                    tracing::error!(shard = %id, node, "shard copy does not match the manifest hash");
                    metrics::counter!(METRIC_CORRUPT_CHUNKS).increment(1);
                    self.report_damage(node, id, DamageKind::Corrupt);
                    None
                }
                Err(e) => {
                    tracing::warn!(shard = %id, node, error = %e, "shard copy unavailable");
                    if let Some(kind) = damage_kind(&e) {
                        self.report_damage(node, id, kind);
                    }
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

    /// The slices of `start..end` of a chunked object, chunk by chunk:
    /// (chunk, offset in it, length). A manifest stored by meta
    /// (`ObjectData::Placed`) names no chunks: they are read from meta a
    /// page at a time (`CHUNK_REF_PAGE`), as the stream is polled, each
    /// with the placement its record has then.
    fn slices(
        &self,
        manifest: &ObjectManifest,
        start: u64,
        end: u64,
    ) -> futures::stream::BoxStream<'static, Result<(ChunkRef, u64, u64), std::io::Error>> {
        match &manifest.data {
            ObjectData::Inline(_) => futures::stream::empty().boxed(),
            ObjectData::Chunked { chunks, .. } => {
                let lens: Vec<u64> = chunks.iter().map(|c| c.len).collect();
                let items: Vec<_> = chunk_slices(&lens, start, end)
                    .into_iter()
                    .map(|s| Ok((chunks[s.chunk].clone(), s.offset, s.len)))
                    .collect();
                futures::stream::iter(items).boxed()
            }
            ObjectData::Placed { .. } => {
                let meta = self.inner.meta.clone();
                let version = manifest.version;
                let pages = futures::stream::try_unfold(start, move |pos| {
                    let meta = meta.clone();
                    async move {
                        if pos >= end {
                            return Ok(None);
                        }
                        let page = meta
                            .read(ChunkRefs {
                                manifest: version,
                                start: pos,
                                end,
                                max: CHUNK_REF_PAGE,
                            })
                            .await
                            .map_err(std::io::Error::other)?;
                        let Some((last_offset, last)) = page.last() else {
                            return Err(std::io::Error::other(format!(
                                "meta has no chunks of {version} from byte {pos}"
                            )));
                        };
                        let next = last_offset + last.len;
                        if next <= pos {
                            return Err(std::io::Error::other(format!(
                                "the chunks of {version} do not cover byte {pos}"
                            )));
                        }
                        let items: Vec<_> = page
                            .into_iter()
                            .filter_map(|(offset, c)| {
                                let from = pos.max(offset);
                                let to = end.min(offset + c.len);
                                (to > from).then(|| Ok((c, from - offset, to - from)))
                            })
                            .collect();
                        Ok(Some((futures::stream::iter(items), next)))
                    }
                });
                pages.try_flatten().boxed()
            }
        }
    }

    /// A body streaming bytes `start..end` of an object, fetching chunks ahead.
    pub fn read_stream(&self, manifest: &ObjectManifest, start: u64, end: u64) -> StreamingBlob {
        match &manifest.data {
            ObjectData::Inline(data) => {
                let slice = Bytes::copy_from_slice(&data[start as usize..end as usize]);
                return StreamingBlob::wrap(futures::stream::once(async move {
                    Ok::<_, std::io::Error>(slice)
                }));
            }
            ObjectData::Chunked { .. } | ObjectData::Placed { .. } => {}
        }
        let slices = self.slices(manifest, start, end);
        let ahead = self.config().get_chunks_in_flight;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
        let gw = self.clone();
        tokio::spawn(async move {
            // Each fetch runs as its own task so read-ahead continues while
            // this loop waits for the client to take the previous chunk.
            let fetches = slices.map(|item| {
                let gw = gw.clone();
                tokio::spawn(async move {
                    let (chunk, offset, len) = item?;
                    // The permit covers the fetch (and an erasure decode),
                    // not the wait for the client: a client that stops
                    // reading must not hold the gateway's read budget.
                    let _permit = gw
                        .inner
                        .read_budget
                        .clone()
                        .acquire_owned()
                        .await
                        .map_err(std::io::Error::other)?;
                    let data = gw.fetch_chunk(&chunk).await?;
                    Ok::<_, std::io::Error>(data.slice(offset as usize..(offset + len) as usize))
                })
            });
            let mut fetches = fetches.buffered(ahead);
            while let Some(joined) = fetches.next().await {
                let result = joined.unwrap_or_else(|e| Err(std::io::Error::other(e)));
                match result {
                    Ok(data) => {
                        metrics::counter!(METRIC_BYTES_READ).increment(data.len() as u64);
                        // Waits as long as the client does not read; the
                        // connection's write timeout ends that wait (the
                        // receiver is dropped with the connection).
                        if tx.send(Ok(data)).await.is_err() {
                            return; // client went away
                        }
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
