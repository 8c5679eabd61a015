//! Rebalancing's wire vocabulary: the live settings operators change
//! (`cairn admin rebalance pause|resume|throttle`, through the Raft log as
//! `ReconcileCommand::SetRebalanceSettings`) and the status the meta leader
//! answers (`cairn admin rebalance status`). Rebalancing is the reconciler
//! moving a piece for a second reason: its holder is no longer among the
//! chunk's owners in the current layout (`MoveReason::Misplaced`). Repair
//! work is always handed out first. A bucket whose redundancy changed
//! (`cairn admin bucket set-redundancy`) has its chunks re-encoded by the
//! same machinery (`MoveReason::Reencoded`), under the same pause and
//! throttle, and reported here too (`ReencodeStatus`).

use crate::endpoint::Endpoint;
use cairn_types::NodeId;
use serde::{Deserialize, Serialize};

/// Path of the rebalance status (answered by the meta leader).
pub const META_REBALANCE_STATUS_PATH: &str = "/v1/meta/rebalance/status";

/// The live rebalance settings, kept in meta.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RebalanceSettings {
    /// No new moves of misplaced pieces are handed out (moves in flight finish).
    pub paused: bool,
    /// Bytes per second each node may move for rebalancing; None: each
    /// node's `repair.rebalance_bytes_per_sec`.
    pub max_bytes_per_sec: Option<u64>,
}

/// Asks the leader for the rebalance status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebalanceStatusRequest;

impl Endpoint for RebalanceStatusRequest {
    const PATH: &'static str = META_REBALANCE_STATUS_PATH;
    type Answer = RebalanceStatus;
}

/// One node's part in the rebalance under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RebalanceNode {
    pub id: NodeId,
    /// In the applied layout.
    pub in_layout: bool,
    /// Bytes of misplaced pieces still to arrive on it / to leave it, as
    /// the last sweep found them.
    pub in_bytes: u64,
    pub out_bytes: u64,
    /// Pieces the chunk records still name on it (counted for nodes out of
    /// the layout only: 0 there means it is drained).
    pub pieces_held: Option<u64>,
}

/// `cairn admin rebalance status`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RebalanceStatus {
    /// The layout epoch being filled (0: no layout).
    pub epoch: u64,
    /// Misplaced pieces moved and committed since that epoch was applied.
    pub moved_chunks: u64,
    pub moved_bytes: u64,
    /// `moved_bytes` plus what is still misplaced.
    pub total_bytes: u64,
    /// Misplaced pieces left (as of the last complete sweep, less what moved since).
    pub remaining_chunks: u64,
    pub remaining_bytes: u64,
    /// Moves leased to nodes right now.
    pub in_progress_chunks: u64,
    pub in_progress_bytes: u64,
    pub bytes_per_sec: u64,
    /// None while nothing moves.
    pub eta_secs: Option<u64>,
    /// A sweep of every chunk record at this epoch has ended and found
    /// nothing misplaced.
    pub done: bool,
    /// Chunk records the current sweep has judged, and whether one full
    /// sweep at this epoch has ended.
    pub swept_chunks: u64,
    pub sweep_complete: bool,
    pub settings: RebalanceSettings,
    /// Every node in the layout or holding misplaced pieces, by id.
    pub nodes: Vec<RebalanceNode>,
    /// Buckets whose chunks are being re-encoded to a new redundancy.
    pub reencode: Vec<ReencodeStatus>,
}

/// One bucket being re-encoded (`cairn admin bucket set-redundancy`): it
/// is listed until a full walk of its objects finds no chunk stored
/// otherwise than its redundancy says.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReencodeStatus {
    pub bucket: String,
    /// The redundancy its chunks are re-encoded to (`replicas=N`, `ec=K+M`).
    pub redundancy: String,
    /// Chunks re-encoded and committed since the change, and their bytes.
    pub reencoded_chunks: u64,
    pub reencoded_bytes: u64,
    /// Chunks (and bytes) still stored the old way, as the last full walk
    /// of the bucket found them, less what was re-encoded since.
    pub remaining_chunks: u64,
    pub remaining_bytes: u64,
    /// Whether one full walk of the bucket has ended since the change.
    pub walk_complete: bool,
}
