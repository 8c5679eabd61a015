//! Extras (tags) follow the record they belong to: written with it, replaced
//! by an overwrite, removed with it, handed from an upload to the object it
//! becomes, and the same when a command is applied twice.

use super::*;
use crate::query::run_query;
use crate::store::keys::object_key;
use crate::test_support::{open, run};
use cairn_rpc::{MetaCommand, MetaQuery, QueryResult, WriteCondition};
use cairn_types::limits::MIN_PART_SIZE;
use cairn_types::{HttpHeaders, ObjectData, ObjectManifest, PartRecord, Redundancy, VersionId};
use md5::{Digest, Md5};

fn tags(pairs: &[(&str, &str)]) -> Vec<Tag> {
    pairs
        .iter()
        .map(|(k, v)| Tag {
            key: (*k).into(),
            value: (*v).into(),
        })
        .collect()
}

fn with_bucket() -> (tempfile::TempDir, MetaDb) {
    let (dir, db) = open();
    run(
        &db,
        &MetaCommand::CreateBucket(Bucket {
            name: "b".into(),
            created: 1,
            redundancy: Redundancy::Replicas(1),
        }),
    )
    .expect("bucket");
    (dir, db)
}

fn manifest(key: &str) -> ObjectManifest {
    ObjectManifest {
        bucket: "b".into(),
        key: key.into(),
        version: VersionId::new_random(),
        size: 1,
        etag: hex::encode(Md5::digest(b"x")),
        last_modified: 1,
        headers: HttpHeaders::default(),
        data: ObjectData::Inline(b"x".to_vec()),
        part_sizes: Vec::new(),
    }
}

fn put_tagged(key: &str, t: Vec<Tag>) -> MetaCommand {
    MetaCommand::PutObjectWithExtras {
        manifest: manifest(key),
        condition: WriteCondition::Always,
        extras: ObjectExtras {
            tags: t,
            ..Default::default()
        },
    }
}

