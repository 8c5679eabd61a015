//! The mover: the storage node's half of the reconciler. Every
//! `MOVER_POLL` it claims as many repair tasks from the meta leader as it
//! has free slots (`repair.moves_per_node`); each task names a piece of a
//! chunk to re-create on this node. A replica is copied from a healthy
//! holder; an erasure piece is rebuilt by fetching k healthy pieces,
//! decoding the chunk, checking its blake3 and encoding only the missing
//! piece. The piece is written durably, read back and verified, then this
//! node records itself as its holder with a compare-and-swap
//! (`ReconcileCommand::SetPieceHolder`) against the record the leader
//! read. A lost swap leaves the piece as surplus (the scrub trims it once
//! the chunk is whole); a task that fails is given back (`RepairRelease`).
//! A misplaced piece (rebalancing, after a layout change) is copied as it
//! is from the holder it leaves, erasure pieces included. Bytes fetched
//! and written pass a byte-rate throttle per node: the cluster's live
//! setting (`cairn admin repair throttle`) or `repair.max_bytes_per_sec`
//! for repair, and a second one (`cairn admin rebalance throttle`,
//! `repair.rebalance_bytes_per_sec`) for moves of misplaced pieces. A
//! re-encode task (a bucket's redundancy changed) is the whole chunk:
//! read, encoded anew and written to its new owners (`mover_reencode.rs`).

use super::throttle::Throttle;
use super::{
    HealState, METRIC_REBALANCE_BYTES, METRIC_REBALANCE_PIECES, METRIC_REENCODE_BYTES,
    METRIC_REENCODE_CHUNKS, METRIC_REPAIR_BYTES, METRIC_REPAIR_FAILURES, METRIC_REPAIR_PIECES,
};
use crate::store::ShardStore;
use bytes::Bytes;
use cairn_codec::{ErasureCodec, chunk_hash};
use cairn_rpc::repair_api::{ReconcileCommand, RepairClaim, RepairRelease, RepairTask};
use cairn_rpc::shard_api::ShardClient;
use cairn_rpc::{MetaClient, MetaCommand, MetaError};
use cairn_types::{MoveReason, NodeId};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::sync::Semaphore;

/// How long the mover waits before asking again when there was no work
/// (or meta did not answer).
pub const MOVER_POLL: Duration = Duration::from_secs(1);

