//! Applying what objects, uploads and buckets carry besides their records
//! (tags, checksums; see `cairn_types::extras`). Extras rows are written in
//! the same batch as the record they belong to, so an object overwrite
//! replaces them, a delete removes them, and a completed upload hands its
//! tags to the object it becomes.

use crate::db::{
    CF_BUCKET_TAGS, CF_BUCKETS, CF_OBJECT_EXTRAS, CF_OBJECTS, CF_UPLOAD_EXTRAS, CF_UPLOADS,
    DbError, MetaDb, encode,
};
use crate::keys::{object_key, upload_key};
use cairn_rpc::{MetaError, MetaResponse};
use cairn_types::{Bucket, ObjectExtras, ObjectManifest, Tag, UploadExtras, UploadRecord};
use rocksdb::WriteBatch;

use super::Applied;

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

/// PutObjectTagging / DeleteObjectTagging: the object must exist; its other
/// extras stay. Applying it twice sets the same tags twice.
pub(super) fn set_object_tags(
    db: &MetaDb,
    batch: &mut WriteBatch,
    bucket: &str,
    key: &str,
    tags: &[Tag],
) -> Applied {
    if db.get::<Bucket>(CF_BUCKETS, bucket.as_bytes())?.is_none() {
        return Ok(Err(MetaError::NoSuchBucket));
    }
    let ok = object_key(bucket, key);
    if db.get::<ObjectManifest>(CF_OBJECTS, &ok)?.is_none() {
        return Ok(Err(MetaError::NoSuchKey));
    }
    let mut extras = object_extras(db, &ok)?;
    extras.tags = tags.to_vec();
    write_object_extras(db, batch, &ok, &extras)?;
    Ok(Ok(MetaResponse::Done))
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
