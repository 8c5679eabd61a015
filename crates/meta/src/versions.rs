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
//! to such a key since then "adopts" it as a row (`KeyVersions::load`).
//!
//! Every row of an object version is a holder in the GC reference index
//! (`refs::version_replaced`), so noncurrent versions keep their data.

use crate::db::{CF_BUCKET_VERSIONING, CF_OBJECT_VERSIONS, DbError, MetaDb, decode, encode};
use crate::keys::{object_key, version_key, versions_of_key};
use crate::refs;
use cairn_rpc::VersionLookup;
use cairn_types::{
    ObjectExtras, ObjectManifest, ObjectVersionId, UnixMillis, VersionId, VersioningStatus,
};
use rocksdb::WriteBatch;
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

/// The stored versions of one key, newest first (no adoption: read only).
pub fn stored_versions(
    db: &MetaDb,
    bucket: &str,
    key: &str,
) -> Result<Vec<(Vec<u8>, StoredVersion)>, DbError> {
    let prefix = versions_of_key(bucket, key);
    let mut it = db.db.raw_iterator_cf(db.cf(CF_OBJECT_VERSIONS)?);
    it.seek(&prefix);
    let mut out = Vec::new();
    while it.valid() {
        match (it.key(), it.value()) {
            (Some(k), Some(v)) if k.starts_with(&prefix) => out.push((k.to_vec(), decode(v)?)),
            _ => break,
        }
        it.next();
    }
    it.status()?;
    Ok(out)
}

/// The newest stored version of one key (one seek; None: no rows).
pub fn newest_stored(
    db: &MetaDb,
    bucket: &str,
    key: &str,
) -> Result<Option<StoredVersion>, DbError> {
    let prefix = versions_of_key(bucket, key);
    let mut it = db.db.raw_iterator_cf(db.cf(CF_OBJECT_VERSIONS)?);
    it.seek(&prefix);
    let newest = match (it.key(), it.value()) {
        (Some(k), Some(v)) if it.valid() && k.starts_with(&prefix) => Some(decode(v)?),
        _ => None,
    };
    it.status()?;
    Ok(newest)
}

/// The version stack of one key while a command changes it. Every change
/// goes into the command's batch at once and into `rows`, so later steps of
/// the same command see it.
pub struct KeyVersions {
    bucket: String,
    key: String,
    /// Newest first.
    pub rows: Vec<(Vec<u8>, StoredVersion)>,
}

impl KeyVersions {
    /// Loads the stack; an object from before versioning (`current` with no
    /// rows) is adopted as the `null` version.
    pub fn load(
        db: &MetaDb,
        batch: &mut WriteBatch,
        bucket: &str,
        key: &str,
        current: Option<&ObjectManifest>,
    ) -> Result<Self, DbError> {
        let mut stack = KeyVersions {
            bucket: bucket.to_string(),
            key: key.to_string(),
            rows: stored_versions(db, bucket, key)?,
        };
        if stack.rows.is_empty()
            && let Some(cur) = current
        {
            let extras = crate::apply::extras::object_extras(db, &object_key(bucket, key))?;
            stack.push(
                db,
                batch,
                ObjectVersionId::Null,
                VersionEntry::Object {
                    manifest: cur.clone(),
                    extras,
                },
            )?;
        }
        Ok(stack)
    }

    pub fn newest(&self) -> Option<&StoredVersion> {
        self.rows.first().map(|(_, v)| v)
    }

    pub fn position(&self, id: ObjectVersionId) -> Option<usize> {
        self.rows.iter().position(|(_, v)| v.id == id)
    }

    /// Adds `entry` as the newest version, with id `id`.
    pub fn push(
        &mut self,
        db: &MetaDb,
        batch: &mut WriteBatch,
        id: ObjectVersionId,
        entry: VersionEntry,
    ) -> Result<(), DbError> {
        let seq = self.newest().map_or(1, |v| v.seq + 1);
        let row = StoredVersion { seq, id, entry };
        let rk = version_key(&self.bucket, &self.key, seq);
        refs::version_replaced(db, batch, &rk, None, row.manifest())?;
        batch.put_cf(db.cf(CF_OBJECT_VERSIONS)?, &rk, encode(&row)?);
        self.rows.insert(0, (rk, row));
        Ok(())
    }

    /// Removes the version at `index` for good; answers it.
    pub fn remove(
        &mut self,
        db: &MetaDb,
        batch: &mut WriteBatch,
        index: usize,
    ) -> Result<StoredVersion, DbError> {
        let (rk, row) = self.rows.remove(index);
        refs::version_replaced(db, batch, &rk, row.manifest(), None)?;
        batch.delete_cf(db.cf(CF_OBJECT_VERSIONS)?, &rk);
        Ok(row)
    }

    /// Rewrites the version at `index` (its manifest is unchanged: only
    /// extras change this way).
    pub fn rewrite(
        &mut self,
        db: &MetaDb,
        batch: &mut WriteBatch,
        index: usize,
        row: StoredVersion,
    ) -> Result<(), DbError> {
        debug_assert_eq!(
            self.rows[index].1.manifest(),
            row.manifest(),
            "a rewrite keeps the manifest (and so the references)"
        );
        let rk = self.rows[index].0.clone();
        batch.put_cf(db.cf(CF_OBJECT_VERSIONS)?, &rk, encode(&row)?);
        self.rows[index].1 = row;
        Ok(())
    }
}

/// GetObjectVersion: the version `version` of a key (None: the current one).
pub fn lookup(
    db: &MetaDb,
    bucket: &str,
    key: &str,
    version: Option<ObjectVersionId>,
) -> Result<VersionLookup, DbError> {
    let has_versioning = status(db, bucket)?.is_some();
    let ok = object_key(bucket, key);
    let current = || -> Result<Option<(ObjectManifest, ObjectExtras)>, DbError> {
        match db.get::<ObjectManifest>(crate::db::CF_OBJECTS, &ok)? {
            None => Ok(None),
            Some(m) => Ok(Some((m, crate::apply::extras::object_extras(db, &ok)?))),
        }
    };
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
        let newest = if has_versioning {
            newest_stored(db, bucket, key)?
        } else {
            None
        };
        return Ok(match (current()?, newest) {
            (Some((manifest, extras)), newest) => VersionLookup::Object {
                manifest,
                extras,
                version_id: has_versioning.then(|| newest.map_or(ObjectVersionId::Null, |v| v.id)),
            },
            (None, Some(row)) if row.is_delete_marker() => from_row(&row),
            (None, _) => VersionLookup::NotFound,
        });
    };
    let rows = stored_versions(db, bucket, key)?;
    Ok(match (id, rows.first()) {
        // An object from before versioning (or of a bucket without it) is
        // the `null` version.
        (ObjectVersionId::Null, None) => match current()? {
            Some((manifest, extras)) => VersionLookup::Object {
                manifest,
                extras,
                version_id: Some(ObjectVersionId::Null),
            },
            None => VersionLookup::NotFound,
        },
        (_, None) => VersionLookup::NotFound,
        (id, Some(_)) => match rows.iter().find(|(_, v)| v.id == id) {
            Some((_, row)) => from_row(row),
            None => VersionLookup::NotFound,
        },
    })
}
