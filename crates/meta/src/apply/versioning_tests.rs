//! Versioning in the state machine: version stacks, delete markers,
//! promotion, the null version, retries, the GC references of noncurrent
//! versions, lifecycle expiries, and ListObjectVersions paging.

use super::*;
use crate::query::run_query;
use crate::query::version_listing::list_versions;
use crate::store::db::CF_DATA_REFS;
use crate::test_support::{open, run};
use cairn_rpc::{
    DeleteOutcome, ExpiryTarget, ListVersionsPage, ListVersionsQuery, MetaCommand, MetaError,
    MetaQuery, MetaResponse, QueryResult, VersionLookup, WriteCondition,
};
use cairn_types::{
    Bucket, ChunkRef, ObjectData, ObjectExtras, Redundancy, Tag, VersionId, VersioningStatus,
};

const B: &str = "b";

fn with_bucket() -> (tempfile::TempDir, MetaDb) {
    let (dir, db) = open();
    crate::store::data_refs::ensure_index(&db).expect("index");
    crate::store::version_index::ensure_index(&db).expect("version index");
    run(
        &db,
        &MetaCommand::CreateBucket(Bucket {
            name: B.into(),
            created: 0,
            redundancy: Redundancy::Replicas(1),
        }),
    )
    .expect("bucket");
    (dir, db)
}

fn set_status(db: &MetaDb, status: VersioningStatus) {
    run(
        db,
        &MetaCommand::SetBucketVersioning {
            bucket: B.into(),
            status,
        },
    )
    .expect("versioning");
}

fn manifest(key: &str, version: VersionId) -> ObjectManifest {
    ObjectManifest {
        bucket: B.into(),
        key: key.into(),
        version,
        size: 1,
        etag: version.to_string(),
        last_modified: version.created_millis() as i64,
        headers: Default::default(),
        data: ObjectData::Chunked {
            codec: 1,
            chunks: vec![ChunkRef {
                version,
                part: 0,
                index: 0,
                len: 1,
                hash: [0; 32],
                nodes: vec![1],
                pieces: vec![],
                data_pieces: 0,
            }],
        },
        part_sizes: vec![],
    }
}

fn put_cmd(key: &str, version: VersionId, tags: &[&str]) -> MetaCommand {
    MetaCommand::PutObjectWithExtras {
        manifest: manifest(key, version),
        condition: WriteCondition::Always,
        extras: ObjectExtras {
            tags: tags
                .iter()
                .map(|t| Tag {
                    key: (*t).into(),
                    value: "v".into(),
                })
                .collect(),
            ..Default::default()
        },
    }
}

/// Puts a new version of `key`; answers its data version and version id.
fn put(db: &MetaDb, key: &str) -> (VersionId, Option<ObjectVersionId>) {
    let v = VersionId::new_random();
    match run(db, &put_cmd(key, v, &[])) {
        Ok(MetaResponse::Written { version_id, .. }) => (v, version_id),
        other => panic!("put: {other:?}"),
    }
}

fn delete_cmd(key: &str, version: Option<ObjectVersionId>, marker: VersionId) -> MetaCommand {
    MetaCommand::DeleteObjectVersion {
        bucket: B.into(),
        key: key.into(),
        version,
        if_match: None,
        marker,
        last_modified: 7,
    }
}

fn delete(db: &MetaDb, key: &str, version: Option<ObjectVersionId>) -> DeleteOutcome {
    match run(db, &delete_cmd(key, version, VersionId::new_random())) {
        Ok(MetaResponse::Deleted(d)) => d,
        other => panic!("delete: {other:?}"),
    }
}

fn lookup_q(db: &MetaDb, key: &str, version: Option<ObjectVersionId>) -> VersionLookup {
    match run_query(
        db,
        &MetaQuery::GetObjectVersion {
            bucket: B.into(),
            key: key.into(),
            version,
        },
    ) {
        Ok(QueryResult::ObjectVersion(v)) => v,
        other => panic!("lookup: {other:?}"),
    }
}

/// The data version the lookup found (None: no object there).
fn found(db: &MetaDb, key: &str, version: Option<ObjectVersionId>) -> Option<VersionId> {
    match lookup_q(db, key, version) {
        VersionLookup::Object { manifest, .. } => Some(manifest.version),
        _ => None,
    }
}

