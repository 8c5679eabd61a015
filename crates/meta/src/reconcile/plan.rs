//! Judging one chunk: which of its recorded pieces are usable, what state
//! the chunk is in (healthy, degraded, at risk, unreadable, misplaced), which
//! pieces must be re-created or moved, and on which node. Pure: the caller passes
//! the chunk's record, its damage rows, what the leader knows of every node
//! and the partition's owners from the layout.

use cairn_placement::partition_of;
use cairn_rpc::repair_api::{DamageKind, DamageRecord, PieceState};
use cairn_types::{ChunkKey, ChunkRecord, ClusterLayout, MoveReason, NodeId};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// What the leader knows of one registered node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeView {
    pub addr: String,
    pub zone: String,
    /// Heard from within `down_after`.
    pub up: bool,
    /// How long it has been silent.
    pub silent_for: Duration,
}

/// Every registered node, by id.
pub type NodeViews = HashMap<NodeId, NodeView>;

/// The state of a chunk, for the durability report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChunkState {
    /// Every piece usable, on an owner.
    Healthy,
    /// Every piece usable, some on a node that is no longer an owner.
    Misplaced,
    /// Usable pieces between the minimum and the width: lacks `n`.
    Degraded(u32),
    /// Exactly the minimum usable (and the width is more).
    AtRisk,
    /// Fewer than the minimum usable.
    Unreadable,
}

impl ChunkState {
    /// Worse states compare greater (an object is in its worst chunk's state).
    pub fn severity(&self) -> u32 {
        match self {
            ChunkState::Healthy => 0,
            ChunkState::Misplaced => 1,
            ChunkState::Degraded(n) => 1 + n,
            ChunkState::AtRisk => 1_000,
            ChunkState::Unreadable => 2_000,
        }
    }
}

/// One piece that must be re-created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    pub piece: u16,
    /// The holder it replaces (None: the slot is empty).
    pub replace: Option<NodeId>,
    pub reason: MoveReason,
}

/// A chunk judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub state: ChunkState,
    /// Usable pieces beyond the minimum (negative: unreadable); the
    /// smaller, the more urgent.
    pub margin: i64,
    /// Each recorded piece: (piece, holder, state).
    pub pieces: Vec<(u16, NodeId, PieceState)>,
    /// Usable pieces to read from: (piece, holder).
    pub sources: Vec<(u16, NodeId)>,
    /// Pieces to re-create now (empty while unreadable).
    pub needs: Vec<Need>,
}

/// The state of the recorded piece `piece` on `node`.
fn piece_state(
    piece: u16,
    node: NodeId,
    damage: &[DamageRecord],
    nodes: &NodeViews,
    after_down: Duration,
) -> PieceState {
    if let Some(d) = damage.iter().find(|d| d.node == node && d.piece == piece) {
        return match d.kind {
            DamageKind::Missing => PieceState::Missing,
            DamageKind::Corrupt => PieceState::Corrupt,
        };
    }
    match nodes.get(&node) {
        // A holder no longer registered is as good as long gone.
        None => PieceState::OnDownNode,
        Some(v) if v.up => PieceState::Ok,
        Some(v) if v.silent_for > after_down => PieceState::OnDownNode,
        // Down, but not for long: unusable now, not yet rebuilt elsewhere.
        Some(_) => PieceState::OnDownNode,
    }
}

/// Whether a piece in `state` on `node` is rebuilt elsewhere now.
fn must_replace(
    state: PieceState,
    node: NodeId,
    nodes: &NodeViews,
    after_down: Duration,
) -> Option<MoveReason> {
    match state {
        PieceState::Ok | PieceState::Surplus => None,
        PieceState::Missing => Some(MoveReason::Missing),
        PieceState::Corrupt => Some(MoveReason::Corrupt),
        PieceState::OnDownNode => match nodes.get(&node) {
            Some(v) if v.silent_for <= after_down => None,
            _ => Some(MoveReason::OnDownNode),
        },
    }
}

/// The chunk's owners in `layout`: the first `width` nodes of its
/// partition's entry. A piece on any other node is misplaced.
pub fn owners_of<'a>(
    layout: &'a ClusterLayout,
    key: &ChunkKey,
    record: &ChunkRecord,
) -> &'a [NodeId] {
    let partition = partition_of(&key.shard(0), layout.partitions);
    let width = usize::from(record.width).max(record.min_pieces());
    layout.nodes_for_partition(partition, width)
}

