//! Commands applied twice — a client retrying a write whose first attempt had
//! an unknown outcome (the voter answered "no majority in time", or the
//! connection broke after the entry was appended) — must answer as the first
//! application did and change nothing more.

use super::*;
use crate::store::db::CF_OBJECTS;
use crate::store::keys::object_key;
use crate::test_support::{open, run};
use cairn_rpc::{CompletedPart, WriteCondition};
use cairn_types::{
    Bucket, HttpHeaders, ObjectData, ObjectManifest, PartRecord, Redundancy, UploadRecord,
    VersionId,
};
use md5::{Digest, Md5};

fn bucket() -> Bucket {
    Bucket {
        name: "b".into(),
        created: 7,
        redundancy: Redundancy::Replicas(1),
    }
}

fn manifest(body: &[u8]) -> ObjectManifest {
    ObjectManifest {
        bucket: "b".into(),
        key: "k".into(),
        version: VersionId::new_random(),
        size: body.len() as u64,
        etag: hex::encode(Md5::digest(body)),
        last_modified: 1,
        headers: HttpHeaders::default(),
        data: ObjectData::Inline(body.to_vec()),
        part_sizes: Vec::new(),
    }
}

#[test]
fn create_bucket_retry_succeeds_but_a_different_create_does_not() {
    let (_dir, db) = open();
    let cmd = MetaCommand::CreateBucket(bucket());
    assert_eq!(run(&db, &cmd), Ok(MetaResponse::Done));
    assert_eq!(run(&db, &cmd), Ok(MetaResponse::Done));
    let mut other = bucket();
    other.created = 8;
    assert_eq!(
        run(&db, &MetaCommand::CreateBucket(other)),
        Err(MetaError::BucketAlreadyOwnedByYou)
    );
}

#[test]
fn conditional_put_retry_is_not_refused_by_its_own_first_application() {
    let (_dir, db) = open();
    run(&db, &MetaCommand::CreateBucket(bucket())).expect("bucket");
    let first = manifest(b"one");
    let put = MetaCommand::PutObject {
        manifest: first.clone(),
        condition: WriteCondition::IfNoneMatchAny,
    };
    assert_eq!(run(&db, &put), Ok(MetaResponse::Replaced(None)));
    assert_eq!(run(&db, &put), Ok(MetaResponse::Replaced(None)));
    // A different version with the same condition still loses the race.
    let rival = MetaCommand::PutObject {
        manifest: manifest(b"two"),
        condition: WriteCondition::IfNoneMatchAny,
    };
    assert_eq!(run(&db, &rival), Err(MetaError::PreconditionFailed));
    // If-Match against the first ETag: applied twice, still one success each time.
    let second = manifest(b"three");
    let swap = MetaCommand::PutObject {
        manifest: second.clone(),
        condition: WriteCondition::IfMatch(first.etag.clone()),
    };
    assert_eq!(run(&db, &swap), Ok(MetaResponse::Replaced(Some(first))));
    assert_eq!(run(&db, &swap), Ok(MetaResponse::Replaced(None)));
    let stored = db
        .get::<ObjectManifest>(CF_OBJECTS, &object_key("b", "k"))
        .expect("read");
    assert_eq!(stored, Some(second));
}

#[test]
fn part_and_complete_retries_answer_like_the_first_time() {
    let (_dir, db) = open();
    run(&db, &MetaCommand::CreateBucket(bucket())).expect("bucket");
    let upload = UploadRecord {
        upload_id: VersionId::new_random(),
        bucket: "b".into(),
        key: "k".into(),
        initiated: 3,
        headers: HttpHeaders::default(),
    };
    let create = MetaCommand::CreateUpload(upload.clone());
    assert_eq!(run(&db, &create), Ok(MetaResponse::Done));
    assert_eq!(run(&db, &create), Ok(MetaResponse::Done));
    let part = PartRecord {
        part_number: 1,
        etag: hex::encode(Md5::digest(b"part")),
        size: 4,
        last_modified: 4,
        data_version: VersionId::new_random(),
        chunks: vec![],
    };
    let put_part = MetaCommand::PutPart {
        bucket: "b".into(),
        key: "k".into(),
        upload_id: upload.upload_id,
        part: part.clone(),
    };
    assert_eq!(
        run(&db, &put_part),
        Ok(MetaResponse::PartStored { replaced: None })
    );
    assert_eq!(
        run(&db, &put_part),
        Ok(MetaResponse::PartStored { replaced: None }),
        "a retried part replaces nothing (its shards must not become garbage)"
    );
    let version = VersionId::new_random();
    let complete = MetaCommand::CompleteUpload {
        bucket: "b".into(),
        key: "k".into(),
        upload_id: upload.upload_id,
        parts: vec![CompletedPart {
            part_number: 1,
            etag: part.etag.clone(),
        }],
        version,
        last_modified: 5,
        condition: WriteCondition::IfNoneMatchAny,
    };
    let first = run(&db, &complete).expect("complete");
    let MetaResponse::Completed { manifest, .. } = first else {
        panic!("unexpected answer {first:?}");
    };
    assert_eq!(manifest.version, version);
    assert_eq!(
        run(&db, &complete),
        Ok(MetaResponse::Completed {
            manifest,
            replaced: None,
            unused_parts: Vec::new(),
        })
    );
    // Another upload id that does not exist is still NoSuchUpload.
    let missing = MetaCommand::CompleteUpload {
        bucket: "b".into(),
        key: "k".into(),
        upload_id: VersionId::new_random(),
        parts: vec![],
        version: VersionId::new_random(),
        last_modified: 6,
        condition: WriteCondition::Always,
    };
    assert_eq!(run(&db, &missing), Err(MetaError::NoSuchUpload));
}

#[test]
fn expiry_removes_only_the_version_it_names_and_retries_harmlessly() {
    let (_dir, db) = open();
    run(&db, &MetaCommand::CreateBucket(bucket())).expect("bucket");
    let old = manifest(b"old");
    let put = |m: &ObjectManifest| MetaCommand::PutObject {
        manifest: m.clone(),
        condition: WriteCondition::Always,
    };
    run(&db, &put(&old)).expect("put old");
    let newer = manifest(b"newer");
    run(&db, &put(&newer)).expect("put newer");
    let expire = |m: &ObjectManifest| MetaCommand::ExpireObject {
        bucket: "b".into(),
        key: "k".into(),
        version: m.version,
    };
    // The job saw the old version; an overwrite came first: nothing happens.
    assert_eq!(run(&db, &expire(&old)), Ok(MetaResponse::Replaced(None)));
    assert_eq!(
        db.get::<ObjectManifest>(CF_OBJECTS, &object_key("b", "k"))
            .expect("read"),
        Some(newer.clone())
    );
    assert_eq!(
        run(&db, &expire(&newer)),
        Ok(MetaResponse::Replaced(Some(newer.clone())))
    );
    assert_eq!(
        run(&db, &expire(&newer)),
        Ok(MetaResponse::Replaced(None)),
        "a retry"
    );
    assert_eq!(
        db.get::<ObjectManifest>(CF_OBJECTS, &object_key("b", "k"))
            .expect("read"),
        None
    );
}
