//! The leader's repair work: the tasks of the last plan, most endangered
//! first, and the leases on tasks nodes have claimed. Soft state in the
//! leader's memory: a new leader plans again from the records (a task done
//! twice loses its compare-and-swap, so nothing is moved into a wrong
//! state). A lease ends when the mover commits (the next plan no longer
//! needs the piece), releases it, or lets it expire; a released task's
//! target is avoided for that chunk for a while.

use super::plan::Need;
use cairn_rpc::repair_api::REENCODE_PIECE;
use cairn_types::{ChunkKey, ChunkRecord, MoveReason, NodeId, Redundancy, VersionId};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// What a re-encode task is for: the chunk row it swaps (planned by
/// `reencode`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReencodeWork {
    pub bucket: String,
    pub manifest: VersionId,
    pub offset: u64,
    pub redundancy: Redundancy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub chunk: ChunkKey,
    pub record: ChunkRecord,
    pub need: Need,
    pub target: NodeId,
    /// Usable pieces to read from: (piece, holder).
    pub sources: Vec<(u16, NodeId)>,
    /// Usable pieces beyond the minimum (smaller: more urgent).
    pub margin: i64,
    /// Bytes the new piece holds (a re-encode: the chunk's bytes).
    pub bytes: u64,
    /// Some: the whole chunk is re-encoded (`need.piece` is `REENCODE_PIECE`).
    pub reencode: Option<ReencodeWork>,
}

/// The three kinds of work, in the order they are handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WorkKind {
    /// A lost piece re-created.
    Repair,
    /// A misplaced piece moved to an owner (rebalancing).
    Move,
    /// A chunk re-encoded to its bucket's new redundancy.
    Reencode,
}

impl Task {
    /// Hand-out order: repair before rebalancing (as Ceph's recovery
    /// before backfill), re-encoding last; the most endangered first, then
    /// by chunk.
    pub fn order(&self) -> (WorkKind, i64, ChunkKey) {
        (self.kind(), self.margin, self.chunk)
    }

    pub fn kind(&self) -> WorkKind {
        match self.need.reason {
            MoveReason::Misplaced => WorkKind::Move,
            MoveReason::Reencoded => WorkKind::Reencode,
            _ => WorkKind::Repair,
        }
    }

    /// A move of a misplaced piece (rebalancing), not a repair.
    pub fn is_move(&self) -> bool {
        self.kind() == WorkKind::Move
    }
}

/// Bytes one piece of `record` holds.
pub fn piece_bytes(record: &ChunkRecord) -> u64 {
    record.piece_bytes()
}

/// Identifies what a lease covers: the chunk, the piece and the holder it
/// replaces, and the target.
pub type LeaseKey = (ChunkKey, u16, Option<NodeId>, NodeId);

#[derive(Debug, Clone)]
struct Lease {
    until: Instant,
    bytes: u64,
    kind: WorkKind,
}

#[derive(Debug, Default)]
pub struct WorkQueue {
    queued: Vec<Task>,
    leases: HashMap<LeaseKey, Lease>,
    /// (chunk, node) pairs not to plan again before the instant.
    avoid: HashMap<(ChunkKey, NodeId), Instant>,
}

impl WorkQueue {
    /// Drops expired leases and avoidances.
    fn expire(&mut self, now: Instant) {
        self.leases.retain(|_, l| l.until > now);
        self.avoid.retain(|_, until| *until > now);
    }

    /// How many leases cover `need` of `chunk` (any target).
    pub fn leased(&self, chunk: &ChunkKey, need: &Need) -> usize {
        self.leases
            .keys()
            .filter(|(c, p, r, _)| c == chunk && *p == need.piece && *r == need.replace)
            .count()
    }

    /// Targets holding a lease on a piece of `chunk`, and nodes avoided for it.
    pub fn taken_for(&self, chunk: &ChunkKey) -> HashSet<NodeId> {
        let mut out: HashSet<NodeId> = self
            .leases
            .keys()
            .filter(|(c, ..)| c == chunk)
            .map(|(.., t)| *t)
            .collect();
        out.extend(
            self.avoid
                .keys()
                .filter(|(c, _)| c == chunk)
                .map(|(_, n)| *n),
        );
        out
    }

    /// Replaces the queue with a new plan (already sorted, leased needs
    /// left out) and drops leases on pieces no longer needed: `needed` is
    /// every (chunk, piece, replaced holder) the plan found lacking.
    pub fn replan(
        &mut self,
        tasks: Vec<Task>,
        needed: &HashSet<(ChunkKey, u16, Option<NodeId>)>,
        now: Instant,
    ) {
        self.replan_judged(tasks, needed, None, now);
    }

