//! Tests of judging chunks (`judge`: states, margins, pieces to re-create
//! and why) and of choosing the node a piece is re-created on
//! (`choose_target`).

use super::*;
use crate::test_support::piece_refs;
use cairn_types::{CODEC_REPLICATION_V1, CODEC_RS_GF256_V1, ChunkRef, VersionId};

const AFTER_DOWN: Duration = Duration::from_secs(600);

/// Nodes 1..=6, all up, two per zone: z0 {1,2}, z1 {3,4}, z2 {5,6}.
fn nodes() -> NodeViews {
    (1..=6u64)
        .map(|id| {
            (
                id,
                NodeView {
                    addr: format!("n{id}"),
                    zone: format!("z{}", (id - 1) / 2),
                    up: true,
                    silent_for: Duration::ZERO,
                },
            )
        })
        .collect()
}

fn down(nodes: &mut NodeViews, id: NodeId, silent_for: Duration) {
    let v = nodes.get_mut(&id).expect("known node");
    v.up = false;
    v.silent_for = silent_for;
}

/// A replicated chunk on `holders`, wanting `width` replicas.
fn replicated(holders: &[NodeId], width: u8) -> ChunkRecord {
    ChunkRecord {
        chunk: ChunkRef {
            version: VersionId([7; 16]),
            part: 0,
            index: 0,
            len: 100,
            hash: [1; 32],
            nodes: holders.to_vec(),
            pieces: Vec::new(),
            data_pieces: 0,
        },
        codec: CODEC_REPLICATION_V1,
        width,
        history: Vec::new(),
    }
}

/// An `ec=4+2` chunk; `holders[i]` holds piece i.
fn coded(holders: [Option<NodeId>; 6]) -> ChunkRecord {
    ChunkRecord {
        chunk: ChunkRef {
            version: VersionId([8; 16]),
            part: 0,
            index: 0,
            len: 100,
            hash: [2; 32],
            nodes: Vec::new(),
            pieces: piece_refs(&holders, |i| [i as u8; 32]),
            data_pieces: 4,
        },
        codec: CODEC_RS_GF256_V1,
        width: 6,
        history: Vec::new(),
    }
}

fn all_six() -> [Option<NodeId>; 6] {
    [Some(1), Some(2), Some(3), Some(4), Some(5), Some(6)]
}

fn damage(node: NodeId, piece: u16, kind: DamageKind) -> DamageRecord {
    DamageRecord {
        node,
        piece,
        kind,
        reported_at: 0,
    }
}

const OWNERS: [NodeId; 6] = [1, 2, 3, 4, 5, 6];

fn judge_it(record: &ChunkRecord, damage: &[DamageRecord], nodes: &NodeViews) -> Judgement {
    judge(record, damage, nodes, Some(&OWNERS), AFTER_DOWN)
}

#[test]
fn a_full_chunk_on_owners_is_healthy() {
    let j = judge_it(&replicated(&[1, 3, 5], 3), &[], &nodes());
    assert_eq!(j.state, ChunkState::Healthy);
    assert_eq!(j.margin, 2);
    assert!(j.needs.is_empty());
    assert_eq!(j.sources, vec![(0, 1), (0, 3), (0, 5)]);
    assert!(j.pieces.iter().all(|(_, _, s)| *s == PieceState::Ok));

    let j = judge_it(&coded(all_six()), &[], &nodes());
    assert_eq!(j.state, ChunkState::Healthy);
    assert_eq!(j.margin, 2);
    assert!(j.needs.is_empty());
    assert_eq!(j.sources.len(), 6);
}

#[test]
fn a_replicated_chunk_under_width_needs_its_missing_replicas() {
    let j = judge_it(&replicated(&[1, 3], 3), &[], &nodes());
    assert_eq!(j.state, ChunkState::Degraded(1));
    assert_eq!(j.margin, 1);
    assert_eq!(
        j.needs,
        vec![Need {
            piece: 0,
            replace: None,
            reason: MoveReason::UnderWidth,
        }]
    );
    // Two lacking: two needs of the same identity.
    let j = judge_it(&replicated(&[1], 3), &[], &nodes());
    assert_eq!(j.state, ChunkState::AtRisk);
    assert_eq!(j.needs.len(), 2);
    assert!(
        j.needs
            .iter()
            .all(|n| n.replace.is_none() && n.piece == 0 && n.reason == MoveReason::UnderWidth)
    );
}

