//! The `data_refs` table (the index of referenced data versions) and the
//! garbage-collection horizon kept beside it in the `gc` table.
//!
//! Shard files are named by the data version they were written under. A
//! version is *referenced* while an object manifest or an uploaded part has a
//! chunk written under it. Manifests can share versions: a completed
//! multipart object's chunks keep their parts' data versions, and the same
//! manifest may be committed twice (a retried command). So the index is keyed
//! by (version, holder) — one row per record that references the version —
//! and a version is referenced while any row with its prefix exists. Rows are
//! written in the same batch as the record they describe, so the index is a
//! pure function of the `objects`, `object_versions` and `parts` tables (an
//! object version of a bucket with versioning is a holder of its own, beside
//! the current-object row that may repeat it); `rebuild` derives it from
//! them (a data dir from a build without the index, or a snapshot from one).
//!
//! The horizon closes the race between a collector and a slow PUT: before a
//! storage node asks which old versions are unreferenced, it moves the horizon
//! (a time in milliseconds, from its own clock) through the Raft log; from that
//! entry on, a manifest or part referencing a version created at or before the
//! horizon is refused. Commands are totally ordered by the log, so either the
//! commit came first (the version is referenced when the node asks) or the
//! horizon did (the commit is refused). No clock comparison across machines
//! is needed for safety.

use crate::store::db::{
    CF_DATA_REFS, CF_GC, CF_OBJECT_VERSIONS, CF_OBJECTS, CF_PARTS, DbError, MetaDb, decode, encode,
};
use crate::store::object_versions::{StoredVersion, VersionEntry};
use cairn_rpc::MetaError;
use cairn_types::{ObjectManifest, PartRecord, VersionId};
use rocksdb::WriteBatch;
use std::collections::BTreeSet;

/// Format of the `data_refs` index; a stored marker with another value (or
/// none) makes `ensure_index` rebuild it.
/// (2: a manifest also references its own version, under which its chunk
/// list is kept.)
pub const REFS_INDEX_FORMAT: u32 = 2;
const KEY_INDEX_FORMAT: &[u8] = b"refs_index_format";
const KEY_HORIZON: &[u8] = b"horizon_ms";

/// Holder kinds: the first byte after the version in an index key.
const HOLDER_OBJECT: u8 = b'o';
const HOLDER_PART: u8 = b'p';
const HOLDER_VERSION: u8 = b'v';

/// The holder bytes of a record: its kind, then its key in its table.
fn holder(kind: u8, record_key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + record_key.len());
    out.push(kind);
    out.extend_from_slice(record_key);
    out
}

/// The holder bytes of an object record, from its key in `objects`.
pub fn object_holder(object_key: &[u8]) -> Vec<u8> {
    holder(HOLDER_OBJECT, object_key)
}

/// The holder bytes of a part record, from its key in `parts`.
pub fn part_holder(part_key: &[u8]) -> Vec<u8> {
    holder(HOLDER_PART, part_key)
}

/// The holder bytes of an object version, from its key in `object_versions`.
pub fn version_holder(version_key: &[u8]) -> Vec<u8> {
    holder(HOLDER_VERSION, version_key)
}

fn ref_key(version: &VersionId, holder: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + holder.len());
    out.extend_from_slice(version.as_bytes());
    out.extend_from_slice(holder);
    out
}

/// The data versions a manifest references: those its shards were written
/// under, and its own (its chunk list is kept under it).
pub fn manifest_versions(db: &MetaDb, m: &ObjectManifest) -> Result<BTreeSet<VersionId>, DbError> {
    crate::store::chunks::manifest_versions(db, m)
}

/// The data versions of a part: its own and those of its chunks.
pub fn part_versions(p: &PartRecord) -> BTreeSet<VersionId> {
    let mut out: BTreeSet<VersionId> = p.chunks.iter().map(|c| c.version).collect();
    out.insert(p.data_version);
    out
}

/// Records in `batch` that `holder` now references `new` instead of `old`.
/// Removals come first, so a version in both stays referenced.
fn replace(
    db: &MetaDb,
    batch: &mut WriteBatch,
    holder: &[u8],
    old: BTreeSet<VersionId>,
    new: BTreeSet<VersionId>,
) -> Result<(), DbError> {
    let cf = db.cf(CF_DATA_REFS)?;
    for v in &old {
        batch.delete_cf(cf, ref_key(v, holder));
    }
    crate::store::repair_rows::note_released(db, batch, old.difference(&new))?;
    for v in &new {
        batch.put_cf(cf, ref_key(v, holder), b"");
    }
    Ok(())
}

