//! Applying re-encoding (`cairn admin bucket set-redundancy`): the change
//! of a bucket's redundancy, each chunk a mover re-encoded, and the end of
//! a bucket's re-encoding.
//!
//! A chunk is re-encoded under a new key (a data version the leader minted
//! for it), never in place: its old pieces stay readable under the old key
//! until the chunk row of the manifest is swapped, in one entry, to the new
//! one. The swap is a compare-and-swap on the row; the new version must be
//! newer than the collector's horizon (its pieces were unreferenced until
//! now); every holder of the manifest (current object, version row) then
//! references the new version, and the old record is dropped and its key
//! marked retired (its pieces are trimmed by the scrub a grace later).

use super::outcome::Applied;
use crate::store::chunks::{
    ObjectChunk, chunk_record, drop_record, object_chunk_row, object_chunks, put_object_chunk_row,
    put_record,
};
use crate::store::data_refs::{check_fresh, manifest_versions_changed};
use crate::store::db::{CF_BUCKETS, MetaDb, encode};
use crate::store::layout::state as layout_state;
use crate::store::reencode_rows::{add_reencoded, finish_reencode, retire, start_reencode};
use cairn_rpc::repair_api::ReconcileCommand;
use cairn_rpc::{MetaError, MetaResponse};
use cairn_types::{Bucket, ChunkKey, ChunkRecord, Redundancy, VersionId};
use rocksdb::WriteBatch;
use std::collections::BTreeSet;

pub(super) fn apply(db: &MetaDb, batch: &mut WriteBatch, cmd: &ReconcileCommand) -> Applied {
    match cmd {
        ReconcileCommand::SetBucketRedundancy { bucket, redundancy } => {
            set_bucket_redundancy(db, batch, bucket, *redundancy)
        }
        ReconcileCommand::ReencodeChunk {
            bucket,
            manifest,
            offset,
            old,
            new,
            record,
        } => reencode_chunk(
            db,
            batch,
            Swap {
                bucket,
                manifest,
                offset: *offset,
                old,
                new,
                record,
            },
        ),
        ReconcileCommand::ReencodeDone { bucket, generation } => {
            let left = finish_reencode(db, batch, bucket, *generation)?;
            if left {
                tracing::info!(
                    bucket,
                    "bucket re-encoded: every chunk is stored as its redundancy says"
                );
            }
            Ok(Ok(MetaResponse::Done))
        }
        _ => Ok(Err(MetaError::Internal("not a re-encoding command".into()))),
    }
}

fn set_bucket_redundancy(
    db: &MetaDb,
    batch: &mut WriteBatch,
    name: &str,
    redundancy: Redundancy,
) -> Applied {
    let Some(mut bucket) = db.get::<Bucket>(CF_BUCKETS, name.as_bytes())? else {
        return Ok(Err(MetaError::NoSuchBucket));
    };
    if bucket.redundancy == redundancy {
        return Ok(Ok(MetaResponse::Done));
    }
    let width = redundancy.width();
    let placeable = layout_state(db)?
        .current
        .map(|l| (l.epoch, l.placeable_nodes()));
    match placeable {
        Some((_, n)) if n >= width => {}
        Some((epoch, n)) => {
            return Ok(Err(MetaError::InvalidRequest(format!(
                "{redundancy} puts each chunk on {width} storage nodes; the layout (epoch {epoch}) \
                 has {n} with capacity: add nodes first (`cairn admin node assign`, \
                 `cairn admin layout apply`)"
            ))));
        }
        None => {
            return Ok(Err(MetaError::InvalidRequest(
                "no layout is applied yet: apply one first (`cairn admin layout apply`)".into(),
            )));
        }
    }
    tracing::info!(bucket = name, from = %bucket.redundancy, to = %redundancy, "bucket redundancy changed; re-encoding its chunks");
    bucket.redundancy = redundancy;
    batch.put_cf(db.cf(CF_BUCKETS)?, name.as_bytes(), encode(&bucket)?);
    start_reencode(db, batch, name, redundancy)?;
    Ok(Ok(MetaResponse::Done))
}

/// One chunk re-encoded, as its mover asks to commit it.
struct Swap<'a> {
    bucket: &'a str,
    manifest: &'a VersionId,
    offset: u64,
    old: &'a ChunkKey,
    new: &'a ChunkKey,
    record: &'a ChunkRecord,
}

fn refused(why: String) -> Applied {
    tracing::debug!(why, "re-encoded chunk refused");
    Ok(Err(MetaError::PreconditionFailed))
}

fn reencode_chunk(db: &MetaDb, batch: &mut WriteBatch, s: Swap) -> Applied {
    let Some(row) = object_chunk_row(db, s.manifest, s.offset)? else {
        return refused(format!("{} has no chunk at {}", s.manifest, s.offset));
    };
    if row.key != *s.old {
        return refused(format!(
            "the chunk of {} at {} is {}, not {}",
            s.manifest, s.offset, row.key, s.old
        ));
    }
    let Some(old_record) = chunk_record(db, s.old)? else {
        return refused(format!("chunk {} has no record", s.old));
    };
    let (was, now) = (&old_record.chunk, &s.record.chunk);
    if now.len != was.len || now.hash != was.hash || row.len != now.len {
        return refused(format!("the re-encoded {} holds other bytes", s.old));
    }
    if ChunkKey::of_ref(now) != *s.new || !s.record.is_full_width() {
        return refused(format!("the record of {} is not a whole chunk", s.new));
    }
    if chunk_record(db, s.new)?.is_some() {
        return refused(format!("chunk {} is already recorded", s.new));
    }
    if let Err(e) = check_fresh(db, [s.new.version])? {
        return Ok(Err(e));
    }
    // The manifest's data versions before and after the swap.
    let rows = object_chunks(db, s.manifest, 0, u64::MAX, usize::MAX)?;
    let versions = |swapped: bool| {
        let mut out: BTreeSet<VersionId> = rows
            .iter()
            .map(|(offset, r)| match *offset == s.offset && swapped {
                true => s.new.version,
                false => r.key.version,
            })
            .collect();
        out.insert(*s.manifest);
        out
    };
    // No holder left (the object was deleted; its rows wait for the
    // collector's grace): nothing would reference the new chunk.
    if manifest_versions_changed(db, batch, s.manifest, &versions(false), &versions(true))? == 0 {
        return refused(format!("{} is no longer stored", s.manifest));
    }
    put_object_chunk_row(
        db,
        batch,
        s.manifest,
        s.offset,
        &ObjectChunk {
            key: *s.new,
            len: row.len,
        },
    )?;
    put_record(db, batch, s.new, None, s.record)?;
    drop_record(db, batch, s.old, &old_record)?;
    // Meta's applied clock, never a voter's wall clock.
    let at = crate::store::write_ids::clock(db)?;
    retire(db, batch, s.old, at)?;
    add_reencoded(db, batch, s.bucket, now.len)?;
    Ok(Ok(MetaResponse::Done))
}

#[cfg(test)]
#[path = "reencode_tests.rs"]
mod tests;