fn list_all(db: &MetaDb, prefix: &str, delimiter: Option<&str>, page: usize) -> ListVersionsPage {
    let mut out = ListVersionsPage::default();
    let (mut key_marker, mut version_id_marker) = (None, None);
    loop {
        let p = list_versions(
            db,
            &ListVersionsQuery {
                bucket: B.into(),
                prefix: prefix.into(),
                delimiter: delimiter.map(str::to_string),
                key_marker: key_marker.clone(),
                version_id_marker,
                max_keys: page,
            },
        )
        .expect("list");
        assert!(p.versions.len() + p.common_prefixes.len() <= page);
        out.versions.extend(p.versions);
        out.common_prefixes.extend(p.common_prefixes);
        if !p.truncated {
            return out;
        }
        key_marker = p.next_key_marker;
        version_id_marker = p.next_version_id_marker;
        assert!(key_marker.is_some(), "a truncated page says where to go on");
    }
}

/// The rows of the GC reference index.
fn index_rows(db: &MetaDb) -> Vec<Vec<u8>> {
    db.db
        .iterator_cf(
            db.cf(CF_DATA_REFS).expect("cf"),
            rocksdb::IteratorMode::Start,
        )
        .map(|r| r.expect("row").0.to_vec())
        .collect()
}

fn referenced(db: &MetaDb, v: VersionId) -> bool {
    crate::store::data_refs::is_referenced(db, &v).expect("refs")
}

/// The rows of the version index.
fn version_index_rows(db: &MetaDb) -> Vec<(Vec<u8>, Vec<u8>)> {
    db.db
        .iterator_cf(
            db.cf(crate::store::db::CF_VERSION_INDEX).expect("cf"),
            rocksdb::IteratorMode::Start,
        )
        .map(|r| {
            let (k, v) = r.expect("row");
            (k.to_vec(), v.to_vec())
        })
        .collect()
}

/// Both indexes kept incrementally equal the ones derived from the tables.
fn assert_index_exact(db: &MetaDb) {
    let before = index_rows(db);
    crate::store::data_refs::rebuild(db).expect("rebuild");
    assert_eq!(index_rows(db), before);
    let before = version_index_rows(db);
    crate::store::version_index::rebuild_index(db).expect("rebuild");
    assert_eq!(version_index_rows(db), before, "version index");
}

#[test]
fn enabled_bucket_keeps_every_version_and_a_marker_hides_the_key() {
    let (_d, db) = with_bucket();
    set_status(&db, VersioningStatus::Enabled);
    let (v1, id1) = put(&db, "k");
    let (v2, id2) = put(&db, "k");
    assert_eq!(id1, Some(ObjectVersionId::Id(v1)));
    assert_eq!(id2, Some(ObjectVersionId::Id(v2)));
    assert_eq!(found(&db, "k", None), Some(v2));
    assert_eq!(found(&db, "k", id1), Some(v1));
    assert!(referenced(&db, v1) && referenced(&db, v2));

    let d = delete(&db, "k", None);
    assert!(d.delete_marker && d.removed.is_none());
    let Some(ObjectVersionId::Id(marker)) = d.version_id else {
        panic!("a marker id: {d:?}");
    };
    assert!(matches!(
        lookup_q(&db, "k", None),
        VersionLookup::DeleteMarker { version_id, .. } if version_id == ObjectVersionId::Id(marker)
    ));
    assert_eq!(found(&db, "k", id2), Some(v2), "old versions stay readable");
    assert!(
        db.get::<ObjectManifest>(crate::store::db::CF_OBJECTS, &object_key(B, "k"))
            .expect("get")
            .is_none()
    );
    assert!(referenced(&db, v1) && referenced(&db, v2));
    let listed = list_all(&db, "", None, 1000);
    let ids: Vec<(ObjectVersionId, bool, bool)> = listed
        .versions
        .iter()
        .map(|v| (v.version_id, v.is_latest, v.delete_marker))
        .collect();
    assert_eq!(
        ids,
        vec![
            (ObjectVersionId::Id(marker), true, true),
            (ObjectVersionId::Id(v2), false, false),
            (ObjectVersionId::Id(v1), false, false),
        ]
    );
    assert_index_exact(&db);

    // Removing the marker brings the object back.
    let d = delete(&db, "k", Some(ObjectVersionId::Id(marker)));
    assert!(d.delete_marker && d.removed.is_none());
    assert_eq!(found(&db, "k", None), Some(v2));
    // Removing the latest version promotes the one before.
    let d = delete(&db, "k", id2);
    assert_eq!(d.removed.map(|m| m.version), Some(v2));
    assert_eq!(found(&db, "k", None), Some(v1));
    assert!(!referenced(&db, v2) && referenced(&db, v1));
    // A version deleted twice: nothing more happens.
    assert!(delete(&db, "k", id2).removed.is_none());
    assert_eq!(found(&db, "k", id2), None);
    delete(&db, "k", id1);
    assert_eq!(found(&db, "k", None), None);
    assert!(!referenced(&db, v1));
    assert!(list_all(&db, "", None, 1000).versions.is_empty());
    assert!(index_rows(&db).is_empty());
    assert!(version_index_rows(&db).is_empty());
}

