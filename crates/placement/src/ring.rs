//! The consistent-hash ring strategy, built on the `hashring` crate.
//!
//! Every node with capacity owns a number of virtual nodes proportional to its
//! capacity (`vnodes_per_unit` per `capacity_unit` bytes). A partition's
//! position on the ring is a hash of the partition number; its nodes are found
//! by walking the ring clockwise from there, skipping virtual nodes of nodes
//! already chosen and, while some zone is still unused, nodes of zones already
//! used.
//!
//! # Stable hashing
//!
//! `hashring` positions keys and nodes with a `std::hash::BuildHasher`; its
//! default is SipHash-1-3 with a zero key, fed through std's `Hash` impls,
//! which write integers in native byte order and slices with a
//! platform-width length prefix. Neither the impls nor SipHash's use in the
//! crate is a promise across versions, so cairn gives the ring its own
//! [`StableBuildHasher`] (blake3 over the bytes written, first 8 bytes of the
//! digest as a little-endian `u64`) and feeds it only [`VNode`] and
//! [`RingKey`], whose `Hash` impls write explicit little-endian bytes behind a
//! domain tag with one `write` call. Ring positions are therefore a pure
//! function of (tag, node id, vnode index) and (tag, partition) on every
//! platform, process and `hashring` version.
//!
//! # Walking the ring
//!
//! `hashring` answers "first node at or after this key" (`get`) in O(log V),
//! but its only multi-node query, `get_with_replicas`, clones and rotates the
//! whole ring on every call and neither skips repeated nodes nor knows zones.
//! So the ring is built once with the crate, its sorted order is copied out
//! once (`walk`), and lookups binary-search that copy with the same positions
//! and the same "first at or after, wrapping" rule as `HashRing::get` — a unit
//! test checks that the first node always agrees with the crate's `get`.

use crate::NodeWeight;
use cairn_types::NodeId;
use hashring::HashRing;
use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hash, Hasher};

/// Upper bound on virtual nodes for one node, so a mis-set capacity unit
/// cannot build a ring of billions of entries.
pub const MAX_VNODES_PER_NODE: u64 = 1 << 16;

/// Domain tag written before a virtual node's id.
const VNODE_TAG: &[u8] = b"cairn/ring/vnode/v1";
/// Domain tag written before a partition number.
const PARTITION_TAG: &[u8] = b"cairn/ring/partition/v1";

/// A `std::hash::Hasher` with a stable output: blake3 of every byte written,
/// integers written little-endian and `usize` widened to 64 bits.
#[derive(Clone, Default)]
pub struct StableHasher(blake3::Hasher);

impl Hasher for StableHasher {
    fn finish(&self) -> u64 {
        let digest = self.0.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest.as_bytes()[..8]);
        u64::from_le_bytes(first)
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }

    fn write_u16(&mut self, i: u16) {
        self.write(&i.to_le_bytes());
    }

    fn write_u32(&mut self, i: u32) {
        self.write(&i.to_le_bytes());
    }

    fn write_u64(&mut self, i: u64) {
        self.write(&i.to_le_bytes());
    }

    fn write_u128(&mut self, i: u128) {
        self.write(&i.to_le_bytes());
    }

    fn write_usize(&mut self, i: usize) {
        self.write(&(i as u64).to_le_bytes());
    }

    fn write_i8(&mut self, i: i8) {
        self.write(&i.to_le_bytes());
    }

    fn write_i16(&mut self, i: i16) {
        self.write(&i.to_le_bytes());
    }

    fn write_i32(&mut self, i: i32) {
        self.write(&i.to_le_bytes());
    }

    fn write_i64(&mut self, i: i64) {
        self.write(&i.to_le_bytes());
    }

    fn write_i128(&mut self, i: i128) {
        self.write(&i.to_le_bytes());
    }

    fn write_isize(&mut self, i: isize) {
        self.write(&(i as i64).to_le_bytes());
    }
}

/// Builds [`StableHasher`]s; the hasher `hashring` is given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StableBuildHasher;

impl BuildHasher for StableBuildHasher {
    type Hasher = StableHasher;

    fn build_hasher(&self) -> StableHasher {
        StableHasher::default()
    }
}

/// One virtual node: the `index`-th ring point of node `node`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct VNode {
    pub node: NodeId,
    pub index: u32,
}

