//! Applying one `MetaCommand` to the state machine's tables. This is where
//! every metadata decision is made (bucket exists? precondition holds? parts
//! valid?), from the command and the current state only, so every voter that
//! applies the same log reaches the same state and the same answers. Writes
//! go into the `WriteBatch` the caller commits atomically with the applied id.

use crate::db::{
    CF_BUCKET_CORS, CF_BUCKET_LIFECYCLE, CF_BUCKET_VERSIONING, CF_BUCKETS, CF_KEYS, CF_NODES,
    CF_OBJECT_EXTRAS, CF_OBJECT_VERSIONS, CF_OBJECTS, CF_PARTS, CF_UPLOADS, DbError, MetaDb,
    encode,
};
use crate::keys::{bucket_prefix, object_key, part_key, upload_key};
use crate::refs;
use cairn_rpc::{
    CompletedPart, MetaCommand, MetaError, MetaResponse, WriteCondition,
};
use cairn_types::limits::MIN_PART_SIZE;
use cairn_types::{
    Bucket, CODEC_REPLICATION_V1, CODEC_RS_GF256_V1, ObjectData, ObjectExtras, ObjectManifest, PartRecord,
    StoredChecksum, UnixMillis, UploadExtras, UploadRecord, VersionId,
};
use md5::{Digest, Md5};
use rocksdb::WriteBatch;

/// The outcome of a command: the S3-level answer, or a storage failure that
/// must stop the state machine.
pub type Applied = Result<Result<MetaResponse, MetaError>, DbError>;

pub fn apply_command(db: &MetaDb, batch: &mut WriteBatch, cmd: &MetaCommand) -> Applied {
    match cmd {
        MetaCommand::Batch(cmds) => apply_batch(db, batch, cmds),
        MetaCommand::CreateBucket(bucket) => create_bucket(db, batch, bucket),
        MetaCommand::DeleteBucket { name } => delete_bucket(db, batch, name),
        MetaCommand::PutAccessKey(key) => {
            batch.put_cf(db.cf(CF_KEYS)?, key.access_key_id.as_bytes(), encode(key)?);
            Ok(Ok(MetaResponse::Done))
        }
        MetaCommand::RegisterNode(node) => {
            batch.put_cf(db.cf(CF_NODES)?, node.id.to_be_bytes(), encode(node)?);
            Ok(Ok(MetaResponse::Done))
        }
        MetaCommand::PutObject {
            manifest,
            condition,
        } => put_object(
            db,
            batch,
            manifest,
            condition,
            &ObjectExtras::default(),
            PutAnswer::Replaced,
        ),
        MetaCommand::PutObjectWithExtras {
            manifest,
            condition,
            extras,
        } => put_object(db, batch, manifest, condition, extras, PutAnswer::Written),
        MetaCommand::SetObjectTags { bucket, key, tags } => {
            versioning::set_tags(db, batch, bucket, key, None, tags, false)
        }
        MetaCommand::SetObjectVersionTags {
            bucket,
            key,
            version,
            tags,
        } => versioning::set_tags(db, batch, bucket, key, *version, tags, true),
        MetaCommand::SetBucketVersioning { bucket, status } => {
            versioning::set_status(db, batch, bucket, *status)
        }
        MetaCommand::DeleteObjectVersion {
            bucket,
            key,
            version,
            if_match,
            marker,
            last_modified,
        } => versioning::delete(
            db,
            batch,
            bucket,
            key,
            *version,
            if_match.as_deref(),
            *marker,
            *last_modified,
        ),
        MetaCommand::ExpireVersion {
            bucket,
            key,
            target,
            marker,
            now,
        } => versioning::expire(db, batch, bucket, key, target, *marker, *now),
        MetaCommand::SetBucketTags { bucket, tags } => {
            extras::set_bucket_tags(db, batch, bucket, tags)
        }
        MetaCommand::CreateUploadWithExtras { upload, extras } => {
            extras::create_upload(db, batch, upload, extras)
        }
        MetaCommand::DeleteObject {
            bucket,
            key,
            if_match,
        } => delete_object(db, batch, bucket, key, if_match.as_deref()),
        MetaCommand::CreateUpload(upload) => {
            extras::create_upload(db, batch, upload, &UploadExtras::default())
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
        } => {
            let upload = match find_upload(db, bucket, key, upload_id)? {
                Ok(u) => u,
                Err(e) => return Ok(Err(e)),
            };
            let parts = remove_upload(db, batch, &upload)?;
            Ok(Ok(MetaResponse::Aborted { parts }))
        }
        MetaCommand::AdvanceGcHorizon { horizon_ms } => Ok(Ok(MetaResponse::GcHorizon(
            refs::advance_horizon(db, batch, *horizon_ms)?,
        ))),
        MetaCommand::StageLayout(change) => crate::layout::stage(db, batch, change),
        MetaCommand::ApplyLayout(layout) => crate::layout::apply(db, batch, layout),
        MetaCommand::SetBucketLifecycle { bucket, config } => {
            if db.get::<Bucket>(CF_BUCKETS, bucket.as_bytes())?.is_none() {
                return Ok(Err(MetaError::NoSuchBucket));
            }
            let cf = db.cf(CF_BUCKET_LIFECYCLE)?;
            match config {
                Some(c) => batch.put_cf(cf, bucket.as_bytes(), encode(c)?),
                None => batch.delete_cf(cf, bucket.as_bytes()),
            }
            Ok(Ok(MetaResponse::Done))
        }
        MetaCommand::ExpireObject {
            bucket,
            key,
            version,
        } => {
            // (Superseded by ExpireVersion; a bucket with versioning needs a
            // delete marker, which this command cannot name.)
            if crate::versions::status(db, bucket)?.is_some() {
                return Ok(Ok(MetaResponse::Replaced(None)));
            }
            let ok = object_key(bucket, key);
            match db.get::<ObjectManifest>(CF_OBJECTS, &ok)? {
                Some(current) if current.version == *version => {
                    remove_object(db, batch, ok, &current)?;
                    Ok(Ok(MetaResponse::Replaced(Some(current))))
                }
                // Overwritten or deleted since: nothing to expire.
                _ => Ok(Ok(MetaResponse::Replaced(None))),
            }
        }
        MetaCommand::SetBucketCors { bucket, config } => {
            if db.get::<Bucket>(CF_BUCKETS, bucket.as_bytes())?.is_none() {
                return Ok(Err(MetaError::NoSuchBucket));
            }
            let cf = db.cf(CF_BUCKET_CORS)?;
            match config {
                Some(c) => batch.put_cf(cf, bucket.as_bytes(), encode(c)?),
                None => batch.delete_cf(cf, bucket.as_bytes()),
            }
            Ok(Ok(MetaResponse::Done))
        }
    }
}

