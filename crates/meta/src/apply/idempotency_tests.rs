//! Unit tests of exactly-once writes: a repeat of an idempotent write gets
//! the first answer and changes nothing (also after other writes changed
//! the record, and when the first answer was an error); records expire by
//! the stamped clock; snapshots carry them; commands without an id apply
//! as before.

use super::*;
use crate::store::db::CF_OBJECTS;
use crate::store::keys::object_key;
use crate::store::write_ids::WRITE_ID_WINDOW_MS;
use crate::test_support::{create_bucket_command, open, put_command, run};
use cairn_rpc::{CompletedPart, WriteCondition};
use cairn_types::{ChunkRef, PartRecord, UploadRecord, VersionId};

const T0: u64 = 1_700_000_000_000;

fn once(id: WriteId, stamped_ms: u64, cmd: &MetaCommand) -> MetaCommand {
    MetaCommand::Idempotent {
        id,
        stamped_ms,
        command: Box::new(cmd.clone()),
    }
}

fn delete(key: &str) -> MetaCommand {
    MetaCommand::DeleteObjectVersion {
        bucket: "b".into(),
        key: key.into(),
        version: None,
        if_match: None,
        marker: VersionId::new_random(),
        last_modified: 0,
    }
}

fn current(db: &MetaDb, key: &str) -> Option<ObjectManifest> {
    db.get::<ObjectManifest>(CF_OBJECTS, &object_key("b", key))
        .expect("read")
}

#[test]
fn a_retried_put_does_not_bring_back_an_object_deleted_meanwhile() {
    let (_dir, db) = open();
    run(&db, &create_bucket_command()).expect("bucket");
    let put = put_command("k");
    let retry = once(WriteId::new_random(), T0, &put);
    let first = run(&db, &retry);
    assert_eq!(first, Ok(MetaResponse::Replaced(None)));
    // Another client deletes the key before the retry arrives.
    run(&db, &once(WriteId::new_random(), T0 + 1, &delete("k"))).expect("delete");
    assert_eq!(current(&db, "k"), None);
    assert_eq!(run(&db, &retry), first, "the first answer");
    assert_eq!(current(&db, "k"), None, "the object stays deleted");
    // Without the id (as older builds sent it) the repeat applies again.
    run(&db, &put).expect("plain put");
    assert!(current(&db, "k").is_some());
}

#[test]
fn a_repeat_of_a_refused_write_is_refused_again_and_changes_nothing() {
    let (_dir, db) = open();
    run(&db, &create_bucket_command()).expect("bucket");
    run(&db, &put_command("k")).expect("put");
    let MetaCommand::PutObject { manifest, .. } = put_command("k") else {
        unreachable!()
    };
    let conditional = once(
        WriteId::new_random(),
        T0,
        &MetaCommand::PutObject {
            manifest,
            condition: WriteCondition::IfNoneMatchAny,
        },
    );
    assert_eq!(run(&db, &conditional), Err(MetaError::PreconditionFailed));
    run(&db, &delete("k")).expect("delete");
    assert_eq!(
        run(&db, &conditional),
        Err(MetaError::PreconditionFailed),
        "the first answer, not a write into the now empty key"
    );
    assert_eq!(current(&db, "k"), None);
}

/// An upload of `b`/`k` with one 3-byte part; its id and the part.
fn upload_with_one_part(db: &MetaDb) -> (VersionId, PartRecord) {
    let upload_id = VersionId::new_random();
    run(
        db,
        &MetaCommand::CreateUpload(UploadRecord {
            upload_id,
            bucket: "b".into(),
            key: "k".into(),
            initiated: 0,
            headers: Default::default(),
        }),
    )
    .expect("upload");
    let data_version = VersionId::new_random();
    let part = PartRecord {
        part_number: 1,
        etag: "0123456789abcdef0123456789abcdef".into(),
        size: 3,
        last_modified: 0,
        data_version,
        chunks: vec![ChunkRef {
            version: data_version,
            part: 1,
            index: 0,
            len: 3,
            hash: [0; 32],
            nodes: vec![1],
            pieces: vec![],
            data_pieces: 0,
        }],
    };
    run(
        db,
        &MetaCommand::PutPart {
            bucket: "b".into(),
            key: "k".into(),
            upload_id,
            part: part.clone(),
        },
    )
    .expect("part");
    (upload_id, part)
}

