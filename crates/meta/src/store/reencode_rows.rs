//! Re-encoding's rows in the `repair` table (`cairn admin bucket
//! set-redundancy`):
//!
//! - `e` | bucket: a bucket whose chunks may be stored otherwise than its
//!   redundancy says (`ReencodeState`): set when its redundancy changes,
//!   marked again when a manifest with such chunks is committed to it (a
//!   write begun before the change), and removed when the leader's walk of
//!   the bucket, begun at the state's generation, found nothing left.
//! - `t` | chunk: a chunk re-encoded into another, and when (meta's applied
//!   clock, ms). Its pieces are then surplus everywhere: a scrub trims them
//!   a collector's grace after that time (a GET that read the old placement
//!   just before still finds them). Dropped with the chunk's data version.
//!
//! No other key of the table starts with `e` or `t` (see `repair_rows`).

use crate::store::db::{CF_REPAIR, DbError, MetaDb, decode, encode};
use crate::store::repair_rows::tagged;
use cairn_types::{ChunkKey, Redundancy, VersionId};
use rocksdb::WriteBatch;
use serde::{Deserialize, Serialize};

const REENCODE: u8 = b'e';
const RETIRED: u8 = b't';

/// A bucket being re-encoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReencodeState {
    /// The redundancy its chunks are re-encoded to.
    pub redundancy: Redundancy,
    /// Moves on at every mark; a walk proves the bucket done only for the
    /// generation it began at.
    pub generation: u64,
    /// Chunks re-encoded and committed since the redundancy changed.
    pub chunks: u64,
    pub bytes: u64,
}

pub fn reencode_state(db: &MetaDb, bucket: &str) -> Result<Option<ReencodeState>, DbError> {
    db.get(CF_REPAIR, &tagged(REENCODE, bucket.as_bytes()))
}

fn put_state(
    db: &MetaDb,
    batch: &mut WriteBatch,
    bucket: &str,
    s: &ReencodeState,
) -> Result<(), DbError> {
    batch.put_cf(
        db.cf(CF_REPAIR)?,
        tagged(REENCODE, bucket.as_bytes()),
        encode(s)?,
    );
    Ok(())
}

/// The bucket's redundancy changed to `redundancy`: its counters restart.
pub fn start_reencode(
    db: &MetaDb,
    batch: &mut WriteBatch,
    bucket: &str,
    redundancy: Redundancy,
) -> Result<(), DbError> {
    let generation = reencode_state(db, bucket)?.map_or(0, |s| s.generation + 1);
    let fresh = ReencodeState {
        redundancy,
        generation,
        chunks: 0,
        bytes: 0,
    };
    put_state(db, batch, bucket, &fresh)
}

/// A manifest with chunks stored otherwise than `redundancy` (the bucket's)
/// was committed: the bucket is (again) to be walked.
pub fn mark_reencode(
    db: &MetaDb,
    batch: &mut WriteBatch,
    bucket: &str,
    redundancy: Redundancy,
) -> Result<(), DbError> {
    let state = match reencode_state(db, bucket)? {
        Some(mut s) => {
            s.generation += 1;
            s.redundancy = redundancy;
            s
        }
        None => ReencodeState {
            redundancy,
            generation: 0,
            chunks: 0,
            bytes: 0,
        },
    };
    put_state(db, batch, bucket, &state)
}

/// Counts one chunk re-encoded for `bucket`.
pub fn add_reencoded(
    db: &MetaDb,
    batch: &mut WriteBatch,
    bucket: &str,
    bytes: u64,
) -> Result<(), DbError> {
    if let Some(mut s) = reencode_state(db, bucket)? {
        s.chunks += 1;
        s.bytes = s.bytes.saturating_add(bytes);
        put_state(db, batch, bucket, &s)?;
    }
    Ok(())
}

