//! Unit tests of the referenced-versions index: every command that writes or
//! removes an object or a part keeps it exact, it equals what `rebuild`
//! derives, it travels with snapshots, and the horizon refuses old versions.

use super::*;
use crate::store::db::DATA_CFS;
use crate::store::keys::{object_key, part_key};
use cairn_rpc::{CompletedPart, MetaCommand, MetaResponse, WriteCondition};
use cairn_types::limits::MIN_PART_SIZE;
use cairn_types::{Bucket, ChunkRef, ObjectData, Redundancy, UploadRecord};

struct TestDb {
    _dir: tempfile::TempDir,
    db: MetaDb,
}

fn open() -> TestDb {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = MetaDb::open(dir.path()).expect("open rocksdb");
    ensure_index(&db).expect("index");
    let t = TestDb { _dir: dir, db };
    run(
        &t.db,
        MetaCommand::CreateBucket(Bucket {
            name: "b".into(),
            created: 0,
            redundancy: Redundancy::Replicas(1),
        }),
    )
    .expect("bucket");
    t
}

/// Applies one command in its own batch, as the state machine does.
fn run(db: &MetaDb, cmd: MetaCommand) -> Result<MetaResponse, MetaError> {
    crate::test_support::run(db, &cmd)
}

fn chunk(version: VersionId, part: u32, index: u32) -> ChunkRef {
    ChunkRef {
        version,
        part,
        index,
        len: 1,
        hash: [0; 32],
        nodes: vec![1],
        pieces: vec![],
        data_pieces: 0,
    }
}

fn manifest(key: &str, version: VersionId, chunks: Vec<ChunkRef>) -> ObjectManifest {
    ObjectManifest {
        bucket: "b".into(),
        key: key.into(),
        version,
        size: chunks.len() as u64,
        etag: "00".into(),
        last_modified: 0,
        headers: Default::default(),
        data: ObjectData::Chunked { codec: 1, chunks },
        part_sizes: vec![],
    }
}

fn put(db: &MetaDb, key: &str) -> VersionId {
    let v = VersionId::new_random();
    put_manifest(db, manifest(key, v, vec![chunk(v, 0, 0), chunk(v, 0, 1)])).expect("put");
    v
}

fn put_manifest(db: &MetaDb, m: ObjectManifest) -> Result<MetaResponse, MetaError> {
    run(
        db,
        MetaCommand::PutObject {
            manifest: m,
            condition: WriteCondition::Always,
        },
    )
}

fn delete(db: &MetaDb, key: &str) {
    run(
        db,
        MetaCommand::DeleteObject {
            bucket: "b".into(),
            key: key.into(),
            if_match: None,
        },
    )
    .expect("delete");
}

fn create_upload(db: &MetaDb, key: &str) -> VersionId {
    let upload_id = VersionId::new_random();
    run(
        db,
        MetaCommand::CreateUpload(UploadRecord {
            upload_id,
            bucket: "b".into(),
            key: key.into(),
            initiated: 0,
            headers: Default::default(),
        }),
    )
    .expect("create upload");
    upload_id
}

/// Uploads part `n` (5 MiB, ETag from `tag`) under a fresh data version.
fn put_part(db: &MetaDb, key: &str, upload_id: VersionId, n: u32, tag: u8) -> VersionId {
    let data_version = VersionId::new_random();
    run(
        db,
        MetaCommand::PutPart {
            bucket: "b".into(),
            key: key.into(),
            upload_id,
            part: part_record(n, tag, data_version),
        },
    )
    .expect("put part");
    data_version
}

fn part_record(n: u32, tag: u8, data_version: VersionId) -> PartRecord {
    PartRecord {
        part_number: n,
        etag: hex::encode([tag; 16]),
        size: MIN_PART_SIZE,
        last_modified: 0,
        data_version,
        chunks: vec![chunk(data_version, n, 0)],
    }
}

fn referenced(db: &MetaDb, v: VersionId) -> bool {
    is_referenced(db, &v).expect("lookup")
}

/// Every row of the index, in order.
fn index_rows(db: &MetaDb) -> Vec<Vec<u8>> {
    let cf = db.cf(CF_DATA_REFS).expect("cf");
    db.db
        .iterator_cf(cf, rocksdb::IteratorMode::Start)
        .map(|item| item.expect("row").0.to_vec())
        .collect()
}

