//! The re-encode walk against a real state-machine database: after a
//! bucket's redundancy changes, the walk finds every chunk of its objects
//! stored the old way (once, with a mover among its holders), finds nothing
//! in other buckets, and proves the bucket done only once a complete walk
//! found nothing — a write committed with old chunks meanwhile starts the
//! walk again.

use super::*;
use crate::reconcile::queue::WorkQueue;
use crate::reconcile::rebalance::SweepContext;
use crate::store::db::MetaDb;
use crate::store::layout::state;
use crate::store::reencode_rows::reencode_state;
use crate::test_support::{join_layout, open_with_bucket, run, up_views};
use cairn_rpc::repair_api::ReconcileCommand;
use cairn_rpc::{MetaCommand, MetaResponse, WriteCondition};
use cairn_types::{Bucket, CODEC_REPLICATION_V1, ChunkKey, ChunkRef, ObjectManifest};
use std::time::Duration;

const LEN: u64 = 1000;

fn setup(nodes: &[NodeId]) -> (tempfile::TempDir, MetaDb) {
    let (dir, db) = open_with_bucket("rep", Redundancy::Replicas(3));
    join_layout(&db, nodes);
    let other = Bucket {
        name: "other".into(),
        created: 0,
        redundancy: Redundancy::Replicas(3),
    };
    run(&db, &MetaCommand::CreateBucket(other)).expect("bucket");
    (dir, db)
}

/// A replicated object of `chunks` chunks on its owners.
fn put(db: &MetaDb, bucket: &str, key: &str, chunks: u32) -> VersionId {
    let layout = state(db).expect("state").current.expect("layout");
    let v = VersionId::new_random();
    let refs = (0..chunks)
        .map(|index| {
            let k = ChunkKey {
                version: v,
                part: 0,
                chunk: index,
            };
            let p = cairn_placement::partition_of(&k.shard(0), layout.partitions);
            ChunkRef {
                version: v,
                part: 0,
                index,
                len: LEN,
                hash: [index as u8; 32],
                nodes: layout.nodes_for_partition(p, 3).to_vec(),
                pieces: Vec::new(),
                data_pieces: 0,
            }
        })
        .collect();
    let manifest = ObjectManifest {
        bucket: bucket.into(),
        key: key.into(),
        version: v,
        size: LEN * u64::from(chunks),
        etag: String::new(),
        last_modified: 0,
        headers: Default::default(),
        data: ObjectData::Chunked {
            codec: CODEC_REPLICATION_V1,
            chunks: refs,
        },
        part_sizes: Vec::new(),
    };
    let cmd = MetaCommand::PutObject {
        manifest,
        condition: WriteCondition::Always,
    };
    run(db, &cmd).expect("put");
    v
}

fn walked(
    db: &MetaDb,
    nodes: &NodeViews,
    walks: &mut Walks,
    budget: usize,
) -> (Plan, Vec<(String, u64)>) {
    let layout = state(db).expect("state").current.expect("layout");
    let queue = WorkQueue::default();
    let cx = SweepContext {
        db,
        nodes,
        layout: &layout,
        after_down: Duration::from_secs(600),
        queue: &queue,
    };
    let mut out = Plan::default();
    let done = walk(&cx, walks, &mut out, budget).expect("walk");
    (out, done)
}

fn set_redundancy(db: &MetaDb, bucket: &str, r: Redundancy) {
    let cmd = MetaCommand::Reconcile(ReconcileCommand::SetBucketRedundancy {
        bucket: bucket.into(),
        redundancy: r,
    });
    assert_eq!(run(db, &cmd), Ok(MetaResponse::Done));
}

#[test]
fn the_walk_plans_every_old_chunk_of_the_bucket_once() {
    let ids: Vec<NodeId> = (1..=6).collect();
    let (_dir, db) = setup(&ids);
    let nodes = up_views(ids.iter().copied());
    let a = put(&db, "rep", "a", 3);
    let b = put(&db, "rep", "b", 2);
    put(&db, "other", "c", 4);
    let ec = Redundancy::ErasureCoded { data: 4, parity: 2 };
    set_redundancy(&db, "rep", ec);
    let mut walks = Walks::new();
    let (plan, done) = walked(&db, &nodes, &mut walks, REENCODE_ROWS_PER_PASS);
    assert!(done.is_empty(), "old chunks were found");
    assert_eq!(
        plan.tasks.len(),
        5,
        "every chunk of the bucket, none of the other"
    );
    for t in &plan.tasks {
        let work = t.reencode.as_ref().expect("a re-encode");
        assert_eq!(work.bucket, "rep");
        assert_eq!(work.redundancy, ec);
        assert!([a, b].contains(&work.manifest));
        assert_eq!(u64::from(t.chunk.chunk) * LEN, work.offset);
        assert!(
            t.record.chunk.nodes.contains(&t.target),
            "a holder re-encodes"
        );
        assert_eq!(t.need.piece, REENCODE_PIECE);
    }
    let w = &walks["rep"];
    assert_eq!(
        (w.last.map(|l| l.chunks), w.last.map(|l| l.bytes)),
        (Some(5), Some(5 * LEN))
    );
}

#[test]
fn a_small_budget_walks_in_several_passes() {
    let ids: Vec<NodeId> = (1..=6).collect();
    let (_dir, db) = setup(&ids);
    let nodes = up_views(ids.iter().copied());
    for i in 0..5 {
        put(&db, "rep", &format!("k{i}"), 2);
    }
    set_redundancy(&db, "rep", Redundancy::Replicas(2));
    let mut walks = Walks::new();
    let mut planned = 0;
    let mut passes = 0;
    loop {
        passes += 1;
        let (plan, _) = walked(&db, &nodes, &mut walks, 3);
        planned += plan.tasks.len();
        if walks["rep"].last.is_some() {
            break;
        }
        assert!(passes < 10, "the walk ends");
    }
    assert_eq!(planned, 10);
    assert!(passes >= 3);
}

#[test]
fn a_bucket_is_done_only_after_a_clean_walk_of_its_generation() {
    let ids: Vec<NodeId> = (1..=6).collect();
    let (_dir, db) = setup(&ids);
    let nodes = up_views(ids.iter().copied());
    set_redundancy(&db, "rep", Redundancy::Replicas(2));
    let mut walks = Walks::new();
    let (_, done) = walked(&db, &nodes, &mut walks, REENCODE_ROWS_PER_PASS);
    let g0 = reencode_state(&db, "rep").unwrap().unwrap().generation;
    assert_eq!(done, vec![("rep".to_string(), g0)]);
    // A write of old chunks (begun before the change) marks it again: the
    // proof of the earlier walk no longer holds.
    put(&db, "rep", "late", 1);
    let finish = MetaCommand::Reconcile(ReconcileCommand::ReencodeDone {
        bucket: "rep".into(),
        generation: g0,
    });
    run(&db, &finish).expect("applied");
    assert!(
        reencode_state(&db, "rep").unwrap().is_some(),
        "still listed"
    );
    let (plan, done) = walked(&db, &nodes, &mut walks, REENCODE_ROWS_PER_PASS);
    assert!(done.is_empty());
    assert_eq!(plan.tasks.len(), 1);
}