/// Applies a group of commands into one write batch. The batcher only groups
/// commands whose records are disjoint (`crate::write_batcher::conflict_keys`),
/// so each may read the state as it was before the batch: applying them one
/// after another would decide the same. That is checked here again, since a
/// log entry is the state machine's input and must never be trusted blindly.
fn apply_batch(db: &MetaDb, batch: &mut WriteBatch, cmds: &[MetaCommand]) -> Applied {
    if !crate::write_batcher::can_share_entry(cmds) {
        return Ok(Err(MetaError::Internal(
            "a batch of conflicting commands was refused".into(),
        )));
    }
    let mut answers = Vec::with_capacity(cmds.len());
    for cmd in cmds {
        answers.push(apply_command(db, batch, cmd)?);
    }
    Ok(Ok(MetaResponse::Batch(answers)))
}

fn create_bucket(db: &MetaDb, batch: &mut WriteBatch, bucket: &Bucket) -> Applied {
    match db.get::<Bucket>(CF_BUCKETS, bucket.name.as_bytes())? {
        // The same command applied again (a client retry after an unknown outcome).
        Some(existing) if existing == *bucket => return Ok(Ok(MetaResponse::Done)),
        // Every access key belongs to the one account of the cluster.
        Some(_) => return Ok(Err(MetaError::BucketAlreadyOwnedByYou)),
        None => {}
    }
    batch.put_cf(db.cf(CF_BUCKETS)?, bucket.name.as_bytes(), encode(bucket)?);
    Ok(Ok(MetaResponse::Done))
}

