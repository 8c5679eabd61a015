//! One interface over both placement strategies: [`Strategy`] names one,
//! [`Placement`] is it built for a node list, and [`layout`] maps every
//! partition to its nodes.

use crate::ring::RingPlacement;
use crate::{NodeWeight, nodes_for_partition, partition_of};
use cairn_types::{NodeId, ShardId};
use serde::{Deserialize, Serialize};

/// Virtual nodes per capacity unit of the ring strategy's default settings.
pub const RING_DEFAULT_VNODES_PER_UNIT: u32 = 256;

/// Capacity unit of the ring strategy's default settings: the default
/// capacity of a node (100 GiB), so a default node owns
/// [`RING_DEFAULT_VNODES_PER_UNIT`] virtual nodes.
pub const RING_DEFAULT_CAPACITY_UNIT: u64 = cairn_types::config::DEFAULT_NODE_CAPACITY_BYTES;

/// How a partition's nodes are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Strategy {
    /// Weighted rendezvous hashing (straw2-like); the default.
    Rendezvous,
    /// A consistent-hash ring with `vnodes_per_unit` virtual nodes for every
    /// `capacity_unit` bytes of a node's capacity.
    Ring {
        vnodes_per_unit: u32,
        capacity_unit: u64,
    },
}

/// The strategy a cluster uses unless told otherwise (see docs/placement.md
/// for the measurements behind the choice).
pub const DEFAULT_STRATEGY: Strategy = Strategy::Rendezvous;

impl Default for Strategy {
    fn default() -> Self {
        DEFAULT_STRATEGY
    }
}

impl Strategy {
    /// The ring with its default settings.
    pub const fn ring() -> Self {
        Strategy::Ring {
            vnodes_per_unit: RING_DEFAULT_VNODES_PER_UNIT,
            capacity_unit: RING_DEFAULT_CAPACITY_UNIT,
        }
    }
}

/// A strategy prepared for one node list. Rendezvous needs no preparation;
/// the ring is built once here and reused by every lookup.
#[derive(Clone)]
pub enum Placement {
    Rendezvous(Vec<NodeWeight>),
    Ring(RingPlacement),
}

impl Placement {
    /// Prepares `strategy` for `nodes`.
    pub fn new(strategy: Strategy, nodes: &[NodeWeight]) -> Self {
        match strategy {
            Strategy::Rendezvous => Placement::Rendezvous(nodes.to_vec()),
            Strategy::Ring {
                vnodes_per_unit,
                capacity_unit,
            } => Placement::Ring(RingPlacement::new(nodes, vnodes_per_unit, capacity_unit)),
        }
    }

    /// The ordered list of `width` distinct nodes for a partition (fewer if
    /// there are fewer nodes with capacity), spread over zones first.
    pub fn nodes_for_partition(&self, partition: u32, width: usize) -> Vec<NodeId> {
        match self {
            Placement::Rendezvous(nodes) => nodes_for_partition(nodes, partition, width),
            Placement::Ring(ring) => ring.nodes_for_partition(partition, width),
        }
    }

    /// The nodes for a shard's chunk: `width` distinct nodes in placement order.
    pub fn nodes_for_shard(&self, shard: &ShardId, partitions: u32, width: usize) -> Vec<NodeId> {
        self.nodes_for_partition(partition_of(shard, partitions), width)
    }
}

/// Every partition's node list, indexed by partition number.
pub fn layout(
    strategy: Strategy,
    nodes: &[NodeWeight],
    partitions: u32,
    width: usize,
) -> Vec<Vec<NodeId>> {
    let placement = Placement::new(strategy, nodes);
    (0..partitions)
        .map(|p| placement.nodes_for_partition(p, width))
        .collect()
}