#[test]
fn overwrite_and_delete_release_the_old_version() {
    let t = open();
    let v1 = put(&t.db, "k");
    assert!(referenced(&t.db, v1));
    let v2 = put(&t.db, "k");
    assert!(!referenced(&t.db, v1), "overwritten version is released");
    assert!(referenced(&t.db, v2));
    let other = put(&t.db, "other");
    delete(&t.db, "k");
    assert!(!referenced(&t.db, v2), "deleted version is released");
    assert!(referenced(&t.db, other), "other keys are untouched");
    assert_eq!(
        unreferenced(&t.db, &[v1, v2, other, v1]).expect("query"),
        {
            let mut want = vec![v1, v2];
            want.sort();
            want
        },
        "answers each unreferenced version once"
    );
}

#[test]
fn inline_objects_reference_nothing_and_retries_keep_references() {
    let t = open();
    let v = VersionId::new_random();
    // Every PUT has its own version (the state machine treats a manifest
    // whose version is already current as a retry of that PUT).
    let mut m = manifest("k", VersionId::new_random(), vec![]);
    m.data = ObjectData::Inline(b"hi".to_vec());
    put_manifest(&t.db, m).expect("inline put");
    assert!(index_rows(&t.db).is_empty());
    // The same manifest committed twice (a retried command) stays referenced.
    let m = manifest("k", v, vec![chunk(v, 0, 0)]);
    put_manifest(&t.db, m.clone()).expect("put");
    put_manifest(&t.db, m).expect("retried put");
    assert!(referenced(&t.db, v));
    assert_eq!(index_rows(&t.db).len(), 1);
}

#[test]
fn shared_versions_stay_referenced_while_any_holder_exists() {
    // Two manifests naming the same data version (what a CopyObject that
    // shared shards would produce; today's CopyObject writes new ones).
    let t = open();
    let v = VersionId::new_random();
    let chunks = vec![chunk(v, 0, 0)];
    put_manifest(&t.db, manifest("a", v, chunks.clone())).expect("a");
    put_manifest(&t.db, manifest("b", VersionId::new_random(), chunks)).expect("b");
    delete(&t.db, "a");
    assert!(referenced(&t.db, v), "still referenced by b");
    delete(&t.db, "b");
    assert!(!referenced(&t.db, v));
}

#[test]
fn part_reupload_and_complete_release_exactly_the_unused_parts() {
    let t = open();
    let old_object = put(&t.db, "k");
    let u = create_upload(&t.db, "k");
    let p1_first = put_part(&t.db, "k", u, 1, 1);
    let p1 = put_part(&t.db, "k", u, 1, 2);
    assert!(
        !referenced(&t.db, p1_first),
        "a re-uploaded part is released"
    );
    let p2 = put_part(&t.db, "k", u, 2, 3);
    let p3 = put_part(&t.db, "k", u, 3, 4);
    let object = VersionId::new_random();
    let completed = run(
        &t.db,
        MetaCommand::CompleteUpload {
            bucket: "b".into(),
            key: "k".into(),
            upload_id: u,
            parts: vec![
                CompletedPart {
                    part_number: 1,
                    etag: hex::encode([2u8; 16]),
                },
                CompletedPart {
                    part_number: 2,
                    etag: hex::encode([3u8; 16]),
                },
            ],
            version: object,
            last_modified: 0,
            condition: WriteCondition::Always,
        },
    )
    .expect("complete");
    assert!(matches!(completed, MetaResponse::Completed { .. }));
    assert!(
        referenced(&t.db, p1) && referenced(&t.db, p2),
        "object holds its parts' data"
    );
    assert!(
        !referenced(&t.db, p3),
        "a part left out of the complete is released"
    );
    assert!(
        !referenced(&t.db, old_object),
        "the replaced object is released"
    );
    // Only the object's rows are left: one per part version it uses, and
    // its own version (its chunk rows live under it).
    let ok = object_key("b", "k");
    let rows = index_rows(&t.db);
    assert_eq!(rows.iter().map(|r| &r[..16]).collect::<Vec<_>>(), {
        let mut want = vec![p1.as_bytes(), p2.as_bytes(), object.as_bytes()];
        want.sort();
        want.into_iter().map(|b| &b[..]).collect::<Vec<_>>()
    });
    assert!(rows.iter().all(|r| r[16..] == object_holder(&ok)[..]));
    delete(&t.db, "k");
    assert!(!referenced(&t.db, p1) && !referenced(&t.db, p2));
    assert!(index_rows(&t.db).is_empty());
}

