//! The reconciler's rows in the `repair` table and the damage table.
//!
//! - `c` | chunk: a *candidate*, a chunk that may need repair (written
//!   with fewer pieces than its width, or with damage reported); the
//!   leader's planner reads them, and a chunk leaves when it is whole.
//! - `r` | version: a data version some record stopped referencing; `s` |
//!   time (ms, big-endian) | version: the same, stamped by the first GC
//!   horizon move after its release with that move's time (its horizon
//!   plus the grace: no earlier than the release, give or take the clock
//!   skew meta admits). Each horizon move (`data_refs::sweep_released`) stamps the
//!   unstamped and drops the chunk rows of the stamped at or before its
//!   horizon that nothing references any more: a GET that read a manifest
//!   just before it was overwritten finds its chunk rows for the grace, as
//!   it finds its shards.
//! - `d` | node: the disk identity a node reported first (or last replaced).
//! - `settings`, `done`: the live repair settings and the pieces re-created
//!   so far (chunks, bytes), kept here so they survive a change of leader.
//! - `Rebalance settings`, `Rebalanced`: the same for rebalancing; the
//!   moved counter restarts at every layout epoch applied.
//!
//! `chunk_damage` holds one `DamageRecord` per (chunk, piece, node).

use crate::store::db::{CF_CHUNK_DAMAGE, CF_REPAIR, DbError, MetaDb, decode, encode};
use cairn_rpc::rebalance_api::RebalanceSettings;
use cairn_rpc::repair_api::{DamageRecord, RepairSettings};
use cairn_types::{ChunkKey, ChunkRecord, NodeId, VersionId};
use rocksdb::WriteBatch;
use serde::{Deserialize, Serialize};

const CANDIDATE: u8 = b'c';
const RELEASED: u8 = b'r';
const RELEASED_AT: u8 = b's';
const DISK: u8 = b'd';
const KEY_SETTINGS: &[u8] = b"settings";
const KEY_DONE: &[u8] = b"done";
/// Rebalancing's rows (capitals: no tag above starts them).
const KEY_REBALANCE_SETTINGS: &[u8] = b"Rebalance settings";
const KEY_REBALANCED: &[u8] = b"Rebalanced";
/// Released versions looked at per sweep (one GC horizon move).
pub const SWEEP_BATCH: usize = 4096;

/// A key of the `repair` table: its tag byte, then `bytes`.
pub(crate) fn tagged(tag: u8, bytes: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + bytes.len());
    k.push(tag);
    k.extend_from_slice(bytes);
    k
}

pub fn add_candidate(db: &MetaDb, batch: &mut WriteBatch, key: &ChunkKey) -> Result<(), DbError> {
    batch.put_cf(db.cf(CF_REPAIR)?, tagged(CANDIDATE, &key.to_bytes()), b"");
    Ok(())
}

/// Removes a chunk's candidacy once it is whole and has no damage left.
pub fn settle_candidate(
    db: &MetaDb,
    batch: &mut WriteBatch,
    key: &ChunkKey,
    record: &ChunkRecord,
    damage_left: usize,
) -> Result<(), DbError> {
    if record.is_full_width() && damage_left == 0 {
        batch.delete_cf(db.cf(CF_REPAIR)?, tagged(CANDIDATE, &key.to_bytes()));
    } else {
        add_candidate(db, batch, key)?;
    }
    Ok(())
}

/// Candidates after `after`, at most `max`.
pub fn candidates(
    db: &MetaDb,
    after: Option<&ChunkKey>,
    max: usize,
) -> Result<Vec<ChunkKey>, DbError> {
    let mut it = db.db.raw_iterator_cf(db.cf(CF_REPAIR)?);
    match after {
        Some(a) => {
            let k = tagged(CANDIDATE, &a.to_bytes());
            it.seek(&k);
            if it.key() == Some(k.as_slice()) {
                it.next();
            }
        }
        None => it.seek([CANDIDATE]),
    }
    let mut out = Vec::new();
    while out.len() < max
        && let Some(k) = it.key()
    {
        if k.first() != Some(&CANDIDATE) {
            break;
        }
        if let Some(key) = ChunkKey::from_bytes(&k[1..]) {
            out.push(key);
        }
        it.next();
    }
    it.status()?;
    Ok(out)
}

