//! The `write_ids` table: the answer of every idempotent write
//! (`MetaCommand::Idempotent`) under its id, for `WRITE_ID_WINDOW_MS`.
//!
//! Rows, by their first byte:
//! - `r` + id: the record (when it was recorded, and the answer);
//! - `e` + recorded time (big-endian) + id: the same records in the order
//!   they expire;
//! - `c`: the table's clock, the largest `stamped_ms` of any write applied
//!   (stamped by the voter that proposed it), never a voter's clock at
//!   apply time, so every voter keeps and expires exactly the same records;
//! - `n`: how many records there are.
//!
//! Each log entry that carries idempotent writes advances the clock and
//! removes, oldest first and at most `WRITE_IDS_PURGED_PER_ENTRY` of them,
//! the records older than the window and those beyond `MAX_WRITE_IDS`. The
//! table is one of the data tables, so it travels with snapshots.

use crate::store::db::{CF_WRITE_IDS, DbError, MetaDb, encode};
use cairn_rpc::{MetaError, MetaResponse, WriteId};
use rocksdb::WriteBatch;
use serde::{Deserialize, Serialize};

/// How long (by the table's clock) a write's answer is kept: 30 times
/// `META_CALL_DEADLINE` (10 s), the longest a client retries one write, so
/// a leader change to a voter whose clock runs minutes ahead still leaves
/// every retry its record.
pub const WRITE_ID_WINDOW_MS: u64 = 5 * 60 * 1000;
/// Most records kept: about 50 MB at the usual 100 bytes each. Beyond it the
/// oldest go early (a log line says so): at more than ~1,600 writes/s
/// sustained, a retry late in the window could then apply again.
pub const MAX_WRITE_IDS: u64 = 500_000;
/// Most records one log entry removes (an entry adds at most 256), so
/// expiry never makes one entry slow.
pub const WRITE_IDS_PURGED_PER_ENTRY: usize = 1024;

const RECORD: u8 = b'r';
const EXPIRY: u8 = b'e';
const KEY_CLOCK: &[u8] = b"c";
const KEY_COUNT: &[u8] = b"n";

/// How long records are kept and how many: `WRITE_IDS` but in tests.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub window_ms: u64,
    pub max_records: u64,
    pub purged_per_entry: usize,
}

/// The bounds every voter applies (they must be the same on all of them,
/// so they are constants, not configuration).
pub const WRITE_IDS: Bounds = Bounds {
    window_ms: WRITE_ID_WINDOW_MS,
    max_records: MAX_WRITE_IDS,
    purged_per_entry: WRITE_IDS_PURGED_PER_ENTRY,
};

/// What is kept of one write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteRecord {
    /// The table's clock when the write was first applied (or its own
    /// stamp, when later).
    pub recorded_ms: u64,
    pub answer: Result<MetaResponse, MetaError>,
}

fn record_key(id: &WriteId) -> Vec<u8> {
    let mut k = Vec::with_capacity(17);
    k.push(RECORD);
    k.extend_from_slice(id.as_bytes());
    k
}

fn expiry_key(recorded_ms: u64, id: &WriteId) -> Vec<u8> {
    let mut k = Vec::with_capacity(25);
    k.push(EXPIRY);
    k.extend_from_slice(&recorded_ms.to_be_bytes());
    k.extend_from_slice(id.as_bytes());
    k
}

/// The record of write `id`, if it is still kept.
pub fn get(db: &MetaDb, id: &WriteId) -> Result<Option<WriteRecord>, DbError> {
    db.get(CF_WRITE_IDS, &record_key(id))
}

/// The table's clock (0 before the first idempotent write).
pub fn clock(db: &MetaDb) -> Result<u64, DbError> {
    Ok(db.get::<u64>(CF_WRITE_IDS, KEY_CLOCK)?.unwrap_or(0))
}

/// How many records are kept.
pub fn count(db: &MetaDb) -> Result<u64, DbError> {
    Ok(db.get::<u64>(CF_WRITE_IDS, KEY_COUNT)?.unwrap_or(0))
}

/// Keeps `record` under `id` (the caller counts it for `advance`).
pub fn put(
    db: &MetaDb,
    batch: &mut WriteBatch,
    id: &WriteId,
    record: &WriteRecord,
) -> Result<(), DbError> {
    let cf = db.cf(CF_WRITE_IDS)?;
    batch.put_cf(cf, record_key(id), encode(record)?);
    batch.put_cf(cf, expiry_key(record.recorded_ms, id), []);
    Ok(())
}

/// After an entry that applied idempotent writes stamped up to `stamp` and
/// recorded `added` new ones: moves the clock forward and removes what has
/// expired or exceeds the bound (only records from before this entry).
pub fn advance(
    db: &MetaDb,
    batch: &mut WriteBatch,
    stamp: u64,
    added: u64,
    bounds: Bounds,
) -> Result<(), DbError> {
    let cf = db.cf(CF_WRITE_IDS)?;
    let now = clock(db)?.max(stamp);
    let mut kept = count(db)?.saturating_add(added);
    let mut purged = 0usize;
    let mut over_bound = 0u64;
    let mut prefix = rocksdb::ReadOptions::default();
    prefix.set_iterate_upper_bound(vec![EXPIRY + 1]);
    let start = rocksdb::IteratorMode::From(&[EXPIRY], rocksdb::Direction::Forward);
    for item in db.db.iterator_cf_opt(cf, prefix, start) {
        if purged >= bounds.purged_per_entry {
            break;
        }
        let (key, _) = item?;
        let (recorded_ms, id) = parse_expiry_key(&key)?;
        let expired = recorded_ms.saturating_add(bounds.window_ms) <= now;
        if !expired && kept <= bounds.max_records {
            break;
        }
        if !expired {
            over_bound += 1;
        }
        batch.delete_cf(cf, &key);
        batch.delete_cf(cf, record_key(&id));
        kept = kept.saturating_sub(1);
        purged += 1;
    }
    if over_bound > 0 {
        tracing::warn!(
            removed = over_bound,
            bound = bounds.max_records,
            "idempotency records removed before their window ended (more writes than the bound)"
        );
    }
    batch.put_cf(cf, KEY_CLOCK, encode(&now)?);
    batch.put_cf(cf, KEY_COUNT, encode(&kept)?);
    Ok(())
}

fn parse_expiry_key(key: &[u8]) -> Result<(u64, WriteId), DbError> {
    let bad = || DbError::Decode(format!("write id expiry key of {} bytes", key.len()));
    let time: [u8; 8] = key
        .get(1..9)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(bad)?;
    let id: [u8; 16] = key
        .get(9..25)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(bad)?;
    Ok((u64::from_be_bytes(time), WriteId(id)))
}

#[cfg(test)]
#[path = "write_ids_tests.rs"]
mod tests;
