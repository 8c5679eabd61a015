//! Layouts as tables: building the partition table of a node list, the next
//! layout from the current one and the operator's staged changes, and the
//! plan of what a layout change would move. Pure: meta stores the results,
//! the admin command line prints them.
//!
//! A table entry lists `min(placeable nodes, MAX_TABLE_WIDTH)` nodes; a chunk
//! of width `w` uses the first `w` (see `ClusterLayout`). What a change
//! moves is counted from where shards actually are (`UsageGroup`, gathered
//! by meta from the manifests): a shard stays if its node is still among the
//! first `w` nodes of its partition, otherwise it moves to one of the new
//! owners that holds no piece of its chunk. That is the least any mover can
//! do, since manifests record each piece's node.

use crate::{NodeWeight, nodes_for_partition};
use cairn_types::layout::UsageGroup;
use cairn_types::limits::MAX_EC_WIDTH;
use cairn_types::{ClusterLayout, LayoutNode, LayoutState, NodeId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use thiserror::Error;

/// Longest table entry: the widest redundancy a bucket may use.
pub const MAX_TABLE_WIDTH: usize = MAX_EC_WIDTH as usize;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LayoutError {
    #[error("no changes are staged (use `cairn admin node assign` or `remove` first)")]
    NothingStaged,
    #[error("the layout would have no node with capacity to place data on")]
    NoPlaceableNode,
}

fn weights(nodes: &[LayoutNode]) -> Vec<NodeWeight> {
    nodes
        .iter()
        .map(|n| NodeWeight {
            id: n.id,
            zone: n.zone.clone(),
            capacity: n.capacity,
        })
        .collect()
}

/// The partition table of `nodes` (rendezvous hashing, zones first).
pub fn build_table(nodes: &[LayoutNode], partitions: u32) -> Vec<Vec<NodeId>> {
    let weights = weights(nodes);
    let width = nodes
        .iter()
        .filter(|n| n.capacity > 0)
        .count()
        .min(MAX_TABLE_WIDTH);
    (0..partitions)
        .map(|p| nodes_for_partition(&weights, p, width))
        .collect()
}

/// The layout that applying `state`'s staged changes would make. The first
/// layout takes `partitions`; later ones keep the cluster's.
pub fn next_layout(state: &LayoutState, partitions: u32) -> Result<ClusterLayout, LayoutError> {
    if state.staging.is_empty() {
        return Err(LayoutError::NothingStaged);
    }
    let current = state.current.as_ref();
    let nodes = state.staging.next_nodes(current);
    if !nodes.iter().any(|n| n.capacity > 0) {
        return Err(LayoutError::NoPlaceableNode);
    }
    let partitions = current.map_or(partitions, |l| l.partitions);
    let table = build_table(&nodes, partitions);
    Ok(ClusterLayout {
        epoch: state.epoch() + 1,
        partitions,
        nodes,
        table,
    })
}

/// Partitions whose first `width` nodes, as a set, differ between two
/// layouts: those whose chunks of that width would need a shard moved.
pub fn partitions_with_new_owners(old: &ClusterLayout, new: &ClusterLayout, width: usize) -> u32 {
    let owners = |l: &ClusterLayout, p: u32| -> BTreeSet<NodeId> {
        l.nodes_for_partition(p, width).iter().copied().collect()
    };
    (0..new.partitions.max(old.partitions))
        .filter(|p| owners(old, *p) != owners(new, *p))
        .count() as u32
}

/// Whether going from `old` to `new` gives any partition new owners at any of
/// `widths` (the redundancy widths of the buckets): with data stored, such a
/// change makes pieces misplaced, for the reconciler to move. Reordering within a partition's first `width`
/// nodes needs nothing moved, since manifests record each piece's node.
pub fn changes_owners(old: &ClusterLayout, new: &ClusterLayout, widths: &[usize]) -> bool {
    widths
        .iter()
        .any(|w| partitions_with_new_owners(old, new, *w) > 0)
}

/// One node's part in a layout change.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NodePlan {
    pub id: NodeId,
    /// Zone and capacity in the next layout (None: the node leaves it).
    pub zone: Option<String>,
    pub capacity: Option<u64>,
    /// Partitions whose first `reference_width` nodes include this node.
    pub partitions_before: u32,
    pub partitions_after: u32,
    /// Partitions it joins and leaves.
    pub partitions_gained: u32,
    pub partitions_lost: u32,
    /// Shard bytes it holds now, and would receive and hand over.
    pub bytes_held: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// What applying a layout would change.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LayoutPlan {
    pub epoch_before: u64,
    pub epoch_after: u64,
    /// The width partitions are counted at: the widest redundancy in use.
    pub reference_width: usize,
    /// Partitions whose first `reference_width` nodes change.
    pub partitions_changed: u32,
    pub shards_to_move: u64,
    pub bytes_to_move: u64,
    /// Whether meta will refuse to apply it: it has fewer nodes with
    /// capacity than the widest bucket stores a chunk on.
    pub refused: bool,
    /// Every node of either layout, and every node holding data, by id.
    pub nodes: Vec<NodePlan>,
}