/// CompleteMultipartUpload of `upload_id` at `key` with `part`.
fn complete_command(key: &str, upload_id: VersionId, part: &PartRecord) -> MetaCommand {
    MetaCommand::CompleteUploadWithChecksums {
        bucket: "b".into(),
        key: key.into(),
        upload_id,
        parts: vec![CompletedPart {
            part_number: 1,
            etag: part.etag.clone(),
        }],
        part_checksums: vec![None],
        object_checksum: None,
        version: VersionId::new_random(),
        last_modified: 5,
        condition: WriteCondition::Always,
    }
}

#[test]
fn a_retried_complete_answers_its_first_answer_not_no_such_upload() {
    let (_dir, db) = open();
    run(&db, &create_bucket_command()).expect("bucket");
    let (upload_id, part) = upload_with_one_part(&db);
    let complete = once(
        WriteId::new_random(),
        T0,
        &MetaCommand::CompleteUploadWithChecksums {
            bucket: "b".into(),
            key: "k".into(),
            upload_id,
            parts: vec![CompletedPart {
                part_number: 1,
                etag: part.etag.clone(),
            }],
            part_checksums: vec![None],
            object_checksum: None,
            version: VersionId::new_random(),
            last_modified: 5,
            condition: WriteCondition::Always,
        },
    );
    let first = run(&db, &complete).expect("complete");
    let MetaResponse::CompletedWithExtras { manifest, .. } = &first else {
        panic!("unexpected answer {first:?}");
    };
    // The live answer is the manifest as stored: its chunk count (the
    // list is in the chunk tables), as a plain retry would read it back.
    assert!(
        matches!(manifest.data, ObjectData::Placed { chunks: 1, .. }),
        "the live answer is the stored manifest: {manifest:?}"
    );
    // Another client deletes the new object; the retry must neither fail
    // nor bring it back.
    run(&db, &delete("k")).expect("delete");
    let again = run(&db, &complete).expect("the retry succeeds");
    assert_eq!(Ok(again), remembered(&Ok(first.clone())));
    let MetaResponse::CompletedWithExtras { manifest: kept, .. } =
        remembered(&Ok(first.clone())).expect("ok")
    else {
        panic!("kept answer changed kind");
    };
    assert_eq!(
        (&kept.etag, kept.version),
        (&manifest.etag, manifest.version)
    );
    assert_eq!(current(&db, "k"), None);
}

#[test]
fn kept_answers_leave_out_the_bulk() {
    let (_dir, db) = open();
    run(&db, &create_bucket_command()).expect("bucket");
    let MetaCommand::PutObject { mut manifest, .. } = put_command("k") else {
        unreachable!()
    };
    manifest.data = ObjectData::Inline(vec![7; 4096]);
    manifest.size = 4096;
    run(
        &db,
        &MetaCommand::PutObject {
            manifest: manifest.clone(),
            condition: WriteCondition::Always,
        },
    )
    .expect("put");
    let overwrite = once(WriteId::new_random(), T0, &put_command("k"));
    let first = run(&db, &overwrite);
    assert_eq!(first, Ok(MetaResponse::Replaced(Some(manifest.clone()))));
    let MetaCommand::Idempotent { id, .. } = &overwrite else {
        unreachable!()
    };
    let kept = crate::store::write_ids::get(&db, id)
        .expect("read")
        .expect("kept");
    let Ok(MetaResponse::Replaced(Some(slimmed))) = kept.answer else {
        panic!("unexpected record {kept:?}");
    };
    assert_eq!(slimmed.data, ObjectData::Inline(Vec::new()));
    assert_eq!((slimmed.version, slimmed.size), (manifest.version, 4096));
}

#[test]
fn records_expire_after_the_window_of_stamped_time() {
    let (_dir, db) = open();
    run(&db, &create_bucket_command()).expect("bucket");
    let first = once(WriteId::new_random(), T0, &put_command("a"));
    run(&db, &first).expect("put a");
    // Just short of the window, the repeat is still recognised.
    let late = once(
        WriteId::new_random(),
        T0 + WRITE_ID_WINDOW_MS - 1,
        &put_command("b"),
    );
    run(&db, &late).expect("put b");
    run(&db, &delete("a")).expect("delete a");
    run(&db, &first).expect("repeat");
    assert_eq!(current(&db, "a"), None);
    // Once a write is stamped a whole window later, the record is gone (and
    // a repeat would apply again: no retry lives that long).
    run(
        &db,
        &once(
            WriteId::new_random(),
            T0 + WRITE_ID_WINDOW_MS,
            &put_command("c"),
        ),
    )
    .expect("put c");
    let MetaCommand::Idempotent { id, .. } = &first else {
        unreachable!()
    };
    assert_eq!(crate::store::write_ids::get(&db, id).expect("read"), None);
    assert_eq!(crate::store::write_ids::count(&db).expect("count"), 2);
}