fn damage_key(key: &ChunkKey, piece: u16, node: NodeId) -> Vec<u8> {
    let mut k = key.to_bytes().to_vec();
    k.extend_from_slice(&piece.to_be_bytes());
    k.extend_from_slice(&node.to_be_bytes());
    k
}

/// The damage recorded for a chunk.
pub fn damage_of(db: &MetaDb, key: &ChunkKey) -> Result<Vec<DamageRecord>, DbError> {
    let prefix = key.to_bytes();
    let mut it = db.db.raw_iterator_cf(db.cf(CF_CHUNK_DAMAGE)?);
    it.seek(prefix);
    let mut out = Vec::new();
    while let Some((k, v)) = it.item() {
        if !k.starts_with(&prefix) {
            break;
        }
        out.push(decode(v)?);
        it.next();
    }
    it.status()?;
    Ok(out)
}

pub fn put_damage(
    db: &MetaDb,
    batch: &mut WriteBatch,
    key: &ChunkKey,
    d: &DamageRecord,
) -> Result<(), DbError> {
    batch.put_cf(
        db.cf(CF_CHUNK_DAMAGE)?,
        damage_key(key, d.piece, d.node),
        encode(d)?,
    );
    Ok(())
}

pub fn clear_damage(
    db: &MetaDb,
    batch: &mut WriteBatch,
    key: &ChunkKey,
    piece: u16,
    node: NodeId,
) -> Result<(), DbError> {
    batch.delete_cf(db.cf(CF_CHUNK_DAMAGE)?, damage_key(key, piece, node));
    Ok(())
}

/// Drops a chunk's damage and candidacy (its record is going).
pub fn forget_chunk(db: &MetaDb, batch: &mut WriteBatch, key: &ChunkKey) -> Result<(), DbError> {
    for d in damage_of(db, key)? {
        clear_damage(db, batch, key, d.piece, d.node)?;
    }
    batch.delete_cf(db.cf(CF_REPAIR)?, tagged(CANDIDATE, &key.to_bytes()));
    Ok(())
}

/// Notes versions a record stopped referencing, for the sweep.
pub fn note_released<'a>(
    db: &MetaDb,
    batch: &mut WriteBatch,
    versions: impl IntoIterator<Item = &'a VersionId>,
) -> Result<(), DbError> {
    let cf = db.cf(CF_REPAIR)?;
    for v in versions {
        batch.put_cf(cf, tagged(RELEASED, v.as_bytes()), b"");
    }
    Ok(())
}

/// `s` | time | version.
fn stamped_key(at_ms: u64, v: &VersionId) -> Vec<u8> {
    let mut k = Vec::with_capacity(STAMPED_KEY_LEN);
    k.push(RELEASED_AT);
    k.extend_from_slice(&at_ms.to_be_bytes());
    k.extend_from_slice(v.as_bytes());
    k
}

const STAMPED_KEY_LEN: usize = 1 + 8 + 16;

/// One GC horizon move at `horizon_ms` with grace `grace_ms`: takes out
/// up to `SWEEP_BATCH` released versions stamped at or before the horizon
/// (answered: the caller drops the rows of those nothing references), then
/// stamps up to `SWEEP_BATCH` unstamped ones with `horizon_ms + grace_ms`.
pub fn take_released(
    db: &MetaDb,
    batch: &mut WriteBatch,
    horizon_ms: u64,
    grace_ms: u64,
) -> Result<Vec<VersionId>, DbError> {
    let cf = db.cf(CF_REPAIR)?;
    let mut due = Vec::new();
    let mut it = db.db.raw_iterator_cf(cf);
    it.seek([RELEASED_AT]);
    while due.len() < SWEEP_BATCH
        && let Some(k) = it.key()
    {
        if k.first() != Some(&RELEASED_AT) || k.len() != STAMPED_KEY_LEN {
            break;
        }
        let mut at = [0u8; 8];
        at.copy_from_slice(&k[1..9]);
        if u64::from_be_bytes(at) > horizon_ms {
            break;
        }
        let mut v = [0u8; 16];
        v.copy_from_slice(&k[9..]);
        due.push((k.to_vec(), VersionId(v)));
        it.next();
    }
    it.status()?;
    let mut fresh = Vec::new();
    it.seek([RELEASED]);
    while fresh.len() < SWEEP_BATCH
        && let Some(k) = it.key()
    {
        if k.first() != Some(&RELEASED) || k.len() != 17 {
            break;
        }
        let mut v = [0u8; 16];
        v.copy_from_slice(&k[1..]);
        fresh.push(VersionId(v));
        it.next();
    }
    it.status()?;
    let mut out = Vec::with_capacity(due.len());
    for (key, v) in due {
        batch.delete_cf(cf, key);
        out.push(v);
    }
    let stamp = horizon_ms.saturating_add(grace_ms);
    for v in fresh {
        batch.delete_cf(cf, tagged(RELEASED, v.as_bytes()));
        batch.put_cf(cf, stamped_key(stamp, &v), b"");
    }
    Ok(out)
}

