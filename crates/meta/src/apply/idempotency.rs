//! Exactly-once writes: applying `MetaCommand::Idempotent`. The first
//! application under a write id applies the command and keeps its answer
//! (`store::write_ids`); any later one — a client's retry of a write whose
//! first attempt was applied unseen — changes nothing and gets that answer,
//! even when other writes changed the record in between (a retried PUT no
//! longer brings back an object deleted meanwhile; a retried
//! CompleteMultipartUpload no longer answers NoSuchUpload).
//!
//! A completed multipart upload's answer is also kept under an id derived
//! from its upload id (`completion_id`), so the client's own second
//! CompleteMultipartUpload — a new request after a lost answer — gets the
//! first success too.
//!
//! What is kept is the first answer without the bulk no caller reads
//! (`remembered`), so records stay small whatever the object.

use super::outcome::Applied;
use crate::store::db::{DbError, MetaDb};
use crate::store::write_ids::{self, WriteRecord};
use cairn_rpc::{DeleteOutcome, MetaCommand, MetaError, MetaResponse, WriteId};
use cairn_types::{ObjectData, ObjectManifest, VersionId};
use rocksdb::WriteBatch;

/// What the idempotent writes of one log entry did, for `finish_entry`.
#[derive(Debug, Default)]
pub(super) struct EntryWrites {
    /// The latest stamp among them.
    max_stamp: Option<u64>,
    /// Records added.
    recorded: u64,
}

/// Applies `command` under write id `id` once (see the module doc);
/// `apply` applies a plain command.
pub(super) fn apply_once(
    db: &MetaDb,
    batch: &mut WriteBatch,
    (id, stamped_ms): (&WriteId, u64),
    command: &MetaCommand,
    entry: &mut EntryWrites,
    apply: impl FnOnce(&MetaDb, &mut WriteBatch, &MetaCommand) -> Applied,
) -> Applied {
    entry.max_stamp = Some(entry.max_stamp.map_or(stamped_ms, |m| m.max(stamped_ms)));
    if matches!(
        command,
        MetaCommand::Batch(_) | MetaCommand::Idempotent { .. }
    ) {
        return Ok(Err(MetaError::Internal(
            "an idempotent write may hold neither a batch nor another idempotent write".into(),
        )));
    }
    if let Some(first) = write_ids::get(db, id)? {
        return Ok(first.answer);
    }
    // A CompleteMultipartUpload sent again by the client (its own request,
    // so its own write id) after the first one completed the upload: the
    // first success, as AWS answers it, not NoSuchUpload.
    let completion = command.completed_upload();
    if let Some((bucket, key, upload_id)) = completion
        && let Some(done) = write_ids::get(db, &completion_id(upload_id))?
        && names_object(&done.answer, bucket, key)
    {
        return Ok(done.answer);
    }
    let answer = apply(db, batch, command)?;
    let record = WriteRecord {
        recorded_ms: write_ids::clock(db)?.max(stamped_ms),
        answer: remembered(&answer),
    };
    write_ids::put(db, batch, id, &record)?;
    entry.recorded += 1;
    if let (Some((_, _, upload_id)), Ok(_)) = (completion, &answer) {
        write_ids::put(db, batch, &completion_id(upload_id), &record)?;
        entry.recorded += 1;
    }
    Ok(answer)
}

/// The id the success of completing `upload_id` is kept under (beside the
/// completing write's own), for as long as write answers are kept
/// (`WRITE_ID_WINDOW_MS`): derived, so no client's random id meets it.
pub fn completion_id(upload_id: &VersionId) -> WriteId {
    use sha2::Digest;
    let digest = sha2::Sha256::new()
        .chain_update(b"cairn: completed multipart upload\0")
        .chain_update(upload_id.as_bytes())
        .finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    WriteId(id)
}

/// Whether a kept completion answer is of the object at `bucket`/`key`
/// (an upload id sent with another key is NoSuchUpload, as at AWS).
fn names_object(answer: &Result<MetaResponse, MetaError>, bucket: &str, key: &str) -> bool {
    match answer {
        Ok(
            MetaResponse::Completed { manifest, .. }
            | MetaResponse::CompletedWithExtras { manifest, .. },
        ) => manifest.bucket == bucket && manifest.key == key,
        _ => false,
    }
}

/// After every command of an entry: advances the table's clock and expires
/// old records (nothing when the entry held no idempotent write).
pub(super) fn finish_entry(
    db: &MetaDb,
    batch: &mut WriteBatch,
    entry: &EntryWrites,
) -> Result<(), DbError> {
    match entry.max_stamp {
        Some(stamp) => write_ids::advance(db, batch, stamp, entry.recorded, write_ids::WRITE_IDS),
        None => Ok(()),
    }
}

/// A manifest as a kept answer names it: everything but its chunk list,
/// inline bytes and part sizes.
fn slim(m: &ObjectManifest) -> ObjectManifest {
    ObjectManifest {
        data: match &m.data {
            ObjectData::Inline(_) => ObjectData::Inline(Vec::new()),
            ObjectData::Chunked { codec, .. } => ObjectData::Chunked {
                codec: *codec,
                chunks: Vec::new(),
            },
            ObjectData::Placed { codec, chunks } => ObjectData::Placed {
                codec: *codec,
                chunks: *chunks,
            },
        },
        part_sizes: Vec::new(),
        bucket: m.bucket.clone(),
        key: m.key.clone(),
        version: m.version,
        size: m.size,
        etag: m.etag.clone(),
        last_modified: m.last_modified,
        headers: m.headers.clone(),
    }
}

/// The answer kept for repeats: the first answer without what no caller
/// reads and what could make a record large — the chunk lists, inline
/// bytes and part sizes of the manifests it names, the lists of released
/// parts, and the per-part checksums of a completed upload. Every field a
/// caller acts on (version ids, ETags, the object checksum, whether
/// something was replaced or removed) stays.
pub(super) fn remembered(
    answer: &Result<MetaResponse, MetaError>,
) -> Result<MetaResponse, MetaError> {
    let Ok(resp) = answer else {
        return answer.clone();
    };
    Ok(match resp {
        MetaResponse::Replaced(m) => MetaResponse::Replaced(m.as_ref().map(slim)),
        MetaResponse::Completed {
            manifest, replaced, ..
        } => MetaResponse::Completed {
            manifest: slim(manifest),
            replaced: replaced.as_ref().map(slim),
            unused_parts: Vec::new(),
        },
        MetaResponse::Aborted { .. } => MetaResponse::Aborted { parts: Vec::new() },
        MetaResponse::CompletedWithExtras {
            manifest,
            extras,
            replaced,
            version_id,
            ..
        } => {
            let mut extras = extras.clone();
            extras.part_checksums.clear();
            MetaResponse::CompletedWithExtras {
                manifest: slim(manifest),
                extras,
                replaced: replaced.as_ref().map(slim),
                unused_parts: Vec::new(),
                version_id: *version_id,
            }
        }
        MetaResponse::Written {
            replaced,
            version_id,
        } => MetaResponse::Written {
            replaced: replaced.as_ref().map(slim),
            version_id: *version_id,
        },
        MetaResponse::Deleted(d) => MetaResponse::Deleted(DeleteOutcome {
            removed: d.removed.as_ref().map(slim),
            ..d.clone()
        }),
        MetaResponse::PartStored { replaced } => MetaResponse::PartStored {
            replaced: replaced.as_ref().map(|p| cairn_types::PartRecord {
                chunks: Vec::new(),
                ..p.clone()
            }),
        },
        other => other.clone(),
    })
}

#[cfg(test)]
#[path = "idempotency_tests.rs"]
mod tests;
