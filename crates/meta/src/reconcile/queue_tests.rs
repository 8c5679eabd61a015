//! Tests of the work queue: what a claim hands out and to whom, leases
//! (held, expired, dropped when no longer needed, given back), the
//! avoidance of a target that gave a task back, the counts the status
//! reports, and, with the planner, the order of the work (most endangered
//! first) and that a leased piece is not planned again until its lease
//! expires.

use super::*;
use crate::reconcile::plan::{NodeView, NodeViews};
use crate::reconcile::planner::plan;
use crate::store::chunks::put_record;
use crate::store::repair_rows::add_candidate;
use crate::test_support::{open, piece_refs};
use cairn_types::{
    CODEC_REPLICATION_V1, CODEC_RS_GF256_V1, ChunkRef, ClusterLayout, MoveReason, VersionId,
};
use rocksdb::WriteBatch;

const LEASE: Duration = Duration::from_secs(30);
const AVOID: Duration = Duration::from_secs(60);

fn key(n: u8) -> ChunkKey {
    ChunkKey {
        version: VersionId([n; 16]),
        part: 0,
        chunk: 0,
    }
}

fn replicated(k: &ChunkKey, holders: &[NodeId], width: u8, len: u64) -> ChunkRecord {
    ChunkRecord {
        chunk: ChunkRef {
            version: k.version,
            part: k.part,
            index: k.chunk,
            len,
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
fn coded(k: &ChunkKey, holders: [Option<NodeId>; 6], len: u64) -> ChunkRecord {
    ChunkRecord {
        chunk: ChunkRef {
            version: k.version,
            part: k.part,
            index: k.chunk,
            len,
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

/// A task re-creating an empty slot `piece` of chunk `k` on `target`.
fn task(k: u8, piece: u16, target: NodeId, margin: i64, bytes: u64) -> Task {
    let chunk = key(k);
    Task {
        chunk,
        record: replicated(&chunk, &[9], 3, bytes),
        need: Need {
            piece,
            replace: None,
            reason: MoveReason::UnderWidth,
        },
        target,
        sources: vec![(0, 9)],
        margin,
        bytes,
        reencode: None,
    }
}

fn needed_of(tasks: &[Task]) -> HashSet<(ChunkKey, u16, Option<NodeId>)> {
    tasks
        .iter()
        .map(|t| (t.chunk, t.need.piece, t.need.replace))
        .collect()
}

#[test]
fn piece_bytes_is_the_chunk_or_one_coded_piece() {
    let k = key(1);
    assert_eq!(piece_bytes(&replicated(&k, &[1], 3, 1000)), 1000);
    // 1000 bytes in 4 data pieces: 250 each; 1001: 251 (rounded up).
    assert_eq!(piece_bytes(&coded(&k, [None; 6], 1000)), 250);
    assert_eq!(piece_bytes(&coded(&k, [None; 6], 1001)), 251);
}

#[test]
fn a_claim_gives_the_claiming_nodes_tasks_in_queue_order_up_to_its_slots() {
    let now = Instant::now();
    let mut q = WorkQueue::default();
    let tasks = vec![
        task(1, 0, 5, -2, 10),
        task(2, 0, 4, 0, 20),
        task(3, 0, 5, 1, 30),
        task(4, 0, 5, 2, 40),
    ];
    q.replan(tasks.clone(), &needed_of(&tasks), now);
    assert_eq!(q.queued(), (4, 100));

    let got = q.claim(5, 2, now, LEASE);
    assert_eq!(got, vec![tasks[0].clone(), tasks[2].clone()]);
    // Node 4's task and node 5's third stay queued; the claimed are leased.
    assert_eq!(q.queued(), (2, 60));
    assert_eq!(q.in_progress(), (2, 40));
    // A node with no task gets none.
    assert!(q.claim(6, 8, now, LEASE).is_empty());
    assert_eq!(q.claim(5, 8, now, LEASE), vec![tasks[3].clone()]);
    assert_eq!(q.claim(4, 8, now, LEASE), vec![tasks[1].clone()]);
    assert_eq!(q.queued(), (0, 0));
    assert_eq!(q.in_progress(), (4, 100));
    // Claimed tasks are not handed out again.
    assert!(q.claim(5, 8, now, LEASE).is_empty());
}

#[test]
fn queued_counts_chunks_once_and_every_piece_bytes() {
    let now = Instant::now();
    let mut q = WorkQueue::default();
    let tasks = vec![
        task(1, 0, 5, 0, 10),
        task(1, 1, 6, 0, 10),
        task(2, 0, 5, 0, 7),
    ];
    q.replan(tasks.clone(), &needed_of(&tasks), now);
    assert_eq!(q.queued(), (2, 27));
    assert_eq!(q.in_progress(), (0, 0));
}

#[test]
fn a_lease_holds_until_it_expires() {
    let now = Instant::now();
    let mut q = WorkQueue::default();
    let tasks = vec![task(1, 0, 5, 0, 10)];
    let needed = needed_of(&tasks);
    q.replan(tasks.clone(), &needed, now);
    let claimed = q.claim(5, 1, now, LEASE);
    assert_eq!(claimed.len(), 1);
    let need = claimed[0].need;
    assert_eq!(q.leased(&key(1), &need), 1);
    assert!(q.taken_for(&key(1)).contains(&5));
    assert!(q.taken_for(&key(2)).is_empty());

    // A plan just before the lease ends keeps it.
    q.replan(Vec::new(), &needed, now + LEASE - Duration::from_millis(1));
    assert_eq!(q.leased(&key(1), &need), 1);
    assert_eq!(q.in_progress(), (1, 10));
    // At its end it is gone: the piece may be planned again.
    q.replan(Vec::new(), &needed, now + LEASE);
    assert_eq!(q.leased(&key(1), &need), 0);
    assert_eq!(q.in_progress(), (0, 0));
    assert!(q.taken_for(&key(1)).is_empty());
}

#[test]
fn a_plan_that_no_longer_needs_a_piece_drops_its_lease() {
    let now = Instant::now();
    let mut q = WorkQueue::default();
    let tasks = vec![task(1, 0, 5, 0, 10), task(2, 0, 5, 0, 10)];
    q.replan(tasks.clone(), &needed_of(&tasks), now);
    assert_eq!(q.claim(5, 2, now, LEASE).len(), 2);
    // The mover committed chunk 1: the next plan finds only chunk 2 lacking.
    q.replan(Vec::new(), &needed_of(&tasks[1..]), now);
    assert_eq!(q.leased(&key(1), &tasks[0].need), 0);
    assert_eq!(q.leased(&key(2), &tasks[1].need), 1);
    assert_eq!(q.in_progress(), (1, 10));
}

#[test]
fn a_released_task_ends_its_lease_and_avoids_its_target_for_a_while() {
    let now = Instant::now();
    let mut q = WorkQueue::default();
    let tasks = vec![task(1, 0, 5, 0, 10), task(1, 1, 6, 0, 10)];
    let needed = needed_of(&tasks);
    q.replan(tasks.clone(), &needed, now);
    q.claim(5, 1, now, LEASE);
    q.claim(6, 1, now, LEASE);
    assert_eq!(q.in_progress(), (2, 20));

    q.release(5, key(1), 0, now, AVOID);
    assert_eq!(q.leased(&key(1), &tasks[0].need), 0);
    // Node 6's lease on another piece of the chunk is untouched.
    assert_eq!(q.leased(&key(1), &tasks[1].need), 1);
    assert_eq!(q.in_progress(), (1, 10));
    // 5 stays out of the chunk's targets after its lease is gone...
    assert!(q.taken_for(&key(1)).contains(&5));
    assert!(!q.taken_for(&key(2)).contains(&5));
    // ...until the avoidance ends (6's lease ended with LEASE < AVOID).
    q.replan(Vec::new(), &needed, now + AVOID - Duration::from_millis(1));
    assert_eq!(q.taken_for(&key(1)), HashSet::from([5]));
    q.replan(Vec::new(), &needed, now + AVOID);
    assert!(q.taken_for(&key(1)).is_empty());
}

#[test]
fn a_release_by_another_node_leaves_the_lease() {
    let now = Instant::now();
    let mut q = WorkQueue::default();
    let tasks = vec![task(1, 0, 5, 0, 10)];
    q.replan(tasks.clone(), &needed_of(&tasks), now);
    q.claim(5, 1, now, LEASE);
    q.release(6, key(1), 0, now, AVOID);
    assert_eq!(q.leased(&key(1), &tasks[0].need), 1);
    assert_eq!(q.taken_for(&key(1)), HashSet::from([5, 6]));
}

/// Nodes 1..=6, all up, two per zone.
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

/// One partition owned by every node.
fn layout() -> ClusterLayout {
    ClusterLayout {
        epoch: 1,
        partitions: 1,
        nodes: Vec::new(),
        table: vec![vec![1, 2, 3, 4, 5, 6]],
    }
}

fn store(db: &crate::store::db::MetaDb, k: &ChunkKey, record: &ChunkRecord) {
    let mut batch = WriteBatch::default();
    put_record(db, &mut batch, k, None, record).expect("record");
    add_candidate(db, &mut batch, k).expect("candidate");
    db.db.write(batch).expect("write");
}

#[test]
fn the_planner_orders_work_most_endangered_first_and_skips_leased_pieces() {
    let (_dir, db) = open();
    let after_down = Duration::from_secs(600);
    // Keys chosen so that key order is the reverse of urgency.
    let (degraded, one_lacking, at_risk) = (key(1), key(2), key(3));
    store(&db, &degraded, &replicated(&degraded, &[1, 2], 3, 100));
    store(
        &db,
        &one_lacking,
        &coded(
            &one_lacking,
            [Some(1), Some(2), Some(3), Some(4), Some(5), None],
            400,
        ),
    );
    store(
        &db,
        &at_risk,
        &coded(
            &at_risk,
            [Some(1), None, Some(3), Some(4), Some(5), None],
            400,
        ),
    );
    let mut q = WorkQueue::default();
    let p = plan(&db, &nodes(), Some(&layout()), after_down, &q).expect("plan");
    let order: Vec<ChunkKey> = p.tasks.iter().map(|t| t.chunk).collect();
    assert_eq!(
        order,
        vec![at_risk, at_risk, degraded, one_lacking],
        "{:?}",
        p.tasks
    );
    assert!(p.tasks.windows(2).all(|w| w[0].margin <= w[1].margin));
    // The two pieces of one chunk go to two different nodes.
    assert_ne!(p.tasks[0].target, p.tasks[1].target);
    assert_eq!(p.needed.len(), 4);
    assert_eq!(p.tasks[0].bytes, 100);

    let now = Instant::now();
    q.replan(p.tasks.clone(), &p.needed, now);
    let first = p.tasks[0].clone();
    let claimed = q.claim(first.target, 1, now, LEASE);
    assert_eq!(claimed, vec![first.clone()]);

    // Planned again while leased: the piece is left out, and the other
    // piece of the chunk is not planned onto the leased target.
    let p = plan(&db, &nodes(), Some(&layout()), after_down, &q).expect("plan");
    assert_eq!(p.tasks.len(), 3);
    assert!(
        !p.tasks
            .iter()
            .any(|t| t.chunk == at_risk && t.need == first.need)
    );
    assert!(
        !p.tasks
            .iter()
            .any(|t| t.chunk == at_risk && t.target == first.target)
    );
    assert!(p.needed.contains(&(at_risk, first.need.piece, None)));
    q.replan(p.tasks, &p.needed, now + Duration::from_secs(1));
    assert_eq!(q.leased(&at_risk, &first.need), 1);

    // After the lease expires the piece is planned again.
    q.replan(Vec::new(), &p.needed, now + LEASE);
    let p = plan(&db, &nodes(), Some(&layout()), after_down, &q).expect("plan");
    assert_eq!(p.tasks.len(), 4);
    assert!(
        p.tasks
            .iter()
            .any(|t| t.chunk == at_risk && t.need == first.need)
    );
}

#[test]
fn the_planner_rebuilds_in_place_when_every_owner_holds_a_piece() {
    let (_dir, db) = open();
    let k = key(1);
    let record = coded(
        &k,
        [Some(1), Some(2), Some(3), Some(4), Some(5), Some(6)],
        400,
    );
    store(&db, &k, &record);
    let mut batch = WriteBatch::default();
    crate::store::repair_rows::put_damage(
        &db,
        &mut batch,
        &k,
        &cairn_rpc::repair_api::DamageRecord {
            node: 4,
            piece: 3,
            kind: cairn_rpc::repair_api::DamageKind::Corrupt,
            reported_at: 0,
        },
    )
    .expect("damage");
    db.db.write(batch).expect("write");
    let q = WorkQueue::default();
    let p = plan(&db, &nodes(), Some(&layout()), Duration::from_secs(600), &q).expect("plan");
    assert_eq!(p.unplaceable, 0);
    assert_eq!(p.tasks.len(), 1);
    assert_eq!(p.tasks[0].target, 4);
    assert_eq!(
        p.tasks[0].need,
        Need {
            piece: 3,
            replace: Some(4),
            reason: MoveReason::Corrupt,
        }
    );
    // Node 4 down (briefly): nobody can take it now.
    let mut n = nodes();
    n.get_mut(&4).expect("4").up = false;
    let p = plan(&db, &n, Some(&layout()), Duration::from_secs(600), &q).expect("plan");
    assert!(p.tasks.is_empty());
    assert_eq!(p.unplaceable, 1);
}

#[test]
fn leases_outside_a_partial_plan_stay_until_ended() {
    let now = Instant::now();
    let mut q = WorkQueue::default();
    let tasks = vec![task(1, 0, 5, 0, 100)];
    q.replan(tasks.clone(), &needed_of(&tasks), now);
    assert_eq!(q.claim(5, 1, now, LEASE).len(), 1);
    // A pass that judged other chunks keeps the lease.
    q.replan_judged(Vec::new(), &HashSet::new(), Some(&HashSet::new()), now);
    assert_eq!(q.in_progress().0, 1);
    let outside = q.leases_outside(&HashSet::new());
    assert_eq!(outside.len(), 1);
    q.end_lease(&outside[0]);
    assert_eq!(q.in_progress().0, 0);
}

#[test]
fn repair_goes_before_rebalancing_and_a_pause_holds_moves_back() {
    let now = Instant::now();
    let mut q = WorkQueue::default();
    // A move with a small margin still sorts after a repair with a large one.
    let mut moving = task(1, 0, 5, -5, 10);
    moving.need.reason = MoveReason::Misplaced;
    moving.need.replace = Some(9);
    let repair = task(2, 0, 5, 1_000, 20);
    let mut tasks = vec![moving.clone(), repair.clone()];
    tasks.sort_by_key(Task::order);
    assert_eq!(tasks[0].chunk, repair.chunk);
    q.replan(tasks.clone(), &needed_of(&tasks), now);
    assert_eq!(q.queued_where(WorkKind::Move), (1, 10));
    assert_eq!(q.queued_where(WorkKind::Repair), (1, 20));
    // Rebalancing paused: only the repair is handed out.
    let got = q.claim_where(5, 2, now, LEASE, |t| !t.is_move());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].chunk, repair.chunk);
    assert_eq!(q.in_progress_where(WorkKind::Repair).0, 1);
    assert_eq!(q.in_progress_where(WorkKind::Move).0, 0);
    let got = q.claim_where(5, 2, now, LEASE, |_| true);
    assert_eq!(got.len(), 1);
    assert!(got[0].is_move());
    assert_eq!(q.in_progress_where(WorkKind::Move), (1, 10));
}

#[test]
fn a_plan_from_a_snapshot_does_not_queue_a_need_leased_since() {
    let now = Instant::now();
    let mut q = WorkQueue::default();
    let tasks = vec![task(1, 0, 5, 0, 10), task(1, 0, 6, 0, 10)];
    q.replan(tasks.clone(), &needed_of(&tasks), now);
    let snapshot = q.leases_only();
    assert_eq!(snapshot.in_progress().0, 0);
    // Claimed after the snapshot: one of the two empty slots.
    assert_eq!(q.claim(5, 1, now, LEASE).len(), 1);
    // The plan from the snapshot wants both slots again: one is queued.
    q.replan(tasks.clone(), &needed_of(&tasks), now);
    assert_eq!(q.queued(), (1, 10));
    assert_eq!(q.in_progress().0, 1);
}