#[test]
fn an_erasure_coded_chunk_with_an_empty_slot_needs_that_piece() {
    let mut holders = all_six();
    holders[2] = None;
    let j = judge_it(&coded(holders), &[], &nodes());
    assert_eq!(j.state, ChunkState::Degraded(1));
    assert_eq!(j.margin, 1);
    assert_eq!(
        j.needs,
        vec![Need {
            piece: 2,
            replace: None,
            reason: MoveReason::UnderWidth,
        }]
    );
    assert!(!j.sources.iter().any(|(p, _)| *p == 2));
    assert_eq!(j.pieces.len(), 5);
}

#[test]
fn damaged_pieces_are_replaced_for_their_reason() {
    let record = coded(all_six());
    let d = [
        damage(2, 1, DamageKind::Missing),
        damage(5, 4, DamageKind::Corrupt),
    ];
    let j = judge_it(&record, &d, &nodes());
    assert_eq!(j.state, ChunkState::AtRisk);
    assert_eq!(j.margin, 0);
    assert_eq!(
        j.needs,
        vec![
            Need {
                piece: 1,
                replace: Some(2),
                reason: MoveReason::Missing,
            },
            Need {
                piece: 4,
                replace: Some(5),
                reason: MoveReason::Corrupt,
            },
        ]
    );
    assert!(j.pieces.contains(&(1, 2, PieceState::Missing)));
    assert!(j.pieces.contains(&(4, 5, PieceState::Corrupt)));
    assert!(!j.sources.contains(&(1, 2)));
    assert!(!j.sources.contains(&(4, 5)));

    // Damage is per piece and node: a report for another piece of the same
    // node, or the same piece elsewhere, does not touch this one.
    let j = judge_it(&record, &[damage(2, 3, DamageKind::Missing)], &nodes());
    assert_eq!(j.state, ChunkState::Healthy);
    assert!(j.needs.is_empty());

    let j = judge_it(
        &replicated(&[1, 3, 5], 3),
        &[damage(3, 0, DamageKind::Corrupt)],
        &nodes(),
    );
    assert_eq!(j.state, ChunkState::Degraded(1));
    assert_eq!(
        j.needs,
        vec![Need {
            piece: 0,
            replace: Some(3),
            reason: MoveReason::Corrupt,
        }]
    );
}

#[test]
fn a_holder_down_briefly_is_unusable_but_not_yet_replaced() {
    let mut n = nodes();
    down(&mut n, 3, AFTER_DOWN);
    let j = judge_it(&replicated(&[1, 3, 5], 3), &[], &n);
    assert!(j.pieces.contains(&(0, 3, PieceState::OnDownNode)));
    assert_eq!(j.state, ChunkState::Degraded(1));
    assert!(j.needs.is_empty(), "{:?}", j.needs);
    assert!(!j.sources.contains(&(0, 3)));
}

#[test]
fn a_holder_down_longer_than_after_down_is_replaced() {
    let mut n = nodes();
    down(&mut n, 3, AFTER_DOWN + Duration::from_secs(1));
    let j = judge_it(&coded(all_six()), &[], &n);
    assert!(j.pieces.contains(&(2, 3, PieceState::OnDownNode)));
    assert_eq!(j.state, ChunkState::Degraded(1));
    assert_eq!(
        j.needs,
        vec![Need {
            piece: 2,
            replace: Some(3),
            reason: MoveReason::OnDownNode,
        }]
    );
}

#[test]
fn a_holder_no_longer_registered_is_replaced() {
    let mut n = nodes();
    n.remove(&5);
    let j = judge_it(&replicated(&[1, 3, 5], 3), &[], &n);
    assert!(j.pieces.contains(&(0, 5, PieceState::OnDownNode)));
    assert_eq!(
        j.needs,
        vec![Need {
            piece: 0,
            replace: Some(5),
            reason: MoveReason::OnDownNode,
        }]
    );
}

#[test]
fn exactly_the_minimum_is_at_risk_and_below_it_unreadable() {
    let mut n = nodes();
    down(&mut n, 1, AFTER_DOWN * 2);
    down(&mut n, 2, AFTER_DOWN * 2);
    // 4 of 4+2 usable: at risk, both lost pieces wanted.
    let j = judge_it(&coded(all_six()), &[], &n);
    assert_eq!(j.state, ChunkState::AtRisk);
    assert_eq!(j.margin, 0);
    assert_eq!(j.needs.len(), 2);
    // 3 of 4+2: nothing can rebuild it, so nothing is asked.
    let j = judge_it(&coded(all_six()), &[damage(6, 5, DamageKind::Corrupt)], &n);
    assert_eq!(j.state, ChunkState::Unreadable);
    assert_eq!(j.margin, -1);
    assert!(j.needs.is_empty());
    assert_eq!(j.sources.len(), 3);
    // The last replica: at risk; none: unreadable.
    let j = judge_it(&replicated(&[1, 3], 2), &[], &n);
    assert_eq!(j.state, ChunkState::AtRisk);
    let j = judge_it(&replicated(&[1, 2], 2), &[], &n);
    assert_eq!(j.state, ChunkState::Unreadable);
    assert!(j.needs.is_empty());
    // A single-replica bucket at its one replica is healthy, not at risk.
    let j = judge_it(&replicated(&[3], 1), &[], &n);
    assert_eq!(j.state, ChunkState::Healthy);
}

