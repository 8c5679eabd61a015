//! Property tests of both placement strategies: balance within a stated
//! bound, movement equal to its minimum on join and leave, distinct nodes,
//! zone spread, determinism. The bounds are the named constants below; how
//! they were chosen is in docs/placement.md.

use cairn_placement::eval::{capacity_targets, moved_slots, slot_counts, slots_of};
use cairn_placement::ring::vnode_count;
use cairn_placement::{NodeWeight, Placement, Strategy as Placer, layout};
use proptest::prelude::*;
use std::collections::BTreeSet;

/// Partitions in the property tests (the default is 4096; fewer keeps each
/// case fast, and the noise term of the bound scales with it).
const TEST_PARTITIONS: u32 = 2048;
/// Cases per balance / movement property (each builds a few layouts).
const LAYOUT_CASES: u32 = 48;
/// Sampling noise allowed: a node's slot count may be this many standard
/// deviations (sqrt of its target) away from its capacity target.
const BALANCE_SIGMAS: f64 = 5.0;
/// Extra deviation, as a fraction of the target, allowed to a ring node for
/// the spread of its arcs: this many over sqrt(its virtual nodes).
const RING_ARC_SIGMAS: f64 = 4.0;
/// Extra deviation, as a fraction of the target, allowed when capacities
/// differ and width > 1: top-k weighted picking (rendezvous and ring alike)
/// favours small nodes (the "multi-pick anomaly"); measured up to 0.32 beyond
/// 4 sigma over 300 random clusters.
const MULTI_PICK_SLACK: f64 = 0.5;
/// Slots moved by a join or a leave may exceed the minimum by this many (the
/// minimum: slots the joining node ends up holding, or the leaving node held).
const MOVEMENT_EXCESS_SLOTS: u64 = 0;
/// Virtual nodes per capacity unit of the ring under test.
const RING_VNODES: u32 = 256;
/// Capacity multipliers drawn for mixed clusters.
const MULTIPLIERS: [u64; 3] = [1, 2, 4];

fn ring() -> Placer {
    Placer::Ring {
        vnodes_per_unit: RING_VNODES,
        capacity_unit: 1,
    }
}

fn strategies() -> [Placer; 2] {
    [Placer::Rendezvous, ring()]
}

/// A cluster of `zones` zones with the same capacity pattern in each, so
/// every zone holds the same capacity and capacity shares are reachable.
fn balanced_cluster(zones: u64, pattern: &[u64], id_base: u64) -> Vec<NodeWeight> {
    let n = zones * pattern.len() as u64;
    (0..n)
        .map(|i| NodeWeight {
            id: id_base + 7 * i,
            zone: format!("z{}", i % zones),
            capacity: pattern[(i / zones) as usize],
        })
        .collect()
}

fn pattern(mixed: bool) -> impl Strategy<Value = Vec<u64>> {
    let mult = if mixed {
        proptest::sample::select(MULTIPLIERS.to_vec()).boxed()
    } else {
        Just(1u64).boxed()
    };
    proptest::collection::vec(mult, 1..=4)
}

/// Any cluster: distinct ids, random zones, capacities including zero.
fn any_cluster() -> impl Strategy<Value = Vec<NodeWeight>> {
    proptest::collection::btree_map(any::<u64>(), (0u8..6, 0u64..5), 1..14).prop_map(|m| {
        m.into_iter()
            .map(|(id, (zone, capacity))| NodeWeight {
                id,
                zone: format!("z{zone}"),
                capacity,
            })
            .collect()
    })
}