    /// `replan` for a plan that judged only the chunks in `judged` (None:
    /// all): leases on other chunks are kept until they expire.
    pub fn replan_judged(
        &mut self,
        tasks: Vec<Task>,
        needed: &HashSet<(ChunkKey, u16, Option<NodeId>)>,
        judged: Option<&HashSet<ChunkKey>>,
        now: Instant,
    ) {
        self.expire(now);
        // A re-encode's lease ends when it commits (its chunk's record
        // goes), is given back or runs out: no plan judges it away.
        self.leases.retain(|(c, p, r, _), _| {
            *p == REENCODE_PIECE
                || needed.contains(&(*c, *p, *r))
                || judged.is_some_and(|j| !j.contains(c))
        });
        // A plan made from a snapshot of the leases (`leases_only`) may
        // queue a need leased since: leave out as many as are leased.
        let mut leased: HashMap<(ChunkKey, u16, Option<NodeId>), usize> = HashMap::new();
        for (c, p, r, _) in self.leases.keys() {
            *leased.entry((*c, *p, *r)).or_default() += 1;
        }
        self.queued = tasks
            .into_iter()
            .filter(
                |t| match leased.get_mut(&(t.chunk, t.need.piece, t.need.replace)) {
                    Some(n) if *n > 0 => {
                        *n -= 1;
                        false
                    }
                    _ => true,
                },
            )
            .collect();
    }

    /// The leases and avoidances without the queued tasks: what a plan
    /// reads, taken so the plan runs without holding the queue.
    pub fn leases_only(&self) -> WorkQueue {
        WorkQueue {
            queued: Vec::new(),
            leases: self.leases.clone(),
            avoid: self.avoid.clone(),
        }
    }

    /// Leases on chunks a plan did not judge (`judged`).
    pub fn leases_outside(&self, judged: &HashSet<ChunkKey>) -> Vec<LeaseKey> {
        self.leases
            .keys()
            .filter(|(c, ..)| !judged.contains(c))
            .copied()
            .collect()
    }

    /// Ends a lease whose work is done (its target holds a piece now).
    pub fn end_lease(&mut self, key: &LeaseKey) {
        self.leases.remove(key);
    }

    /// Leases up to `slots` queued tasks targeted at `node`, for `lease`.
    pub fn claim(
        &mut self,
        node: NodeId,
        slots: usize,
        now: Instant,
        lease: Duration,
    ) -> Vec<Task> {
        self.claim_where(node, slots, now, lease, |_| true)
    }

    /// `claim`, of the tasks `allowed` lets out (pauses).
    pub fn claim_where(
        &mut self,
        node: NodeId,
        slots: usize,
        now: Instant,
        lease: Duration,
        allowed: impl Fn(&Task) -> bool,
    ) -> Vec<Task> {
        self.expire(now);
        let mut out = Vec::new();
        let mut kept = Vec::with_capacity(self.queued.len());
        for task in std::mem::take(&mut self.queued) {
            if out.len() < slots && task.target == node && allowed(&task) {
                self.leases.insert(
                    (task.chunk, task.need.piece, task.need.replace, node),
                    Lease {
                        until: now + lease,
                        bytes: task.bytes,
                        kind: task.kind(),
                    },
                );
                out.push(task);
            } else {
                kept.push(task);
            }
        }
        self.queued = kept;
        out
    }

    /// A mover gave a task back: its lease ends, and `node` is not planned
    /// for that chunk again for `avoid_for`.
    pub fn release(
        &mut self,
        node: NodeId,
        chunk: ChunkKey,
        piece: u16,
        now: Instant,
        avoid_for: Duration,
    ) {
        self.leases
            .retain(|(c, p, _, t), _| !(*c == chunk && *p == piece && *t == node));
        self.avoid.insert((chunk, node), now + avoid_for);
    }

    /// Queued (not leased) repair tasks: (chunks, bytes).
    pub fn queued(&self) -> (u64, u64) {
        self.queued_where(WorkKind::Repair)
    }

    /// Queued (not leased) tasks of one kind: (chunks, bytes).
    pub fn queued_where(&self, kind: WorkKind) -> (u64, u64) {
        let tasks = || self.queued.iter().filter(move |t| t.kind() == kind);
        let chunks: HashSet<&ChunkKey> = tasks().map(|t| &t.chunk).collect();
        (chunks.len() as u64, tasks().map(|t| t.bytes).sum())
    }

    /// Leased repair tasks: (pieces, bytes).
    pub fn in_progress(&self) -> (u64, u64) {
        self.in_progress_where(WorkKind::Repair)
    }

    /// Leased tasks of one kind: (pieces, bytes).
    pub fn in_progress_where(&self, kind: WorkKind) -> (u64, u64) {
        let leases = || self.leases.values().filter(move |l| l.kind == kind);
        (leases().count() as u64, leases().map(|l| l.bytes).sum())
    }
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
