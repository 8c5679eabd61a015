//! The version stack of one key while a command changes it, and the index
//! that finds a version without reading the others.
//!
//! `version_index` maps, per key, a version's S3 id and the id of the write
//! that made it to the version's number: `[versions_of_key][b'n']` for the
//! `null` version, `[versions_of_key][b'w'][16-byte id]` for the manifest
//! version of an object (its id when it is not `null`) or a delete marker's
//! own id. So finding a version by id, finding a retried write, and reading
//! the newest version are each a seek or two, whatever the number of
//! versions. The index is derived from `object_versions` (`rebuild_index`)
//! and written in the same batch as the rows.
//!
//! A command reads the state before its batch, so the stack remembers what
//! it added and removed itself: rows it added are newer than every stored
//! one, and rows it removed are skipped when the stored ones are read.

use crate::db::{CF_GC, CF_OBJECT_VERSIONS, CF_VERSION_INDEX, DbError, MetaDb, decode, encode};
use crate::keys::{object_key, version_key, versions_of_key};
use crate::refs;
use crate::versions::{StoredVersion, VersionEntry};
use cairn_types::{ObjectManifest, ObjectVersionId, VersionId};
use rocksdb::WriteBatch;

/// Format of `version_index`; another stored value (or none) rebuilds it.
pub const VERSION_INDEX_FORMAT: u32 = 1;
const KEY_INDEX_FORMAT: &[u8] = b"version_index_format";
/// Index suffix of the `null` version.
const INDEX_NULL: u8 = b'n';
/// Index suffix of a write id (followed by its 16 bytes).
const INDEX_WRITE: u8 = b'w';

fn index_key(prefix: &[u8], suffix: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(prefix.len() + suffix.len());
    out.extend_from_slice(prefix);
    out.extend_from_slice(suffix);
    out
}

fn write_suffix(id: &VersionId) -> Vec<u8> {
    let mut out = vec![INDEX_WRITE];
    out.extend_from_slice(id.as_bytes());
    out
}

/// The index suffixes of a row: its `null` id, and the id of its write.
fn suffixes(row: &StoredVersion) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if row.id == ObjectVersionId::Null {
        out.push(vec![INDEX_NULL]);
    }
    match (&row.entry, row.id) {
        (VersionEntry::Object { manifest, .. }, _) => out.push(write_suffix(&manifest.version)),
        (VersionEntry::DeleteMarker { .. }, ObjectVersionId::Id(marker)) => {
            out.push(write_suffix(&marker))
        }
        (VersionEntry::DeleteMarker { .. }, ObjectVersionId::Null) => {}
    }
    out
}

/// The stored row an index entry points at, if any.
fn indexed(
    db: &MetaDb,
    bucket: &str,
    key: &str,
    suffix: &[u8],
) -> Result<Option<(Vec<u8>, StoredVersion)>, DbError> {
    let Some(seq) = db.get::<u64>(
        CF_VERSION_INDEX,
        &index_key(&versions_of_key(bucket, key), suffix),
    )?
    else {
        return Ok(None);
    };
    let rk = version_key(bucket, key, seq);
    Ok(db
        .get::<StoredVersion>(CF_OBJECT_VERSIONS, &rk)?
        .map(|row| (rk, row)))
}

/// The stored version of a key whose S3 id is `id`.
pub fn find_stored(
    db: &MetaDb,
    bucket: &str,
    key: &str,
    id: ObjectVersionId,
) -> Result<Option<(Vec<u8>, StoredVersion)>, DbError> {
    let suffix = match id {
        ObjectVersionId::Null => vec![INDEX_NULL],
        ObjectVersionId::Id(v) => write_suffix(&v),
    };
    Ok(indexed(db, bucket, key, &suffix)?.filter(|(_, row)| row.id == id))
}

/// The stored version of a key made by the write (manifest version or
/// marker id) `write`.
pub fn find_written(
    db: &MetaDb,
    bucket: &str,
    key: &str,
    write: VersionId,
) -> Result<Option<StoredVersion>, DbError> {
    Ok(indexed(db, bucket, key, &write_suffix(&write))?
        .map(|(_, row)| row)
        .filter(|row| row.written_by(write)))
}

/// The first stored row of the key at or after `from` (None: from the
/// newest), skipping the rows in `skip`.
fn first_stored(
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

/// The version stack of one key while a command changes it.
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
        refs::version_replaced(db, batch, &rk, None, row.manifest())?;
        batch.put_cf(db.cf(CF_OBJECT_VERSIONS)?, &rk, encode(&row)?);
        let index = db.cf(CF_VERSION_INDEX)?;
        for suffix in suffixes(&row) {
            batch.put_cf(index, index_key(&self.prefix, &suffix), encode(&seq)?);
        }
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
        refs::version_replaced(db, batch, rk, row.manifest(), None)?;
        batch.delete_cf(db.cf(CF_OBJECT_VERSIONS)?, rk);
        let index = db.cf(CF_VERSION_INDEX)?;
        for suffix in suffixes(row) {
            batch.delete_cf(index, index_key(&self.prefix, &suffix));
        }
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
        batch.put_cf(db.cf(CF_OBJECT_VERSIONS)?, rk, encode(&row)?);
        for (k, r) in self.added.iter_mut().chain(self.newest.iter_mut()) {
            if k.as_slice() == rk {
                debug_assert_eq!(r.manifest(), row.manifest(), "a rewrite keeps the manifest");
                *r = row.clone();
            }
        }
        Ok(())
    }
}

/// Builds the index from `object_versions` unless it is there in the
/// current format. Answers whether it rebuilt.
pub fn ensure_index(db: &MetaDb) -> Result<bool, DbError> {
    if db.get::<u32>(CF_GC, KEY_INDEX_FORMAT)? == Some(VERSION_INDEX_FORMAT) {
        return Ok(false);
    }
    rebuild_index(db)?;
    Ok(true)
}

/// Replaces the index with one derived from `object_versions`, in one
/// synced write.
pub fn rebuild_index(db: &MetaDb) -> Result<(), DbError> {
    let mut batch = WriteBatch::default();
    let index = db.cf(CF_VERSION_INDEX)?;
    for item in db.db.iterator_cf(index, rocksdb::IteratorMode::Start) {
        let (k, _) = item?;
        batch.delete_cf(index, k);
    }
    let mut rows = 0usize;
    for item in db
        .db
        .iterator_cf(db.cf(CF_OBJECT_VERSIONS)?, rocksdb::IteratorMode::Start)
    {
        let (k, v) = item?;
        let row: StoredVersion = decode(&v)?;
        let prefix = k
            .get(..k.len().saturating_sub(crate::keys::VERSION_SEQ_BYTES))
            .ok_or_else(|| DbError::Decode("version key".into()))?;
        for suffix in suffixes(&row) {
            batch.put_cf(index, index_key(prefix, &suffix), encode(&row.seq)?);
            rows += 1;
        }
    }
    batch.put_cf(
        db.cf(CF_GC)?,
        KEY_INDEX_FORMAT,
        encode(&VERSION_INDEX_FORMAT)?,
    );
    db.db.write_opt(batch, &MetaDb::sync_writes())?;
    tracing::info!(rows, "rebuilt the index of object versions");
    Ok(())
}