#[test]
fn objects_from_before_versioning_are_the_null_version() {
    let (_d, db) = with_bucket();
    let (v0, id0) = put(&db, "k");
    assert_eq!(id0, None, "no version id without versioning");
    let listed = list_all(&db, "", None, 1000);
    assert_eq!(listed.versions.len(), 1);
    assert_eq!(listed.versions[0].version_id, ObjectVersionId::Null);
    set_status(&db, VersioningStatus::Enabled);
    assert_eq!(found(&db, "k", Some(ObjectVersionId::Null)), Some(v0));
    let (v1, _) = put(&db, "k");
    assert_eq!(found(&db, "k", Some(ObjectVersionId::Null)), Some(v0));
    assert_eq!(found(&db, "k", None), Some(v1));
    let listed = list_all(&db, "", None, 1000);
    let ids: Vec<ObjectVersionId> = listed.versions.iter().map(|v| v.version_id).collect();
    assert_eq!(ids, vec![ObjectVersionId::Id(v1), ObjectVersionId::Null]);
    assert!(referenced(&db, v0));
    assert_index_exact(&db);
}

#[test]
fn suspended_writes_replace_the_null_version_only() {
    let (_d, db) = with_bucket();
    set_status(&db, VersioningStatus::Enabled);
    let (v1, _) = put(&db, "k");
    set_status(&db, VersioningStatus::Suspended);
    let (v2, id2) = put(&db, "k");
    assert_eq!(id2, Some(ObjectVersionId::Null));
    let v3 = VersionId::new_random();
    let Ok(MetaResponse::Written {
        replaced,
        version_id,
    }) = run(&db, &put_cmd("k", v3, &[]))
    else {
        panic!("put");
    };
    assert_eq!(version_id, Some(ObjectVersionId::Null));
    assert_eq!(
        replaced.map(|m| m.version),
        Some(v2),
        "the old null version goes"
    );
    assert!(!referenced(&db, v2) && referenced(&db, v1) && referenced(&db, v3));
    let ids: Vec<ObjectVersionId> = list_all(&db, "", None, 1000)
        .versions
        .iter()
        .map(|v| v.version_id)
        .collect();
    assert_eq!(ids, vec![ObjectVersionId::Null, ObjectVersionId::Id(v1)]);
    // A delete while suspended: a null marker replaces the null version.
    let d = delete(&db, "k", None);
    assert_eq!(d.version_id, Some(ObjectVersionId::Null));
    assert_eq!(d.removed.map(|m| m.version), Some(v3));
    let listed = list_all(&db, "", None, 1000);
    assert_eq!(listed.versions.len(), 2);
    assert!(listed.versions[0].delete_marker && listed.versions[0].is_latest);
    assert_index_exact(&db);
}