/// Judges `record` with its damage rows; `owners` are its owners in the
/// layout (`owners_of`; None: no layout, nothing is misplaced). A chunk
/// with every piece usable and some on a node that is not an owner is
/// misplaced: each such piece is to move (`MoveReason::Misplaced`).
pub fn judge(
    record: &ChunkRecord,
    damage: &[DamageRecord],
    nodes: &NodeViews,
    owners: Option<&[NodeId]>,
    after_down: Duration,
) -> Judgement {
    let width = usize::from(record.width).max(record.min_pieces());
    let mut pieces = Vec::new();
    let mut sources = Vec::new();
    let mut needs = Vec::new();
    let replicated = record.chunk.data_pieces == 0;
    for (i, (piece, node, _)) in record.holders().into_iter().enumerate() {
        let mut state = piece_state(piece, node, damage, nodes, after_down);
        if replicated && i >= width && state == PieceState::Ok {
            state = PieceState::Surplus;
        }
        pieces.push((piece, node, state));
        match state {
            PieceState::Ok => sources.push((piece, node)),
            // A surplus replica is still a good copy to read from.
            PieceState::Surplus => sources.push((piece, node)),
            _ => {
                if let Some(reason) = must_replace(state, node, nodes, after_down) {
                    needs.push(Need {
                        piece,
                        replace: Some(node),
                        reason,
                    });
                }
            }
        }
    }
    if replicated {
        for _ in record.chunk.nodes.len()..width {
            needs.push(Need {
                piece: 0,
                replace: None,
                reason: MoveReason::UnderWidth,
            });
        }
    } else {
        for (i, slot) in record.chunk.pieces.iter().enumerate() {
            if slot.is_none() {
                needs.push(Need {
                    piece: i as u16,
                    replace: None,
                    reason: MoveReason::UnderWidth,
                });
            }
        }
    }
    let usable = sources.len().min(width);
    let min = record.min_pieces();
    let margin = usable as i64 - min as i64;
    let state = if usable < min {
        ChunkState::Unreadable
    } else if usable >= width {
        let misplaced: Vec<(u16, NodeId)> = match owners {
            None => Vec::new(),
            Some(o) => pieces
                .iter()
                .filter(|(_, n, s)| *s == PieceState::Ok && !o.contains(n))
                .map(|(p, n, _)| (*p, *n))
                .collect(),
        };
        if misplaced.is_empty() {
            ChunkState::Healthy
        } else {
            needs.extend(misplaced.into_iter().map(|(piece, node)| Need {
                piece,
                replace: Some(node),
                reason: MoveReason::Misplaced,
            }));
            ChunkState::Misplaced
        }
    } else if usable == min {
        ChunkState::AtRisk
    } else {
        ChunkState::Degraded((width - usable) as u32)
    };
    if state == ChunkState::Unreadable {
        needs.clear();
    }
    Judgement {
        state,
        margin,
        pieces,
        sources,
        needs,
    }
}

/// The node a piece of `record` is re-created on: the first owner of the
/// partition (in layout order) that is up, holds no piece of the chunk and
/// is not `taken` (chosen for another piece of it), preferring one whose
/// zone holds no usable piece of the chunk yet.
pub fn choose_target(
    record: &ChunkRecord,
    sources: &[(u16, NodeId)],
    owners: &[NodeId],
    nodes: &NodeViews,
    taken: &HashSet<NodeId>,
) -> Option<NodeId> {
    let holders: HashSet<NodeId> = record.holders().iter().map(|(_, n, _)| *n).collect();
    let mut zones: HashSet<&str> = sources
        .iter()
        .filter_map(|(_, n)| nodes.get(n).map(|v| v.zone.as_str()))
        .collect();
    zones.extend(
        taken
            .iter()
            .filter_map(|n| nodes.get(n).map(|v| v.zone.as_str())),
    );
    let usable = |n: &&NodeId| {
        !holders.contains(n) && !taken.contains(n) && nodes.get(n).is_some_and(|v| v.up)
    };
    owners
        .iter()
        .filter(usable)
        .find(|n| {
            nodes
                .get(n)
                .is_some_and(|v| !zones.contains(v.zone.as_str()))
        })
        .or_else(|| owners.iter().find(usable))
        .copied()
}

/// When no owner can take a piece (`choose_target` found none), a piece
/// whose holder is up but lost it (missing or corrupt: a wiped disk, bit
/// rot) is re-created in place on that holder, unless it is `taken`.
pub fn in_place_target(need: &Need, nodes: &NodeViews, taken: &HashSet<NodeId>) -> Option<NodeId> {
    let holder = need.replace?;
    let lost = matches!(need.reason, MoveReason::Missing | MoveReason::Corrupt);
    let up = nodes.get(&holder).is_some_and(|v| v.up);
    (lost && up && !taken.contains(&holder)).then_some(holder)
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