/// A walk begun at `generation` found nothing to re-encode: the bucket
/// leaves the list unless it was marked since. Answers whether it left.
pub fn finish_reencode(
    db: &MetaDb,
    batch: &mut WriteBatch,
    bucket: &str,
    generation: u64,
) -> Result<bool, DbError> {
    match reencode_state(db, bucket)? {
        Some(s) if s.generation == generation => {
            batch.delete_cf(db.cf(CF_REPAIR)?, tagged(REENCODE, bucket.as_bytes()));
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Forgets a deleted bucket's row.
pub fn forget_bucket(db: &MetaDb, batch: &mut WriteBatch, bucket: &str) -> Result<(), DbError> {
    batch.delete_cf(db.cf(CF_REPAIR)?, tagged(REENCODE, bucket.as_bytes()));
    Ok(())
}

/// Every bucket being re-encoded, by name.
pub fn reencoding(db: &MetaDb) -> Result<Vec<(String, ReencodeState)>, DbError> {
    let mut it = db.db.raw_iterator_cf(db.cf(CF_REPAIR)?);
    it.seek([REENCODE]);
    let mut out = Vec::new();
    while let Some((k, v)) = it.item() {
        if k.first() != Some(&REENCODE) {
            break;
        }
        let name = String::from_utf8_lossy(&k[1..]).into_owned();
        out.push((name, decode(v)?));
        it.next();
    }
    it.status()?;
    Ok(out)
}

/// Marks `key` retired at `at_ms`.
pub fn retire(
    db: &MetaDb,
    batch: &mut WriteBatch,
    key: &ChunkKey,
    at_ms: u64,
) -> Result<(), DbError> {
    batch.put_cf(
        db.cf(CF_REPAIR)?,
        tagged(RETIRED, &key.to_bytes()),
        encode(&at_ms)?,
    );
    Ok(())
}

/// When `key` was retired (None: it was not).
pub fn retired_at(db: &MetaDb, key: &ChunkKey) -> Result<Option<u64>, DbError> {
    db.get(CF_REPAIR, &tagged(RETIRED, &key.to_bytes()))
}

/// Drops the retired marks of the chunks written under data version `v`.
pub fn drop_retired(db: &MetaDb, batch: &mut WriteBatch, v: &VersionId) -> Result<(), DbError> {
    let cf = db.cf(CF_REPAIR)?;
    let prefix = tagged(RETIRED, v.as_bytes());
    let mut it = db.db.raw_iterator_cf(cf);
    it.seek(&prefix);
    while let Some(k) = it.key() {
        if !k.starts_with(&prefix) {
            break;
        }
        batch.delete_cf(cf, k);
        it.next();
    }
    it.status()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::open;

    fn commit(db: &MetaDb, b: WriteBatch) {
        db.db.write(b).unwrap();
    }

    #[test]
    fn a_walk_finishes_only_the_generation_it_began_at() {
        let (_dir, db) = open();
        let ec = Redundancy::ErasureCoded { data: 4, parity: 2 };
        let mut b = WriteBatch::default();
        start_reencode(&db, &mut b, "photos", ec).unwrap();
        commit(&db, b);
        let g0 = reencode_state(&db, "photos").unwrap().unwrap().generation;
        // A late write with old chunks marks it again.
        let mut b = WriteBatch::default();
        mark_reencode(&db, &mut b, "photos", ec).unwrap();
        commit(&db, b);
        let mut b = WriteBatch::default();
        assert!(!finish_reencode(&db, &mut b, "photos", g0).unwrap());
        commit(&db, b);
        assert_eq!(reencoding(&db).unwrap().len(), 1);
        let g1 = reencode_state(&db, "photos").unwrap().unwrap().generation;
        let mut b = WriteBatch::default();
        assert!(finish_reencode(&db, &mut b, "photos", g1).unwrap());
        commit(&db, b);
        assert!(reencoding(&db).unwrap().is_empty());
    }

    #[test]
    fn retired_marks_go_with_their_version() {
        let (_dir, db) = open();
        let v = VersionId::new_random();
        let other = VersionId::new_random();
        let key = |version, chunk| ChunkKey {
            version,
            part: 0,
            chunk,
        };
        let mut b = WriteBatch::default();
        retire(&db, &mut b, &key(v, 0), 5).unwrap();
        retire(&db, &mut b, &key(v, 1), 6).unwrap();
        retire(&db, &mut b, &key(other, 0), 7).unwrap();
        commit(&db, b);
        assert_eq!(retired_at(&db, &key(v, 1)).unwrap(), Some(6));
        let mut b = WriteBatch::default();
        drop_retired(&db, &mut b, &v).unwrap();
        commit(&db, b);
        assert_eq!(retired_at(&db, &key(v, 0)).unwrap(), None);
        assert_eq!(retired_at(&db, &key(other, 0)).unwrap(), Some(7));
    }
}
