//! Applying what objects, uploads, parts and buckets carry besides their
//! records (tags, checksums; see `cairn_types::extras`). Extras rows are
//! written in the same batch as the record they belong to, so an object
//! overwrite replaces them, a delete removes them, and a completed upload
//! hands its tags and its parts' composite checksum to the object it becomes.

use super::checksums::{composite, full_object_crc};
use super::outcome::Applied;
use crate::store::db::{
    CF_BUCKET_TAGS, CF_BUCKETS, CF_OBJECT_EXTRAS, CF_PART_CHECKSUMS, CF_UPLOAD_EXTRAS, CF_UPLOADS,
    DbError, MetaDb, encode,
};
use crate::store::keys::{part_key, upload_key};
use cairn_rpc::{CompletedPart, MetaError, MetaResponse};
use cairn_types::{
    Bucket, ChecksumAlgorithm, ObjectExtras, StoredChecksum, Tag, UploadExtras, UploadRecord,
};
use rocksdb::WriteBatch;

/// Stores `extras` as the extras of the object under `object_key`; empty
/// extras remove the row.
pub(super) fn write_object_extras(
    db: &MetaDb,
    batch: &mut WriteBatch,
    object_key: &[u8],
    extras: &ObjectExtras,
) -> Result<(), DbError> {
    let cf = db.cf(CF_OBJECT_EXTRAS)?;
    if extras.is_empty() {
        batch.delete_cf(cf, object_key);
    } else {
        batch.put_cf(cf, object_key, encode(extras)?);
    }
    Ok(())
}

/// The extras of the object under `object_key` (empty when it has none).
pub fn object_extras(db: &MetaDb, object_key: &[u8]) -> Result<ObjectExtras, DbError> {
    Ok(db
        .get::<ObjectExtras>(CF_OBJECT_EXTRAS, object_key)?
        .unwrap_or_default())
}

/// PutBucketTagging / DeleteBucketTagging.
pub(super) fn set_bucket_tags(
    db: &MetaDb,
    batch: &mut WriteBatch,
    bucket: &str,
    tags: &[Tag],
) -> Applied {
    if db.get::<Bucket>(CF_BUCKETS, bucket.as_bytes())?.is_none() {
        return Ok(Err(MetaError::NoSuchBucket));
    }
    let cf = db.cf(CF_BUCKET_TAGS)?;
    if tags.is_empty() {
        batch.delete_cf(cf, bucket.as_bytes());
    } else {
        batch.put_cf(cf, bucket.as_bytes(), encode(&tags.to_vec())?);
    }
    Ok(Ok(MetaResponse::Done))
}

/// Removes a bucket's tag set (the bucket is being deleted).
pub(super) fn drop_bucket_tags(
    db: &MetaDb,
    batch: &mut WriteBatch,
    bucket: &str,
) -> Result<(), DbError> {
    batch.delete_cf(db.cf(CF_BUCKET_TAGS)?, bucket.as_bytes());
    Ok(())
}

/// CreateMultipartUpload, with or without extras. Applying it twice stores
/// the same records twice.
pub(super) fn create_upload(
    db: &MetaDb,
    batch: &mut WriteBatch,
    upload: &UploadRecord,
    extras: &UploadExtras,
) -> Applied {
    if db
        .get::<Bucket>(CF_BUCKETS, upload.bucket.as_bytes())?
        .is_none()
    {
        return Ok(Err(MetaError::NoSuchBucket));
    }
    let uk = upload_key(&upload.bucket, &upload.upload_id);
    if !extras.is_empty() {
        batch.put_cf(db.cf(CF_UPLOAD_EXTRAS)?, &uk, encode(extras)?);
    }
    batch.put_cf(db.cf(CF_UPLOADS)?, uk, encode(upload)?);
    Ok(Ok(MetaResponse::Done))
}

/// The extras an upload was created with (empty when none).
pub(super) fn upload_extras(db: &MetaDb, upload: &UploadRecord) -> Result<UploadExtras, DbError> {
    Ok(db
        .get::<UploadExtras>(
            CF_UPLOAD_EXTRAS,
            &upload_key(&upload.bucket, &upload.upload_id),
        )?
        .unwrap_or_default())
}

/// Removes an upload's extras (it was completed, aborted or dropped).
pub(super) fn drop_upload_extras(
    db: &MetaDb,
    batch: &mut WriteBatch,
    upload: &UploadRecord,
) -> Result<(), DbError> {
    batch.delete_cf(
        db.cf(CF_UPLOAD_EXTRAS)?,
        upload_key(&upload.bucket, &upload.upload_id),
    );
    Ok(())
}

/// Which checksum an uploaded part keeps: the upload's algorithm decides.
/// With one, the part must carry a checksum of it (S3's InvalidRequest
/// otherwise); without one, only a CRC64NVME is kept (the gateway computes
/// it for every such part; the object's default checksum combines them).
pub(super) fn part_checksum_to_keep(
    db: &MetaDb,
    upload: &UploadRecord,
    given: Option<&StoredChecksum>,
) -> Result<Result<Option<StoredChecksum>, MetaError>, DbError> {
    let Some(algorithm) = upload_extras(db, upload)?.checksum_algorithm else {
        return Ok(Ok(given
            .filter(|c| c.algorithm == ChecksumAlgorithm::Crc64Nvme)
            .cloned()));
    };
    let expected = algorithm.name().to_ascii_lowercase();
    Ok(match given {
        Some(c) if c.algorithm == algorithm => Ok(Some(c.clone())),
        Some(c) => Err(MetaError::InvalidRequest(format!(
            "Checksum Type mismatch occurred, expected checksum Type: {expected}, actual checksum Type: {}",
            c.algorithm.name().to_ascii_lowercase()
        ))),
        None => Err(MetaError::InvalidRequest(format!(
            "The upload was created using a {expected} checksum. The part upload request must include a {expected} checksum."
        ))),
    })
}