#[derive(Debug, Error)]
pub enum MoveError {
    #[error("no healthy source answered: {0}")]
    Sources(String),
    #[error("the rebuilt data does not match the recorded blake3")]
    HashMismatch,
    #[error("erasure: {0}")]
    Erasure(String),
    #[error("disk: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("meta: {0}")]
    Meta(#[from] MetaError),
    #[error("the task's lease ran out")]
    LeaseOver,
}

/// The mover's settings.
#[derive(Debug, Clone, Copy)]
pub struct MoverConfig {
    pub moves: usize,
    /// `repair.max_bytes_per_sec`: the rate while meta sets none.
    pub bytes_per_sec: u64,
    /// `repair.rebalance_bytes_per_sec`: the same for moves of misplaced pieces.
    pub rebalance_bytes_per_sec: u64,
}

pub struct Mover {
    store: Arc<ShardStore>,
    meta: MetaClient,
    shards: ShardClient,
    node: NodeId,
    heal: Arc<HealState>,
    cfg: MoverConfig,
    throttle: Arc<Throttle>,
    /// Moves of misplaced pieces pass this one instead.
    rebalance_throttle: Arc<Throttle>,
}

impl Mover {
    pub fn new(
        store: Arc<ShardStore>,
        meta: MetaClient,
        shards: ShardClient,
        node: NodeId,
        heal: Arc<HealState>,
        cfg: MoverConfig,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            meta,
            shards,
            node,
            heal,
            throttle: Arc::new(Throttle::new(cfg.bytes_per_sec)),
            rebalance_throttle: Arc::new(Throttle::new(cfg.rebalance_bytes_per_sec)),
            cfg,
        })
    }

    /// Claims and runs tasks until the task is dropped: as soon as a slot
    /// is free it asks for work, and waits `MOVER_POLL` when there is none.
    pub async fn run(self: Arc<Self>) {
        let slots = Arc::new(Semaphore::new(self.cfg.moves.max(1)));
        loop {
            let Ok(first) = slots.clone().acquire_owned().await else {
                return;
            };
            let free = slots.available_permits() + 1;
            let grant = match self
                .meta
                .call(&RepairClaim {
                    node: self.node,
                    slots: free as u32,
                })
                .await
            {
                Ok(g) => g,
                Err(e) => {
                    tracing::debug!(error = %e, "repair claim failed");
                    drop(first);
                    tokio::time::sleep(MOVER_POLL).await;
                    continue;
                }
            };
            self.throttle.set_rate(
                grant
                    .settings
                    .max_bytes_per_sec
                    .unwrap_or(self.cfg.bytes_per_sec),
            );
            self.rebalance_throttle.set_rate(
                grant
                    .rebalance
                    .max_bytes_per_sec
                    .unwrap_or(self.cfg.rebalance_bytes_per_sec),
            );
            if grant.tasks.is_empty() {
                drop(first);
                tokio::time::sleep(MOVER_POLL).await;
                continue;
            }
            let mut first = Some(first);
            for task in grant.tasks {
                let permit = match first.take() {
                    Some(p) => p,
                    None => match slots.clone().acquire_owned().await {
                        Ok(p) => p,
                        Err(_) => return,
                    },
                };
                let me = self.clone();
                tokio::spawn(async move {
                    me.run_task(task).await;
                    drop(permit);
                });
            }
        }
    }

    async fn run_task(&self, task: RepairTask) {
        let id = task.chunk.shard(task.piece);
        self.heal.begin_move(id);
        let lease = Duration::from_millis(task.lease_ms.max(1));
        let work = async {
            match &task.reencode {
                Some(order) => self.reencode_chunk(&task, order).await,
                None => self.move_piece(&task).await,
            }
        };
        let result = match tokio::time::timeout(lease, work).await {
            Ok(r) => r,
            Err(_) => Err(MoveError::LeaseOver),
        };
        self.heal.end_move(&id);
        match result {
            Ok(bytes) if task.reason == MoveReason::Misplaced => {
                metrics::counter!(METRIC_REBALANCE_PIECES).increment(1);
                metrics::counter!(METRIC_REBALANCE_BYTES).increment(bytes);
                tracing::debug!(chunk = %task.chunk, piece = task.piece, from = ?task.replace, bytes, "misplaced piece moved");
            }
            Ok(bytes) if task.reason == MoveReason::Reencoded => {
                metrics::counter!(METRIC_REENCODE_CHUNKS).increment(1);
                metrics::counter!(METRIC_REENCODE_BYTES).increment(bytes);
                tracing::debug!(chunk = %task.chunk, bytes, "chunk re-encoded");
            }
            Ok(bytes) => {
                metrics::counter!(METRIC_REPAIR_PIECES).increment(1);
                metrics::counter!(METRIC_REPAIR_BYTES).increment(bytes);
                self.heal.add_repair_bytes(bytes);
                tracing::info!(chunk = %task.chunk, piece = task.piece, from = ?task.replace, reason = ?task.reason, bytes, "piece re-created");
            }
            // Someone else did it, or the chunk changed or went: nothing to
            // give back, the leader plans from the records.
            Err(MoveError::Meta(MetaError::PreconditionFailed)) => {
                tracing::info!(chunk = %task.chunk, piece = task.piece, "repair swap lost: the record changed meanwhile");
            }
            Err(e) => {
                metrics::counter!(METRIC_REPAIR_FAILURES).increment(1);
                tracing::warn!(chunk = %task.chunk, piece = task.piece, error = %e, "repair task failed; giving it back");
                let release = RepairRelease {
                    node: self.node,
                    chunk: task.chunk,
                    piece: task.piece,
                    error: e.to_string(),
                };
                if let Err(e) = self.meta.call(&release).await {
                    tracing::debug!(error = %e, "giving back a repair task failed (its lease will run out)");
                }
            }
        }
    }

    /// The throttle a task's written bytes pass (a re-encode: the
    /// rebalance one, like a move).
    fn throttle_for(&self, task: &RepairTask) -> &Throttle {
        if is_rebalancing(task) {
            &self.rebalance_throttle
        } else {
            &self.throttle
        }
    }

    /// Waits for the throttle before fetching `bytes`: repair counts what
    /// it reads and writes; a rebalancing move counts the bytes it moves
    /// (written) once, so its rate is the rate pieces arrive.
    async fn fetch_throttle(&self, task: &RepairTask, bytes: u64) {
        if !is_rebalancing(task) {
            self.throttle.take(bytes).await;
        }
    }

    /// Re-creates the piece, verifies it on disk and commits the holder.
    async fn move_piece(&self, task: &RepairTask) -> Result<u64, MoveError> {
        let copied = if task.reason == MoveReason::Misplaced && task.record.chunk.data_pieces > 0 {
            self.copy_piece(task).await
        } else {
            None
        };
        let (payload, hash) = match copied {
            Some(p) => p,
            None if task.record.chunk.data_pieces == 0 => self.copy_replica(task).await?,
            None => self.rebuild_piece(task).await?,
        };
        let len = payload.len() as u64;
        self.throttle_for(task).take(len).await;
        let id = task.chunk.shard(task.piece);
        self.store
            .write(
                &id,
                task.record.codec,
                hash,
                futures::stream::iter([Ok::<_, std::io::Error>(payload)]),
            )
            .await?;
        // Read back: the read verifies the bytes on this disk against the
        // header, which holds `hash` (the write refused any other), so what
        // the record will name is what is on disk.
        self.store.read(&id).await?;
        self.meta
            .write(&MetaCommand::Reconcile(ReconcileCommand::SetPieceHolder {
                chunk: task.chunk,
                piece: task.piece,
                from: task.replace,
                hash,
                to: self.node,
                reason: task.reason,
            }))
            .await?;
        Ok(len)
    }

    /// A replica from the first source that has a good one.
    async fn copy_replica(&self, task: &RepairTask) -> Result<(Bytes, [u8; 32]), MoveError> {
        let want = task.record.chunk.hash;
        let mut errors = Vec::new();
        for (_, node, addr) in &task.sources {
            if *node == self.node {
                continue;
            }
            self.fetch_throttle(task, task.record.chunk.len).await;
            match self.shards.get_for_repair(addr, &task.chunk.shard(0)).await {
                Ok(bytes) if chunk_hash(&bytes) == want => return Ok((bytes, want)),
                Ok(_) => errors.push(format!("node {node}: bytes do not match the record")),
                Err(e) => errors.push(format!("node {node}: {e}")),
            }
        }
        Err(MoveError::Sources(errors.join("; ")))
    }

    /// A misplaced erasure piece copied as it is from the holder it leaves
    /// (None: that failed, and the piece is rebuilt from k others instead).
    async fn copy_piece(&self, task: &RepairTask) -> Option<(Bytes, [u8; 32])> {
        let from = task.replace?;
        let recorded = task
            .record
            .chunk
            .pieces
            .get(usize::from(task.piece))?
            .as_ref()?;
        let (_, _, addr) = task
            .sources
            .iter()
            .find(|(p, n, _)| *p == task.piece && *n == from)?;
        let id = task.chunk.shard(task.piece);
        match self.shards.get_for_repair(addr, &id).await {
            Ok(bytes) if chunk_hash(&bytes) == recorded.hash => Some((bytes, recorded.hash)),
            Ok(_) => {
                tracing::warn!(shard = %id, node = from, "misplaced piece does not match its record; rebuilding it");
                None
            }
            Err(e) => {
                tracing::info!(shard = %id, node = from, error = %e, "copying a misplaced piece failed; rebuilding it");
                None
            }
        }
    }

    /// An erasure piece decoded from k good pieces and encoded again.
    async fn rebuild_piece(&self, task: &RepairTask) -> Result<(Bytes, [u8; 32]), MoveError> {
        let chunk = &task.record.chunk;
        let k = usize::from(chunk.data_pieces);
        let total = chunk.pieces.len();
        let codec = ErasureCodec::new(k, total.saturating_sub(k))
            .map_err(|e| MoveError::Erasure(e.to_string()))?;
        let data = self.decode_chunk(task).await?;
        let mut encoded = codec
            .encode_bytes(data)
            .map_err(|e| MoveError::Erasure(e.to_string()))?;
        let i = usize::from(task.piece);
        if i >= encoded.len() {
            return Err(MoveError::Erasure(format!(
                "no piece {i} in a {total}-piece chunk"
            )));
        }
        let piece = encoded.swap_remove(i);
        let hash = chunk_hash(&piece);
        // A slot that was written holds a known hash: the rebuilt piece must match it.
        if let Some(Some(recorded)) = chunk.pieces.get(i)
            && recorded.hash != hash
        {
            return Err(MoveError::HashMismatch);
        }
        Ok((piece, hash))
    }

    /// An erasure-coded chunk decoded from k good pieces (other than the
    /// task's own piece), data pieces first, checked against its blake3.
    async fn decode_chunk(&self, task: &RepairTask) -> Result<Bytes, MoveError> {
        let chunk = &task.record.chunk;
        let k = usize::from(chunk.data_pieces);
        let total = chunk.pieces.len();
        let codec = ErasureCodec::new(k, total.saturating_sub(k))
            .map_err(|e| MoveError::Erasure(e.to_string()))?;
        let piece_len = codec.shard_len(chunk.len as usize) as u64;
        let mut pieces: Vec<Option<Bytes>> = vec![None; total];
        let mut have = 0;
        let mut errors = Vec::new();
        // Sources in order: data pieces first, which needs no decoding when
        // they are all there.
        let mut sources = task.sources.clone();
        sources.sort_by_key(|(p, _, _)| *p);
        for (p, node, addr) in &sources {
            if have == k {
                break;
            }
            let i = usize::from(*p);
            let Some(Some(recorded)) = chunk.pieces.get(i) else {
                continue;
            };
            if pieces[i].is_some() || i == usize::from(task.piece) {
                continue;
            }
            self.fetch_throttle(task, piece_len).await;
            match self
                .shards
                .get_for_repair(addr, &task.chunk.shard(*p))
                .await
            {
                Ok(bytes) if chunk_hash(&bytes) == recorded.hash => {
                    pieces[i] = Some(bytes);
                    have += 1;
                }
                Ok(_) => errors.push(format!(
                    "piece {p} on node {node}: bytes do not match the record"
                )),
                Err(e) => errors.push(format!("piece {p} on node {node}: {e}")),
            }
        }
        if have < k {
            return Err(MoveError::Sources(format!(
                "{have} of {k} pieces: {}",
                errors.join("; ")
            )));
        }
        let data = codec
            .decode(pieces, chunk.len as usize)
            .map_err(|e| MoveError::Erasure(e.to_string()))?;
        if chunk_hash(&data) != chunk.hash {
            return Err(MoveError::HashMismatch);
        }
        Ok(data)
    }
}

/// Moves of misplaced pieces and re-encodes follow the rebalance settings.
fn is_rebalancing(task: &RepairTask) -> bool {
    matches!(task.reason, MoveReason::Misplaced | MoveReason::Reencoded)
}

#[path = "mover_reencode.rs"]
mod reencode;