pub fn disk_id(db: &MetaDb, node: NodeId) -> Result<Option<u128>, DbError> {
    db.get(CF_REPAIR, &tagged(DISK, &node.to_be_bytes()))
}

pub fn set_disk_id(
    db: &MetaDb,
    batch: &mut WriteBatch,
    node: NodeId,
    id: u128,
) -> Result<(), DbError> {
    batch.put_cf(
        db.cf(CF_REPAIR)?,
        tagged(DISK, &node.to_be_bytes()),
        encode(&id)?,
    );
    Ok(())
}

pub fn settings(db: &MetaDb) -> Result<RepairSettings, DbError> {
    Ok(db.get(CF_REPAIR, KEY_SETTINGS)?.unwrap_or_default())
}

pub fn set_settings(
    db: &MetaDb,
    batch: &mut WriteBatch,
    s: &RepairSettings,
) -> Result<(), DbError> {
    batch.put_cf(db.cf(CF_REPAIR)?, KEY_SETTINGS, encode(s)?);
    Ok(())
}

/// Pieces re-created and committed so far: (chunks, bytes).
pub fn done(db: &MetaDb) -> Result<(u64, u64), DbError> {
    Ok(db.get(CF_REPAIR, KEY_DONE)?.unwrap_or((0, 0)))
}

pub fn add_done(db: &MetaDb, batch: &mut WriteBatch, bytes: u64) -> Result<(), DbError> {
    let (c, b) = done(db)?;
    batch.put_cf(
        db.cf(CF_REPAIR)?,
        KEY_DONE,
        encode(&(c + 1, b.saturating_add(bytes)))?,
    );
    Ok(())
}

/// The live rebalance settings.
pub fn rebalance_settings(db: &MetaDb) -> Result<RebalanceSettings, DbError> {
    Ok(db
        .get(CF_REPAIR, KEY_REBALANCE_SETTINGS)?
        .unwrap_or_default())
}

pub fn set_rebalance_settings(
    db: &MetaDb,
    batch: &mut WriteBatch,
    s: &RebalanceSettings,
) -> Result<(), DbError> {
    batch.put_cf(db.cf(CF_REPAIR)?, KEY_REBALANCE_SETTINGS, encode(s)?);
    Ok(())
}

/// Misplaced pieces moved since a layout epoch was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Rebalanced {
    pub epoch: u64,
    pub chunks: u64,
    pub bytes: u64,
}

/// What has been moved for the current layout epoch.
pub fn rebalanced(db: &MetaDb) -> Result<Rebalanced, DbError> {
    Ok(db.get(CF_REPAIR, KEY_REBALANCED)?.unwrap_or_default())
}

/// A new layout epoch starts counting its moves from zero.
pub fn start_rebalance(db: &MetaDb, batch: &mut WriteBatch, epoch: u64) -> Result<(), DbError> {
    let fresh = Rebalanced {
        epoch,
        chunks: 0,
        bytes: 0,
    };
    batch.put_cf(db.cf(CF_REPAIR)?, KEY_REBALANCED, encode(&fresh)?);
    Ok(())
}

pub fn add_rebalanced(db: &MetaDb, batch: &mut WriteBatch, bytes: u64) -> Result<(), DbError> {
    let mut r = rebalanced(db)?;
    r.chunks += 1;
    r.bytes = r.bytes.saturating_add(bytes);
    batch.put_cf(db.cf(CF_REPAIR)?, KEY_REBALANCED, encode(&r)?);
    Ok(())
}
