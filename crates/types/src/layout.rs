//! The cluster layout as meta stores it: which storage nodes take part in
//! placement (with the zone and capacity the operator gave them), the
//! partition table (partition → ordered node list) computed from them, and
//! the epoch that numbers each applied layout. Also the changes an operator
//! has staged for the next layout. Plain records; computing a table is the
//! placement crate's job, deciding whether a layout may be applied is meta's.

use crate::NodeId;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A storage node as the layout places data on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutNode {
    pub id: NodeId,
    pub zone: String,
    /// Relative weight in bytes; a node with zero capacity gets no partitions.
    pub capacity: u64,
}

/// One applied layout. `table[p]` lists the nodes of partition `p` in
/// placement order; a chunk written with redundancy width `w` puts piece `i`
/// (or replica `i`) on `table[p][i]` for `i < w`. Every prefix of an entry is
/// spread over as many zones as it can be, so one table serves every width.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterLayout {
    /// 1 for the first applied layout, +1 for each later one.
    pub epoch: u64,
    /// Number of partitions; fixed by the first layout.
    pub partitions: u32,
    /// The nodes of this layout, in id order.
    pub nodes: Vec<LayoutNode>,
    pub table: Vec<Vec<NodeId>>,
}

impl ClusterLayout {
    /// The first `width` nodes of a partition (fewer if its entry is shorter).
    pub fn nodes_for_partition(&self, partition: u32, width: usize) -> &[NodeId] {
        match self.table.get(partition as usize) {
            Some(entry) => &entry[..width.min(entry.len())],
            None => &[],
        }
    }

    pub fn node(&self, id: NodeId) -> Option<&LayoutNode> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// How many nodes can hold a piece of a chunk (those with capacity).
    pub fn placeable_nodes(&self) -> usize {
        self.nodes.iter().filter(|n| n.capacity > 0).count()
    }

    /// Checks the table's shape: one entry per partition, each of the same
    /// length `min(placeable nodes, max_width)`, of distinct placeable nodes.
    pub fn check_shape(&self, max_width: usize) -> Result<(), String> {
        if self.partitions == 0 {
            return Err("a layout has at least one partition".into());
        }
        if self.table.len() != self.partitions as usize {
            return Err(format!(
                "the table has {} entries for {} partitions",
                self.table.len(),
                self.partitions
            ));
        }
        if self.nodes.windows(2).any(|w| w[0].id >= w[1].id) {
            return Err("layout nodes must be listed once each, in id order".into());
        }
        let placeable: BTreeSet<NodeId> = self
            .nodes
            .iter()
            .filter(|n| n.capacity > 0)
            .map(|n| n.id)
            .collect();
        let width = placeable.len().min(max_width);
        for (p, entry) in self.table.iter().enumerate() {
            let distinct: BTreeSet<&NodeId> = entry.iter().collect();
            if entry.len() != width
                || distinct.len() != entry.len()
                || entry.iter().any(|id| !placeable.contains(id))
            {
                return Err(format!(
                    "partition {p}: expected {width} distinct nodes of the layout, got {entry:?}"
                ));
            }
        }
        Ok(())
    }
}

/// A change to the next layout, staged by an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StagedRole {
    /// Put the node in the layout (or change its zone or capacity).
    Assign { zone: String, capacity: u64 },
    /// Take the node out of the layout.
    Remove,
}

/// The changes staged for the next layout, by node id.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LayoutStaging {
    pub changes: BTreeMap<NodeId, StagedRole>,
}

impl LayoutStaging {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The node list of the next layout: `current`'s nodes with the staged
    /// changes applied, in id order.
    pub fn next_nodes(&self, current: Option<&ClusterLayout>) -> Vec<LayoutNode> {
        let mut nodes: BTreeMap<NodeId, LayoutNode> = current
            .map(|l| l.nodes.iter().map(|n| (n.id, n.clone())).collect())
            .unwrap_or_default();
        for (id, role) in &self.changes {
            match role {
                StagedRole::Assign { zone, capacity } => {
                    nodes.insert(
                        *id,
                        LayoutNode {
                            id: *id,
                            zone: zone.clone(),
                            capacity: *capacity,
                        },
                    );
                }
                StagedRole::Remove => {
                    nodes.remove(id);
                }
            }
        }
        nodes.into_values().collect()
    }
}

/// Where some stored shards are: `chunks` chunks of partition `partition`
/// written with redundancy width `width`, each with a shard on every node of
/// `holders` (sorted). Every holder holds `shard_bytes` bytes of them in all.
/// Meta gathers these from the manifests for a layout plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageGroup {
    pub partition: u32,
    pub width: u8,
    pub holders: Vec<NodeId>,
    pub chunks: u64,
    pub shard_bytes: u64,
}

/// The layout meta holds: the applied one (none before the first apply) and
/// the changes staged for the next.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LayoutState {
    pub current: Option<ClusterLayout>,
    pub staging: LayoutStaging,
    /// Nodes an applied layout removed and no later one brought back: they
    /// drain (their pieces move to the owners) and are then removed.
    pub departed: std::collections::BTreeSet<NodeId>,
}

impl LayoutState {
    pub fn epoch(&self) -> u64 {
        self.current.as_ref().map_or(0, |l| l.epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: NodeId, zone: &str) -> LayoutNode {
        LayoutNode {
            id,
            zone: zone.into(),
            capacity: 100,
        }
    }

    fn layout() -> ClusterLayout {
        ClusterLayout {
            epoch: 1,
            partitions: 2,
            nodes: vec![node(1, "a"), node(2, "b"), node(3, "a")],
            table: vec![vec![1, 2, 3], vec![2, 3, 1]],
        }
    }

    #[test]
    fn prefixes_of_the_table_serve_every_width() {
        let l = layout();
        assert_eq!(l.nodes_for_partition(1, 2), &[2, 3]);
        assert_eq!(l.nodes_for_partition(0, 9), &[1, 2, 3]);
        assert!(l.nodes_for_partition(7, 1).is_empty());
        assert_eq!(l.check_shape(32), Ok(()));
        assert_eq!(l.check_shape(2).map_err(|_| ()), Err(()));
    }

    #[test]
    fn bad_shapes_are_refused() {
        let mut l = layout();
        l.table[1] = vec![2, 2, 1];
        assert!(l.check_shape(32).is_err());
        let mut l = layout();
        l.table[0] = vec![1, 2, 9];
        assert!(l.check_shape(32).is_err());
        let mut l = layout();
        l.table.pop();
        assert!(l.check_shape(32).is_err());
        let mut l = layout();
        l.nodes.swap(0, 1);
        assert!(l.check_shape(32).is_err());
        let mut l = layout();
        l.nodes[2].capacity = 0;
        assert!(l.check_shape(32).is_err(), "node 3 holds no partitions");
    }

    #[test]
    fn staging_applies_to_the_current_nodes() {
        let l = layout();
        let mut s = LayoutStaging::default();
        s.changes.insert(2, StagedRole::Remove);
        s.changes.insert(
            4,
            StagedRole::Assign {
                zone: "c".into(),
                capacity: 5,
            },
        );
        s.changes.insert(
            1,
            StagedRole::Assign {
                zone: "z".into(),
                capacity: 7,
            },
        );
        let next = s.next_nodes(Some(&l));
        let ids: Vec<NodeId> = next.iter().map(|n| n.id).collect();
        assert_eq!(ids, vec![1, 3, 4]);
        assert_eq!(next[0].zone, "z");
        assert_eq!(next[0].capacity, 7);
        assert_eq!(s.next_nodes(None).len(), 2);
    }
}