#[test]
fn retried_writes_and_deletes_apply_once() {
    let (_d, db) = with_bucket();
    set_status(&db, VersioningStatus::Enabled);
    let v = VersionId::new_random();
    let cmd = put_cmd("k", v, &[]);
    let first = run(&db, &cmd).expect("put");
    let (v2, _) = put(&db, "k");
    // The retry arrives after a later write: it must not become current again.
    let again = run(&db, &cmd).expect("retry");
    let (MetaResponse::Written { version_id: a, .. }, MetaResponse::Written { version_id: b, .. }) =
        (first, again)
    else {
        panic!("answers");
    };
    assert_eq!(a, b);
    assert_eq!(found(&db, "k", None), Some(v2));
    let marker = VersionId::new_random();
    let del = delete_cmd("k", None, marker);
    let r1 = run(&db, &del).expect("delete");
    let r2 = run(&db, &del).expect("retried delete");
    assert_eq!(r1, r2);
    assert_eq!(list_all(&db, "", None, 1000).versions.len(), 3);
    // Suspended: the marker is `null`; a retried conditional delete still
    // answers as the first application did.
    set_status(&db, VersioningStatus::Suspended);
    let (v3, _) = put(&db, "k");
    let etag = v3.to_string();
    let del = MetaCommand::DeleteObjectVersion {
        bucket: B.into(),
        key: "k".into(),
        version: None,
        if_match: Some(etag),
        marker: VersionId::new_random(),
        last_modified: 11,
    };
    let Ok(MetaResponse::Deleted(first)) = run(&db, &del) else {
        panic!("delete");
    };
    assert_eq!(first.removed.map(|m| m.version), Some(v3));
    let Ok(MetaResponse::Deleted(again)) = run(&db, &del) else {
        panic!("the retry succeeds, though the object is gone");
    };
    // (What the first application removed is not removed again.)
    assert_eq!(
        (again.version_id, again.delete_marker, again.removed),
        (Some(ObjectVersionId::Null), true, None)
    );
    assert_eq!(list_all(&db, "", None, 1000).versions.len(), 4);
    assert_index_exact(&db);
}