/// Index maintenance for writing (`new` Some) or deleting (`new` None) the
/// object stored under `object_key`, whose current record is `old`.
pub fn object_replaced(
    db: &MetaDb,
    batch: &mut WriteBatch,
    object_key: &[u8],
    old: Option<&ObjectManifest>,
    new: Option<&ObjectManifest>,
) -> Result<(), DbError> {
    manifest_replaced(db, batch, &object_holder(object_key), old, new)
}

/// Index maintenance for writing (`new` Some) or deleting (`new` None) the
/// object version stored under `version_key` (a delete marker has no
/// manifest: None on its side).
pub fn version_replaced(
    db: &MetaDb,
    batch: &mut WriteBatch,
    version_key: &[u8],
    old: Option<&ObjectManifest>,
    new: Option<&ObjectManifest>,
) -> Result<(), DbError> {
    manifest_replaced(db, batch, &version_holder(version_key), old, new)
}

/// `holder` now references the data versions of manifest `new` instead of `old`'s.
fn manifest_replaced(
    db: &MetaDb,
    batch: &mut WriteBatch,
    holder: &[u8],
    old: Option<&ObjectManifest>,
    new: Option<&ObjectManifest>,
) -> Result<(), DbError> {
    let versions = |m: Option<&ObjectManifest>| match m {
        Some(m) => manifest_versions(db, m),
        None => Ok(BTreeSet::new()),
    };
    replace(db, batch, holder, versions(old)?, versions(new)?)
}

/// Index maintenance for writing or deleting the part stored under `part_key`.
pub fn part_replaced(
    db: &MetaDb,
    batch: &mut WriteBatch,
    part_key: &[u8],
    old: Option<&PartRecord>,
    new: Option<&PartRecord>,
) -> Result<(), DbError> {
    replace(
        db,
        batch,
        &part_holder(part_key),
        old.map(part_versions).unwrap_or_default(),
        new.map(part_versions).unwrap_or_default(),
    )
}

/// Every holder of manifest version `manifest` (each references the
/// manifest's own version) now references `after` instead of `before`: a
/// chunk of the manifest was re-encoded under a new data version.
pub fn manifest_versions_changed(
    db: &MetaDb,
    batch: &mut WriteBatch,
    manifest: &VersionId,
    before: &BTreeSet<VersionId>,
    after: &BTreeSet<VersionId>,
) -> Result<usize, DbError> {
    let prefix = manifest.as_bytes();
    let mut holders = Vec::new();
    let mut it = db.db.raw_iterator_cf(db.cf(CF_DATA_REFS)?);
    it.seek(prefix);
    while let Some(k) = it.key() {
        if !k.starts_with(prefix) {
            break;
        }
        holders.push(k[prefix.len()..].to_vec());
        it.next();
    }
    it.status()?;
    for h in &holders {
        replace(db, batch, h, before.clone(), after.clone())?;
    }
    Ok(holders.len())
}

/// Whether any record references `version`.
pub fn is_referenced(db: &MetaDb, version: &VersionId) -> Result<bool, DbError> {
    let prefix = version.as_bytes();
    let mut it = db.db.raw_iterator_cf(db.cf(CF_DATA_REFS)?);
    it.seek(prefix);
    let found = it.valid() && it.key().is_some_and(|k| k.starts_with(prefix));
    it.status()?;
    Ok(found)
}

/// Whether any object or uploaded part has shards on storage nodes.
pub fn holds_object_data(db: &MetaDb) -> Result<bool, DbError> {
    let mut it = db.db.raw_iterator_cf(db.cf(CF_DATA_REFS)?);
    it.seek_to_first();
    let found = it.valid();
    it.status()?;
    Ok(found)
}

/// The versions among `versions` that nothing references, each once.
pub fn unreferenced(db: &MetaDb, versions: &[VersionId]) -> Result<Vec<VersionId>, DbError> {
    let asked: BTreeSet<VersionId> = versions.iter().copied().collect();
    let mut out = Vec::new();
    for v in asked {
        if !is_referenced(db, &v)? {
            out.push(v);
        }
    }
    Ok(out)
}

/// The garbage-collection horizon in force (0 before any collector ran).
pub fn horizon(db: &MetaDb) -> Result<u64, DbError> {
    Ok(db.get::<u64>(CF_GC, KEY_HORIZON)?.unwrap_or(0))
}

