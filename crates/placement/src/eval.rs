//! Measures of a layout (every partition's node list): balance against
//! capacity share, movement between two layouts, zone spread. Shared by the
//! `evaluate` example and the property tests, so both measure the same way.

use crate::NodeWeight;
use cairn_types::NodeId;
use std::collections::{BTreeMap, BTreeSet};

/// Partition-slots each node holds (a partition of width w has w slots).
pub fn slot_counts(layout: &[Vec<NodeId>]) -> BTreeMap<NodeId, u64> {
    let mut counts = BTreeMap::new();
    for nodes in layout {
        for id in nodes {
            *counts.entry(*id).or_insert(0u64) += 1;
        }
    }
    counts
}

/// Each node's fair share of slots: proportional to capacity, except that a
/// node cannot hold a partition twice, so no share exceeds `partitions`;
/// what a capped node cannot take is shared by the others in proportion to
/// capacity (water-filling). Nodes without capacity are left out.
pub fn capacity_targets(
    nodes: &[NodeWeight],
    partitions: u32,
    width: usize,
) -> BTreeMap<NodeId, f64> {
    let mut live: Vec<&NodeWeight> = nodes.iter().filter(|n| n.capacity > 0).collect();
    live.sort_by(|a, b| b.capacity.cmp(&a.capacity).then(a.id.cmp(&b.id)));
    let p = f64::from(partitions);
    let mut remaining = p * width.min(live.len()) as f64;
    let mut targets = BTreeMap::new();
    let mut rest: f64 = live.iter().map(|n| n.capacity as f64).sum();
    for n in &live {
        let share = remaining * n.capacity as f64 / rest;
        let t = share.min(p);
        targets.insert(n.id, t);
        remaining -= t;
        rest -= n.capacity as f64;
    }
    targets
}

/// The worst relative deviation of any node's slot count from its capacity
/// target, as a fraction (0.05 = 5 %).
pub fn worst_deviation(nodes: &[NodeWeight], layout: &[Vec<NodeId>], width: usize) -> f64 {
    let counts = slot_counts(layout);
    let partitions = u32::try_from(layout.len()).unwrap_or(u32::MAX);
    capacity_targets(nodes, partitions, width)
        .into_iter()
        .filter(|(_, t)| *t > 0.0)
        .map(|(id, t)| {
            let c = counts.get(&id).copied().unwrap_or(0) as f64;
            (c - t).abs() / t
        })
        .fold(0.0, f64::max)
}

/// Slots whose holder changed between two layouts of the same partitions:
/// for each partition, the nodes in `after` that were not in `before`.
/// (Piece order is not counted: for replicas it does not matter.)
pub fn moved_slots(before: &[Vec<NodeId>], after: &[Vec<NodeId>]) -> u64 {
    before
        .iter()
        .zip(after)
        .map(|(b, a)| a.iter().filter(|id| !b.contains(id)).count() as u64)
        .sum()
}

/// Pieces whose node changed between two layouts, position by position:
/// what moves for erasure coding, where piece i lives on the i-th node.
pub fn moved_pieces(before: &[Vec<NodeId>], after: &[Vec<NodeId>]) -> u64 {
    before
        .iter()
        .zip(after)
        .map(|(b, a)| {
            let changed = b.iter().zip(a).filter(|(x, y)| x != y).count();
            (changed + a.len().saturating_sub(b.len())) as u64
        })
        .sum()
}

/// The joining node's fair share of slots: its capacity target in the new
/// cluster (reachable only when zone rules allow it).
pub fn join_fair_share(
    after_nodes: &[NodeWeight],
    joined: NodeId,
    partitions: u32,
    width: usize,
) -> f64 {
    capacity_targets(after_nodes, partitions, width)
        .get(&joined)
        .copied()
        .unwrap_or(0.0)
}

/// The slots a node holds in a layout. After a join, the fewest slots that
/// can move to give the new node what it holds; before a leave, the fewest
/// that must move.
pub fn slots_of(layout: &[Vec<NodeId>], node: NodeId) -> u64 {
    layout
        .iter()
        .map(|ids| ids.iter().filter(|id| **id == node).count() as u64)
        .sum()
}

/// The fraction of partitions whose nodes span `min(width, zones)` zones,
/// `zones` being the number of zones among nodes with capacity.
pub fn zone_spread(nodes: &[NodeWeight], layout: &[Vec<NodeId>], width: usize) -> f64 {
    let zone: BTreeMap<NodeId, &str> = nodes
        .iter()
        .filter(|n| n.capacity > 0)
        .map(|n| (n.id, n.zone.as_str()))
        .collect();
    let zones = zone.values().collect::<BTreeSet<_>>().len();
    let want = width.min(zones);
    if layout.is_empty() {
        return 1.0;
    }
    let good = layout
        .iter()
        .filter(|ids| {
            let spanned: BTreeSet<_> = ids.iter().filter_map(|id| zone.get(id)).collect();
            spanned.len() >= want
        })
        .count();
    good as f64 / layout.len() as f64
}

/// The fraction of partitions whose nodes are all distinct.
pub fn distinct_fraction(layout: &[Vec<NodeId>]) -> f64 {
    if layout.is_empty() {
        return 1.0;
    }
    let good = layout
        .iter()
        .filter(|ids| ids.iter().collect::<BTreeSet<_>>().len() == ids.len())
        .count();
    good as f64 / layout.len() as f64
}
