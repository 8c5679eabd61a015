//! Object queries: a key's current object (with its extras), one of its
//! versions, and the paged listings of objects and of versions. A read that
//! pairs records of several tables takes them from one RocksDB snapshot
//! (`current_view`).

use super::buckets::bucket_exists;
use super::listing::list_objects;
use super::outcome::{Answered, misrouted};
use super::version_listing::list_versions;
use crate::store::db::{
    CF_BUCKET_VERSIONING, CF_OBJECT_EXTRAS, CF_OBJECT_VERSIONS, CF_OBJECTS, DbError, MetaDb, decode,
};
use crate::store::keys::{object_key, versions_of_key};
use crate::store::object_versions::{StoredVersion, VersionEntry};
use crate::store::version_index::find_stored;
use cairn_rpc::{MetaError, MetaQuery, QueryResult, VersionLookup};
use cairn_types::{ObjectExtras, ObjectManifest, ObjectVersionId};

/// Answers an object query (see `dispatch`).
pub(super) fn answer(db: &MetaDb, q: &MetaQuery) -> Answered {
    Ok(Ok(match q {
        MetaQuery::GetObject { bucket, key } => {
            if !bucket_exists(db, bucket)? {
                return Ok(Err(MetaError::NoSuchBucket));
            }
            QueryResult::Object(db.get(CF_OBJECTS, &object_key(bucket, key))?)
        }
        MetaQuery::ListObjects(lq) => {
            if !bucket_exists(db, &lq.bucket)? {
                return Ok(Err(MetaError::NoSuchBucket));
            }
            QueryResult::ObjectPage(list_objects(db, lq)?)
        }
        MetaQuery::GetObjectWithExtras { bucket, key } => {
            if !bucket_exists(db, bucket)? {
                return Ok(Err(MetaError::NoSuchBucket));
            }
            // Manifest and extras from one snapshot (see `CurrentView`).
            QueryResult::ObjectWithExtras(current_view(db, bucket, key)?.object)
        }
        MetaQuery::GetObjectVersion {
            bucket,
            key,
            version,
        } => {
            if !bucket_exists(db, bucket)? {
                return Ok(Err(MetaError::NoSuchBucket));
            }
            QueryResult::ObjectVersion(lookup(db, bucket, key, *version)?)
        }
        MetaQuery::ListObjectVersions(vq) => {
            if !bucket_exists(db, &vq.bucket)? {
                return Ok(Err(MetaError::NoSuchBucket));
            }
            QueryResult::VersionPage(list_versions(db, vq)?)
        }
        _ => return misrouted(),
    }))
}

/// A key's current version as one RocksDB snapshot shows it: the
/// `objects` row with its extras, and (in a bucket with versioning) the
/// newest version row. Separate reads could straddle a write applied between
/// them and pair one version's manifest with another's checksum (a GET then
/// fails the client's checksum check).
pub struct CurrentView {
    pub has_versioning: bool,
    pub object: Option<(ObjectManifest, ObjectExtras)>,
    pub newest: Option<StoredVersion>,
}

pub fn current_view(db: &MetaDb, bucket: &str, key: &str) -> Result<CurrentView, DbError> {
    let snap = db.db.snapshot();
    let get = |cf: &'static str, k: &[u8]| -> Result<Option<Vec<u8>>, DbError> {
        Ok(snap.get_cf(db.cf(cf)?, k)?)
    };
    let has_versioning = get(CF_BUCKET_VERSIONING, bucket.as_bytes())?.is_some();
    let ok = object_key(bucket, key);
    let object = match get(CF_OBJECTS, &ok)? {
        None => None,
        Some(m) => {
            let extras = match get(CF_OBJECT_EXTRAS, &ok)? {
                Some(e) => decode(&e)?,
                None => ObjectExtras::default(),
            };
            Some((decode(&m)?, extras))
        }
    };
    let newest = if has_versioning {
        let prefix = versions_of_key(bucket, key);
        let mut it = snap.raw_iterator_cf(db.cf(CF_OBJECT_VERSIONS)?);
        it.seek(&prefix);
        let row = match (it.key(), it.value()) {
            (Some(k), Some(v)) if it.valid() && k.starts_with(&prefix) => Some(decode(v)?),
            _ => None,
        };
        it.status()?;
        row
    } else {
        None
    };
    Ok(CurrentView {
        has_versioning,
        object,
        newest,
    })
}

/// GetObjectVersion: the version `version` of a key (None: the current one).
pub fn lookup(
    db: &MetaDb,
    bucket: &str,
    key: &str,
    version: Option<ObjectVersionId>,
) -> Result<VersionLookup, DbError> {
    let from_row = |row: &StoredVersion| match &row.entry {
        VersionEntry::Object { manifest, extras } => VersionLookup::Object {
            manifest: manifest.clone(),
            extras: extras.clone(),
            version_id: Some(row.id),
        },
        VersionEntry::DeleteMarker { last_modified } => VersionLookup::DeleteMarker {
            version_id: row.id,
            last_modified: *last_modified,
        },
    };
    let Some(id) = version else {
        // The current version, as the `objects` row serves it, named by the
        // newest row (one seek each, whatever the number of versions).
        let CurrentView {
            has_versioning,
            object,
            newest,
        } = current_view(db, bucket, key)?;
        return Ok(match (object, newest) {
            (Some((manifest, extras)), newest) => VersionLookup::Object {
                manifest,
                extras,
                version_id: has_versioning.then(|| newest.map_or(ObjectVersionId::Null, |v| v.id)),
            },
            (None, Some(row)) if row.is_delete_marker() => from_row(&row),
            (None, _) => VersionLookup::NotFound,
        });
    };
    Ok(match find_stored(db, bucket, key, id)? {
        Some((_, row)) => from_row(&row),
        // An object from before versioning (or of a bucket without it) is
        // the `null` version: an `objects` row and no version rows.
        None if id == ObjectVersionId::Null => {
            let view = current_view(db, bucket, key)?;
            match view.object.filter(|_| view.newest.is_none()) {
                Some((manifest, extras)) => VersionLookup::Object {
                    manifest,
                    extras,
                    version_id: Some(ObjectVersionId::Null),
                },
                None => VersionLookup::NotFound,
            }
        }
        None => VersionLookup::NotFound,
    })
}