#[test]
fn a_batch_decides_each_write_once_and_refuses_one_id_twice() {
    let (_dir, db) = open();
    run(&db, &create_bucket_command()).expect("bucket");
    let a = once(WriteId::new_random(), T0, &put_command("a"));
    run(&db, &a).expect("put a");
    run(&db, &delete("a")).expect("delete a");
    let b = once(WriteId::new_random(), T0 + 1, &put_command("b"));
    let answers = run(&db, &MetaCommand::Batch(vec![a.clone(), b.clone()])).expect("batch");
    assert_eq!(
        answers,
        MetaResponse::Batch(vec![
            Ok(MetaResponse::Replaced(None)),
            Ok(MetaResponse::Replaced(None))
        ])
    );
    assert_eq!(current(&db, "a"), None, "a's repeat changed nothing");
    assert!(current(&db, "b").is_some());
    // The same id twice in one entry (other keys): refused as a whole.
    let MetaCommand::Idempotent { id, .. } = a else {
        unreachable!()
    };
    let twice = MetaCommand::Batch(vec![
        once(id, T0, &put_command("c")),
        once(id, T0, &put_command("d")),
    ]);
    assert!(matches!(run(&db, &twice), Err(MetaError::Internal(_))));
    // Nothing nests.
    let nested = once(
        WriteId::new_random(),
        T0,
        &once(WriteId::new_random(), T0, &put_command("e")),
    );
    assert!(matches!(run(&db, &nested), Err(MetaError::Internal(_))));
    assert_eq!(current(&db, "e"), None);
}

#[tokio::test]
async fn snapshots_carry_the_records() {
    use crate::raft::state_machine::StateMachine;
    use openraft::storage::RaftStateMachine;
    use openraft::{RaftSnapshotBuilder, SnapshotMeta};
    let (_dir, db) = open();
    run(&db, &create_bucket_command()).expect("bucket");
    let put = once(WriteId::new_random(), T0, &put_command("k"));
    run(&db, &put).expect("put");
    let mut source = StateMachine::new(db.clone());
    let snap = source
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .expect("build");
    let (_dir2, target) = open();
    let mut sm = StateMachine::new(target.clone());
    let meta: SnapshotMeta<u64, openraft::BasicNode> = snap.meta.clone();
    sm.install_snapshot(&meta, snap.snapshot)
        .await
        .expect("install");
    run(&target, &delete("k")).expect("delete");
    assert_eq!(run(&target, &put), Ok(MetaResponse::Replaced(None)));
    assert_eq!(current(&target, "k"), None, "the repeat was recognised");
    assert_eq!(crate::store::write_ids::clock(&target).expect("clock"), T0);
}

#[test]
fn a_second_complete_request_gets_the_first_success() {
    let (_dir, db) = open();
    run(&db, &create_bucket_command()).expect("bucket");
    let (upload_id, part) = upload_with_one_part(&db);
    // A refused attempt (a part the upload does not have) keeps nothing
    // under the upload: the corrected one still completes.
    let mut wrong = part.clone();
    wrong.etag = "ffffffffffffffffffffffffffffffff".into();
    let refused = run(
        &db,
        &once(
            WriteId::new_random(),
            T0,
            &complete_command("k", upload_id, &wrong),
        ),
    );
    assert_eq!(refused, Err(MetaError::InvalidPart(1)));
    let first = run(
        &db,
        &once(
            WriteId::new_random(),
            T0,
            &complete_command("k", upload_id, &part),
        ),
    )
    .expect("complete");
    // The client's second request: its own write id, its own version.
    let second = run(
        &db,
        &once(
            WriteId::new_random(),
            T0 + 1,
            &complete_command("k", upload_id, &part),
        ),
    )
    .expect("the second request succeeds");
    assert_eq!(Ok(second), remembered(&Ok(first.clone())));
    // The upload id with another key is still no upload of that key.
    let elsewhere = run(
        &db,
        &once(
            WriteId::new_random(),
            T0 + 2,
            &complete_command("other", upload_id, &part),
        ),
    );
    assert_eq!(elsewhere, Err(MetaError::NoSuchUpload));
    // Once the window has passed, it is NoSuchUpload again.
    let late = T0 + WRITE_ID_WINDOW_MS + 10;
    run(
        &db,
        &once(WriteId::new_random(), late, &delete("unrelated")),
    )
    .ok();
    let after = run(
        &db,
        &once(
            WriteId::new_random(),
            late + 1,
            &complete_command("k", upload_id, &part),
        ),
    );
    assert_eq!(after, Err(MetaError::NoSuchUpload));
}