fn node_plan(nodes: &mut BTreeMap<NodeId, NodePlan>, id: NodeId) -> &mut NodePlan {
    nodes.entry(id).or_insert_with(|| NodePlan {
        id,
        ..Default::default()
    })
}

/// The moves from `current` to `next` for data placed as `usage` says.
/// Partitions are counted at `reference_width` nodes per partition;
/// `bucket_widths` are the redundancy widths the buckets use.
pub fn plan(
    current: Option<&ClusterLayout>,
    next: &ClusterLayout,
    usage: &[UsageGroup],
    reference_width: usize,
    bucket_widths: &[usize],
) -> LayoutPlan {
    let mut nodes: BTreeMap<NodeId, NodePlan> = BTreeMap::new();
    let mut out = LayoutPlan {
        epoch_before: current.map_or(0, |l| l.epoch),
        epoch_after: next.epoch,
        reference_width,
        refused: bucket_widths.iter().any(|w| *w > next.placeable_nodes()),
        ..Default::default()
    };
    for n in &next.nodes {
        let plan = node_plan(&mut nodes, n.id);
        plan.zone = Some(n.zone.clone());
        plan.capacity = Some(n.capacity);
    }
    for p in 0..next.partitions {
        let before: BTreeSet<NodeId> = current
            .map(|l| l.nodes_for_partition(p, reference_width))
            .unwrap_or_default()
            .iter()
            .copied()
            .collect();
        let after: BTreeSet<NodeId> = next
            .nodes_for_partition(p, reference_width)
            .iter()
            .copied()
            .collect();
        if before != after {
            out.partitions_changed += 1;
        }
        for id in before.union(&after) {
            let plan = node_plan(&mut nodes, *id);
            plan.partitions_before += u32::from(before.contains(id));
            plan.partitions_after += u32::from(after.contains(id));
            plan.partitions_gained += u32::from(!before.contains(id) && after.contains(id));
            plan.partitions_lost += u32::from(before.contains(id) && !after.contains(id));
        }
    }
    for group in usage {
        let owners: BTreeSet<NodeId> = next
            .nodes_for_partition(group.partition, usize::from(group.width))
            .iter()
            .copied()
            .collect();
        let holders: BTreeSet<NodeId> = group.holders.iter().copied().collect();
        let leaving: Vec<NodeId> = holders.difference(&owners).copied().collect();
        let arriving: Vec<NodeId> = owners.difference(&holders).copied().collect();
        for id in &holders {
            node_plan(&mut nodes, *id).bytes_held += group.shard_bytes;
        }
        // Each leaving shard goes to one arriving owner; with fewer owners
        // than holders (a width shrank) the extra shards are just dropped.
        for (from, to) in leaving.iter().zip(arriving.iter()) {
            out.shards_to_move += group.chunks;
            out.bytes_to_move += group.shard_bytes;
            node_plan(&mut nodes, *from).bytes_out += group.shard_bytes;
            node_plan(&mut nodes, *to).bytes_in += group.shard_bytes;
        }
    }
    out.nodes = nodes.into_values().collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_types::{LayoutStaging, StagedRole};
    use proptest::prelude::*;

    const PARTITIONS: u32 = 256;

    fn assign(ids: impl IntoIterator<Item = NodeId>, zones: u64) -> LayoutStaging {
        LayoutStaging {
            changes: ids
                .into_iter()
                .map(|id| {
                    (
                        id,
                        StagedRole::Assign {
                            zone: format!("z{}", id % zones),
                            capacity: 1000,
                        },
                    )
                })
                .collect(),
        }
    }

    fn applied(state: &LayoutState) -> LayoutState {
        LayoutState {
            current: Some(next_layout(state, PARTITIONS).expect("staged")),
            ..Default::default()
        }
    }

    /// One usage group per partition: a chunk of `width` on the partition's
    /// owners in `layout`, with `bytes` per shard.
    fn data_on(layout: &ClusterLayout, width: u8, bytes: u64) -> Vec<UsageGroup> {
        (0..layout.partitions)
            .map(|p| {
                let mut holders = layout.nodes_for_partition(p, usize::from(width)).to_vec();
                holders.sort_unstable();
                UsageGroup {
                    partition: p,
                    width,
                    holders,
                    chunks: 1,
                    shard_bytes: bytes,
                }
            })
            .collect()
    }

    #[test]
    fn the_first_layout_numbers_epoch_one_and_has_a_valid_shape() {
        let state = LayoutState {
            current: None,
            staging: assign(1..=6, 3),
            ..Default::default()
        };
        let layout = next_layout(&state, PARTITIONS).expect("staged");
        assert_eq!(layout.epoch, 1);
        assert_eq!(layout.partitions, PARTITIONS);
        assert_eq!(layout.check_shape(MAX_TABLE_WIDTH), Ok(()));
        let p = plan(None, &layout, &[], 3, &[3]);
        assert_eq!(p.partitions_changed, PARTITIONS);
        assert_eq!(p.bytes_to_move, 0);
        assert_eq!(p.nodes.len(), 6);
        let total: u32 = p.nodes.iter().map(|n| n.partitions_after).sum();
        assert_eq!(total, PARTITIONS * 3);
        assert_eq!(
            next_layout(&applied(&state), PARTITIONS),
            Err(LayoutError::NothingStaged)
        );
    }

    #[test]
    fn removing_every_node_is_refused() {
        let state = applied(&LayoutState {
            current: None,
            staging: assign(1..=2, 1),
            ..Default::default()
        });
        let mut removing = state.clone();
        for id in 1..=2 {
            removing.staging.changes.insert(id, StagedRole::Remove);
        }
        assert_eq!(
            next_layout(&removing, PARTITIONS),
            Err(LayoutError::NoPlaceableNode)
        );
    }

    #[test]
    fn a_removed_node_hands_over_all_it_holds() {
        let state = applied(&LayoutState {
            current: None,
            staging: assign(1..=5, 1),
            ..Default::default()
        });
        let current = state.current.as_ref().expect("applied");
        let usage = data_on(current, 3, 10);
        let mut removing = state.clone();
        removing.staging.changes.insert(5, StagedRole::Remove);
        let next = next_layout(&removing, PARTITIONS).expect("staged");
        let p = plan(Some(current), &next, &usage, 3, &[3]);
        let five = p.nodes.iter().find(|n| n.id == 5).expect("listed");
        assert_eq!(five.zone, None);
        assert_eq!(five.bytes_out, five.bytes_held);
        assert_eq!(five.bytes_in, 0);
        assert_eq!(five.partitions_after, 0);
        assert_eq!(p.bytes_to_move, five.bytes_held);
        assert!(!p.refused, "four nodes are left for a width of 3");
        assert!(plan(Some(current), &next, &usage, 3, &[3, 5]).refused);
    }

    #[test]
    fn reordering_a_full_width_table_needs_nothing_moved() {
        let state = applied(&LayoutState {
            current: None,
            staging: assign(1..=3, 1),
            ..Default::default()
        });
        let current = state.current.as_ref().expect("applied");
        let mut reweigh = state.clone();
        reweigh.staging.changes.insert(
            3,
            StagedRole::Assign {
                zone: "z0".into(),
                capacity: 10,
            },
        );
        let next = next_layout(&reweigh, PARTITIONS).expect("staged");
        assert_ne!(next.table, current.table, "the order changes");
        let usage = data_on(current, 3, 10);
        let p = plan(Some(current), &next, &usage, 3, &[3]);
        assert_eq!(
            (p.bytes_to_move, p.partitions_changed, p.refused),
            (0, 0, false)
        );
        // A bucket of width 1 sees its single owner change.
        assert!(changes_owners(current, &next, &[3, 1]));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn moves_balance_and_a_join_only_moves_to_the_new_node(
            n in 2u64..9, zones in 1u64..4, width in 1u8..5, bytes in 1u64..1000,
        ) {
            // A chunk wider than the cluster lacks pieces: a repair matter, not a move.
            prop_assume!(u64::from(width) <= n);
            let state = applied(&LayoutState { current: None, staging: assign(1..=n, zones), ..Default::default() });
            let current = state.current.as_ref().expect("applied");
            let usage = data_on(current, width, bytes);
            // Same nodes again (a capacity restated): nothing moves.
            let mut same = state.clone();
            same.staging = assign(1..=n, zones);
            let unchanged = next_layout(&same, PARTITIONS).expect("staged");
            prop_assert_eq!(&unchanged.table, &current.table);
            let p = plan(
                Some(current),
                &unchanged,
                &usage,
                usize::from(width),
                &[usize::from(width)],
            );
            prop_assert_eq!(p.bytes_to_move, 0);
            prop_assert_eq!(p.partitions_changed, 0);
            prop_assert!(!p.refused);
            // One node joins (in a single zone, rendezvous moves only to it).
            let one_zone = applied(&LayoutState { current: None, staging: assign(1..=n, 1), ..Default::default() });
            let cur = one_zone.current.as_ref().expect("applied");
            let usage = data_on(cur, width, bytes);
            let mut joining = one_zone.clone();
            joining.staging = assign([n + 1], 1);
            let next = next_layout(&joining, PARTITIONS).expect("staged");
            prop_assert_eq!(next.epoch, 2);
            let p = plan(Some(cur), &next, &usage, usize::from(width), &[usize::from(width)]);
            let moved_in: u64 = p.nodes.iter().map(|x| x.bytes_in).sum();
            let moved_out: u64 = p.nodes.iter().map(|x| x.bytes_out).sum();
            prop_assert_eq!(moved_in, p.bytes_to_move);
            prop_assert_eq!(moved_out, p.bytes_to_move);
            for node in &p.nodes {
                if node.id != n + 1 {
                    prop_assert_eq!(node.bytes_in, 0);
                    prop_assert_eq!(node.partitions_gained, 0);
                }
            }
            let new = p.nodes.iter().find(|x| x.id == n + 1).expect("listed");
            prop_assert_eq!(new.bytes_in, u64::from(new.partitions_after) * bytes);
        }
    }
}