/// Moves the horizon to `proposed` unless it is already later; answers the
/// horizon in force after this command.
pub fn advance_horizon(db: &MetaDb, batch: &mut WriteBatch, proposed: u64) -> Result<u64, DbError> {
    let current = horizon(db)?;
    if proposed <= current {
        return Ok(current);
    }
    batch.put_cf(db.cf(CF_GC)?, KEY_HORIZON, encode(&proposed)?);
    Ok(proposed)
}

/// Sets the horizon to `value`, even backwards (an operator's reset, see
/// `gc_state`).
pub fn set_horizon(db: &MetaDb, batch: &mut WriteBatch, value: u64) -> Result<(), DbError> {
    batch.put_cf(db.cf(CF_GC)?, KEY_HORIZON, encode(&value)?);
    Ok(())
}

/// Refuses data versions the collector may already have judged unreferenced:
/// those created at or before the horizon.
pub fn check_fresh(
    db: &MetaDb,
    versions: impl IntoIterator<Item = VersionId>,
) -> Result<Result<(), MetaError>, DbError> {
    let horizon = horizon(db)?;
    if horizon == 0 {
        return Ok(Ok(()));
    }
    Ok(
        match versions.into_iter().find(|v| v.created_millis() <= horizon) {
            Some(v) => Err(MetaError::DataVersionExpired(v)),
            None => Ok(()),
        },
    )
}

/// Builds the index from the `objects` and `parts` tables unless it is
/// already there in the current format. Answers whether it rebuilt.
pub fn ensure_index(db: &MetaDb) -> Result<bool, DbError> {
    if db.get::<u32>(CF_GC, KEY_INDEX_FORMAT)? == Some(REFS_INDEX_FORMAT) {
        return Ok(false);
    }
    rebuild(db)?;
    Ok(true)
}

/// Replaces the index with one derived from the `objects`, `object_versions`
/// and `parts` tables,
/// in one synced write.
pub fn rebuild(db: &MetaDb) -> Result<(), DbError> {
    let mut batch = WriteBatch::default();
    let refs = db.cf(CF_DATA_REFS)?;
    for item in db.db.iterator_cf(refs, rocksdb::IteratorMode::Start) {
        let (k, _) = item?;
        batch.delete_cf(refs, k);
    }
    let mut rows = 0usize;
    for item in db
        .db
        .iterator_cf(db.cf(CF_OBJECTS)?, rocksdb::IteratorMode::Start)
    {
        let (k, v) = item?;
        let m: ObjectManifest = decode(&v)?;
        let holder = object_holder(&k);
        for version in manifest_versions(db, &m)? {
            batch.put_cf(refs, ref_key(&version, &holder), b"");
            rows += 1;
        }
    }
    for item in db
        .db
        .iterator_cf(db.cf(CF_OBJECT_VERSIONS)?, rocksdb::IteratorMode::Start)
    {
        let (k, v) = item?;
        let stored: StoredVersion = decode(&v)?;
        if let VersionEntry::Object { manifest, .. } = &stored.entry {
            let holder = version_holder(&k);
            for version in manifest_versions(db, manifest)? {
                batch.put_cf(refs, ref_key(&version, &holder), b"");
                rows += 1;
            }
        }
    }
    for item in db
        .db
        .iterator_cf(db.cf(CF_PARTS)?, rocksdb::IteratorMode::Start)
    {
        let (k, v) = item?;
        let p: PartRecord = decode(&v)?;
        let holder = part_holder(&k);
        for version in part_versions(&p) {
            batch.put_cf(refs, ref_key(&version, &holder), b"");
            rows += 1;
        }
    }
    batch.put_cf(db.cf(CF_GC)?, KEY_INDEX_FORMAT, encode(&REFS_INDEX_FORMAT)?);
    db.db.write_opt(batch, &MetaDb::sync_writes())?;
    tracing::info!(rows, "rebuilt the index of referenced data versions");
    Ok(())
}

/// One GC horizon move: drops the chunk rows of versions released at least
/// a grace ago (`repair_rows::take_released`) that nothing references any
/// more; answers how many it dropped.
pub fn sweep_released(
    db: &MetaDb,
    batch: &mut WriteBatch,
    horizon_ms: u64,
    grace_ms: u64,
) -> Result<usize, DbError> {
    let mut dropped = 0;
    for v in crate::store::repair_rows::take_released(db, batch, horizon_ms, grace_ms)? {
        if !is_referenced(db, &v)? {
            crate::store::chunks::drop_version(db, batch, &v)?;
            dropped += 1;
        }
    }
    Ok(dropped)
}

#[cfg(test)]
#[path = "data_refs_tests.rs"]
mod tests;