#[test]
fn tags_belong_to_their_version() {
    let (_d, db) = with_bucket();
    set_status(&db, VersioningStatus::Enabled);
    let v1 = VersionId::new_random();
    run(&db, &put_cmd("k", v1, &["old"])).expect("put");
    let v2 = VersionId::new_random();
    run(&db, &put_cmd("k", v2, &["new"])).expect("put");
    let tag_keys = |version| match lookup_q(&db, "k", version) {
        VersionLookup::Object { extras, .. } => {
            extras.tags.into_iter().map(|t| t.key).collect::<Vec<_>>()
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(tag_keys(Some(ObjectVersionId::Id(v1))), vec!["old"]);
    assert_eq!(tag_keys(None), vec!["new"]);
    let set = |version, key: &str| {
        run(
            &db,
            &MetaCommand::SetObjectVersionTags {
                bucket: B.into(),
                key: "k".into(),
                version,
                tags: vec![Tag {
                    key: key.into(),
                    value: String::new(),
                }],
            },
        )
    };
    assert_eq!(
        set(Some(ObjectVersionId::Id(v1)), "older"),
        Ok(MetaResponse::Tagged {
            version_id: Some(ObjectVersionId::Id(v1))
        })
    );
    assert_eq!(
        set(None, "newer"),
        Ok(MetaResponse::Tagged {
            version_id: Some(ObjectVersionId::Id(v2))
        }),
        "the current version's id is the answer"
    );
    assert_eq!(tag_keys(Some(ObjectVersionId::Id(v1))), vec!["older"]);
    assert_eq!(tag_keys(Some(ObjectVersionId::Id(v2))), vec!["newer"]);
    assert_eq!(tag_keys(None), vec!["newer"]);
    // Promotion carries the version's own tags to the current object.
    delete(&db, "k", Some(ObjectVersionId::Id(v2)));
    assert_eq!(tag_keys(None), vec!["older"]);
    let marker = delete(&db, "k", None).version_id;
    assert!(matches!(
        set(marker, "x"),
        Err(MetaError::MethodNotAllowed(_))
    ));
    assert_eq!(set(None, "x"), Err(MetaError::NoSuchKey));
    let unknown = Some(ObjectVersionId::Id(VersionId::new_random()));
    assert_eq!(set(unknown, "x"), Err(MetaError::NoSuchVersion));
    assert_index_exact(&db);
}

#[test]
fn a_bucket_with_only_old_versions_is_not_empty() {
    let (_d, db) = with_bucket();
    set_status(&db, VersioningStatus::Enabled);
    let (_, id) = put(&db, "k");
    let marker = delete(&db, "k", None).version_id;
    let del_bucket = MetaCommand::DeleteBucket { name: B.into() };
    assert_eq!(run(&db, &del_bucket), Err(MetaError::BucketNotEmpty));
    delete(&db, "k", marker);
    assert_eq!(run(&db, &del_bucket), Err(MetaError::BucketNotEmpty));
    delete(&db, "k", id);
    run(&db, &del_bucket).expect("empty now");
    assert_index_exact(&db);
}

#[test]
fn lifecycle_expiries_hold_only_while_their_condition_does() {
    let (_d, db) = with_bucket();
    set_status(&db, VersioningStatus::Enabled);
    let (v1, id1) = put(&db, "k");
    let expire = |target: ExpiryTarget| match run(
        &db,
        &MetaCommand::ExpireVersion {
            bucket: B.into(),
            key: "k".into(),
            target,
            marker: VersionId::new_random(),
            now: 9,
        },
    ) {
        Ok(MetaResponse::Deleted(d)) => d,
        other => panic!("{other:?}"),
    };
    // The current version is not noncurrent.
    let noncurrent_v1 = || ExpiryTarget::Noncurrent {
        id: id1.expect("id"),
        last_modified: v1.created_millis() as i64,
    };
    assert!(expire(noncurrent_v1()).version_id.is_none());
    let (v2, _) = put(&db, "k");
    // An expiry judged on v1 as current leaves the newer write alone.
    assert!(expire(ExpiryTarget::Current(v1)).version_id.is_none());
    assert_eq!(found(&db, "k", None), Some(v2));
    // Expiring the current version in a versioning bucket adds a marker.
    let d = expire(ExpiryTarget::Current(v2));
    assert!(d.delete_marker && d.removed.is_none());
    assert_eq!(found(&db, "k", None), None);
    assert!(referenced(&db, v2));
    let marker = d.version_id.expect("marker");
    assert!(
        expire(ExpiryTarget::LoneDeleteMarker(marker))
            .version_id
            .is_none(),
        "not alone"
    );
    let d = expire(noncurrent_v1());
    assert_eq!(d.removed.map(|m| m.version), Some(v1));
    delete(&db, "k", Some(ObjectVersionId::Id(v2)));
    let d = expire(ExpiryTarget::LoneDeleteMarker(marker));
    assert!(d.delete_marker);
    assert!(list_all(&db, "", None, 1000).versions.is_empty());
    assert!(index_rows(&db).is_empty());
    assert!(version_index_rows(&db).is_empty());
}

#[test]
fn listing_pages_through_every_version_once_in_order() {
    let (_d, db) = with_bucket();
    // Two keys from before versioning, then versions and markers.
    put(&db, "a/1");
    put(&db, "c");
    set_status(&db, VersioningStatus::Enabled);
    for key in ["a/1", "a/2", "b", "a/1", "b\0x", "b"] {
        put(&db, key);
    }
    delete(&db, "a/2", None);
    let all = list_all(&db, "", None, 1000);
    let keys: Vec<&str> = all.versions.iter().map(|v| v.key.as_str()).collect();
    assert_eq!(
        keys,
        vec!["a/1", "a/1", "a/1", "a/2", "a/2", "b", "b", "b\0x", "c"]
    );
    for window in all.versions.windows(2) {
        if window[0].key == window[1].key {
            assert!(!window[1].is_latest);
        } else {
            assert!(window[1].is_latest);
        }
    }
    for page in 1..=4 {
        assert_eq!(
            list_all(&db, "", None, page).versions,
            all.versions,
            "page {page}"
        );
    }
    let rolled = list_all(&db, "", Some("/"), 1);
    assert_eq!(rolled.common_prefixes, vec!["a/".to_string()]);
    let rest: Vec<&str> = rolled.versions.iter().map(|v| v.key.as_str()).collect();
    assert_eq!(rest, vec!["b", "b", "b\0x", "c"]);
    let empty = list_versions(
        &db,
        &ListVersionsQuery {
            bucket: B.into(),
            prefix: String::new(),
            delimiter: None,
            key_marker: None,
            version_id_marker: None,
            max_keys: 0,
        },
    )
    .expect("list");
    assert_eq!(
        empty,
        ListVersionsPage::default(),
        "max-keys 0: empty, not truncated"
    );
    let under_a = list_all(&db, "a/", None, 2);
    assert_eq!(under_a.versions.len(), 5);
    // A version-id marker the key does not have skips the key.
    let p = list_versions(
        &db,
        &ListVersionsQuery {
            bucket: B.into(),
            prefix: String::new(),
            delimiter: None,
            key_marker: Some("b".into()),
            version_id_marker: Some(ObjectVersionId::Id(VersionId::new_random())),
            max_keys: 1000,
        },
    )
    .expect("list");
    let keys: Vec<&str> = p.versions.iter().map(|v| v.key.as_str()).collect();
    assert_eq!(keys, vec!["b\0x", "c"]);
    assert_index_exact(&db);
}

#[test]
fn layout_usage_counts_noncurrent_versions_once() {
    let (_d, db) = with_bucket();
    let chunks = |db: &MetaDb| -> u64 {
        crate::query::layout_usage::usage(db)
            .expect("usage")
            .iter()
            .map(|g| g.chunks)
            .sum()
    };
    set_status(&db, VersioningStatus::Enabled);
    put(&db, "k");
    assert_eq!(chunks(&db), 1, "the current version is counted once");
    put(&db, "k");
    put(&db, "j");
    assert_eq!(chunks(&db), 3);
    delete(&db, "k", None);
    assert_eq!(chunks(&db), 3, "versions under a marker still hold shards");
}

#[test]
fn a_noncurrent_expiry_of_null_spares_a_younger_null_version() {
    let (_d, db) = with_bucket();
    let pause = || std::thread::sleep(std::time::Duration::from_millis(3));
    let (old, _) = put(&db, "k");
    set_status(&db, VersioningStatus::Enabled);
    pause();
    put(&db, "k");
    // The job judged the old null version as noncurrent...
    let judged = ExpiryTarget::Noncurrent {
        id: ObjectVersionId::Null,
        last_modified: old.created_millis() as i64,
    };
    // ...but before the expiry applies, a suspended write replaces it and
    // a newer version makes the new null version noncurrent.
    set_status(&db, VersioningStatus::Suspended);
    pause();
    let (young, _) = put(&db, "k");
    set_status(&db, VersioningStatus::Enabled);
    pause();
    put(&db, "k");
    let answer = run(
        &db,
        &MetaCommand::ExpireVersion {
            bucket: B.into(),
            key: "k".into(),
            target: judged,
            marker: VersionId::new_random(),
            now: 9,
        },
    );
    assert!(
        matches!(&answer, Ok(MetaResponse::Deleted(d)) if d.removed.is_none()),
        "{answer:?}"
    );
    assert_eq!(found(&db, "k", Some(ObjectVersionId::Null)), Some(young));
    assert_index_exact(&db);
}

#[test]
fn a_read_never_pairs_one_versions_manifest_with_anothers_extras() {
    // Writes land while reads run (the state machine applies on one thread,
    // queries run on others): every read must see one write whole.
    const READS: usize = 20_000;
    let (_d, db) = with_bucket();
    let writer_db = db.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer_stop = stop.clone();
    let writer = std::thread::spawn(move || {
        while !writer_stop.load(std::sync::atomic::Ordering::Relaxed) {
            let v = VersionId::new_random();
            let etag = v.to_string();
            run(&writer_db, &put_cmd("k", v, &[etag.as_str()])).expect("put");
        }
    });
    for _ in 0..READS {
        if let VersionLookup::Object {
            manifest, extras, ..
        } = lookup_q(&db, "k", None)
        {
            let tag = extras.tags.first().map(|t| t.key.as_str());
            assert_eq!(
                tag,
                Some(manifest.etag.as_str()),
                "manifest and extras of one write"
            );
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().expect("writer");
}
