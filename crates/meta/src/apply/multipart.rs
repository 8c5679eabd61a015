//! Multipart upload commands: creating an upload, storing its parts,
//! completing it into an object (S3's rules on the part list are in
//! `assemble`) and aborting it. A completed object takes over the references
//! of the parts it is made of; the parts it leaves out become garbage.

use super::objects::check_condition;
use super::outcome::{Applied, misrouted};
use super::{extras, versioning};
use crate::store::data_refs::{check_fresh, part_replaced, part_versions};
use crate::store::db::{CF_BUCKETS, CF_OBJECTS, CF_PARTS, CF_UPLOADS, DbError, MetaDb, encode};
use crate::store::keys::{object_key, part_key, upload_key};
use crate::store::parts::upload_parts;
use cairn_rpc::{CompletedPart, MetaCommand, MetaError, MetaResponse, WriteCondition};
use cairn_types::limits::MIN_PART_SIZE;
use cairn_types::{
    Bucket, CODEC_REPLICATION_V1, CODEC_RS_GF256_V1, ChunkRef, ObjectData, ObjectManifest,
    PartRecord, StoredChecksum, UnixMillis, UploadExtras, UploadRecord, VersionId, codec_of,
};
use md5::{Digest, Md5};
use rocksdb::WriteBatch;

/// Applies a multipart upload command (see `dispatch`).
pub(super) fn apply(db: &MetaDb, batch: &mut WriteBatch, cmd: &MetaCommand) -> Applied {
    match cmd {
        MetaCommand::CreateUpload(upload) => {
            extras::create_upload(db, batch, upload, &UploadExtras::default())
        }
        MetaCommand::CreateUploadWithExtras { upload, extras } => {
            extras::create_upload(db, batch, upload, extras)
        }
        MetaCommand::PutPart {
            bucket,
            key,
            upload_id,
            part,
        } => put_part(db, batch, bucket, key, upload_id, part, None),
        MetaCommand::PutPartWithChecksum {
            bucket,
            key,
            upload_id,
            part,
            checksum,
        } => put_part(
            db,
            batch,
            bucket,
            key,
            upload_id,
            part,
            Some(checksum.as_ref()),
        ),
        MetaCommand::CompleteUpload {
            bucket,
            key,
            upload_id,
            parts,
            version,
            last_modified,
            condition,
        } => complete_upload(
            db,
            batch,
            bucket,
            key,
            upload_id,
            parts,
            None,
            *version,
            *last_modified,
            condition,
        ),
        MetaCommand::CompleteUploadWithChecksums {
            bucket,
            key,
            upload_id,
            parts,
            part_checksums,
            object_checksum,
            version,
            last_modified,
            condition,
        } => complete_upload(
            db,
            batch,
            bucket,
            key,
            upload_id,
            parts,
            Some((part_checksums, object_checksum.as_ref())),
            *version,
            *last_modified,
            condition,
        ),
        MetaCommand::AbortUpload {
            bucket,
            key,
            upload_id,
        } => abort_upload(db, batch, bucket, key, upload_id),
        _ => misrouted(),
    }
}

fn abort_upload(
    db: &MetaDb,
    batch: &mut WriteBatch,
    bucket: &str,
    key: &str,
    upload_id: &VersionId,
) -> Applied {
    let upload = match find_upload(db, bucket, key, upload_id)? {
        Ok(u) => u,
        Err(e) => return Ok(Err(e)),
    };
    let parts = remove_upload(db, batch, &upload)?;
    Ok(Ok(MetaResponse::Aborted { parts }))
}