#[test]
fn a_replica_beyond_the_width_is_surplus_and_still_a_source() {
    let j = judge_it(&replicated(&[1, 3, 5, 2], 3), &[], &nodes());
    assert_eq!(j.state, ChunkState::Healthy);
    assert!(j.pieces.contains(&(0, 2, PieceState::Surplus)));
    assert!(j.sources.contains(&(0, 2)));
    assert!(j.needs.is_empty());
    assert_eq!(j.margin, 2, "usable pieces count up to the width");
}

#[test]
fn a_full_chunk_with_a_piece_off_its_owners_is_misplaced() {
    let owners: [NodeId; 3] = [1, 3, 5];
    let j = judge(
        &replicated(&[1, 3, 6], 3),
        &[],
        &nodes(),
        Some(&owners),
        AFTER_DOWN,
    );
    assert_eq!(j.state, ChunkState::Misplaced);
    assert_eq!(
        j.needs,
        vec![Need {
            piece: 0,
            replace: Some(6),
            reason: MoveReason::Misplaced
        }]
    );
    assert_eq!(j.margin, 2, "a move never lowers the margin first");
    let record = replicated(&[1, 3, 6], 3);
    assert_eq!(
        choose_target(&record, &j.sources, &owners, &nodes(), &HashSet::new()),
        Some(5),
        "the owner that holds nothing"
    );
    // Without a layout nothing is misplaced.
    let j = judge(&replicated(&[1, 3, 6], 3), &[], &nodes(), None, AFTER_DOWN);
    assert_eq!(j.state, ChunkState::Healthy);
}

#[test]
fn an_erasure_piece_off_its_owners_moves_as_itself() {
    // ec=4+2 on 1..=6; the layout now puts node 7 where node 4 was.
    let owners: [NodeId; 6] = [1, 2, 3, 7, 5, 6];
    let j = judge(&coded(all_six()), &[], &nodes(), Some(&owners), AFTER_DOWN);
    assert_eq!(j.state, ChunkState::Misplaced);
    assert_eq!(
        j.needs,
        vec![Need {
            piece: 3,
            replace: Some(4),
            reason: MoveReason::Misplaced
        }]
    );
    assert!(j.sources.contains(&(3, 4)), "the piece is read where it is");
}

#[test]
fn a_degraded_chunk_is_repaired_before_anything_moves() {
    // Node 6 is off the owners and node 3 lost its replica: repair only.
    let owners: [NodeId; 3] = [1, 3, 5];
    let j = judge(
        &replicated(&[1, 3, 6], 3),
        &[damage(3, 0, DamageKind::Missing)],
        &nodes(),
        Some(&owners),
        AFTER_DOWN,
    );
    assert_eq!(j.state, ChunkState::Degraded(1));
    assert!(j.needs.iter().all(|n| n.reason != MoveReason::Misplaced));
    // A surplus replica off the owners is not moved (the scrub trims it).
    let j = judge(
        &replicated(&[1, 3, 5, 6], 3),
        &[],
        &nodes(),
        Some(&owners),
        AFTER_DOWN,
    );
    assert_eq!(j.state, ChunkState::Healthy);
    assert!(j.needs.is_empty());
}

#[test]
fn severity_orders_states() {
    let order = [
        ChunkState::Healthy,
        ChunkState::Misplaced,
        ChunkState::Degraded(1),
        ChunkState::Degraded(2),
        ChunkState::AtRisk,
        ChunkState::Unreadable,
    ];
    for w in order.windows(2) {
        assert!(w[0].severity() < w[1].severity(), "{w:?}");
    }
}

