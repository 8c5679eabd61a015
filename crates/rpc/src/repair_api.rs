//! The reconciler's wire vocabulary: how chunk placement records change
//! (`ReconcileCommand`, through the Raft log), how storage nodes take repair
//! work from the meta leader and report their disks and scrub passes, and
//! what operators read (durability, repair status, per-object inspect).
//!
//! One mechanism serves repair and rebalancing (`rebalance_api`): for every chunk,
//! meta compares the pieces its record names with what they should be.
//! The meta leader plans (it alone knows which nodes are down, and for how
//! long) and hands out leased tasks; storage nodes do the moving: a task
//! names one piece to re-create on the node that claims it, and the node
//! copies or rebuilds it, verifies its blake3, then records itself as the
//! holder with `ReconcileCommand::SetPieceHolder`, a compare-and-swap on
//! the old holder and hash. Leases live in the leader's memory: a new
//! leader plans again from the records, and a task done twice loses its
//! compare-and-swap, so its piece is merely surplus.

use crate::endpoint::Endpoint;
use crate::rebalance_api::RebalanceSettings;
use cairn_types::{
    ChunkKey, ChunkRecord, MoveReason, NodeId, Redundancy, ShardId, UnixMillis, VersionId,
};
use serde::{Deserialize, Serialize};

/// Path of the repair claim endpoint (answered by the meta leader).
pub const META_REPAIR_CLAIM_PATH: &str = "/v1/meta/repair/claim";
/// Path where a mover gives back a task it could not finish.
pub const META_REPAIR_RELEASE_PATH: &str = "/v1/meta/repair/release";
/// Path of a node's disk and scrub report.
pub const META_NODE_REPORT_PATH: &str = "/v1/meta/node_report";
/// Path of the durability report.
pub const META_DURABILITY_PATH: &str = "/v1/meta/durability";
/// Path of the repair status.
pub const META_REPAIR_STATUS_PATH: &str = "/v1/meta/repair/status";
/// Path of the per-object inspect.
pub const META_INSPECT_PATH: &str = "/v1/meta/inspect";

/// Changes to chunk records and repair settings, applied through the Raft
/// log (`MetaCommand::Reconcile`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReconcileCommand {
    /// Compare-and-swap of one piece's holder. Erasure-coded chunks: slot
    /// `piece` must hold `from` (None: the slot is empty) with blake3
    /// `hash`; it then holds `to` with `hash` (the hash of the rebuilt
    /// piece when the slot was empty). Replicated chunks (`piece` 0): the
    /// replica on `from` is replaced by one on `to` (`from` None: `to` is
    /// added), and `hash` must be the chunk's. Refused with
    /// `PreconditionFailed` when the record says otherwise, when `to`
    /// already holds a piece of the chunk, or when the chunk has no record
    /// (its data was deleted meanwhile). Clears the damage recorded for the
    /// replaced piece and appends a `PieceEvent`.
    SetPieceHolder {
        chunk: ChunkKey,
        piece: u16,
        from: Option<NodeId>,
        hash: [u8; 32],
        to: NodeId,
        reason: MoveReason,
    },
    /// Pieces a node's scrub or a gateway's read found damaged. A report
    /// for a piece meta does not record on that node is ignored.
    ReportDamage { reports: Vec<DamageReport> },
    /// Proposed by the leader when a node reports a disk identity other
    /// than the one recorded: every piece recorded on the node is missing.
    /// The first identity a node reports is recorded without damage.
    DiskIdentity { node: NodeId, disk_id: u128 },
    /// The live repair settings (`cairn admin repair pause|resume|throttle`).
    SetRepairSettings(RepairSettings),
    /// The live rebalance settings (`cairn admin rebalance pause|resume|throttle`).
    SetRebalanceSettings(RebalanceSettings),
    /// `cairn admin bucket set-redundancy`: new writes to `bucket` use
    /// `redundancy` from this entry on, and the bucket is marked for
    /// re-encoding. Refused (`InvalidRequest`) when the layout has fewer
    /// nodes with capacity than the redundancy's width.
    SetBucketRedundancy {
        bucket: String,
        redundancy: Redundancy,
    },
    /// A chunk re-encoded by a mover: the chunk row of manifest version
    /// `manifest` at byte `offset` must name `old`; it then names `new`,
    /// whose record (every piece written, verified) is `record`. The old
    /// record is dropped and its pieces marked retired (a scrub trims them
    /// a grace later: a GET that read the old placement still finds them).
    /// Refused with `PreconditionFailed` when the row names another chunk,
    /// the records disagree on the bytes, or `new` exists; with
    /// `DataVersionExpired` when `new`'s version is at or before the
    /// collector's horizon.
    ReencodeChunk {
        bucket: String,
        manifest: VersionId,
        offset: u64,
        old: ChunkKey,
        new: ChunkKey,
        record: ChunkRecord,
    },
    /// Proposed by the leader when a full walk of `bucket`, begun at its
    /// re-encode generation `generation`, found every chunk stored as its
    /// redundancy says: the bucket leaves the re-encode list unless a
    /// write marked it again since (the generation moved on).
    ReencodeDone { bucket: String, generation: u64 },
}