/// UploadPart. `checksum` is None for the command without one (the part
/// keeps no checksum) and Some(the verified checksum, if any) otherwise.
#[allow(clippy::too_many_arguments)]
fn put_part(
    db: &MetaDb,
    batch: &mut WriteBatch,
    bucket: &str,
    key: &str,
    upload_id: &VersionId,
    part: &PartRecord,
    checksum: Option<Option<&StoredChecksum>>,
) -> Applied {
    let upload = match find_upload(db, bucket, key, upload_id)? {
        Ok(u) => u,
        Err(e) => return Ok(Err(e)),
    };
    let pk = part_key(upload_id, part.part_number);
    let replaced = db.get::<PartRecord>(CF_PARTS, &pk)?;
    if replaced.as_ref() == Some(part) {
        // Applied again (a retry): nothing is replaced this time, and
        // its versions are referenced already, whatever the horizon.
        return Ok(Ok(MetaResponse::PartStored { replaced: None }));
    }
    let kept = match checksum {
        None => None,
        Some(given) => match extras::part_checksum_to_keep(db, &upload, given)? {
            Ok(kept) => kept,
            Err(e) => return Ok(Err(e)),
        },
    };
    if let Err(e) = check_fresh(db, part_versions(part))? {
        return Ok(Err(e));
    }
    part_replaced(db, batch, &pk, replaced.as_ref(), Some(part))?;
    // The part's chunks get their placement records now, so they can be
    // repaired before the upload completes; the object takes them over.
    let codec = if part.chunks.iter().any(|c| c.data_pieces > 0) {
        cairn_types::CODEC_RS_GF256_V1
    } else {
        cairn_types::CODEC_REPLICATION_V1
    };
    crate::store::chunks::place_chunks(db, batch, bucket, codec, &part.chunks)?;
    extras::write_part_checksum(db, batch, &pk, kept.as_ref())?;
    batch.put_cf(db.cf(CF_PARTS)?, pk, encode(part)?);
    Ok(Ok(MetaResponse::PartStored { replaced }))
}

fn find_upload(
    db: &MetaDb,
    bucket: &str,
    key: &str,
    upload_id: &VersionId,
) -> Result<Result<UploadRecord, MetaError>, DbError> {
    match db.get::<UploadRecord>(CF_UPLOADS, &upload_key(bucket, upload_id))? {
        Some(u) if u.key == key => Ok(Ok(u)),
        _ => Ok(Err(MetaError::NoSuchUpload)),
    }
}

/// Deletes an upload and its parts; returns the parts (their shards become garbage).
pub(super) fn remove_upload(
    db: &MetaDb,
    batch: &mut WriteBatch,
    upload: &UploadRecord,
) -> Result<Vec<PartRecord>, DbError> {
    let parts = upload_parts(db, &upload.upload_id)?;
    let cf_parts = db.cf(CF_PARTS)?;
    for p in &parts {
        let pk = part_key(&upload.upload_id, p.part_number);
        part_replaced(db, batch, &pk, Some(p), None)?;
        extras::write_part_checksum(db, batch, &pk, None)?;
        batch.delete_cf(cf_parts, pk);
    }
    extras::drop_upload_extras(db, batch, upload)?;
    batch.delete_cf(
        db.cf(CF_UPLOADS)?,
        upload_key(&upload.bucket, &upload.upload_id),
    );
    Ok(parts)
}

#[allow(clippy::too_many_arguments)]
fn complete_upload(
    db: &MetaDb,
    batch: &mut WriteBatch,
    bucket: &str,
    key: &str,
    upload_id: &VersionId,
    requested: &[CompletedPart],
    checksums: Option<(&[Option<StoredChecksum>], Option<&StoredChecksum>)>,
    version: VersionId,
    last_modified: UnixMillis,
    condition: &WriteCondition,
) -> Applied {
    let ok = object_key(bucket, key);
    // The command with checksums answers with the object's extras.
    let answer = |manifest, extras, replaced, unused_parts, version_id| match checksums {
        None => MetaResponse::Completed {
            manifest,
            replaced,
            unused_parts,
        },
        Some(_) => MetaResponse::CompletedWithExtras {
            manifest,
            extras,
            replaced,
            unused_parts,
            version_id,
        },
    };
    let upload = match find_upload(db, bucket, key, upload_id)? {
        Ok(u) => u,
        Err(e) => {
            // Completed already by this very command (a retry): the upload is
            // gone and its version is stored.
            let current = db.get::<ObjectManifest>(CF_OBJECTS, &ok)?;
            return match versioning::already_written(db, current.as_ref(), bucket, key, version)? {
                Some((manifest, extras, version_id)) => {
                    Ok(Ok(answer(manifest, extras, None, Vec::new(), version_id)))
                }
                None => Ok(Err(e)),
            };
        }
    };
    let stored = upload_parts(db, upload_id)?;
    // The object's chunks were written with the bucket's redundancy; the
    // manifest records that codec, which reads decode by.
    let Some(bucket_record) = db.get::<Bucket>(CF_BUCKETS, bucket.as_bytes())? else {
        return Ok(Err(MetaError::NoSuchBucket));
    };
    let codec = bucket_record.redundancy.codec();
    let manifest = match assemble(&upload, &stored, requested, version, last_modified, codec) {
        Ok(m) => m,
        Err(e) => return Ok(Err(e)),
    };
    let object_extras =
        match extras::completed_extras(db, &upload, requested, &manifest.part_sizes, checksums)? {
            Ok(e) => e,
            Err(e) => return Ok(Err(e)),
        };
    let current = db.get::<ObjectManifest>(CF_OBJECTS, &ok)?;
    if let Err(e) = check_condition(current.as_ref(), condition) {
        return Ok(Err(e));
    }
    let all_parts = remove_upload(db, batch, &upload)?;
    let unused_parts = all_parts
        .into_iter()
        // `requested` is in ascending order (`assemble` checked it).
        .filter(|p| {
            requested
                .binary_search_by_key(&p.part_number, |r| r.part_number)
                .is_err()
        })
        .collect();
    // The object takes over the references of the parts it is made of.
    let written =
        versioning::write_current(db, batch, current.as_ref(), &manifest, &object_extras)?;
    // Answered as it is stored (and as a retry reads it back): without the
    // chunk list, which the answer would otherwise carry whole.
    Ok(Ok(answer(
        crate::store::chunks::placed_form(&manifest),
        object_extras,
        written.replaced,
        unused_parts,
        written.version_id,
    )))
}

