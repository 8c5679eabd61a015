//! The `version_index` table: finds a version of a key without reading the
//! others.
//!
//! Per key, it maps a version's S3 id and the id of the write that made it
//! to the version's number: `[versions_of_key][b'n']` for the `null`
//! version, `[versions_of_key][b'w'][16-byte id]` for the manifest version of
//! an object (its id when it is not `null`) or a delete marker's own id. So
//! finding a version by id and finding a retried write are each a seek or
//! two, whatever the number of versions (as is reading the newest version,
//! `object_versions::newest_stored`). The index is derived from
//! `object_versions` (`rebuild_index`) and written in the same batch as the
//! rows (`put_entries`, `delete_entries`).

use crate::store::db::{
    CF_GC, CF_OBJECT_VERSIONS, CF_VERSION_INDEX, DbError, MetaDb, decode, encode,
};
use crate::store::keys::{VERSION_SEQ_BYTES, version_key, versions_of_key};
use crate::store::object_versions::{StoredVersion, VersionEntry};
use cairn_types::{ObjectVersionId, VersionId};
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

/// Writes the index entries of `row`, a version of the key whose version
/// keys start with `prefix`, into `batch`.
pub fn put_entries(
    db: &MetaDb,
    batch: &mut WriteBatch,
    prefix: &[u8],
    row: &StoredVersion,
) -> Result<(), DbError> {
    let index = db.cf(CF_VERSION_INDEX)?;
    for suffix in suffixes(row) {
        batch.put_cf(index, index_key(prefix, &suffix), encode(&row.seq)?);
    }
    Ok(())
}

/// Deletes the index entries of `row` (see `put_entries`) in `batch`.
pub fn delete_entries(
    db: &MetaDb,
    batch: &mut WriteBatch,
    prefix: &[u8],
    row: &StoredVersion,
) -> Result<(), DbError> {
    let index = db.cf(CF_VERSION_INDEX)?;
    for suffix in suffixes(row) {
        batch.delete_cf(index, index_key(prefix, &suffix));
    }
    Ok(())
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
            .get(..k.len().saturating_sub(VERSION_SEQ_BYTES))
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