/// The piece index a re-encode task names: the whole chunk, every piece.
pub const REENCODE_PIECE: u16 = u16::MAX;

/// What a re-encode task asks of its mover: read the chunk, encode it with
/// `redundancy` under `new`, write piece i to `targets[i]` (every replica,
/// or data then parity pieces), and commit `ReconcileCommand::ReencodeChunk`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReencodeOrder {
    pub bucket: String,
    /// The manifest version whose chunk row names the chunk, and its offset.
    pub manifest: VersionId,
    pub offset: u64,
    /// The new chunk's key (a version the leader minted at the claim).
    pub new: ChunkKey,
    pub redundancy: Redundancy,
    /// The new chunk's owners in the current layout, with their addresses.
    pub targets: Vec<(NodeId, String)>,
}

/// Damage found on one piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DamageReport {
    pub node: NodeId,
    pub shard: ShardId,
    pub kind: DamageKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DamageKind {
    /// Not on the node's disk.
    Missing,
    /// On the disk, but its bytes do not match its blake3.
    Corrupt,
}

/// Damage meta records for one piece (until the piece is replaced).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DamageRecord {
    pub node: NodeId,
    pub piece: u16,
    pub kind: DamageKind,
    pub reported_at: UnixMillis,
}

/// Cluster-wide repair settings, kept in meta.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RepairSettings {
    /// No new tasks are handed out (tasks in flight finish).
    pub paused: bool,
    /// Bytes per second each node may move; None: each node's
    /// `repair.max_bytes_per_sec`.
    pub max_bytes_per_sec: Option<u64>,
}

/// A storage node asks for repair work: up to `slots` tasks to re-create a
/// piece on itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairClaim {
    pub node: NodeId,
    pub slots: u32,
}

impl Endpoint for RepairClaim {
    const PATH: &'static str = META_REPAIR_CLAIM_PATH;
    type Answer = RepairGrant;
}

/// The leader's answer to a claim: the settings in force and the tasks
/// leased to the node (none while paused).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairGrant {
    pub settings: RepairSettings,
    /// Rebalancing's settings: moves of misplaced pieces pass their own throttle.
    pub rebalance: RebalanceSettings,
    pub tasks: Vec<RepairTask>,
}

/// One piece to re-create on the claiming node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairTask {
    pub chunk: ChunkKey,
    /// The chunk's record as the leader read it; the compare-and-swap is
    /// made against it.
    pub record: ChunkRecord,
    /// Erasure piece index to re-create (0 for a replica).
    pub piece: u16,
    /// The holder the new piece replaces (None: the slot is empty).
    pub replace: Option<NodeId>,
    pub reason: MoveReason,
    /// Healthy pieces to read from: (piece index, node, node address).
    pub sources: Vec<(u16, NodeId, String)>,
    /// How long the lease lasts from the claim, in ms; after it the leader
    /// may give the piece to another node.
    pub lease_ms: u64,
    /// Some: not a piece but the whole chunk, re-encoded (`piece` is
    /// `REENCODE_PIECE`).
    pub reencode: Option<ReencodeOrder>,
}

/// A mover gives back a task it could not finish (its sources failed, its
/// disk refused the piece); the leader plans the chunk again at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairRelease {
    pub node: NodeId,
    pub chunk: ChunkKey,
    pub piece: u16,
    pub error: String,
}

impl Endpoint for RepairRelease {
    const PATH: &'static str = META_REPAIR_RELEASE_PATH;
    type Answer = ();
}

/// What a storage node reports about its disk and scrub, every heartbeat
/// interval, beside its heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeReport {
    pub node: NodeId,
    /// Random identity written to the data dir at first start: another
    /// value means the disk was wiped or replaced.
    pub disk_id: u128,
    pub scrub: ScrubProgress,
    /// Bytes this node's mover wrote for repair since it started.
    pub repair_bytes_written: u64,
}

impl Endpoint for NodeReport {
    const PATH: &'static str = META_NODE_REPORT_PATH;
    type Answer = ();
}

/// A node's scrub pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ScrubProgress {
    /// When the current pass started (0: none yet).
    pub pass_started_ms: u64,
    /// Bytes verified in the current pass, and the bytes the node holds.
    pub pass_bytes_verified: u64,
    pub bytes_total: u64,
    /// Bytes verified since the node started, all passes.
    pub bytes_verified_total: u64,
    /// Damaged pieces found since the node started.
    pub damaged_found: u64,
    /// The scrub rate in force (bytes/s).
    pub bytes_per_sec: u64,
    /// When the last full pass ended (0: none yet).
    pub last_pass_finished_ms: u64,
}

