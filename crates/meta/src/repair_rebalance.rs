//! The rebalance status on the meta leader (`cairn admin rebalance
//! status`) and its metrics: the epoch being filled, bytes moved (meta's
//! counter, reset when an epoch is applied) and left (the last complete
//! sweep, less what moved since), the rate over the last minute, the ETA,
//! each node's bytes in and out, and how many pieces the records still
//! name on each node that left the layout (0: drained); and each bucket
//! being re-encoded to a new redundancy (`reencode_status`).

use super::{Repair, db_error, poisoned, rate_of};
use crate::liveness::require_leader;
use crate::reconcile::queue::WorkKind;
use crate::reconcile::reencode::BucketWalk;
use crate::store::chunks::pieces_on_node;
use crate::store::layout::state as layout_state;
use crate::store::reencode_rows::{ReencodeState, reencoding};
use crate::store::repair_rows;
use axum::extract::State;
use axum::response::Response;
use cairn_rpc::rebalance_api::{RebalanceNode, RebalanceStatus, ReencodeStatus};
use cairn_rpc::{MetaError, postcard_response};
use cairn_types::NodeId;
use std::collections::BTreeMap;

/// Pieces counted on a departed node at most (more: still draining).
pub const MAX_HELD_COUNT: usize = 100_000;

/// Metric: bytes of misplaced pieces moved for the current epoch, left,
/// and the rate; whether the epoch is filled (1) or not (0); the epoch.
pub const METRIC_MOVED_BYTES: &str = "cairn_rebalance_moved_bytes";
pub const METRIC_REMAINING_BYTES: &str = "cairn_rebalance_remaining_bytes";
pub const METRIC_RATE: &str = "cairn_rebalance_bytes_per_sec";
pub const METRIC_DONE: &str = "cairn_rebalance_done";
pub const METRIC_EPOCH: &str = "cairn_rebalance_epoch";
pub const METRIC_IN_PROGRESS: &str = "cairn_rebalance_in_progress_pieces";

impl Repair {
    pub(crate) fn rebalance_status(&self) -> Result<RebalanceStatus, MetaError> {
        self.status_of_rebalance(true)
    }