/// Checks every node with capacity against its target with the bound
/// `BALANCE_SIGMAS * sqrt(t) + slack * t` (+ the ring's arc term).
fn check_balance(
    strategy: Placer,
    nodes: &[NodeWeight],
    width: usize,
    slack: f64,
) -> Result<(), TestCaseError> {
    let l = layout(strategy, nodes, TEST_PARTITIONS, width);
    let counts = slot_counts(&l);
    for (id, target) in capacity_targets(nodes, TEST_PARTITIONS, width) {
        let count = counts.get(&id).copied().unwrap_or(0) as f64;
        let capacity = nodes.iter().find(|n| n.id == id).map_or(0, |n| n.capacity);
        let arc = match strategy {
            Placer::Rendezvous => 0.0,
            Placer::Ring {
                vnodes_per_unit,
                capacity_unit,
            } => {
                let v = vnode_count(capacity, vnodes_per_unit, capacity_unit);
                RING_ARC_SIGMAS / f64::from(v.max(1)).sqrt()
            }
        };
        let bound = BALANCE_SIGMAS * target.sqrt() + (slack + arc) * target;
        prop_assert!(
            (count - target).abs() <= bound,
            "{strategy:?}: node {id} holds {count}, target {target:.0}, bound {bound:.0}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(LAYOUT_CASES))]

    #[test]
    fn balance_equal_capacities(zones in 1u64..=4, pattern in pattern(false), width in 1usize..=6, id_base in 0u64..1000) {
        let nodes = balanced_cluster(zones, &pattern, id_base);
        for s in strategies() {
            check_balance(s, &nodes, width, 0.0)?;
        }
    }

    #[test]
    fn balance_mixed_capacities_width_one(zones in 1u64..=4, pattern in pattern(true), id_base in 0u64..1000) {
        let nodes = balanced_cluster(zones, &pattern, id_base);
        for s in strategies() {
            check_balance(s, &nodes, 1, 0.0)?;
        }
    }

    #[test]
    fn balance_mixed_capacities_any_width(zones in 1u64..=4, pattern in pattern(true), width in 1usize..=6, id_base in 0u64..1000) {
        let nodes = balanced_cluster(zones, &pattern, id_base);
        for s in strategies() {
            check_balance(s, &nodes, width, MULTI_PICK_SLACK)?;
        }
    }

    #[test]
    fn movement_on_join_and_leave_is_minimal(nodes in any_cluster(), width in 1usize..=6, new_id in any::<u64>(), zone in 0u8..7, capacity in 1u64..5) {
        prop_assume!(nodes.iter().all(|n| n.id != new_id));
        let mut joined = nodes.clone();
        joined.push(NodeWeight { id: new_id, zone: format!("z{zone}"), capacity });
        for s in strategies() {
            let before = layout(s, &nodes, TEST_PARTITIONS, width);
            let after = layout(s, &joined, TEST_PARTITIONS, width);
            // Join: the only slots that move are the ones the new node takes.
            let moved = moved_slots(&before, &after);
            prop_assert!(moved <= slots_of(&after, new_id) + MOVEMENT_EXCESS_SLOTS, "{s:?} join moved {moved}");
            // Leave (the same node going away): only its slots move.
            let moved = moved_slots(&after, &before);
            prop_assert!(moved <= slots_of(&after, new_id) + MOVEMENT_EXCESS_SLOTS, "{s:?} leave moved {moved}");
        }
    }

    #[test]
    fn join_moves_about_the_fair_share(n in 2u64..12, id_base in 0u64..1000) {
        // One zone, equal capacities: the fair share is reachable, so a join
        // moves the new node's share within the balance bound.
        let nodes = balanced_cluster(1, &vec![1; n as usize], id_base);
        let mut joined = nodes.clone();
        joined.push(NodeWeight { id: u64::MAX, zone: "z0".into(), capacity: 1 });
        let share = f64::from(TEST_PARTITIONS) / (n + 1) as f64;
        for s in strategies() {
            let moved = moved_slots(
                &layout(s, &nodes, TEST_PARTITIONS, 1),
                &layout(s, &joined, TEST_PARTITIONS, 1),
            ) as f64;
            let arc = match s {
                Placer::Rendezvous => 0.0,
                Placer::Ring { .. } => RING_ARC_SIGMAS / f64::from(RING_VNODES).sqrt(),
            };
            let bound = BALANCE_SIGMAS * share.sqrt() + arc * share;
            prop_assert!((moved - share).abs() <= bound, "{s:?}: moved {moved}, share {share:.0}");
        }
    }
}

proptest! {
    #[test]
    fn distinct_nodes_and_zone_spread(nodes in any_cluster(), width in 1usize..=8, partition in any::<u32>()) {
        let live: Vec<&NodeWeight> = nodes.iter().filter(|n| n.capacity > 0).collect();
        let zones: BTreeSet<&str> = live.iter().map(|n| n.zone.as_str()).collect();
        for s in strategies() {
            let chosen = Placement::new(s, &nodes).nodes_for_partition(partition, width);
            prop_assert_eq!(chosen.len(), width.min(live.len()));
            let distinct: BTreeSet<_> = chosen.iter().collect();
            prop_assert_eq!(distinct.len(), chosen.len(), "{:?} repeated a node", s);
            for id in &chosen {
                prop_assert!(live.iter().any(|n| n.id == *id), "{:?} chose a node without capacity", s);
            }
            let spanned: BTreeSet<&str> = chosen
                .iter()
                .filter_map(|id| live.iter().find(|n| n.id == *id).map(|n| n.zone.as_str()))
                .collect();
            // Zones >= width: every piece in its own zone; otherwise every zone used.
            prop_assert_eq!(spanned.len(), chosen.len().min(zones.len()), "{:?} zone spread", s);
        }
    }

    #[test]
    fn deterministic_and_independent_of_node_order(nodes in any_cluster(), width in 1usize..=6, partitions in proptest::collection::vec(any::<u32>(), 1..32), rotate in 0usize..14) {
        let mut shuffled = nodes.clone();
        shuffled.reverse();
        let len = shuffled.len();
        shuffled.rotate_left(rotate % len);
        for s in strategies() {
            let a = Placement::new(s, &nodes);
            let b = Placement::new(s, &nodes);
            let c = Placement::new(s, &shuffled);
            for p in &partitions {
                let first = a.nodes_for_partition(*p, width);
                prop_assert_eq!(&first, &b.nodes_for_partition(*p, width));
                prop_assert_eq!(&first, &c.nodes_for_partition(*p, width));
            }
        }
    }
}