/// Builds the object manifest of a completed upload from its stored parts,
/// enforcing S3's rules on the requested part list.
fn assemble(
    upload: &UploadRecord,
    stored: &[PartRecord],
    requested: &[CompletedPart],
    version: VersionId,
    last_modified: UnixMillis,
    codec: u16,
) -> Result<ObjectManifest, MetaError> {
    if requested.is_empty() {
        return Err(MetaError::InvalidPart(0));
    }
    let mut md5_concat = Md5::new();
    let mut chunks = Vec::new();
    let mut part_sizes = Vec::with_capacity(requested.len());
    // S3 checks the order of the whole list before looking at any part.
    if requested
        .windows(2)
        .any(|w| w[1].part_number <= w[0].part_number)
    {
        return Err(MetaError::InvalidPartOrder);
    }
    // `stored` is in part-number order, one record per number (the table is
    // keyed so), so each requested part is found by binary search: O(n log m)
    // inside the Raft apply, not O(n·m).
    debug_assert!(
        stored
            .windows(2)
            .all(|w| w[0].part_number < w[1].part_number)
    );
    let found = requested
        .iter()
        .map(|want| {
            stored
                .binary_search_by_key(&want.part_number, |p| p.part_number)
                .ok()
                .map(|i| &stored[i])
                .filter(|p| p.etag == want.etag)
                .ok_or(MetaError::InvalidPart(want.part_number))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (i, part) in found.into_iter().enumerate() {
        let is_last = i + 1 == requested.len();
        if !is_last && part.size < MIN_PART_SIZE {
            return Err(MetaError::EntityTooSmall(part.part_number));
        }
        let digest =
            hex::decode(&part.etag).map_err(|_| MetaError::InvalidPart(part.part_number))?;
        md5_concat.update(&digest);
        // A part written before the bucket's redundancy changed keeps its
        // shape; the object is marked for re-encoding when stored.
        if part.chunks.iter().any(|c| !well_formed(c)) {
            return Err(MetaError::InvalidRequest(format!(
                "part {} has a chunk of no known shape; upload it again",
                part.part_number
            )));
        }
        chunks.extend(part.chunks.iter().cloned());
        part_sizes.push(part.size);
    }
    let etag = format!("{}-{}", hex::encode(md5_concat.finalize()), requested.len());
    Ok(ObjectManifest {
        bucket: upload.bucket.clone(),
        key: upload.key.clone(),
        version,
        size: part_sizes.iter().sum(),
        etag,
        last_modified,
        headers: upload.headers.clone(),
        data: ObjectData::Chunked { codec, chunks },
        part_sizes,
    })
}

/// Whether `chunk`'s pieces have a shape a codec writes: whole replicas
/// (no pieces), or data and parity pieces.
fn well_formed(chunk: &ChunkRef) -> bool {
    match codec_of(chunk) {
        CODEC_REPLICATION_V1 => chunk.pieces.is_empty(),
        CODEC_RS_GF256_V1 => chunk.pieces.len() > usize::from(chunk.data_pieces),
        _ => false,
    }
}

#[cfg(test)]
#[path = "multipart_tests.rs"]
mod tests;