impl Hash for VNode {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut bytes = [0u8; VNODE_TAG.len() + 12];
        bytes[..VNODE_TAG.len()].copy_from_slice(VNODE_TAG);
        bytes[VNODE_TAG.len()..VNODE_TAG.len() + 8].copy_from_slice(&self.node.to_le_bytes());
        bytes[VNODE_TAG.len() + 8..].copy_from_slice(&self.index.to_le_bytes());
        state.write(&bytes);
    }
}

/// A partition as a ring key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingKey(pub u32);

impl Hash for RingKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut bytes = [0u8; PARTITION_TAG.len() + 4];
        bytes[..PARTITION_TAG.len()].copy_from_slice(PARTITION_TAG);
        bytes[PARTITION_TAG.len()..].copy_from_slice(&self.0.to_le_bytes());
        state.write(&bytes);
    }
}

/// Virtual nodes for a capacity: `round(capacity / unit * per_unit)`, at
/// least one for any non-zero capacity, at most [`MAX_VNODES_PER_NODE`].
pub fn vnode_count(capacity: u64, vnodes_per_unit: u32, capacity_unit: u64) -> u32 {
    if capacity == 0 || vnodes_per_unit == 0 {
        return 0;
    }
    let unit = u128::from(capacity_unit.max(1));
    let scaled = (u128::from(capacity) * u128::from(vnodes_per_unit) + unit / 2) / unit;
    let clamped = scaled.clamp(1, u128::from(MAX_VNODES_PER_NODE));
    u32::try_from(clamped).unwrap_or(u32::MAX)
}

/// A built ring: the crate's `HashRing` plus its sorted order for walking.
#[derive(Clone)]
pub struct RingPlacement {
    ring: HashRing<VNode, StableBuildHasher>,
    /// (position, index into `ids`) sorted by position, then node, then vnode.
    walk: Vec<(u64, u32)>,
    /// Nodes with capacity, sorted by id.
    ids: Vec<NodeId>,
    /// Zone of each entry of `ids`, as an index into the distinct zones.
    zone_of: Vec<u32>,
    zone_count: usize,
}

impl RingPlacement {
    /// Builds the ring for `nodes`; nodes of zero capacity get no vnodes.
    pub fn new(nodes: &[NodeWeight], vnodes_per_unit: u32, capacity_unit: u64) -> Self {
        let mut live: Vec<&NodeWeight> = nodes.iter().filter(|n| n.capacity > 0).collect();
        live.sort_by_key(|n| n.id);
        live.dedup_by_key(|n| n.id);
        let mut zones: BTreeMap<&str, u32> = BTreeMap::new();
        for n in &live {
            let next = zones.len() as u32;
            zones.entry(n.zone.as_str()).or_insert(next);
        }
        let ids: Vec<NodeId> = live.iter().map(|n| n.id).collect();
        let zone_of: Vec<u32> = live
            .iter()
            .map(|n| zones.get(n.zone.as_str()).copied().unwrap_or(0))
            .collect();
        // Canonical insertion order (by node, then vnode), so even a position
        // collision resolves the same way whatever order `nodes` came in.
        let vnodes: Vec<VNode> = live
            .iter()
            .flat_map(|n| {
                let count = vnode_count(n.capacity, vnodes_per_unit, capacity_unit);
                (0..count).map(move |index| VNode { node: n.id, index })
            })
            .collect();
        let mut walk: Vec<(u64, u32)> = Vec::with_capacity(vnodes.len());
        let mut slot = 0usize;
        for v in &vnodes {
            while ids[slot] != v.node {
                slot += 1;
            }
            walk.push((StableBuildHasher.hash_one(v), slot as u32));
        }
        // Stable sort on position alone: the same tie order as `HashRing`.
        walk.sort_by_key(|&(pos, _)| pos);
        let mut ring = HashRing::with_hasher(StableBuildHasher);
        ring.batch_add(vnodes);
        RingPlacement {
            ring,
            walk,
            ids,
            zone_of,
            zone_count: zones.len(),
        }
    }

    /// Number of virtual nodes on the ring.
    pub fn len(&self) -> usize {
        self.walk.len()
    }

    /// True when no node has capacity.
    pub fn is_empty(&self) -> bool {
        self.walk.is_empty()
    }

    /// The ring position of a partition.
    pub fn position(partition: u32) -> u64 {
        StableBuildHasher.hash_one(RingKey(partition))
    }

    /// The first node at or after the partition's position, as the crate's
    /// `HashRing::get` answers it.
    pub fn crate_first(&self, partition: u32) -> Option<NodeId> {
        self.ring.get(&RingKey(partition)).map(|v| v.node)
    }

