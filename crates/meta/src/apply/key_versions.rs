//! A key's versions while one command changes them (`KeyVersions`).
//!
//! A command reads the state before its batch, so the stack remembers what
//! it added and removed itself: rows it added are newer than every stored
//! one, and rows it removed are skipped when the stored ones are read. Each
//! change writes, in the command's batch, the version row, its entries in
//! `version_index` and its holder rows in `data_refs` together.

use super::extras::object_extras;
use crate::store::data_refs::version_replaced;
use crate::store::db::{CF_OBJECT_VERSIONS, DbError, MetaDb, encode};
use crate::store::keys::{object_key, version_key, versions_of_key};
use crate::store::object_versions::{StoredVersion, VersionEntry, first_stored};
use crate::store::version_index::{delete_entries, find_stored, put_entries};
use cairn_types::{ObjectManifest, ObjectVersionId};
use rocksdb::WriteBatch;

/// The versions of one key while a command changes them.
pub struct KeyVersions {
    bucket: String,
    key: String,
    prefix: Vec<u8>,
    /// The newest version, as this command left it.
    newest: Option<(Vec<u8>, StoredVersion)>,
    /// Rows this command added, newest first (all newer than stored ones).
    added: Vec<(Vec<u8>, StoredVersion)>,
    /// Stored rows this command removed.
    removed: Vec<Vec<u8>>,
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
        let prefix = versions_of_key(bucket, key);
        let newest = first_stored(db, &prefix, None, &[])?;
        let mut stack = KeyVersions {
            bucket: bucket.to_string(),
            key: key.to_string(),
            prefix,
            newest,
            added: Vec::new(),
            removed: Vec::new(),
        };
        if stack.newest.is_none()
            && let Some(cur) = current
        {
            let extras = object_extras(db, &object_key(bucket, key))?;
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
        self.newest.as_ref().map(|(_, v)| v)
    }

    /// Whether `rk` (a row key from `find`) is the newest version.
    pub fn is_newest(&self, rk: &[u8]) -> bool {
        self.newest
            .as_ref()
            .is_some_and(|(k, _)| k.as_slice() == rk)
    }

    /// The version whose S3 id is `id`, with its row key.
    pub fn find(
        &self,
        db: &MetaDb,
        id: ObjectVersionId,
    ) -> Result<Option<(Vec<u8>, StoredVersion)>, DbError> {
        if let Some(found) = self.added.iter().find(|(_, row)| row.id == id) {
            return Ok(Some(found.clone()));
        }
        Ok(find_stored(db, &self.bucket, &self.key, id)?
            .filter(|(rk, _)| !self.removed.contains(rk)))
    }

    /// Whether the key has a version besides the newest.
    pub fn has_older(&self, db: &MetaDb) -> Result<bool, DbError> {
        let Some((newest_rk, _)) = &self.newest else {
            return Ok(false);
        };
        if self.added.iter().any(|(rk, _)| rk != newest_rk) {
            return Ok(true);
        }
        let mut skip = self.removed.clone();
        skip.push(newest_rk.clone());
        Ok(first_stored(db, &self.prefix, Some(newest_rk), &skip)?.is_some())
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
        version_replaced(db, batch, &rk, None, row.manifest())?;
        let stored = encode(&stored_row(db, batch, &row)?)?;
        batch.put_cf(db.cf(CF_OBJECT_VERSIONS)?, &rk, stored);
        put_entries(db, batch, &self.prefix, &row)?;
        self.added.insert(0, (rk.clone(), row.clone()));
        self.newest = Some((rk, row));
        Ok(())
    }

    /// Removes the version stored under `rk` (from `find`) for good.
    pub fn remove(
        &mut self,
        db: &MetaDb,
        batch: &mut WriteBatch,
        rk: &[u8],
        row: &StoredVersion,
    ) -> Result<(), DbError> {
        version_replaced(db, batch, rk, row.manifest(), None)?;
        batch.delete_cf(db.cf(CF_OBJECT_VERSIONS)?, rk);
        delete_entries(db, batch, &self.prefix, row)?;
        let was_added = self.added.iter().any(|(k, _)| k.as_slice() == rk);
        self.added.retain(|(k, _)| k.as_slice() != rk);
        if !was_added {
            self.removed.push(rk.to_vec());
        }
        if self.is_newest(rk) {
            // The next newest: a row this command added, else the first
            // stored row after this one (older) not removed.
            self.newest = match self.added.first() {
                Some(next) => Some(next.clone()),
                None => first_stored(db, &self.prefix, Some(rk), &self.removed)?,
            };
        }
        Ok(())
    }

    /// Rewrites the version stored under `rk` (its manifest is unchanged:
    /// only extras change this way).
    pub fn rewrite(
        &mut self,
        db: &MetaDb,
        batch: &mut WriteBatch,
        rk: &[u8],
        row: StoredVersion,
    ) -> Result<(), DbError> {
        let stored = encode(&stored_row(db, batch, &row)?)?;
        batch.put_cf(db.cf(CF_OBJECT_VERSIONS)?, rk, stored);
        for (k, r) in self.added.iter_mut().chain(self.newest.iter_mut()) {
            if k.as_slice() == rk {
                debug_assert_eq!(r.manifest(), row.manifest(), "a rewrite keeps the manifest");
                *r = row.clone();
            }
        }
        Ok(())
    }
}

/// A version row as stored: its manifest's chunks in their tables
/// (`chunks::stored_form`), none in the row.
fn stored_row(
    db: &MetaDb,
    batch: &mut WriteBatch,
    row: &StoredVersion,
) -> Result<StoredVersion, DbError> {
    let mut out = row.clone();
    if let VersionEntry::Object { manifest, .. } = &mut out.entry {
        *manifest = crate::store::chunks::stored_form(db, batch, manifest)?;
    }
    Ok(out)
}
