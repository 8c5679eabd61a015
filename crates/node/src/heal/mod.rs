//! How a storage node keeps what it holds healthy, and helps the cluster
//! heal: its disk identity (a wiped or replaced disk is told apart from the
//! one meta recorded), the background scrub (every shard file verified at a
//! throttled rate, damaged and missing pieces reported, surplus pieces
//! trimmed), the mover (re-creates pieces the meta leader assigns to this
//! node, by copying a replica or decoding from k pieces, and records itself
//! as their holder with a compare-and-swap), and the report of all this to
//! the meta leader beside the heartbeat.

pub mod disk_id;
pub mod mover;
pub mod report;
pub mod scrub;
pub mod scrub_state;
pub mod throttle;

use cairn_types::ShardId;
use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Metric: bytes the scrub read and verified.
pub const METRIC_SCRUB_BYTES: &str = "cairn_node_scrub_bytes_verified_total";
/// Metric: damaged (corrupt or missing) pieces the scrub found.
pub const METRIC_SCRUB_DAMAGED: &str = "cairn_node_scrub_damaged_total";
/// Metric: how far the current scrub pass is (0..1).
pub const METRIC_SCRUB_PROGRESS: &str = "cairn_node_scrub_pass_progress";
/// Metric: bytes of pieces the mover wrote.
pub const METRIC_REPAIR_BYTES: &str = "cairn_node_repair_bytes_written_total";
/// Metric: pieces the mover re-created and committed.
pub const METRIC_REPAIR_PIECES: &str = "cairn_node_repair_pieces_total";
/// Metric: misplaced pieces the mover moved here (rebalancing), and their bytes.
pub const METRIC_REBALANCE_PIECES: &str = "cairn_node_rebalance_pieces_total";
pub const METRIC_REBALANCE_BYTES: &str = "cairn_node_rebalance_bytes_written_total";
/// Metric: chunks this node re-encoded to their bucket's new redundancy,
/// and the bytes of those chunks.
pub const METRIC_REENCODE_CHUNKS: &str = "cairn_node_reencode_chunks_total";
pub const METRIC_REENCODE_BYTES: &str = "cairn_node_reencode_bytes_total";
/// Metric: repair tasks the mover gave back.
pub const METRIC_REPAIR_FAILURES: &str = "cairn_node_repair_failures_total";
/// Metric: surplus pieces the scrub deleted.
pub const METRIC_SURPLUS_TRIMMED: &str = "cairn_node_surplus_trimmed_total";

/// What the scrub, the mover and the report share on one node.
#[derive(Debug)]
pub struct HealState {
    pub disk_id: u128,
    scrub: Mutex<cairn_rpc::repair_api::ScrubProgress>,
    repair_bytes: AtomicU64,
    /// Pieces the mover has written and not yet committed (or given up):
    /// the scrub never trims them as surplus.
    in_flight: Mutex<HashSet<ShardId>>,
}

impl HealState {
    pub fn new(disk_id: u128) -> Self {
        Self {
            disk_id,
            scrub: Mutex::new(Default::default()),
            repair_bytes: AtomicU64::new(0),
            in_flight: Mutex::new(HashSet::new()),
        }
    }

    pub fn scrub_progress(&self) -> cairn_rpc::repair_api::ScrubProgress {
        self.scrub.lock().map(|g| *g).unwrap_or_default()
    }

    pub fn set_scrub_progress(&self, p: cairn_rpc::repair_api::ScrubProgress) {
        if let Ok(mut g) = self.scrub.lock() {
            *g = p;
        }
    }

    pub fn repair_bytes_written(&self) -> u64 {
        self.repair_bytes.load(Ordering::Relaxed)
    }

    fn add_repair_bytes(&self, n: u64) {
        self.repair_bytes.fetch_add(n, Ordering::Relaxed);
    }

    fn begin_move(&self, id: ShardId) {
        if let Ok(mut g) = self.in_flight.lock() {
            g.insert(id);
        }
    }

    fn end_move(&self, id: &ShardId) {
        if let Ok(mut g) = self.in_flight.lock() {
            g.remove(id);
        }
    }

    /// Whether the mover is writing or committing `id` now.
    pub fn is_moving(&self, id: &ShardId) -> bool {
        // A poisoned lock answers "moving": the scrub then keeps the piece.
        self.in_flight.lock().map_or(true, |g| g.contains(id))
    }
}