/// Asks the leader for the durability report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DurabilityRequest;

impl Endpoint for DurabilityRequest {
    const PATH: &'static str = META_DURABILITY_PATH;
    type Answer = DurabilityReport;
}

/// Chunks, objects and bytes in one state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StateCount {
    pub chunks: u64,
    pub objects: u64,
    pub bytes: u64,
}

/// `cairn admin durability`: every chunk counted once, in its state; an
/// object counts in the worst state of its chunks; bytes are object bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DurabilityReport {
    /// Every piece on an up owner, none damaged.
    pub healthy: StateCount,
    /// Pieces missing, damaged or long down, more than the minimum left.
    pub degraded: StateCount,
    /// Degraded chunks by how many pieces they lack (1, 2, …).
    pub degraded_by_missing: Vec<(u32, StateCount)>,
    /// Exactly the minimum left (k pieces, or 1 replica).
    pub at_risk: StateCount,
    /// Fewer than the minimum left.
    pub unreadable: StateCount,
    /// Healthy pieces on nodes that are no longer owners (rebalancing).
    pub misplaced: StateCount,
    pub repair: RepairSummary,
    pub scrub: ScrubSummary,
    /// When the leader computed it.
    pub computed_at: UnixMillis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RepairSummary {
    pub queued_chunks: u64,
    pub queued_bytes: u64,
    pub bytes_per_sec: u64,
    /// None while nothing is moving.
    pub eta_secs: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ScrubSummary {
    /// Bytes verified by every node's scrub since it started.
    pub bytes_verified: u64,
    /// Until the slowest node's current pass ends (None: unknown).
    pub pass_eta_secs: Option<u64>,
    /// Earliest start of the nodes' current passes.
    pub pass_started_ms: u64,
    pub damaged_found: u64,
}

/// Asks the leader for the repair status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairStatusRequest;

impl Endpoint for RepairStatusRequest {
    const PATH: &'static str = META_REPAIR_STATUS_PATH;
    type Answer = RepairStatus;
}

/// `cairn admin repair status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RepairStatus {
    pub queued_chunks: u64,
    pub queued_bytes: u64,
    pub in_progress_chunks: u64,
    pub in_progress_bytes: u64,
    /// Pieces re-created and committed (kept in meta, across leaders).
    pub done_chunks: u64,
    pub done_bytes: u64,
    pub bytes_per_sec: u64,
    pub eta_secs: Option<u64>,
    pub settings: RepairSettings,
}

/// Asks the leader for one object version's placement, chunk by chunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InspectRequest {
    pub bucket: String,
    pub key: String,
    /// None: the current version.
    pub version_id: Option<String>,
    /// First chunk (in object order) to describe, and how many at most.
    pub first_chunk: u64,
    pub max_chunks: u32,
}

impl Endpoint for InspectRequest {
    const PATH: &'static str = META_INSPECT_PATH;
    type Answer = Option<ObjectInspect>;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectInspect {
    pub bucket: String,
    pub key: String,
    pub version_id: String,
    pub size: u64,
    /// None for inline objects.
    pub codec: Option<u16>,
    pub total_chunks: u64,
    pub chunks: Vec<ChunkInspect>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkInspect {
    pub offset: u64,
    pub key: ChunkKey,
    pub len: u64,
    pub width: u8,
    pub min_pieces: u8,
    pub pieces: Vec<PieceInspect>,
    pub history: Vec<cairn_types::PieceEvent>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PieceInspect {
    pub piece: u16,
    /// None: an erasure slot whose write failed.
    pub node: Option<NodeId>,
    pub zone: Option<String>,
    pub state: PieceState,
    /// When the holder's scrub last verified it (filled by the CLI from
    /// the node; None: not yet, or unknown).
    pub last_verified_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PieceState {
    Ok,
    Missing,
    Corrupt,
    OnDownNode,
    Surplus,
}

impl std::fmt::Display for PieceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PieceState::Ok => "ok",
            PieceState::Missing => "missing",
            PieceState::Corrupt => "corrupt",
            PieceState::OnDownNode => "on_down_node",
            PieceState::Surplus => "surplus",
        })
    }
}

/// What meta records about shards a node holds (a scrub's question, so
/// that it can trim surplus pieces).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShardVerdict {
    /// Meta records this piece on this node.
    Recorded,
    /// The chunk exists but records the piece elsewhere; `chunk_full` says
    /// whether every piece of the chunk is recorded (then the copy here may
    /// be trimmed once it is older than the collector's grace).
    Surplus { chunk_full: bool },
    /// No record of the chunk: an upload in progress or garbage (the
    /// collector's business, not the scrub's).
    Unknown,
    /// The chunk was re-encoded into another at `since_ms` (meta's applied
    /// clock): the piece may be trimmed once that is a grace ago.
    Retired { since_ms: u64 },
}
