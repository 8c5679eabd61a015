//! The version stack of an object key in a bucket that has versioning.
//!
//! Once a bucket's versioning was set (Enabled or Suspended), every version
//! of every key written since — object versions and delete markers — is a
//! row of `object_versions`, keyed by (key, number) with the newest first.
//! The `objects` table keeps serving the current object: its row for a key
//! is exactly the newest version when that is an object, and absent when it
//! is a delete marker (so plain GETs and listings read one row, as before).
//! A key with an `objects` row and no version rows holds an object written
//! before versioning was enabled: its one version, `null`. The first write
//! to such a key since then "adopts" it as a row (`version_stack`, which
//! also keeps the index that finds a version by id).
//!
//! Every row of an object version is a holder in the GC reference index
//! (`refs::version_replaced`), so noncurrent versions keep their data.

use crate::db::{
    CF_BUCKET_VERSIONING, CF_OBJECT_EXTRAS, CF_OBJECT_VERSIONS, CF_OBJECTS, DbError, MetaDb, decode,
};
use crate::keys::{object_key, versions_of_key};
use cairn_rpc::VersionLookup;
use cairn_types::{
    ObjectExtras, ObjectManifest, ObjectVersionId, UnixMillis, VersionId, VersioningStatus,
};
use serde::{Deserialize, Serialize};

/// One version of a key, as `object_versions` stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredVersion {
    /// Its number among the key's versions (higher is newer).
    pub seq: u64,
    pub id: ObjectVersionId,
    pub entry: VersionEntry,
}

#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum VersionEntry {
    Object {
        manifest: ObjectManifest,
        extras: ObjectExtras,
    },
    DeleteMarker {
        last_modified: UnixMillis,
    },
}

impl StoredVersion {
    pub fn manifest(&self) -> Option<&ObjectManifest> {
        match &self.entry {
            VersionEntry::Object { manifest, .. } => Some(manifest),
            VersionEntry::DeleteMarker { .. } => None,
        }
    }

    pub fn is_delete_marker(&self) -> bool {
        matches!(self.entry, VersionEntry::DeleteMarker { .. })
    }

    pub fn last_modified(&self) -> UnixMillis {
        match &self.entry {
            VersionEntry::Object { manifest, .. } => manifest.last_modified,
            VersionEntry::DeleteMarker { last_modified } => *last_modified,
        }
    }

    /// Whether this is the version the write `version` made.
    pub fn written_by(&self, version: VersionId) -> bool {
        match &self.entry {
            VersionEntry::Object { manifest, .. } => manifest.version == version,
            VersionEntry::DeleteMarker { .. } => self.id == ObjectVersionId::Id(version),
        }
    }
}

/// A bucket's versioning state (None: never set).
pub fn status(db: &MetaDb, bucket: &str) -> Result<Option<VersioningStatus>, DbError> {
    db.get(CF_BUCKET_VERSIONING, bucket.as_bytes())
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
    Ok(
        match crate::version_stack::find_stored(db, bucket, key, id)? {
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
        },
    )
}
