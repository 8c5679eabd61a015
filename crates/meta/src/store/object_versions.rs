//! The `object_versions` table: one row per version of a key of a bucket
//! that has versioning, and the `bucket_versioning` states that say which
//! buckets have such rows.
//!
//! Once a bucket's versioning was set (Enabled or Suspended), every version
//! of every key written since — object versions and delete markers — is a
//! row of `object_versions`, keyed by (key, number) with the newest first.
//! The `objects` table keeps serving the current object: its row for a key
//! is exactly the newest version when that is an object, and absent when it
//! is a delete marker (so plain GETs and listings read one row, as before).
//! A key with an `objects` row and no version rows holds an object written
//! before versioning was enabled: its one version, `null`. The first write
//! to such a key since then "adopts" it as a row (`apply::key_versions`);
//! `version_index` finds a version by id without reading the others.
//!
//! Every row of an object version is a holder in the GC reference index
//! (`data_refs::version_replaced`), so noncurrent versions keep their data.

use crate::store::db::{CF_BUCKET_VERSIONING, CF_OBJECT_VERSIONS, DbError, MetaDb, decode};
use crate::store::keys::versions_of_key;
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

/// The first stored row of the key whose version keys start with `prefix`,
/// at or after `from` (None: from the newest), skipping the rows in `skip`.
pub fn first_stored(
    db: &MetaDb,
    prefix: &[u8],
    from: Option<&[u8]>,
    skip: &[Vec<u8>],
) -> Result<Option<(Vec<u8>, StoredVersion)>, DbError> {
    let mut it = db.db.raw_iterator_cf(db.cf(CF_OBJECT_VERSIONS)?);
    it.seek(from.unwrap_or(prefix));
    let mut found = None;
    while it.valid() {
        match (it.key(), it.value()) {
            (Some(k), Some(v)) if k.starts_with(prefix) => {
                if !skip.iter().any(|s| s.as_slice() == k) {
                    found = Some((k.to_vec(), decode(v)?));
                    break;
                }
            }
            _ => break,
        }
        it.next();
    }
    it.status()?;
    Ok(found)
}

/// The newest stored version of one key (None: no rows).
pub fn newest_stored(
    db: &MetaDb,
    bucket: &str,
    key: &str,
) -> Result<Option<StoredVersion>, DbError> {
    Ok(first_stored(db, &versions_of_key(bucket, key), None, &[])?.map(|(_, row)| row))
}
