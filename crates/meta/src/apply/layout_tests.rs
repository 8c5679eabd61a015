//! Layout staging and applying in the state machine: validation, idempotent
//! retries, changes on a cluster holding data (departed nodes, the width
//! check), and the
//! usage scans behind plans and bucket info (`query::layout_usage`).

use super::*;
use crate::query::layout_usage::{bucket_usage, usage};
use crate::store::data_refs::holds_object_data;
use crate::test_support::{open, run};
use cairn_placement::next_layout;
use cairn_rpc::{MetaCommand, WriteCondition};
use cairn_types::{
    CODEC_REPLICATION_V1, ChunkRef, HttpHeaders, NodeId, ObjectData, ObjectManifest, Redundancy,
    VersionId,
};

fn register(db: &MetaDb, id: NodeId, zone: &str) {
    let node = NodeRecord {
        id,
        addr: format!("127.0.0.1:{}", 9200 + id),
        zone: zone.into(),
        capacity: 1 << 30,
        registered: 0,
    };
    assert_eq!(
        run(db, &MetaCommand::RegisterNode(node)),
        Ok(MetaResponse::Done)
    );
}

fn assign(db: &MetaDb, id: NodeId) -> Result<MetaResponse, MetaError> {
    run(
        db,
        &MetaCommand::StageLayout(LayoutChange::Assign {
            id,
            zone: None,
            capacity: None,
        }),
    )
}

/// Plans the staged layout the way `cairn admin layout apply` does.
fn planned(db: &MetaDb) -> ClusterLayout {
    next_layout(&state(db).expect("state"), 64).expect("something staged")
}

fn apply_planned(db: &MetaDb) -> Result<MetaResponse, MetaError> {
    let layout = planned(db);
    run(db, &MetaCommand::ApplyLayout(layout))
}

fn chunked_object(db: &MetaDb, key: &str, nodes: Vec<NodeId>, len: u64) {
    let manifest = ObjectManifest {
        bucket: "b".into(),
        key: key.into(),
        version: VersionId::new_random(),
        size: len,
        etag: "0123456789abcdef0123456789abcdef".into(),
        last_modified: 1,
        headers: HttpHeaders::default(),
        data: ObjectData::Chunked {
            codec: CODEC_REPLICATION_V1,
            chunks: vec![ChunkRef {
                version: VersionId::new_random(),
                part: 0,
                index: 0,
                len,
                hash: [0; 32],
                nodes,
                pieces: Vec::new(),
                data_pieces: 0,
            }],
        },
        part_sizes: Vec::new(),
    };
    let cmd = MetaCommand::PutObject {
        manifest,
        condition: WriteCondition::Always,
    };
    assert!(matches!(run(db, &cmd), Ok(MetaResponse::Replaced(_))));
}

#[test]
fn only_registered_nodes_can_be_assigned() {
    let (_dir, db) = open();
    assert!(matches!(assign(&db, 1), Err(MetaError::InvalidLayout(_))));
    register(&db, 1, "z1");
    assert_eq!(assign(&db, 1), Ok(MetaResponse::Done));
    let st = state(&db).expect("state");
    assert_eq!(
        st.staging.changes.get(&1),
        Some(&StagedRole::Assign {
            zone: "z1".into(),
            capacity: 1 << 30
        })
    );
    assert!(matches!(
        run(
            &db,
            &MetaCommand::StageLayout(LayoutChange::Assign {
                id: 1,
                zone: Some(String::new()),
                capacity: None
            })
        ),
        Err(MetaError::InvalidLayout(_))
    ));
}

#[test]
fn applying_checks_epoch_and_staging_and_is_idempotent() {
    let (_dir, db) = open();
    for id in 1..=3 {
        register(&db, id, &format!("z{id}"));
        assign(&db, id).expect("staged");
    }
    let first = planned(&db);
    let mut stale = first.clone();
    stale.epoch = 5;
    assert!(matches!(
        run(&db, &MetaCommand::ApplyLayout(stale)),
        Err(MetaError::InvalidLayout(_))
    ));
    let mut short = first.clone();
    short.table[0].pop();
    assert!(matches!(
        run(&db, &MetaCommand::ApplyLayout(short)),
        Err(MetaError::InvalidLayout(_))
    ));
    let cmd = MetaCommand::ApplyLayout(first.clone());
    assert_eq!(run(&db, &cmd), Ok(MetaResponse::Done));
    assert_eq!(
        run(&db, &cmd),
        Ok(MetaResponse::Done),
        "a retry answers the same"
    );
    let st = state(&db).expect("state");
    assert_eq!(st.current, Some(first));
    assert!(st.staging.is_empty());
    // Staged after planning: the plan no longer matches.
    register(&db, 4, "z1");
    assign(&db, 4).expect("staged");
    let plan = planned(&db);
    register(&db, 5, "z2");
    assign(&db, 5).expect("staged");
    assert!(matches!(
        run(&db, &MetaCommand::ApplyLayout(plan)),
        Err(MetaError::InvalidLayout(_))
    ));
    assert_eq!(apply_planned(&db), Ok(MetaResponse::Done));
    assert_eq!(state(&db).expect("state").epoch(), 2);
}