fn delete_bucket(db: &MetaDb, batch: &mut WriteBatch, name: &str) -> Applied {
    if db.get::<Bucket>(CF_BUCKETS, name.as_bytes())?.is_none() {
        return Ok(Err(MetaError::NoSuchBucket));
    }
    let prefix = bucket_prefix(name);
    let mut objects = db.db.raw_iterator_cf(db.cf(CF_OBJECTS)?);
    objects.seek(&prefix);
    if objects.valid() && objects.key().is_some_and(|k| k.starts_with(&prefix)) {
        return Ok(Err(MetaError::BucketNotEmpty));
    }
    objects.status()?;
    // Noncurrent versions and delete markers keep a bucket too.
    let mut versions = db.db.raw_iterator_cf(db.cf(CF_OBJECT_VERSIONS)?);
    versions.seek(&prefix);
    if versions.valid() && versions.key().is_some_and(|k| k.starts_with(&prefix)) {
        return Ok(Err(MetaError::BucketNotEmpty));
    }
    versions.status()?;
    // Uploads still in progress go with the bucket.
    let mut uploads = db.db.raw_iterator_cf(db.cf(CF_UPLOADS)?);
    uploads.seek(&prefix);
    let mut doomed = Vec::new();
    while uploads.valid() {
        match (uploads.key(), uploads.value()) {
            (Some(k), Some(v)) if k.starts_with(&prefix) => {
                doomed.push(crate::db::decode::<UploadRecord>(v)?)
            }
            _ => break,
        }
        uploads.next();
    }
    uploads.status()?;
    for upload in &doomed {
        remove_upload(db, batch, upload)?;
    }
    batch.delete_cf(db.cf(CF_BUCKET_CORS)?, name.as_bytes());
    batch.delete_cf(db.cf(CF_BUCKET_LIFECYCLE)?, name.as_bytes());
    batch.delete_cf(db.cf(CF_BUCKET_VERSIONING)?, name.as_bytes());
    extras::drop_bucket_tags(db, batch, name)?;
    batch.delete_cf(db.cf(CF_BUCKETS)?, name.as_bytes());
    Ok(Ok(MetaResponse::Done))
}

/// Checks `condition` against the current object; Err is the S3 answer.
fn check_condition(
    current: Option<&ObjectManifest>,
    condition: &WriteCondition,
) -> Result<(), MetaError> {
    match (condition, current) {
        (WriteCondition::Always, _) => Ok(()),
        (WriteCondition::IfNoneMatchAny, None) => Ok(()),
        (WriteCondition::IfNoneMatchAny, Some(_)) => Err(MetaError::PreconditionFailed),
        (WriteCondition::IfMatch(_), None) => Err(MetaError::NoSuchKey),
        (WriteCondition::IfMatch(etag), Some(cur)) if cur.etag == *etag => Ok(()),
        (WriteCondition::IfMatch(_), Some(_)) => Err(MetaError::PreconditionFailed),
    }
}

/// How a PutObject command answers: the plain command with `Replaced`, the
/// one with extras with `Written` (which carries the version id).
#[derive(Clone, Copy)]
enum PutAnswer {
    Replaced,
    Written,
}

fn put_object(
    db: &MetaDb,
    batch: &mut WriteBatch,
    manifest: &ObjectManifest,
    condition: &WriteCondition,
    extras: &ObjectExtras,
    answer: PutAnswer,
) -> Applied {
    let answer = |replaced, version_id| match answer {
        PutAnswer::Replaced => MetaResponse::Replaced(replaced),
        PutAnswer::Written => MetaResponse::Written {
            replaced,
            version_id,
        },
    };
    if db
        .get::<Bucket>(CF_BUCKETS, manifest.bucket.as_bytes())?
        .is_none()
    {
        return Ok(Err(MetaError::NoSuchBucket));
    }
    let ok = object_key(&manifest.bucket, &manifest.key);
    let current = db.get::<ObjectManifest>(CF_OBJECTS, &ok)?;
    if let Some((_, _, version_id)) = versioning::already_written(
        db,
        current.as_ref(),
        &manifest.bucket,
        &manifest.key,
        manifest.version,
    )? {
        // This very version is stored already: the command is applied again
        // (a retry after an unknown outcome), and answers as it did the first time.
        return Ok(Ok(answer(None, version_id)));
    }
    if let Err(e) = check_condition(current.as_ref(), condition) {
        return Ok(Err(e));
    }
    if let Err(e) = refs::check_fresh(db, refs::manifest_versions(manifest))? {
        return Ok(Err(e));
    }
    // The new object's extras replace the old one's (none: the row goes).
    let written = versioning::write_current(db, batch, current.as_ref(), manifest, extras)?;
    Ok(Ok(answer(written.replaced, written.version_id)))
}