fn object_tags(db: &MetaDb, key: &str) -> Option<Vec<Tag>> {
    match run_query(
        db,
        &MetaQuery::GetObjectWithExtras {
            bucket: "b".into(),
            key: key.into(),
        },
    )
    .expect("query")
    {
        QueryResult::ObjectWithExtras(o) => o.map(|(_, e)| e.tags),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn object_tags_follow_the_object() {
    let (_dir, db) = with_bucket();
    let put = put_tagged("k", tags(&[("a", "1")]));
    let written = Ok(MetaResponse::Written {
        replaced: None,
        version_id: None,
    });
    assert_eq!(run(&db, &put), written);
    assert_eq!(run(&db, &put), written, "retry");
    assert_eq!(object_tags(&db, "k"), Some(tags(&[("a", "1")])));

    let set = MetaCommand::SetObjectTags {
        bucket: "b".into(),
        key: "k".into(),
        tags: tags(&[("b", "2"), ("c", "")]),
    };
    assert_eq!(run(&db, &set), Ok(MetaResponse::Done));
    assert_eq!(run(&db, &set), Ok(MetaResponse::Done), "retry");
    assert_eq!(object_tags(&db, "k"), Some(tags(&[("b", "2"), ("c", "")])));

    // An overwrite without tags (also the pre-extras PutObject) drops them.
    let plain = MetaCommand::PutObject {
        manifest: manifest("k"),
        condition: WriteCondition::Always,
    };
    assert!(run(&db, &plain).is_ok());
    assert_eq!(object_tags(&db, "k"), Some(vec![]));
    assert!(
        db.get::<ObjectExtras>(CF_OBJECT_EXTRAS, &object_key("b", "k"))
            .expect("read")
            .is_none(),
        "no row for empty extras"
    );

    assert!(run(&db, &put_tagged("k", tags(&[("d", "4")]))).is_ok());
    let delete = MetaCommand::DeleteObject {
        bucket: "b".into(),
        key: "k".into(),
        if_match: None,
    };
    assert!(run(&db, &delete).is_ok());
    assert_eq!(object_tags(&db, "k"), None);
    assert!(
        db.get::<ObjectExtras>(CF_OBJECT_EXTRAS, &object_key("b", "k"))
            .expect("read")
            .is_none(),
        "delete removes the extras"
    );
    // A new object under the key starts untagged.
    assert!(
        run(
            &db,
            &MetaCommand::PutObject {
                manifest: manifest("k"),
                condition: WriteCondition::Always,
            }
        )
        .is_ok()
    );
    assert_eq!(object_tags(&db, "k"), Some(vec![]));

    assert_eq!(
        run(
            &db,
            &MetaCommand::SetObjectTags {
                bucket: "b".into(),
                key: "missing".into(),
                tags: tags(&[("a", "1")]),
            }
        ),
        Err(MetaError::NoSuchKey)
    );
    assert_eq!(
        run(
            &db,
            &MetaCommand::SetObjectTags {
                bucket: "nope".into(),
                key: "k".into(),
                tags: vec![],
            }
        ),
        Err(MetaError::NoSuchBucket)
    );
}

#[test]
fn upload_tags_become_the_objects_and_leave_with_the_upload() {
    let (_dir, db) = with_bucket();
    let upload = UploadRecord {
        upload_id: VersionId::new_random(),
        bucket: "b".into(),
        key: "k".into(),
        initiated: 1,
        headers: HttpHeaders::default(),
    };
    let create = MetaCommand::CreateUploadWithExtras {
        upload: upload.clone(),
        extras: UploadExtras {
            tags: tags(&[("t", "v")]),
            checksum_algorithm: None,
            full_object: false,
        },
    };
    assert_eq!(run(&db, &create), Ok(MetaResponse::Done));
    assert_eq!(run(&db, &create), Ok(MetaResponse::Done), "retry");
    let part = PartRecord {
        part_number: 1,
        etag: hex::encode(Md5::digest(b"p")),
        size: 1,
        last_modified: 1,
        data_version: VersionId::new_random(),
        chunks: vec![],
    };
    run(
        &db,
        &MetaCommand::PutPart {
            bucket: "b".into(),
            key: "k".into(),
            upload_id: upload.upload_id,
            part: part.clone(),
        },
    )
    .expect("part");
    let complete = MetaCommand::CompleteUpload {
        bucket: "b".into(),
        key: "k".into(),
        upload_id: upload.upload_id,
        parts: vec![CompletedPart {
            part_number: 1,
            etag: part.etag.clone(),
        }],
        version: VersionId::new_random(),
        last_modified: 2,
        condition: WriteCondition::Always,
    };
    assert!(run(&db, &complete).is_ok());
    assert!(run(&db, &complete).is_ok(), "retry");
    assert_eq!(object_tags(&db, "k"), Some(tags(&[("t", "v")])));
    let uk = upload_key("b", &upload.upload_id);
    assert!(
        db.get::<UploadExtras>(CF_UPLOAD_EXTRAS, &uk)
            .expect("read")
            .is_none()
    );

    // An aborted upload's extras go with it.
    let aborted = UploadRecord {
        upload_id: VersionId::new_random(),
        ..upload
    };
    run(
        &db,
        &MetaCommand::CreateUploadWithExtras {
            upload: aborted.clone(),
            extras: UploadExtras {
                tags: tags(&[("x", "y")]),
                checksum_algorithm: None,
                full_object: false,
            },
        },
    )
    .expect("create");
    run(
        &db,
        &MetaCommand::AbortUpload {
            bucket: "b".into(),
            key: "k".into(),
            upload_id: aborted.upload_id,
        },
    )
    .expect("abort");
    assert!(
        db.get::<UploadExtras>(CF_UPLOAD_EXTRAS, &upload_key("b", &aborted.upload_id))
            .expect("read")
            .is_none()
    );
}

#[test]
fn bucket_tags_are_set_replaced_and_dropped_with_the_bucket() {
    let (_dir, db) = with_bucket();
    let get = |db: &MetaDb| match run_query(db, &MetaQuery::GetBucketTags { bucket: "b".into() }) {
        Ok(QueryResult::BucketTags(t)) => Ok(t),
        Ok(other) => panic!("unexpected {other:?}"),
        Err(e) => Err(e),
    };
    assert_eq!(get(&db), Ok(vec![]));
    let set = MetaCommand::SetBucketTags {
        bucket: "b".into(),
        tags: tags(&[("env", "prod")]),
    };
    assert_eq!(run(&db, &set), Ok(MetaResponse::Done));
    assert_eq!(run(&db, &set), Ok(MetaResponse::Done), "retry");
    assert_eq!(get(&db), Ok(tags(&[("env", "prod")])));
    run(&db, &MetaCommand::DeleteBucket { name: "b".into() }).expect("delete bucket");
    assert_eq!(get(&db), Err(MetaError::NoSuchBucket));
    assert!(
        db.get::<Vec<Tag>>(CF_BUCKET_TAGS, b"b")
            .expect("read")
            .is_none(),
        "a recreated bucket must not inherit the tags"
    );
    assert_eq!(
        run(
            &db,
            &MetaCommand::SetBucketTags {
                bucket: "b".into(),
                tags: vec![],
            }
        ),
        Err(MetaError::NoSuchBucket)
    );
}

#[test]
fn extras_commands_batch_by_the_records_they_touch() {
    use crate::apply::entry_sharing::can_share_entry;
    let tag_k = MetaCommand::SetObjectTags {
        bucket: "b".into(),
        key: "k".into(),
        tags: vec![],
    };
    assert!(!can_share_entry(&[put_tagged("k", vec![]), tag_k.clone()]));
    assert!(can_share_entry(&[put_tagged("j", vec![]), tag_k]));
    let bucket_tags = MetaCommand::SetBucketTags {
        bucket: "b".into(),
        tags: vec![],
    };
    assert!(!can_share_entry(&[bucket_tags.clone(), bucket_tags]));

    let upload = VersionId::new_random();
    let part = |n| MetaCommand::PutPartWithChecksum {
        bucket: "b".into(),
        key: "k".into(),
        upload_id: upload,
        part: part_of(n, b"x"),
        checksum: None,
    };
    let complete = MetaCommand::CompleteUploadWithChecksums {
        bucket: "b".into(),
        key: "k".into(),
        upload_id: upload,
        parts: vec![],
        part_checksums: vec![],
        object_checksum: None,
        version: VersionId::new_random(),
        last_modified: 0,
        condition: WriteCondition::Always,
    };
    // Parts of one upload, and its Complete, are decided one entry at a time.
    assert!(!can_share_entry(&[part(1), part(2)]));
    assert!(!can_share_entry(&[part(1), complete.clone()]));
    // Complete writes the object: not beside a write of the same key.
    assert!(!can_share_entry(&[
        complete.clone(),
        put_tagged("k", vec![])
    ]));
    assert!(can_share_entry(&[complete, put_tagged("other", vec![])]));
}

#[test]
fn extras_records_round_trip_through_postcard() {
    let e = ObjectExtras {
        tags: tags(&[("k", "v")]),
        checksum: Some(cairn_types::StoredChecksum {
            algorithm: cairn_types::ChecksumAlgorithm::Crc32,
            value: "AAAAAA==".into(),
            parts: Some(2),
        }),
        part_checksums: vec!["a".into(), "b".into()],
    };
    let bytes = encode(&e).expect("encode");
    assert_eq!(
        crate::store::db::decode::<ObjectExtras>(&bytes).expect("decode"),
        e
    );
    assert!(ObjectExtras::default().is_empty() && !e.is_empty());
}

fn crc32_of(data: &[u8]) -> cairn_types::StoredChecksum {
    use base64::Engine;
    cairn_types::StoredChecksum {
        algorithm: cairn_types::ChecksumAlgorithm::Crc32,
        value: base64::engine::general_purpose::STANDARD.encode(crate::apply::checksums::digest(
            cairn_types::ChecksumAlgorithm::Crc32,
            data,
        )),
        parts: None,
    }
}

/// A part record for `data` (its size claimed large enough to be any part).
fn part_of(n: u32, data: &[u8]) -> PartRecord {
    PartRecord {
        part_number: n,
        etag: hex::encode(Md5::digest(data)),
        size: MIN_PART_SIZE,
        last_modified: 1,
        data_version: VersionId::new_random(),
        chunks: vec![],
    }
}

#[test]
fn checksummed_uploads_keep_part_checksums_and_complete_to_a_composite() {
    use cairn_types::{ChecksumAlgorithm, StoredChecksum};
    let (_dir, db) = with_bucket();
    let upload = UploadRecord {
        upload_id: VersionId::new_random(),
        bucket: "b".into(),
        key: "k".into(),
        initiated: 1,
        headers: HttpHeaders::default(),
    };
    run(
        &db,
        &MetaCommand::CreateUploadWithExtras {
            upload: upload.clone(),
            extras: UploadExtras {
                tags: vec![],
                checksum_algorithm: Some(ChecksumAlgorithm::Crc32),
                full_object: false,
            },
        },
    )
    .expect("create");
    let put =
        |n: u32, data: &[u8], checksum: Option<StoredChecksum>| MetaCommand::PutPartWithChecksum {
            bucket: "b".into(),
            key: "k".into(),
            upload_id: upload.upload_id,
            part: part_of(n, data),
            checksum,
        };
    // A part without the upload's checksum, or with another one, is refused.
    assert!(matches!(
        run(&db, &put(1, b"hello", None)),
        Err(MetaError::InvalidRequest(_))
    ));
    let mut sha = crc32_of(b"hello");
    sha.algorithm = ChecksumAlgorithm::Sha256;
    assert!(matches!(
        run(&db, &put(1, b"hello", Some(sha))),
        Err(MetaError::InvalidRequest(_))
    ));
    let one = put(1, b"hello", Some(crc32_of(b"hello")));
    assert!(run(&db, &one).is_ok());
    assert_eq!(
        run(&db, &one),
        Ok(MetaResponse::PartStored { replaced: None }),
        "retry"
    );
    assert!(run(&db, &put(2, b"world", Some(crc32_of(b"world")))).is_ok());

    let complete = |sums: Vec<Option<StoredChecksum>>, version: VersionId| {
        MetaCommand::CompleteUploadWithChecksums {
            bucket: "b".into(),
            key: "k".into(),
            upload_id: upload.upload_id,
            parts: vec![
                CompletedPart {
                    part_number: 1,
                    etag: hex::encode(Md5::digest(b"hello")),
                },
                CompletedPart {
                    part_number: 2,
                    etag: hex::encode(Md5::digest(b"world")),
                },
            ],
            part_checksums: sums,
            object_checksum: None,
            version,
            last_modified: 2,
            condition: WriteCondition::Always,
        }
    };
    let v = VersionId::new_random();
    assert!(matches!(
        run(&db, &complete(vec![Some(crc32_of(b"hello")), None], v)),
        Err(MetaError::InvalidRequest(m)) if m.contains("missing for part 2")
    ));
    assert_eq!(
        run(
            &db,
            &complete(vec![Some(crc32_of(b"hello")), Some(crc32_of(b"WORLD"))], v)
        ),
        Err(MetaError::InvalidPart(2))
    );
    let good = complete(vec![Some(crc32_of(b"hello")), Some(crc32_of(b"world"))], v);
    let Ok(MetaResponse::CompletedWithExtras { extras, .. }) = run(&db, &good) else {
        panic!("complete failed");
    };
    let parts = vec![crc32_of(b"hello").value, crc32_of(b"world").value];
    let expected = StoredChecksum {
        algorithm: ChecksumAlgorithm::Crc32,
        value: crate::apply::checksums::composite(ChecksumAlgorithm::Crc32, &parts)
            .expect("composite"),
        parts: Some(2),
    };
    assert_eq!(extras.checksum.as_ref(), Some(&expected));
    assert_eq!(extras.part_checksums, parts);
    // Applied again, it answers the same extras.
    let Ok(MetaResponse::CompletedWithExtras { extras: again, .. }) = run(&db, &good) else {
        panic!("retry failed");
    };
    assert_eq!(again, extras);
    // The parts' checksum rows went with the upload.
    let cf = db.cf(crate::store::db::CF_PART_CHECKSUMS).expect("cf");
    assert_eq!(
        db.db.iterator_cf(cf, rocksdb::IteratorMode::Start).count(),
        0
    );
}

#[test]
fn uploads_without_an_algorithm_keep_no_part_checksums() {
    let (_dir, db) = with_bucket();
    let upload = UploadRecord {
        upload_id: VersionId::new_random(),
        bucket: "b".into(),
        key: "k".into(),
        initiated: 1,
        headers: HttpHeaders::default(),
    };
    run(&db, &MetaCommand::CreateUpload(upload.clone())).expect("create");
    run(
        &db,
        &MetaCommand::PutPartWithChecksum {
            bucket: "b".into(),
            key: "k".into(),
            upload_id: upload.upload_id,
            part: part_of(1, b"x"),
            checksum: Some(crc32_of(b"x")),
        },
    )
    .expect("part");
    let cf = db.cf(crate::store::db::CF_PART_CHECKSUMS).expect("cf");
    assert_eq!(
        db.db.iterator_cf(cf, rocksdb::IteratorMode::Start).count(),
        0
    );
    let Ok(MetaResponse::CompletedWithExtras { extras, .. }) = run(
        &db,
        &MetaCommand::CompleteUploadWithChecksums {
            bucket: "b".into(),
            key: "k".into(),
            upload_id: upload.upload_id,
            parts: vec![CompletedPart {
                part_number: 1,
                etag: hex::encode(Md5::digest(b"x")),
            }],
            part_checksums: vec![None],
            object_checksum: None,
            version: VersionId::new_random(),
            last_modified: 2,
            condition: WriteCondition::Always,
        },
    ) else {
        panic!("complete failed");
    };
    assert_eq!(extras, ObjectExtras::default());
}

/// Every row of a table, for comparing two databases.
fn rows(db: &MetaDb, cf: &'static str) -> Vec<(Vec<u8>, Vec<u8>)> {
    db.db
        .iterator_cf(db.cf(cf).expect("cf"), rocksdb::IteratorMode::Start)
        .map(|r| {
            let (k, v) = r.expect("row");
            (k.to_vec(), v.to_vec())
        })
        .collect()
}

#[tokio::test]
async fn snapshots_carry_every_extras_table() {
    use crate::raft::state_machine::StateMachine;
    use crate::store::db::{CF_BUCKET_TAGS, CF_PART_CHECKSUMS, DATA_CFS};
    use openraft::storage::RaftStateMachine;
    use openraft::{RaftSnapshotBuilder, SnapshotMeta};
    let (_dir, db) = with_bucket();
    run(&db, &put_tagged("k", tags(&[("a", "1")]))).expect("tagged object");
    run(
        &db,
        &MetaCommand::SetBucketTags {
            bucket: "b".into(),
            tags: tags(&[("env", "test")]),
        },
    )
    .expect("bucket tags");
    let upload = UploadRecord {
        upload_id: VersionId::new_random(),
        bucket: "b".into(),
        key: "u".into(),
        initiated: 1,
        headers: HttpHeaders::default(),
    };
    run(
        &db,
        &MetaCommand::CreateUploadWithExtras {
            upload: upload.clone(),
            extras: UploadExtras {
                tags: tags(&[("t", "v")]),
                checksum_algorithm: Some(cairn_types::ChecksumAlgorithm::Crc32),
                full_object: false,
            },
        },
    )
    .expect("upload");
    run(
        &db,
        &MetaCommand::PutPartWithChecksum {
            bucket: "b".into(),
            key: "u".into(),
            upload_id: upload.upload_id,
            part: part_of(1, b"p"),
            checksum: Some(crc32_of(b"p")),
        },
    )
    .expect("part");
    let tables = [
        CF_OBJECT_EXTRAS,
        CF_UPLOAD_EXTRAS,
        CF_BUCKET_TAGS,
        CF_PART_CHECKSUMS,
    ];
    for t in tables {
        assert!(DATA_CFS.contains(&t), "{t} is a snapshot table");
        assert_eq!(rows(&db, t).len(), 1, "{t} has its row");
    }
    let mut source = StateMachine::new(db.clone());
    let snap = source
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .expect("build");
    let (_other_dir, target) = open();
    let mut sm = StateMachine::new(target.clone());
    let meta: SnapshotMeta<u64, openraft::BasicNode> = snap.meta.clone();
    sm.install_snapshot(&meta, snap.snapshot)
        .await
        .expect("install");
    for t in tables {
        assert_eq!(rows(&target, t), rows(&db, t), "{t} after install");
    }
}

#[test]
fn full_object_uploads_combine_part_crcs_and_check_a_sent_checksum() {
    use cairn_types::{ChecksumAlgorithm, StoredChecksum};
    let (_dir, db) = with_bucket();
    let upload = UploadRecord {
        upload_id: VersionId::new_random(),
        bucket: "b".into(),
        key: "k".into(),
        initiated: 1,
        headers: HttpHeaders::default(),
    };
    run(
        &db,
        &MetaCommand::CreateUploadWithExtras {
            upload: upload.clone(),
            extras: UploadExtras {
                tags: vec![],
                checksum_algorithm: Some(ChecksumAlgorithm::Crc32),
                full_object: true,
            },
        },
    )
    .expect("create");
    let first = vec![7u8; MIN_PART_SIZE as usize];
    let second = b"the tail".to_vec();
    for (n, data) in [(1, &first), (2, &second)] {
        let mut part = part_of(n, data);
        part.size = data.len() as u64;
        run(
            &db,
            &MetaCommand::PutPartWithChecksum {
                bucket: "b".into(),
                key: "k".into(),
                upload_id: upload.upload_id,
                part,
                checksum: Some(crc32_of(data)),
            },
        )
        .expect("part");
    }
    let whole = crc32_of(&[first.clone(), second.clone()].concat());
    let complete =
        |object_checksum: Option<StoredChecksum>| MetaCommand::CompleteUploadWithChecksums {
            bucket: "b".into(),
            key: "k".into(),
            upload_id: upload.upload_id,
            parts: [(1, &first), (2, &second)]
                .into_iter()
                .map(|(n, d)| CompletedPart {
                    part_number: n,
                    etag: hex::encode(Md5::digest(d)),
                })
                .collect(),
            // Listing the part checksums is optional for FULL_OBJECT.
            part_checksums: vec![None, None],
            object_checksum,
            version: VersionId::new_random(),
            last_modified: 2,
            condition: WriteCondition::Always,
        };
    assert!(matches!(
        run(&db, &complete(Some(crc32_of(b"something else")))),
        Err(MetaError::BadDigest(_))
    ));
    let Ok(MetaResponse::CompletedWithExtras { extras, .. }) =
        run(&db, &complete(Some(whole.clone())))
    else {
        panic!("complete failed");
    };
    assert_eq!(
        extras.checksum,
        Some(StoredChecksum {
            parts: None,
            ..whole
        }),
        "the CRC of all the bytes, FULL_OBJECT"
    );
    assert_eq!(extras.part_checksums.len(), 2);
}

#[test]
fn uploads_without_an_algorithm_get_a_full_object_crc64nvme() {
    use base64::Engine;
    use cairn_types::{ChecksumAlgorithm, StoredChecksum};
    let b64 = base64::engine::general_purpose::STANDARD;
    let crc64 = |data: &[u8]| StoredChecksum {
        algorithm: ChecksumAlgorithm::Crc64Nvme,
        value: b64.encode(crate::apply::checksums::digest(
            ChecksumAlgorithm::Crc64Nvme,
            data,
        )),
        parts: None,
    };
    let (_dir, db) = with_bucket();
    let upload = UploadRecord {
        upload_id: VersionId::new_random(),
        bucket: "b".into(),
        key: "k".into(),
        initiated: 1,
        headers: HttpHeaders::default(),
    };
    run(&db, &MetaCommand::CreateUpload(upload.clone())).expect("create");
    let first = vec![3u8; MIN_PART_SIZE as usize];
    let second = b"end".to_vec();
    for (n, data) in [(1, &first), (2, &second)] {
        let mut part = part_of(n, data);
        part.size = data.len() as u64;
        run(
            &db,
            &MetaCommand::PutPartWithChecksum {
                bucket: "b".into(),
                key: "k".into(),
                upload_id: upload.upload_id,
                part,
                checksum: Some(crc64(data)),
            },
        )
        .expect("part");
    }
    let Ok(MetaResponse::CompletedWithExtras { extras, .. }) = run(
        &db,
        &MetaCommand::CompleteUploadWithChecksums {
            bucket: "b".into(),
            key: "k".into(),
            upload_id: upload.upload_id,
            parts: [(1, &first), (2, &second)]
                .into_iter()
                .map(|(n, d)| CompletedPart {
                    part_number: n,
                    etag: hex::encode(Md5::digest(d)),
                })
                .collect(),
            part_checksums: vec![None, None],
            object_checksum: None,
            version: VersionId::new_random(),
            last_modified: 2,
            condition: WriteCondition::Always,
        },
    ) else {
        panic!("complete failed");
    };
    assert_eq!(
        extras.checksum,
        Some(crc64(&[first, second].concat())),
        "the FULL_OBJECT CRC64NVME of all the bytes"
    );
}