    /// The crate's own replica query: `get_with_replicas` (the first vnode and
    /// the `width - 1` after it), which may repeat nodes and ignores zones.
    /// Kept for the evaluation only.
    pub fn crate_replicas(&self, partition: u32, width: usize) -> Vec<NodeId> {
        if width == 0 {
            return Vec::new();
        }
        self.ring
            .get_with_replicas(&RingKey(partition), width - 1)
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.node)
            .collect()
    }

    /// The ordered list of `width` distinct nodes for a partition (fewer if
    /// there are fewer nodes): the first node of each unused zone met walking
    /// clockwise, then, once every zone is used, the next distinct nodes met;
    /// the result is in walk order, so piece 0 goes to the first node met.
    pub fn nodes_for_partition(&self, partition: u32, width: usize) -> Vec<NodeId> {
        let total = self.ids.len();
        let width = width.min(total);
        if width == 0 {
            return Vec::new();
        }
        let start_pos = Self::position(partition);
        let start = self.walk.partition_point(|&(pos, _)| pos < start_pos);
        let mut seen = vec![false; total];
        let mut zone_used = vec![false; self.zone_count];
        let mut zones_used = 0usize;
        let mut seen_count = 0usize;
        // (walk order, node slot) of zone-spreading picks and of spares.
        let mut chosen: Vec<(usize, u32)> = Vec::with_capacity(width);
        let mut spare: Vec<(usize, u32)> = Vec::with_capacity(width);
        let len = self.walk.len();
        for step in 0..len {
            let (_, slot) = self.walk[(start + step) % len];
            let s = slot as usize;
            if seen[s] {
                continue;
            }
            seen[s] = true;
            seen_count += 1;
            let z = self.zone_of[s] as usize;
            if !zone_used[z] && chosen.len() < width {
                zone_used[z] = true;
                zones_used += 1;
                chosen.push((seen_count, slot));
            } else if spare.len() < width {
                spare.push((seen_count, slot));
            }
            let zones_done = zones_used == self.zone_count || chosen.len() == width;
            if (zones_done && chosen.len() + spare.len() >= width) || seen_count == total {
                break;
            }
        }
        let missing = width - chosen.len().min(width);
        chosen.extend(spare.into_iter().take(missing));
        chosen.sort_unstable_by_key(|&(order, _)| order);
        chosen
            .into_iter()
            .map(|(_, slot)| self.ids[slot as usize])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(n: u64, zones: u64) -> Vec<NodeWeight> {
        (1..=n)
            .map(|id| NodeWeight {
                id,
                zone: format!("z{}", id % zones),
                capacity: 1000,
            })
            .collect()
    }

    #[test]
    fn first_node_agrees_with_the_crate() {
        let ring = RingPlacement::new(&cluster(9, 3), 50, 1000);
        for p in 0..2048 {
            let ours = ring.nodes_for_partition(p, 1);
            let theirs = ring.crate_first(p);
            // Width 1 with zones: the first node met is always chosen.
            assert_eq!(ours.first().copied(), theirs, "partition {p}");
        }
    }

    #[test]
    fn stable_hasher_is_pinned() {
        // Golden values: changing them moves data. Never update casually.
        assert_eq!(RingPlacement::position(0), 9_445_700_034_329_008_509);
        assert_eq!(
            StableBuildHasher.hash_one(VNode { node: 1, index: 0 }),
            GOLDEN_VNODE_POSITION
        );
    }

    const GOLDEN_VNODE_POSITION: u64 = 3_726_264_728_856_951_777;

    #[test]
    fn vnodes_scale_with_capacity() {
        assert_eq!(vnode_count(0, 100, 10), 0);
        assert_eq!(vnode_count(1, 100, u64::MAX), 1);
        assert_eq!(vnode_count(20, 100, 10), 200);
        assert_eq!(
            vnode_count(u64::MAX, u32::MAX, 1),
            MAX_VNODES_PER_NODE as u32
        );
    }

    #[test]
    fn crate_replicas_can_repeat_nodes() {
        let ring = RingPlacement::new(&cluster(3, 3), 64, 1000);
        let repeated = (0..512).any(|p| {
            let r = ring.crate_replicas(p, 3);
            r[0] == r[1] || r[1] == r[2] || r[0] == r[2]
        });
        assert!(repeated);
    }
}