#[test]
fn abort_and_bucket_delete_release_upload_parts() {
    let t = open();
    let u = create_upload(&t.db, "k");
    let p1 = put_part(&t.db, "k", u, 1, 1);
    run(
        &t.db,
        MetaCommand::AbortUpload {
            bucket: "b".into(),
            key: "k".into(),
            upload_id: u,
        },
    )
    .expect("abort");
    assert!(
        !referenced(&t.db, p1),
        "aborted upload's parts are released"
    );

    let u = create_upload(&t.db, "k2");
    let p2 = put_part(&t.db, "k2", u, 1, 1);
    assert!(referenced(&t.db, p2));
    run(&t.db, MetaCommand::DeleteBucket { name: "b".into() }).expect("delete bucket");
    assert!(
        !referenced(&t.db, p2),
        "in-progress upload dropped with its bucket"
    );
    assert!(index_rows(&t.db).is_empty());
}

#[test]
fn horizon_refuses_old_versions_and_never_moves_back() {
    let t = open();
    let old = VersionId::new_random();
    let u = create_upload(&t.db, "k");
    std::thread::sleep(std::time::Duration::from_millis(5));
    let now = cairn_types::now_millis() as u64;
    let r = run(&t.db, MetaCommand::AdvanceGcHorizon { horizon_ms: now });
    assert_eq!(r, Ok(MetaResponse::GcHorizon(now)));
    let r = run(
        &t.db,
        MetaCommand::AdvanceGcHorizon {
            horizon_ms: now - 1000,
        },
    );
    assert_eq!(
        r,
        Ok(MetaResponse::GcHorizon(now)),
        "the horizon only moves forward"
    );

    let m = manifest("k", old, vec![chunk(old, 0, 0)]);
    assert_eq!(
        put_manifest(&t.db, m),
        Err(MetaError::DataVersionExpired(old))
    );
    let r = run(
        &t.db,
        MetaCommand::PutPart {
            bucket: "b".into(),
            key: "k".into(),
            upload_id: u,
            part: part_record(1, 1, old),
        },
    );
    assert_eq!(r, Err(MetaError::DataVersionExpired(old)));
    assert!(!referenced(&t.db, old), "nothing refused was indexed");
    std::thread::sleep(std::time::Duration::from_millis(5));
    let fresh = put(&t.db, "k");
    assert!(referenced(&t.db, fresh), "fresh versions still commit");
    // Inline data has no shards: nothing to refuse.
    let mut m = manifest("k", old, vec![]);
    m.data = ObjectData::Inline(vec![1]);
    put_manifest(&t.db, m).expect("inline put is never refused");
}

#[test]
fn rebuild_derives_the_same_index() {
    let t = open();
    put(&t.db, "a");
    put(&t.db, "a");
    put(&t.db, "b");
    let u = create_upload(&t.db, "c");
    put_part(&t.db, "c", u, 1, 1);
    put_part(&t.db, "c", u, 2, 2);
    let maintained = index_rows(&t.db);
    assert_eq!(maintained.len(), 4);
    // A data dir from a build without the index: no marker, no rows.
    let gc = t.db.cf(CF_GC).expect("cf");
    t.db.db
        .delete_cf(gc, KEY_INDEX_FORMAT)
        .expect("drop marker");
    for row in &maintained {
        t.db.db
            .delete_cf(t.db.cf(CF_DATA_REFS).expect("cf"), row)
            .expect("drop row");
    }
    assert!(index_rows(&t.db).is_empty());
    assert!(ensure_index(&t.db).expect("ensure"), "rebuilt");
    assert_eq!(index_rows(&t.db), maintained);
    assert!(!ensure_index(&t.db).expect("ensure"), "built once");
    // A part's row is keyed by its part key.
    assert!(
        maintained
            .iter()
            .any(|r| r[16..] == part_holder(&part_key(&u, 2))[..])
    );
}

#[tokio::test]
async fn snapshots_carry_the_index_and_the_horizon() {
    use crate::raft::state_machine::StateMachine;
    use openraft::storage::RaftStateMachine;
    use openraft::{RaftSnapshotBuilder, SnapshotMeta};
    let t = open();
    let v = put(&t.db, "k");
    run(&t.db, MetaCommand::AdvanceGcHorizon { horizon_ms: 42 }).expect("horizon");
    let mut source = StateMachine::new(t.db.clone());
    let snap = source
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .expect("build");
    assert!(DATA_CFS.contains(&CF_DATA_REFS) && DATA_CFS.contains(&CF_GC));

    let target = open();
    let mut sm = StateMachine::new(target.db.clone());
    let meta: SnapshotMeta<u64, openraft::BasicNode> = snap.meta.clone();
    sm.install_snapshot(&meta, snap.snapshot)
        .await
        .expect("install");
    assert!(referenced(&target.db, v));
    assert_eq!(horizon(&target.db).expect("horizon"), 42);
    assert_eq!(index_rows(&target.db), index_rows(&t.db));
}