fn delete_object(
    db: &MetaDb,
    batch: &mut WriteBatch,
    bucket: &str,
    key: &str,
    if_match: Option<&str>,
) -> Applied {
    if db.get::<Bucket>(CF_BUCKETS, bucket.as_bytes())?.is_none() {
        return Ok(Err(MetaError::NoSuchBucket));
    }
    if crate::versions::status(db, bucket)?.is_some() {
        return Ok(Err(MetaError::InvalidRequest(
            "a bucket with versioning takes DeleteObjectVersion, which names its delete marker"
                .into(),
        )));
    }
    let ok = object_key(bucket, key);
    let current = db.get::<ObjectManifest>(CF_OBJECTS, &ok)?;
    if let Some(etag) = if_match
        && let Err(e) =
            check_condition(current.as_ref(), &WriteCondition::IfMatch(etag.to_string()))
    {
        return Ok(Err(e));
    }
    if let Some(cur) = &current {
        remove_object(db, batch, ok, cur)?;
    }
    Ok(Ok(MetaResponse::Replaced(current)))
}

/// Deletes the current object `current` stored under `ok`, its extras, and
/// its references (its data becomes garbage).
fn remove_object(
    db: &MetaDb,
    batch: &mut WriteBatch,
    ok: Vec<u8>,
    current: &ObjectManifest,
) -> Result<(), DbError> {
    refs::object_replaced(db, batch, &ok, Some(current), None)?;
    batch.delete_cf(db.cf(CF_OBJECT_EXTRAS)?, &ok);
    batch.delete_cf(db.cf(CF_OBJECTS)?, ok);
    Ok(())
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
    if let Err(e) = refs::check_fresh(db, refs::part_versions(part))? {
        return Ok(Err(e));
    }
    refs::part_replaced(db, batch, &pk, replaced.as_ref(), Some(part))?;
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

/// All parts of an upload, in part-number order.
pub fn upload_parts(db: &MetaDb, upload_id: &VersionId) -> Result<Vec<PartRecord>, DbError> {
    let prefix = upload_id.as_bytes().to_vec();
    let mut it = db.db.raw_iterator_cf(db.cf(CF_PARTS)?);
    it.seek(&prefix);
    let mut out = Vec::new();
    while it.valid() {
        match (it.key(), it.value()) {
            (Some(k), Some(v)) if k.starts_with(&prefix) => out.push(crate::db::decode(v)?),
            _ => break,
        }
        it.next();
    }
    it.status()?;
    Ok(out)
}

/// Deletes an upload and its parts; returns the parts (their shards become garbage).
fn remove_upload(
    db: &MetaDb,
    batch: &mut WriteBatch,
    upload: &UploadRecord,
) -> Result<Vec<PartRecord>, DbError> {
    let parts = upload_parts(db, &upload.upload_id)?;
    let cf_parts = db.cf(CF_PARTS)?;
    for p in &parts {
        let pk = part_key(&upload.upload_id, p.part_number);
        refs::part_replaced(db, batch, &pk, Some(p), None)?;
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
        .filter(|p| !requested.iter().any(|r| r.part_number == p.part_number))
        .collect();
    // The object takes over the references of the parts it is made of.
    let written =
        versioning::write_current(db, batch, current.as_ref(), &manifest, &object_extras)?;
    Ok(Ok(answer(
        manifest,
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
    let found = requested
        .iter()
        .map(|want| {
            stored
                .iter()
                .find(|p| p.part_number == want.part_number && p.etag == want.etag)
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
        if part.chunks.iter().any(|c| !written_with(c, codec)) {
            return Err(MetaError::InvalidRequest(format!(
                "part {} was stored with another redundancy than its bucket's; upload it again",
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

/// Whether `chunk`'s pieces have the shape `codec` writes: whole replicas
/// (no pieces), or data and parity pieces.
fn written_with(chunk: &cairn_types::ChunkRef, codec: u16) -> bool {
    match codec {
        CODEC_REPLICATION_V1 => chunk.pieces.is_empty() && chunk.data_pieces == 0,
        CODEC_RS_GF256_V1 => chunk.data_pieces > 0 && chunk.pieces.len() > usize::from(chunk.data_pieces),
        _ => false,
    }
}

pub mod extras;
mod versioning;

#[cfg(test)]
mod retry_tests;

#[cfg(test)]
mod extras_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn upload() -> UploadRecord {
        UploadRecord {
            upload_id: VersionId::new_random(),
            bucket: "b".into(),
            key: "k".into(),
            initiated: 0,
            headers: Default::default(),
        }
    }

    fn part(n: u32, size: u64, etag: &str) -> PartRecord {
        PartRecord {
            part_number: n,
            etag: etag.into(),
            size,
            last_modified: 0,
            data_version: VersionId::new_random(),
            chunks: vec![],
        }
    }

    fn req(n: u32, etag: &str) -> CompletedPart {
        CompletedPart {
            part_number: n,
            etag: etag.into(),
        }
    }

    const R: u16 = CODEC_REPLICATION_V1;
    const E1: &str = "0123456789abcdef0123456789abcdef";
    const E2: &str = "fedcba9876543210fedcba9876543210";

    #[test]
    fn assemble_enforces_s3_rules() {
        let u = upload();
        let stored = vec![part(1, MIN_PART_SIZE, E1), part(2, 10, E2)];
        let v = VersionId::new_random();
        let m = assemble(&u, &stored, &[req(1, E1), req(2, E2)], v, 0, R).expect("valid");
        assert_eq!(m.size, MIN_PART_SIZE + 10);
        let mut h = Md5::new();
        h.update(hex::decode(E1).expect("hex"));
        h.update(hex::decode(E2).expect("hex"));
        assert_eq!(m.etag, format!("{}-2", hex::encode(h.finalize())));
        assert_eq!(
            assemble(&u, &stored, &[req(2, E2), req(1, E1)], v, 0, R),
            Err(MetaError::InvalidPartOrder)
        );
        assert_eq!(
            assemble(&u, &stored, &[req(1, E2)], v, 0, R),
            Err(MetaError::InvalidPart(1))
        );
        assert_eq!(
            assemble(&u, &stored, &[req(3, E1)], v, 0, R),
            Err(MetaError::InvalidPart(3))
        );
        let small = vec![part(1, 10, E1), part(2, 10, E2)];
        assert_eq!(
            assemble(&u, &small, &[req(1, E1), req(2, E2)], v, 0, R),
            Err(MetaError::EntityTooSmall(1))
        );
        assert_eq!(
            assemble(&u, &stored, &[], v, 0, R),
            Err(MetaError::InvalidPart(0))
        );
    }

    fn chunk(pieces: usize, data_pieces: u8) -> cairn_types::ChunkRef {
        cairn_types::ChunkRef {
            version: VersionId::new_random(),
            part: 1,
            index: 0,
            len: 10,
            hash: [0; 32],
            nodes: if pieces == 0 { vec![1] } else { vec![] },
            pieces: (0..pieces)
                .map(|i| {
                    Some(cairn_types::PieceRef {
                        node: i as u64 + 1,
                        hash: [0; 32],
                    })
                })
                .collect(),
            data_pieces,
        }
    }

    /// A multipart object records the codec its bucket's chunks are written
    /// with (it recorded replication even in erasure-coded buckets), and a
    /// part whose chunks have another shape is refused rather than recorded
    /// under a codec that cannot read it.
    #[test]
    fn assemble_records_the_codec_of_the_bucket() {
        let u = upload();
        let mut ec = part(1, 10, E1);
        ec.chunks = vec![chunk(6, 4)];
        let v = VersionId::new_random();
        let m = assemble(&u, std::slice::from_ref(&ec), &[req(1, E1)], v, 0, CODEC_RS_GF256_V1)
            .expect("valid");
        assert!(matches!(
            m.data,
            ObjectData::Chunked {
                codec: CODEC_RS_GF256_V1,
                ..
            }
        ));
        assert!(matches!(
            assemble(&u, std::slice::from_ref(&ec), &[req(1, E1)], v, 0, R),
            Err(MetaError::InvalidRequest(_))
        ));
        let mut replicated = part(1, 10, E1);
        replicated.chunks = vec![chunk(0, 0)];
        assert!(matches!(
            assemble(&u, &[replicated], &[req(1, E1)], v, 0, CODEC_RS_GF256_V1),
            Err(MetaError::InvalidRequest(_))
        ));
    }
}