#[test]
fn the_target_is_an_up_owner_holding_nothing_and_not_taken() {
    let none = HashSet::new();
    // Holders 1, 3 and 5 (one per zone): 2 is the first free owner.
    let r = replicated(&[1, 3, 5], 3);
    let j = judge_it(&r, &[], &nodes());
    assert_eq!(
        choose_target(&r, &j.sources, &OWNERS, &nodes(), &none),
        Some(2)
    );
    // 2 down: 4; 2 taken as well as 4 down: 6.
    let mut n = nodes();
    down(&mut n, 2, Duration::from_secs(1));
    assert_eq!(choose_target(&r, &j.sources, &OWNERS, &n, &none), Some(4));
    down(&mut n, 4, Duration::from_secs(1));
    assert_eq!(choose_target(&r, &j.sources, &OWNERS, &n, &none), Some(6));
    let taken: HashSet<NodeId> = [6].into();
    assert_eq!(choose_target(&r, &j.sources, &OWNERS, &n, &taken), None);
    // A node not among the owners is never chosen.
    assert_eq!(
        choose_target(&r, &j.sources, &[1, 3, 5], &nodes(), &none),
        None
    );
}

#[test]
fn the_target_prefers_a_zone_without_a_usable_piece() {
    let none = HashSet::new();
    // Pieces in z0 (1) and z1 (3): z2's first owner, 5, before 2 and 4.
    let r = replicated(&[1, 3], 3);
    let j = judge_it(&r, &[], &nodes());
    assert_eq!(
        choose_target(&r, &j.sources, &OWNERS, &nodes(), &none),
        Some(5)
    );
    // 5 down: 6, the other node of z2.
    let mut n = nodes();
    down(&mut n, 5, Duration::from_secs(1));
    assert_eq!(choose_target(&r, &j.sources, &OWNERS, &n, &none), Some(6));
    // A target taken in z2 for another piece counts as z2 holding one:
    // every zone then has a piece, so the first free owner, 2.
    let taken: HashSet<NodeId> = [5].into();
    assert_eq!(
        choose_target(&r, &j.sources, &OWNERS, &nodes(), &taken),
        Some(2)
    );
    // A damaged piece's zone holds no usable piece: with 3's replica
    // corrupt, z1 is free again and 4 comes before 2.
    let r = replicated(&[1, 3, 5], 3);
    let j = judge_it(&r, &[damage(3, 0, DamageKind::Corrupt)], &nodes());
    assert_eq!(
        choose_target(&r, &j.sources, &OWNERS, &nodes(), &none),
        Some(4)
    );
}

#[test]
fn no_target_when_every_up_owner_holds_a_piece() {
    let none = HashSet::new();
    // Piece 1 on 2 is missing, but 2 still holds a slot of the chunk: not
    // a target for it, and every other owner holds a piece.
    let r = coded(all_six());
    let j = judge_it(&r, &[damage(2, 1, DamageKind::Missing)], &nodes());
    assert_eq!(j.needs.len(), 1);
    assert_eq!(
        choose_target(&r, &j.sources, &OWNERS, &nodes(), &none),
        None
    );
    // Slot 5 empty and 6, the one owner holding nothing, down.
    let mut holders = all_six();
    holders[5] = None;
    let r = coded(holders);
    let mut n = nodes();
    n.get_mut(&6).expect("6").up = false;
    let j = judge_it(&r, &[], &n);
    assert_eq!(choose_target(&r, &j.sources, &OWNERS, &n, &none), None);
}

#[test]
fn a_lost_piece_on_an_up_holder_may_be_rebuilt_in_place() {
    let none = HashSet::new();
    let lost = |reason| Need {
        piece: 1,
        replace: Some(2),
        reason,
    };
    assert_eq!(
        in_place_target(&lost(MoveReason::Missing), &nodes(), &none),
        Some(2)
    );
    assert_eq!(
        in_place_target(&lost(MoveReason::Corrupt), &nodes(), &none),
        Some(2)
    );
    // Already chosen for another piece of the chunk, or down: not there.
    assert_eq!(
        in_place_target(&lost(MoveReason::Corrupt), &nodes(), &HashSet::from([2])),
        None
    );
    let mut n = nodes();
    down(&mut n, 2, Duration::from_secs(1));
    assert_eq!(in_place_target(&lost(MoveReason::Missing), &n, &none), None);
    // A piece on a long-down node, or an empty slot: nowhere in place.
    assert_eq!(
        in_place_target(&lost(MoveReason::OnDownNode), &nodes(), &none),
        None
    );
    let empty = Need {
        piece: 2,
        replace: None,
        reason: MoveReason::UnderWidth,
    };
    assert_eq!(in_place_target(&empty, &nodes(), &none), None);
}