    /// The status; `count_held` counts the pieces departed nodes still
    /// hold (a scan of their index rows, for operators, not every pass).
    fn status_of_rebalance(&self, count_held: bool) -> Result<RebalanceStatus, MetaError> {
        require_leader(&self.node)?;
        let db = self.node.db();
        let layout = layout_state(db).map_err(db_error)?;
        let moved = repair_rows::rebalanced(db).map_err(db_error)?;
        let settings = repair_rows::rebalance_settings(db).map_err(db_error)?;
        let buckets = reencoding(db).map_err(db_error)?;
        let g = self.inner.lock().map_err(|_| poisoned())?;
        let reencode = buckets
            .into_iter()
            .map(|(bucket, state)| {
                let walk = g.walks.get(&bucket);
                reencode_status(bucket.clone(), &state, walk)
            })
            .collect();
        let epoch = layout.epoch();
        let sweep = (g.sweep.epoch == epoch).then_some(&g.sweep);
        let last = sweep.and_then(|s| s.last.as_ref());
        // What the last complete sweep found, less what moved since it ended.
        let (remaining_chunks, remaining_bytes) = match (last, sweep) {
            (Some(l), _) if l.found.bytes > 0 => {
                let bytes = l
                    .found
                    .bytes
                    .saturating_sub(moved.bytes.saturating_sub(l.moved_at_end));
                let share = bytes as f64 / l.found.bytes as f64;
                ((l.found.pieces as f64 * share).ceil() as u64, bytes)
            }
            (Some(_), _) => (0, 0),
            (None, Some(s)) => (s.found.pieces, s.found.bytes),
            (None, None) => (0, 0),
        };
        let (in_progress_chunks, in_progress_bytes) = g.queue.in_progress_where(WorkKind::Move);
        let bytes_per_sec = rate_of(&g.moved_samples);
        let done = epoch > 0 && sweep.is_some_and(|s| s.done()) && in_progress_chunks == 0;
        let mut nodes: BTreeMap<NodeId, RebalanceNode> = BTreeMap::new();
        if let Some(l) = &layout.current {
            for n in &l.nodes {
                nodes.insert(
                    n.id,
                    RebalanceNode {
                        id: n.id,
                        in_layout: true,
                        ..Default::default()
                    },
                );
            }
        }
        if let Some(l) = last {
            for (id, bytes) in &l.found.out {
                nodes.entry(*id).or_insert_with(|| node(*id)).out_bytes = *bytes;
            }
            for (id, bytes) in &l.found.into {
                nodes.entry(*id).or_insert_with(|| node(*id)).in_bytes = *bytes;
            }
        }
        let swept_chunks = sweep.map_or(0, |s| s.judged);
        let sweep_complete = last.is_some();
        drop(g);
        for id in layout.departed.iter().filter(|_| count_held) {
            let held = pieces_on_node(db, *id, None, MAX_HELD_COUNT).map_err(db_error)?;
            let n = nodes.entry(*id).or_insert_with(|| node(*id));
            n.pieces_held = Some(held.len() as u64);
            if held.is_empty() {
                n.out_bytes = 0;
            }
        }
        Ok(RebalanceStatus {
            epoch,
            moved_chunks: moved.chunks,
            moved_bytes: moved.bytes,
            total_bytes: moved.bytes + remaining_bytes,
            remaining_chunks,
            remaining_bytes,
            in_progress_chunks,
            in_progress_bytes,
            bytes_per_sec,
            eta_secs: (bytes_per_sec > 0 && remaining_bytes > 0)
                .then(|| remaining_bytes.div_ceil(bytes_per_sec)),
            done,
            swept_chunks,
            sweep_complete,
            settings,
            nodes: nodes.into_values().collect(),
            reencode,
        })
    }

    /// Sets the rebalance gauges (leader only).
    pub(crate) fn export_rebalance(&self) {
        let Ok(s) = self.status_of_rebalance(false) else {
            return;
        };
        metrics::gauge!(METRIC_MOVED_BYTES).set(s.moved_bytes as f64);
        metrics::gauge!(METRIC_REMAINING_BYTES).set(s.remaining_bytes as f64);
        metrics::gauge!(METRIC_RATE).set(s.bytes_per_sec as f64);
        metrics::gauge!(METRIC_DONE).set(if s.done { 1.0 } else { 0.0 });
        metrics::gauge!(METRIC_EPOCH).set(s.epoch as f64);
        metrics::gauge!(METRIC_IN_PROGRESS).set(s.in_progress_chunks as f64);
    }
}

/// One bucket's re-encoding: what its last complete walk found, less what
/// was re-encoded since (before one: what the walk under way found so far).
fn reencode_status(
    bucket: String,
    state: &ReencodeState,
    walk: Option<&BucketWalk>,
) -> ReencodeStatus {
    let walk = walk.filter(|w| w.generation == state.generation);
    let last = walk.and_then(|w| w.last);
    let (remaining_chunks, remaining_bytes) = match (last, walk) {
        (Some(l), _) => (
            l.chunks
                .saturating_sub(state.chunks.saturating_sub(l.reencoded_chunks)),
            l.bytes
                .saturating_sub(state.bytes.saturating_sub(l.reencoded_bytes)),
        ),
        (None, Some(w)) => (w.chunks, w.bytes),
        (None, None) => (0, 0),
    };
    ReencodeStatus {
        bucket,
        redundancy: state.redundancy.to_string(),
        reencoded_chunks: state.chunks,
        reencoded_bytes: state.bytes,
        remaining_chunks,
        remaining_bytes,
        walk_complete: last.is_some(),
    }
}

fn node(id: NodeId) -> RebalanceNode {
    RebalanceNode {
        id,
        ..Default::default()
    }
}

pub(super) async fn rebalance_status_route(State(r): State<Repair>) -> Response {
    postcard_response(&r.rebalance_status())
}
