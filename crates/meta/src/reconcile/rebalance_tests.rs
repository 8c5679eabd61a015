//! The rebalance sweep against a real state-machine database: a node joins
//! a cluster holding data, the sweep finds exactly the pieces the layout
//! plan said would move and plans each onto the new owner, a move commits
//! once (a move the layout no longer wants is refused), and a later sweep
//! finds nothing and declares the epoch filled only once it has settled.

use super::*;
use crate::store::chunks::chunk_record;
use crate::store::layout::state;
use crate::store::repair_rows::rebalanced;
use crate::test_support::{join_layout, open, run, up_views};
use cairn_placement::plan as layout_plan;
use cairn_rpc::repair_api::ReconcileCommand;
use cairn_rpc::{MetaCommand, MetaError, MetaResponse, WriteCondition};
use cairn_types::{
    Bucket, CODEC_REPLICATION_V1, ChunkRef, MoveReason, ObjectData, ObjectManifest, Redundancy,
    VersionId,
};

const LEN: u64 = 1000;
const HASH: [u8; 32] = [3; 32];

fn views(ids: impl IntoIterator<Item = NodeId>) -> NodeViews {
    up_views(ids)
}

fn join(db: &MetaDb, ids: &[NodeId]) {
    join_layout(db, ids);
}

/// A replicated object placed on its owners in the current layout.
fn put_placed(db: &MetaDb, i: u32) -> ChunkKey {
    let layout = state(db).expect("state").current.expect("layout");
    let mut chunk = ChunkRef {
        version: VersionId::new_random(),
        part: 0,
        index: 0,
        len: LEN,
        hash: HASH,
        nodes: Vec::new(),
        pieces: Vec::new(),
        data_pieces: 0,
    };
    let key = ChunkKey::of_ref(&chunk);
    let p = cairn_placement::partition_of(&key.shard(0), layout.partitions);
    chunk.nodes = layout.nodes_for_partition(p, 3).to_vec();
    let manifest = ObjectManifest {
        bucket: "rep".into(),
        key: format!("k{i}"),
        version: chunk.version,
        size: LEN,
        etag: String::new(),
        last_modified: 0,
        headers: Default::default(),
        data: ObjectData::Chunked {
            codec: CODEC_REPLICATION_V1,
            chunks: vec![chunk],
        },
        part_sizes: Vec::new(),
    };
    let put = MetaCommand::PutObject {
        manifest,
        condition: WriteCondition::Always,
    };
    run(db, &put).expect("put");
    key
}

fn swept(db: &MetaDb, nodes: &NodeViews, state_: &mut Sweep, now: Instant) -> Plan {
    let layout = state(db).expect("state").current.expect("layout");
    let mut out = Plan::default();
    let moved = rebalanced(db).expect("read").bytes;
    let queue = WorkQueue::default();
    let cx = SweepContext {
        db,
        nodes,
        layout: &layout,
        after_down: Duration::from_secs(600),
        queue: &queue,
    };
    sweep(&cx, state_, &mut out, SWEEP_CHUNKS_PER_PASS, moved, now).expect("sweep");
    out
}

fn commit(
    db: &MetaDb,
    chunk: ChunkKey,
    from: NodeId,
    to: NodeId,
) -> Result<MetaResponse, MetaError> {
    let cmd = ReconcileCommand::SetPieceHolder {
        chunk,
        piece: 0,
        from: Some(from),
        hash: HASH,
        to,
        reason: MoveReason::Misplaced,
    };
    run(db, &MetaCommand::Reconcile(cmd))
}

#[test]
fn a_join_moves_what_the_plan_said_once_and_then_is_done() {
    let (_dir, db) = open();
    crate::store::data_refs::ensure_index(&db).expect("index");
    join(&db, &[1, 2, 3, 4]);
    let bucket = Bucket {
        name: "rep".into(),
        created: 0,
        redundancy: Redundancy::Replicas(3),
    };
    run(&db, &MetaCommand::CreateBucket(bucket)).expect("bucket");
    let keys: Vec<ChunkKey> = (0..40).map(|i| put_placed(&db, i)).collect();
    let t0 = Instant::now();
    let nodes = views(1..=5);
    let mut sw = Sweep::default();
    let out = swept(&db, &nodes, &mut sw, t0);
    assert!(out.tasks.is_empty(), "everything is on its owners");
    assert!(
        !sw.done(),
        "a sweep right at the epoch's start proves nothing"
    );
    swept(&db, &nodes, &mut sw, t0 + SETTLE);
    assert!(sw.done());

    // Node 5 joins: what the plan says moves is exactly what the sweep finds.
    let before = state(&db).expect("state").current.expect("layout");
    let usage = crate::query::layout_usage::usage(&db).expect("usage");
    join(&db, &[5]);
    let after = state(&db).expect("state").current.expect("layout");
    let expected = layout_plan(Some(&before), &after, &usage, 3, &[3]);
    let out = swept(&db, &nodes, &mut sw, t0 + SETTLE);
    assert_eq!(sw.epoch, after.epoch);
    let found = sw
        .last
        .as_ref()
        .expect("one pass covers the table")
        .found
        .clone();
    assert_eq!(found.bytes, expected.bytes_to_move);
    assert!(found.pieces > 0);
    assert_eq!(out.tasks.len() as u64, found.pieces);
    assert!(out.tasks.iter().all(|t| t.target == 5 && t.is_move()));
    assert!(!sw.done());

    // Each move commits once; a second try, or a move off an owner, is refused.
    let first = &out.tasks[0];
    let from = first.need.replace.expect("a move names its source");
    let stays = *first
        .record
        .chunk
        .nodes
        .iter()
        .find(|n| **n != from)
        .expect("other holders");
    assert_eq!(
        commit(&db, first.chunk, stays, 5),
        Err(MetaError::PreconditionFailed),
        "its holder is an owner"
    );
    for t in &out.tasks {
        let from = t.need.replace.expect("source");
        assert_eq!(commit(&db, t.chunk, from, 5), Ok(MetaResponse::Done));
    }
    assert_eq!(
        commit(&db, first.chunk, from, 5),
        Err(MetaError::PreconditionFailed)
    );
    let moved = rebalanced(&db).expect("read");
    assert_eq!(
        (moved.epoch, moved.bytes),
        (after.epoch, expected.bytes_to_move)
    );
    for key in &keys {
        let r = chunk_record(&db, key).expect("read").expect("record");
        let owners = owners_of(&after, key, &r);
        assert!(r.chunk.nodes.iter().all(|n| owners.contains(n)), "{key}");
    }
    let out = swept(&db, &nodes, &mut sw, t0 + SETTLE * 2);
    assert!(out.tasks.is_empty());
    assert!(sw.done());
}

#[test]
fn a_move_planned_under_an_older_layout_is_refused() {
    let (_dir, db) = open();
    crate::store::data_refs::ensure_index(&db).expect("index");
    join(&db, &[1, 2, 3]);
    let bucket = Bucket {
        name: "rep".into(),
        created: 0,
        redundancy: Redundancy::Replicas(3),
    };
    run(&db, &MetaCommand::CreateBucket(bucket)).expect("bucket");
    let key = put_placed(&db, 0);
    join(&db, &[4]);
    // Node 6 is no owner of anything at this epoch.
    assert_eq!(commit(&db, key, 1, 6), Err(MetaError::PreconditionFailed));
    assert_eq!(rebalanced(&db).expect("read").bytes, 0);
}
