//! The rebalance sweep: after a layout change, pieces whose holder is no
//! longer among their chunk's owners are *misplaced* (readable where they
//! are, but not where the layout puts them). Nothing indexes them, so the
//! leader walks the chunk records with a cursor, at most
//! `SWEEP_CHUNKS_PER_PASS` per plan pass, judges each (`plan::judge`) and
//! plans a move for every misplaced piece (`planner::plan_chunk`, reason
//! `Misplaced`, target among the owners). A sweep that reaches the end of
//! the table is *complete*; what it found is the rebalance's remaining
//! work, and a complete sweep that started once the layout had settled
//! (`SETTLE`: gateways have seen it) and found nothing means the epoch is
//! filled (`done`). A new epoch restarts the sweep from the first record;
//! after a clean sweep the next starts `RESWEEP_AFTER` later (a write that
//! was placed under the old layout and committed late is found then).

use super::plan::{ChunkState, NodeViews, judge, owners_of};
use super::planner::{Plan, plan_chunk};
use super::queue::{WorkQueue, piece_bytes};
use crate::store::chunks::scan_records;
use crate::store::db::{DbError, MetaDb};
use crate::store::repair_rows::damage_of;
use cairn_types::{ChunkKey, ChunkRecord, ClusterLayout, NodeId};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Chunk records one plan pass judges for the sweep, at most.
pub const SWEEP_CHUNKS_PER_PASS: usize = 100_000;
/// Records read at a time.
const PAGE: usize = 4096;
/// A sweep must start this long after the leader first saw an epoch to
/// prove it filled: gateways cache the layout for 0.5 s, so writes placed
/// under the previous one commit within this in the common case.
pub const SETTLE: Duration = Duration::from_secs(5);
/// After a sweep that found nothing misplaced, the next starts this late.
pub const RESWEEP_AFTER: Duration = Duration::from_secs(30);

/// Misplaced pieces found: how many, their bytes, by node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    pub pieces: u64,
    pub bytes: u64,
    /// Bytes to leave each holder / to arrive on each target.
    pub out: BTreeMap<NodeId, u64>,
    pub into: BTreeMap<NodeId, u64>,
}

/// A complete sweep.
#[derive(Debug, Clone)]
pub struct Swept {
    pub found: Found,
    /// When it started and ended.
    pub started: Instant,
    pub ended: Instant,
    /// Bytes moved for the epoch (meta's counter) when it ended.
    pub moved_at_end: u64,
}

/// Where the sweep is, on the leader (soft state: a new leader sweeps again).
#[derive(Debug, Clone, Default)]
pub struct Sweep {
    /// The layout epoch it judges against, and when this leader first saw it.
    pub epoch: u64,
    pub epoch_seen: Option<Instant>,
    /// The last record judged (None: the next pass starts a sweep).
    pub cursor: Option<ChunkKey>,
    pub started: Option<Instant>,
    /// Records judged and misplaced pieces found by the sweep under way.
    pub judged: u64,
    pub found: Found,
    /// The last complete sweep at this epoch.
    pub last: Option<Swept>,
}

impl Sweep {
    /// Whether the epoch is filled: a complete sweep, started after the
    /// layout settled, found nothing misplaced.
    pub fn done(&self) -> bool {
        match (&self.last, self.epoch_seen) {
            (Some(last), Some(seen)) => {
                last.found.pieces == 0 && last.started.duration_since(seen) >= SETTLE
            }
            _ => false,
        }
    }

    /// Whether a pass should judge records now.
    fn due(&self, now: Instant) -> bool {
        if self.started.is_some() || !self.done() {
            return true;
        }
        self.last
            .as_ref()
            .is_none_or(|l| now.duration_since(l.ended) >= RESWEEP_AFTER)
    }

    /// Forgets everything of an older epoch.
    fn restart(&mut self, epoch: u64, now: Instant) {
        *self = Sweep {
            epoch,
            epoch_seen: Some(now),
            ..Sweep::default()
        };
    }
}

/// What a sweep (and the re-encode walk, `reencode`) judges records against.
pub struct SweepContext<'a> {
    pub db: &'a MetaDb,
    pub nodes: &'a NodeViews,
    pub layout: &'a ClusterLayout,
    pub after_down: Duration,
    /// The leases, so a leased move is not planned again.
    pub queue: &'a WorkQueue,
}

/// One pass of the sweep: judges up to `budget` records from the cursor
/// and plans the moves of misplaced pieces into `out`. `moved` is meta's
/// count of bytes moved for the epoch (stored with a finished sweep).
pub fn sweep(
    cx: &SweepContext,
    state: &mut Sweep,
    out: &mut Plan,
    budget: usize,
    moved: u64,
    now: Instant,
) -> Result<(), DbError> {
    let layout = cx.layout;
    if state.epoch != layout.epoch || state.epoch_seen.is_none() {
        state.restart(layout.epoch, now);
    }
    if !state.due(now) {
        return Ok(());
    }
    let mut left = budget;
    if state.started.is_none() {
        state.started = Some(now);
    }
    loop {
        if left == 0 {
            return Ok(());
        }
        let want = PAGE.min(left);
        let page = scan_records(cx.db, state.cursor.as_ref(), want)?;
        left -= page.len();
        state.judged += page.len() as u64;
        for (key, record) in &page {
            judge_one(cx, &mut state.found, out, key, record)?;
        }
        match page.last() {
            Some((last, _)) if page.len() == want => state.cursor = Some(*last),
            _ => {
                // The end of the table: the sweep is complete.
                state.last = Some(Swept {
                    found: std::mem::take(&mut state.found),
                    started: state.started.take().unwrap_or(now),
                    ended: now,
                    moved_at_end: moved,
                });
                state.cursor = None;
                state.judged = 0;
                return Ok(());
            }
        }
    }
}

/// Judges one record for the sweep; plans and counts its misplaced pieces.
fn judge_one(
    cx: &SweepContext,
    found: &mut Found,
    out: &mut Plan,
    key: &ChunkKey,
    record: &ChunkRecord,
) -> Result<(), DbError> {
    out.judged.insert(*key);
    let owners = owners_of(cx.layout, key, record);
    let damage = damage_of(cx.db, key)?;
    let j = judge(record, &damage, cx.nodes, Some(owners), cx.after_down);
    if j.state != ChunkState::Misplaced {
        return Ok(());
    }
    let before = out.tasks.len();
    plan_chunk(out, cx.layout, *key, record, &j, cx.nodes, cx.queue);
    let bytes = piece_bytes(record);
    for need in &j.needs {
        found.pieces += 1;
        found.bytes += bytes;
        if let Some(from) = need.replace {
            *found.out.entry(from).or_default() += bytes;
        }
    }
    for task in &out.tasks[before..] {
        *found.into.entry(task.target).or_default() += bytes;
    }
    Ok(())
}

#[cfg(test)]
#[path = "rebalance_tests.rs"]
mod tests;