#[test]
fn removing_stages_only_what_is_in_the_layout() {
    let (_dir, db) = open();
    register(&db, 1, "z1");
    register(&db, 2, "z1");
    assign(&db, 1).expect("staged");
    apply_planned(&db).expect("applied");
    let remove = |id| run(&db, &MetaCommand::StageLayout(LayoutChange::Remove { id }));
    assign(&db, 2).expect("staged");
    assert_eq!(remove(2), Ok(MetaResponse::Done), "drops the staged assign");
    assert!(state(&db).expect("state").staging.is_empty());
    assert_eq!(
        remove(2),
        Ok(MetaResponse::Done),
        "registered, not in the layout"
    );
    assert!(matches!(remove(9), Err(MetaError::InvalidLayout(_))));
    assert_eq!(remove(1), Ok(MetaResponse::Done));
    assert_eq!(
        state(&db).expect("state").staging.changes.get(&1),
        Some(&StagedRole::Remove)
    );
    assert_eq!(
        run(&db, &MetaCommand::StageLayout(LayoutChange::Revert)),
        Ok(MetaResponse::Done)
    );
    assert!(state(&db).expect("state").staging.is_empty());
}

#[test]
fn a_cluster_holding_data_applies_changes_and_records_who_departs() {
    let (_dir, db) = open();
    for id in 1..=3 {
        register(&db, id, "z1");
        assign(&db, id).expect("staged");
    }
    apply_planned(&db).expect("first layout");
    let bucket = Bucket {
        name: "b".into(),
        created: 1,
        redundancy: Redundancy::Replicas(2),
    };
    run(&db, &MetaCommand::CreateBucket(bucket)).expect("bucket");
    // Inline objects live in meta: they hold no shards.
    assert!(!holds_object_data(&db).expect("scan"));
    chunked_object(&db, "k1", vec![1, 2], 1000);
    chunked_object(&db, "k2", vec![2, 3], 500);
    assert!(holds_object_data(&db).expect("scan"));
    assert_eq!(bucket_usage(&db, "b").expect("scan"), Some((2, 1500)));
    assert_eq!(bucket_usage(&db, "nope").expect("scan"), None);
    let groups = usage(&db).expect("scan");
    let held: u64 = groups
        .iter()
        .map(|g| g.shard_bytes * g.holders.len() as u64)
        .sum();
    assert_eq!(held, 3000);
    assert!(groups.iter().all(|g| g.width == 2));

    // A node joins a cluster holding data: applied as the next epoch.
    register(&db, 4, "z1");
    assign(&db, 4).expect("staged");
    assert_eq!(apply_planned(&db), Ok(MetaResponse::Done));
    let st = state(&db).expect("state");
    assert_eq!(st.epoch(), 2);
    assert!(st.departed.is_empty());
    let moved = crate::store::repair_rows::rebalanced(&db).expect("read");
    assert_eq!((moved.epoch, moved.bytes), (2, 0));

    // Two nodes leave: refused, the bucket needs two.
    for id in [1, 2, 3] {
        run(&db, &MetaCommand::StageLayout(LayoutChange::Remove { id })).expect("staged");
    }
    let err = apply_planned(&db);
    assert!(
        matches!(&err, Err(MetaError::LayoutChangeRefused(m)) if m.contains("2 nodes")),
        "{err:?}"
    );
    assert_eq!(state(&db).expect("state").epoch(), 2, "nothing changed");
    run(&db, &MetaCommand::StageLayout(LayoutChange::Revert)).expect("reverted");
    // One leaves: it departs (drains); brought back, it no longer is.
    run(
        &db,
        &MetaCommand::StageLayout(LayoutChange::Remove { id: 1 }),
    )
    .expect("staged");
    assert_eq!(apply_planned(&db), Ok(MetaResponse::Done));
    let st = state(&db).expect("state");
    assert_eq!(st.departed.iter().copied().collect::<Vec<_>>(), vec![1]);
    assign(&db, 1).expect("staged");
    assert_eq!(apply_planned(&db), Ok(MetaResponse::Done));
    assert!(state(&db).expect("state").departed.is_empty());
}