/// Stores (Some) or removes (None) the checksum of the part under `part_key`.
pub(super) fn write_part_checksum(
    db: &MetaDb,
    batch: &mut WriteBatch,
    part_key: &[u8],
    checksum: Option<&StoredChecksum>,
) -> Result<(), DbError> {
    let cf = db.cf(CF_PART_CHECKSUMS)?;
    match checksum {
        Some(c) => batch.put_cf(cf, part_key, encode(c)?),
        None => batch.delete_cf(cf, part_key),
    }
    Ok(())
}

/// The extras of the object a completed upload becomes: the upload's tags
/// and, for an upload with a checksum algorithm, the checksum of the
/// requested parts (whose sizes are `sizes`): COMPOSITE, for which each part
/// must be listed with its checksum, or FULL_OBJECT (CRCs combined), for
/// which listing them is optional. A listed part checksum must equal the one
/// stored at UploadPart (else InvalidPart), and an object checksum sent with
/// the request the one computed here (else BadDigest).
pub(super) fn completed_extras(
    db: &MetaDb,
    upload: &UploadRecord,
    requested: &[CompletedPart],
    sizes: &[u64],
    sent: Option<(&[Option<StoredChecksum>], Option<&StoredChecksum>)>,
) -> Result<Result<ObjectExtras, MetaError>, DbError> {
    let (given, object_checksum) = match sent {
        Some((parts, object)) => (Some(parts), object),
        None => (None, None),
    };
    let asked = upload_extras(db, upload)?;
    let mut extras = ObjectExtras {
        tags: asked.tags,
        ..Default::default()
    };
    let Some(algorithm) = asked.checksum_algorithm else {
        extras.checksum = default_checksum(db, upload, requested, sizes, &mut extras)?;
        return Ok(Ok(extras));
    };
    let mut values = Vec::with_capacity(requested.len());
    for (i, want) in requested.iter().enumerate() {
        let listed = given.and_then(|g| g.get(i)).and_then(Option::as_ref);
        if listed.is_none() && !asked.full_object {
            let expected = algorithm.name().to_ascii_lowercase();
            return Ok(Err(MetaError::InvalidRequest(format!(
                "The upload was created using a {expected} checksum. The complete request must include the checksum for each part. It was missing for part {} in the request.",
                want.part_number
            ))));
        }
        let stored = db.get::<StoredChecksum>(
            CF_PART_CHECKSUMS,
            &part_key(&upload.upload_id, want.part_number),
        )?;
        match (stored, listed) {
            (Some(s), None) => values.push(s.value),
            (Some(s), Some(l)) if s.algorithm == l.algorithm && s.value == l.value.trim() => {
                values.push(s.value)
            }
            _ => return Ok(Err(MetaError::InvalidPart(want.part_number))),
        }
    }
    let computed = if asked.full_object {
        let with_sizes: Vec<(String, u64)> =
            values.iter().cloned().zip(sizes.iter().copied()).collect();
        full_object_crc(algorithm, &with_sizes)
    } else {
        composite(algorithm, &values)
    };
    let value = match computed {
        Ok(v) => v,
        Err(e) => return Ok(Err(MetaError::Internal(e.to_string()))),
    };
    let checksum = StoredChecksum {
        algorithm,
        value,
        parts: (!asked.full_object).then_some(values.len() as u32),
    };
    if let Some(sent) = object_checksum {
        // A composite value may be sent with or without its `-N`.
        let sent_value = sent.value.trim();
        let bare = match checksum.parts {
            Some(n) => sent_value
                .strip_suffix(&format!("-{n}"))
                .unwrap_or(sent_value),
            None => sent_value,
        };
        if sent.algorithm != algorithm || bare != checksum.value {
            return Ok(Err(MetaError::BadDigest(format!(
                "The {} you specified did not match the calculated checksum.",
                format_args!(
                    "x-amz-checksum-{}",
                    sent.algorithm.name().to_ascii_lowercase()
                )
            ))));
        }
    }
    extras.checksum = Some(checksum);
    extras.part_checksums = values;
    Ok(Ok(extras))
}

/// The checksum of an object completed from an upload without a checksum
/// algorithm: the FULL_OBJECT CRC64NVME combined from its parts' CRC64NVMEs,
/// as AWS gives such objects; none when a part has no CRC64NVME (uploaded
/// by a build that did not compute one). Sets the part checksums too.
fn default_checksum(
    db: &MetaDb,
    upload: &UploadRecord,
    requested: &[CompletedPart],
    sizes: &[u64],
    extras: &mut ObjectExtras,
) -> Result<Option<StoredChecksum>, DbError> {
    let mut parts = Vec::with_capacity(requested.len());
    for (want, size) in requested.iter().zip(sizes) {
        match db.get::<StoredChecksum>(
            CF_PART_CHECKSUMS,
            &part_key(&upload.upload_id, want.part_number),
        )? {
            Some(c) if c.algorithm == ChecksumAlgorithm::Crc64Nvme => parts.push((c.value, *size)),
            _ => return Ok(None),
        }
    }
    let Ok(value) = full_object_crc(ChecksumAlgorithm::Crc64Nvme, &parts) else {
        return Ok(None);
    };
    extras.part_checksums = parts.into_iter().map(|(v, _)| v).collect();
    Ok(Some(StoredChecksum {
        algorithm: ChecksumAlgorithm::Crc64Nvme,
        value,
        parts: None,
    }))
}

#[cfg(test)]
#[path = "extras_tests.rs"]
mod tests;
